"""The records the stand-in keeps: people, chats, messages, updates, callback queries, calls."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

JSONDict = dict[str, Any]
ChatType = Literal["private", "group", "supergroup"]

# Member statuses as the Bot API spells them.
CREATOR = "creator"
ADMINISTRATOR = "administrator"
MEMBER = "member"
RESTRICTED = "restricted"
LEFT = "left"
KICKED = "kicked"
PRESENT_STATUSES = frozenset({CREATOR, ADMINISTRATOR, MEMBER, RESTRICTED})


@dataclass
class BotIdentity:
    username: str
    first_name: str
    id: int | None = None  # learned from the first valid token unless configured
    configured_id: int | None = None


@dataclass
class UserRecord:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_premium: bool = False
    started: bool = False  # the user has opened a private chat with the bot
    blocked: bool = False  # the user has blocked the bot


@dataclass
class ChatRecord:
    id: int
    type: ChatType
    title: str | None = None
    username: str | None = None
    members: dict[int, str] = field(default_factory=dict)  # user id -> status
    bot_status: str = LEFT
    privacy_mode: bool = True
    menu_button: JSONDict | None = None
    next_message_id: int = 1

    @property
    def is_group(self) -> bool:
        return self.type in ("group", "supergroup")

    @property
    def bot_present(self) -> bool:
        return self.bot_status in PRESENT_STATUSES


@dataclass
class MessageVersion:
    """One state of a message, kept in its edit history."""

    date: int
    text: str | None
    entities: list[JSONDict]
    caption: str | None
    caption_entities: list[JSONDict]
    reply_markup: JSONDict | None
    source: JSONDict | None


@dataclass
class StoredMessage:
    chat_id: int
    message_id: int
    date: int
    sender_id: int | None  # None: the bot sent it
    text: str | None = None
    entities: list[JSONDict] = field(default_factory=list)
    caption: str | None = None
    caption_entities: list[JSONDict] = field(default_factory=list)
    media: JSONDict = field(default_factory=dict)  # e.g. {"photo": [...]} or {"document": {...}}
    extra: JSONDict = field(default_factory=dict)  # contact, location, service fields …
    reply_markup: JSONDict | None = None  # as the bot gave it, any keyboard kind
    reply_to_message_id: int | None = None
    source: JSONDict | None = None  # what the bot sent: raw text/caption and parse_mode
    edit_date: int | None = None
    deleted: bool = False
    history: list[MessageVersion] = field(default_factory=list)

    @property
    def from_bot(self) -> bool:
        return self.sender_id is None

    def version(self) -> MessageVersion:
        return MessageVersion(
            date=self.edit_date or self.date,
            text=self.text,
            entities=list(self.entities),
            caption=self.caption,
            caption_entities=list(self.caption_entities),
            reply_markup=self.reply_markup,
            source=self.source,
        )


@dataclass
class UpdateRecord:
    update_id: int
    type: str
    payload: JSONDict
    created: float

    def to_json(self) -> JSONDict:
        return {"update_id": self.update_id, self.type: self.payload}


@dataclass
class CallbackQueryRecord:
    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str
    created: float
    answered: bool = False
    answer: JSONDict | None = None


@dataclass
class ChatAction:
    chat_id: int
    action: str
    time: float


@dataclass
class CallRecord:
    seq: int
    time: float
    method: str
    params: JSONDict
    status: int = 0
    response: Any = None
    chat_id: int | str | None = None
    fault: int | None = None
    duration: float = 0.0

    def to_json(self) -> JSONDict:
        return {
            "seq": self.seq,
            "time": self.time,
            "method": self.method,
            "params": self.params,
            "status": self.status,
            "response": self.response,
            "chat_id": self.chat_id,
            "fault": self.fault,
            "duration": round(self.duration, 6),
        }
