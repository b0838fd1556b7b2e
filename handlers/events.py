"""Messenger-neutral events in and actions out.

Adapters in ``bot/`` translate a messenger's updates into :class:`Incoming` and
render :class:`OutMessage` back; the flows in ``handlers/`` only ever see these
types, which is what lets the same flows run on aiogram, python-telegram-bot and
Zalo.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from handlers.limits import MAX_CALLBACK_DATA_BYTES

if TYPE_CHECKING:
    from storage.models import OutboxMessage

ChatKind = Literal["private", "group"]


class AttachmentKind(enum.StrEnum):
    PHOTO = "photo"
    DOCUMENT = "document"
    VOICE = "voice"
    AUDIO = "audio"
    VIDEO = "video"


class OtherContent(enum.StrEnum):
    """Message content the flows do not take as input, named so they can answer it."""

    STICKER = "sticker"
    LOCATION = "location"
    CONTACT = "contact"
    POLL = "poll"
    ANIMATION = "animation"
    VIDEO_NOTE = "video_note"
    UNSUPPORTED = "unsupported"


def family_of(channel: str) -> str:
    """The messenger a channel value belongs to. Where one deployment serves several
    Telegram bots, each bot is a route of its own ("telegram" for the main token,
    "telegram.<name>" for each of ``telegram.bots``): its update ids, chats, outbox rows
    and send limits are the route's; the people behind it (identities) are the family's."""
    return channel.partition(".")[0]


@dataclass(frozen=True, slots=True)
class Sender:
    """The person behind an update, as the messenger knows them."""

    channel: str
    external_id: str
    display_name: str
    language_code: str | None = None
    is_bot: bool = False


@dataclass(frozen=True, slots=True)
class ChatRef:
    channel: str
    external_id: str
    kind: ChatKind
    title: str | None = None

    @property
    def key(self) -> str:
        return f"{self.channel}:{self.external_id}"


@dataclass(frozen=True, slots=True)
class FileRef:
    """A file the messenger keeps; the bot stores only its id."""

    kind: AttachmentKind
    file_id: str
    file_unique_id: str | None = None
    file_name: str | None = None
    mime_type: str | None = None
    size: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_name": self.file_name,
            "mime_type": self.mime_type,
            "size": self.size,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FileRef:
        return cls(
            kind=AttachmentKind(data["kind"]),
            file_id=data["file_id"],
            file_unique_id=data.get("file_unique_id"),
            file_name=data.get("file_name"),
            mime_type=data.get("mime_type"),
            size=data.get("size"),
        )


@dataclass(frozen=True, slots=True)
class Upload:
    """A file the bot made (a chart, a spreadsheet), sent as a new upload.

    The bytes live in a file at ``path`` (under the reports directory, see
    ``reports.directory`` in config.yaml) until the message is sent; only the path
    travels through the outbox.
    """

    kind: AttachmentKind  # PHOTO or DOCUMENT
    file_name: str
    mime_type: str
    path: str

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "file_name": self.file_name,
            "mime_type": self.mime_type,
            "path": self.path,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Upload:
        return cls(
            kind=AttachmentKind(data["kind"]),
            file_name=data["file_name"],
            mime_type=data["mime_type"],
            path=data["path"],
        )


@dataclass(frozen=True, slots=True)
class Incoming:
    """One update from a messenger, reduced to what the flows need.

    Exactly one of ``text``/``command``/``button``/``files``/``other`` carries the
    content (a captioned photo has both ``files`` and ``text``).
    """

    update_id: int
    sender: Sender
    chat: ChatRef
    text: str | None = None
    command: str | None = None  # lower-case, without "/" and "@botname"
    command_args: str = ""
    button: str | None = None  # callback data: a hint, never a proof
    callback_id: str | None = None
    message_id: str | None = None  # the message sent, or the one carrying the button
    files: tuple[FileRef, ...] = ()
    other: OtherContent | None = None
    reply_to_message_id: str | None = None
    bot_added_to_group: bool = False
    bot_removed_from_group: bool = False

    @property
    def channel(self) -> str:
        return self.chat.channel


@dataclass(frozen=True, slots=True)
class Button:
    """A button under a message: callback data the bot gets back when it is pressed, or
    (``web_app``, with empty data) the https address of a Telegram Mini App it opens.
    A messenger without Mini Apps leaves such a button out."""

    text: str
    data: str = ""
    web_app: str = ""

    def __post_init__(self) -> None:
        if not self.text:
            raise ValueError("a button needs a label")
        if self.web_app:
            # Telegram opens Mini Apps over https only, and a button does one thing.
            if not self.web_app.startswith("https://") or self.data:
                raise ValueError("a Mini App button needs an https address and no data")
            return
        if not 1 <= len(self.data.encode()) <= MAX_CALLBACK_DATA_BYTES:
            raise ValueError(f"callback data must be 1-{MAX_CALLBACK_DATA_BYTES} bytes")

    def to_json(self) -> list[str]:
        return [self.text, self.data, self.web_app] if self.web_app else [self.text, self.data]

    @classmethod
    def from_json(cls, data: Sequence[str]) -> Button:
        return cls(*data)


Keyboard = tuple[tuple[Button, ...], ...]


@dataclass(frozen=True, slots=True)
class CommandMenu:
    """A chat's command menu: (command, description) pairs, in the order shown.

    Carried by an :class:`OutMessage` instead of a text: the adapter sets the menu of
    the message's chat (Telegram's setMyCommands for that chat); a messenger without a
    menu leaves it.
    """

    commands: tuple[tuple[str, str], ...]
    # The label of the chat's menu button when it opens the dashboard's Mini App (a
    # person with an official or support role); empty: the messenger's default button.
    # Where the bot has no Mini App, the adapter leaves the menu button alone.
    app_label: str = ""


@dataclass(frozen=True, slots=True)
class OutMessage:
    """A message to show: HTML text, optional buttons, or a file with a caption (or, with
    ``menu``, the chat's command menu to set).

    ``edit_message_id`` turns it into an edit of a message the bot sent earlier.
    """

    text: str
    buttons: Keyboard = ()
    file: FileRef | None = None
    edit_message_id: str | None = None
    force_reply: bool = False
    upload: Upload | None = None  # a file the bot made; always sent as a new message
    menu: CommandMenu | None = None  # set the chat's command menu instead of sending
    # An announcement sent with Telegram Stars paid broadcasting (send_limits.allow_paid_broadcast)
    paid_broadcast: bool = False

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"text": self.text}
        if self.buttons:
            data["buttons"] = [[b.to_json() for b in row] for row in self.buttons]
        if self.file is not None:
            data["file"] = self.file.to_json()
        if self.edit_message_id is not None:
            data["edit"] = self.edit_message_id
        if self.force_reply:
            data["force_reply"] = True
        if self.upload is not None:
            data["upload"] = self.upload.to_json()
        if self.menu is not None:
            data["menu"] = [list(pair) for pair in self.menu.commands]
            if self.menu.app_label:
                data["app"] = self.menu.app_label
        if self.paid_broadcast:
            data["paid"] = True
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OutMessage:
        return cls(
            text=data["text"],
            buttons=tuple(
                tuple(Button.from_json(b) for b in row) for row in data.get("buttons", ())
            ),
            file=FileRef.from_json(data["file"]) if data.get("file") else None,
            edit_message_id=data.get("edit"),
            force_reply=bool(data.get("force_reply", False)),
            upload=Upload.from_json(data["upload"]) if data.get("upload") else None,
            menu=(
                CommandMenu(tuple((name, text) for name, text in data["menu"]), data.get("app", ""))
                if data.get("menu")
                else None
            ),
            paid_broadcast=bool(data.get("paid", False)),
        )


@dataclass(slots=True)
class CallbackAnswer:
    """The little notice shown when a button is pressed (empty text: just stop the spinner)."""

    text: str = ""
    alert: bool = False


@dataclass(slots=True)
class Outcome:
    """What handling one update produced, besides what it wrote to the database."""

    outbox_ids: list[int] = field(default_factory=list)  # replies, to send at once
    # The same replies' rows, leased to the instance that handled the update.
    replies: list[OutboxMessage] = field(default_factory=list)
    notifications: int = 0  # messages queued for other chats
    callback_answer: CallbackAnswer | None = None
    duplicate: bool = False
