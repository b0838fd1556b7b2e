"""Announcements and their recipients (storage.outreach_models), for handlers/announce*."""

from __future__ import annotations

from storage.outreach_models import Announcement
from storage.repositories.base import Repository


class AnnouncementRepository(Repository):
    """Announcements: written by the flow, queued and reported by the announcement pass."""

    async def get(self, announcement_id: int) -> Announcement | None:
        return await self.session.get(Announcement, announcement_id)
