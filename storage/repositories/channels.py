"""What a messenger without buttons needs remembered: the choices shown, URL files."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete

from storage.channel_models import ChannelChoices, ChannelFile
from storage.repositories.base import Repository


class ChannelRepository(Repository):
    """What a messenger without buttons needs remembered: the choices shown, URL files."""

    async def choices(self, channel: str, chat_id: str) -> ChannelChoices | None:
        """The newest choices shown in the chat, if any are still on offer."""
        return await self.session.get(ChannelChoices, (channel, chat_id))

    async def show_choices(
        self,
        channel: str,
        chat_id: str,
        *,
        message_id: str,
        choices: Sequence[tuple[str, str]],
        now: datetime,
    ) -> None:
        """Remember the choices a message offered; they replace the chat's earlier ones."""
        values = {
            "channel": channel,
            "chat_id": chat_id,
            "message_id": message_id,
            "choices": [[label, data] for label, data in choices],
            "shown_at": now,
        }
        statement = self._insert()(ChannelChoices).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=[ChannelChoices.channel, ChannelChoices.chat_id],
            set_={k: v for k, v in values.items() if k not in ("channel", "chat_id")},
        )
        await self.session.execute(statement)

    async def forget_choices(
        self, channel: str, chat_id: str, message_id: str | None = None
    ) -> None:
        """The choices are off: the message that offered them was replaced (``message_id``),
        or the chat now waits for something typed (None: whatever was on offer)."""
        query = delete(ChannelChoices).where(
            ChannelChoices.channel == channel, ChannelChoices.chat_id == chat_id
        )
        if message_id is not None:
            query = query.where(ChannelChoices.message_id == message_id)
        await self.session.execute(query.execution_options(synchronize_session=False))

    async def add_file(
        self, *, file_id: str, channel: str, url: str, mime_type: str | None, now: datetime
    ) -> None:
        statement = self._insert()(ChannelFile).values(
            file_id=file_id, channel=channel, url=url, mime_type=mime_type, created_at=now
        )
        await self.session.execute(statement.on_conflict_do_nothing())

    async def file(self, file_id: str) -> ChannelFile | None:
        return await self.session.get(ChannelFile, file_id)
