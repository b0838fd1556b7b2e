"""Telegram facts both adapters share: commands, chat keys, what an error means."""

from __future__ import annotations

from collections.abc import Sequence

from bot.runtime.errors import MessageGone, PermanentSendError, SendError
from handlers.events import OtherContent

CHANNEL = "telegram"
PARSE_MODE = "HTML"
ALLOWED_UPDATES: Sequence[str] = ("message", "edited_message", "callback_query", "my_chat_member")

# The command menu, in the order Telegram shows it.
MENU_COMMANDS: Sequence[str] = ("idea", "myideas", "help", "lang", "cancel", "join")
MENU_LANGUAGES: Sequence[str | None] = (None, "vi", "en")  # None: everyone else (Vietnamese)


def parse_command(text: str, bot_username: str) -> tuple[str, str] | None:
    """("start", "payload") for "/start payload" or "/start@ThisBot payload".

    A command addressed to another bot in a group is not ours: None.
    """
    if not text.startswith("/") or len(text) < 2:
        return None
    head, _, args = text.partition(" ")
    name, _, addressee = head[1:].partition("@")
    if addressee and addressee.lower() != bot_username.lower():
        return None
    if not name or not all(c.isalnum() or c == "_" for c in name):
        return None
    return name.lower(), args.strip()


def classify_bad_request(description: str) -> SendError:
    """Turn a Bot API 400/403 description into what the sender should do about it."""
    text = description.lower()
    if "message to edit not found" in text or "message can't be edited" in text:
        return MessageGone(description)
    if "blocked by the user" in text:
        return PermanentSendError("blocked", description)
    if "user is deactivated" in text:
        return PermanentSendError("deactivated", description)
    if "chat not found" in text or "bot was kicked" in text or "not a member" in text:
        return PermanentSendError("chat_not_found", description)
    return PermanentSendError("bad_request", description)


def is_not_modified(description: str) -> bool:
    return "message is not modified" in description.lower()


def other_content(kinds: set[str]) -> OtherContent:
    """The neutral name for a message kind the flows cannot take as input."""
    for kind in ("sticker", "location", "contact", "poll", "animation", "video_note"):
        if kind in kinds:
            return OtherContent(kind)
    if "venue" in kinds:
        return OtherContent.LOCATION
    return OtherContent.UNSUPPORTED


def display_name(first_name: str | None, last_name: str | None) -> str:
    return " ".join(part for part in (first_name, last_name) if part) or "?"
