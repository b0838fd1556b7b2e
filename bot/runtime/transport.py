"""The one thing the runtime needs from a messenger adapter: a way to send."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from handlers.events import OutMessage


class Transport(Protocol):
    """Sends neutral messages; raises :mod:`bot.runtime.errors` exceptions on failure."""

    channel: str

    async def send(self, chat_id: str, message: OutMessage) -> str:
        """Send (or, with ``edit_message_id``, edit) a message; returns its message id."""
        ...

    async def answer_callback(self, callback_id: str, text: str, alert: bool) -> None: ...

    async def set_commands(self, commands: Sequence[tuple[str, str]], language: str | None) -> None:
        """Set the command menu for one language (None: the default for everyone)."""
        ...
