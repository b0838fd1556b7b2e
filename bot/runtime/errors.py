"""What can go wrong when sending, in words every adapter maps its own errors to."""

from __future__ import annotations


class SendError(Exception):
    """Base of every failure to deliver a message."""


class RetryAfter(SendError):
    """The messenger asked us to wait (Telegram's 429 with ``retry_after``)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds} s")
        self.seconds = seconds


class TransientSendError(SendError):
    """Network trouble, a timeout or a 5xx: worth trying again later."""


class PermanentSendError(SendError):
    """Trying again will not help: the person blocked the bot, the chat is gone, bad request."""

    def __init__(self, reason: str, description: str = "") -> None:
        super().__init__(f"{reason}: {description}" if description else reason)
        self.reason = reason
        self.description = description

    @property
    def unreachable(self) -> bool:
        """The person cannot be reached on this chat any more."""
        return self.reason in ("blocked", "chat_not_found", "deactivated")


class MessageGone(SendError):
    """The message to edit no longer exists (or can't be edited): send a new one instead."""
