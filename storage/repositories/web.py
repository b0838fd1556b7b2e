"""The dashboard's credentials: one-time sign-in links and browser sessions.

Only SHA-256 hashes of the tokens are stored (storage.web_models); the callers pass
hashes, never tokens, so nothing here can log or keep a usable credential.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update

from storage.repositories.base import Repository
from storage.web_models import WebSession, WebSignIn


class WebRepository(Repository):
    async def add_sign_in(
        self, token_hash: bytes, person_id: int, *, now: datetime, expires_at: datetime
    ) -> None:
        self.session.add(
            WebSignIn(
                token_hash=token_hash, person_id=person_id, created_at=now, expires_at=expires_at
            )
        )
        await self.session.flush()

    async def redeem_sign_in(self, token_hash: bytes, *, now: datetime) -> int | None:
        """Use a sign-in link: its person, or None if unknown, used or expired.

        One conditional UPDATE: of two requests with the same link at once, one wins.
        """
        statement = (
            update(WebSignIn)
            .where(
                WebSignIn.token_hash == token_hash,
                WebSignIn.used_at.is_(None),
                WebSignIn.expires_at > now,
            )
            .values(used_at=now)
            .returning(WebSignIn.person_id)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def add_session(
        self, token_hash: bytes, person_id: int, *, now: datetime, expires_at: datetime
    ) -> None:
        self.session.add(
            WebSession(
                token_hash=token_hash, person_id=person_id, created_at=now, expires_at=expires_at
            )
        )
        await self.session.flush()

    async def session_person(self, token_hash: bytes, *, now: datetime) -> int | None:
        """The person of a live session, or None (unknown or expired)."""
        query = select(WebSession.person_id).where(
            WebSession.token_hash == token_hash, WebSession.expires_at > now
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def end_session(self, token_hash: bytes) -> None:
        await self.session.execute(delete(WebSession).where(WebSession.token_hash == token_hash))

    async def prune(self, *, now: datetime) -> int:
        """Delete expired sessions and sign-in links; how many rows went."""
        sessions = await self.session.execute(
            delete(WebSession).where(WebSession.expires_at <= now)
        )
        links = await self.session.execute(delete(WebSignIn).where(WebSignIn.expires_at <= now))
        return int(getattr(sessions, "rowcount", 0) or 0) + int(getattr(links, "rowcount", 0) or 0)
