"""Everything the Zalo stand-in remembers (waiting for it to change: ``standins.core.state``)."""

from __future__ import annotations

import secrets
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from standins.core.state import MAX_LOGGED_CALLS, WatchedState, append_bounded

JSONDict = dict[str, Any]


@dataclass
class StandinConfig:
    """``bot_id`` None: the first token's id is the bot's (a token with another id: 401)."""

    bot_id: str | None = None
    account_name: str = "bot.SangKien"
    display_name: str = "Sáng kiến bot"
    max_long_poll: float = 60.0
    # Webhook delivery: attempts per update and the pauses between them, then it is dropped.
    webhook_attempts: int = 5
    webhook_retry_delays: tuple[float, ...] = (0.1, 0.3, 1.0, 2.0)
    webhook_timeout: float = 30.0


@dataclass
class ZUser:
    id: str
    display_name: str
    blocked: bool = False
    started: bool = False  # has written to the bot (the bot can only write back then)

    def to_json(self) -> JSONDict:
        return {
            "id": self.id,
            "display_name": self.display_name,
            "blocked": self.blocked,
            "started": self.started,
        }


@dataclass
class ZMessage:
    seq: int
    message_id: str
    chat_id: str
    from_bot: bool
    sender_id: str
    date: int  # milliseconds, as Zalo sends it
    kind: str  # text, photo, sticker, unsupported
    text: str | None = None
    caption: str | None = None
    photo_url: str | None = None
    sticker: str | None = None

    def view(self) -> JSONDict:
        return {
            "seq": self.seq,
            "message_id": self.message_id,
            "chat_id": self.chat_id,
            "from_bot": self.from_bot,
            "sender_id": self.sender_id,
            "date": self.date,
            "kind": self.kind,
            "text": self.text,
            "caption": self.caption,
            "photo_url": self.photo_url,
            "sticker": self.sticker,
        }


@dataclass
class ZCall:
    seq: int
    time: float
    method: str
    params: JSONDict
    chat_id: str | None
    status: int = 0
    response: JSONDict | None = None
    fault: int | None = None
    duration: float = 0.0

    def to_json(self) -> JSONDict:
        return {
            "seq": self.seq,
            "time": self.time,
            "method": self.method,
            "params": self.params,
            "chat_id": self.chat_id,
            "status": self.status,
            "response": self.response,
            "fault": self.fault,
            "duration": self.duration,
        }


@dataclass
class FaultRule:
    """A scripted failure: matching calls get this error (``times`` None: forever)."""

    id: int
    method: str | None = None
    chat_id: str | None = None
    error_code: int = 500
    description: str = "Internal Server Error"
    retry_after: float | None = None
    times: int | None = 1
    skip: int = 0
    delay: float = 0.0
    hits: int = 0
    seen: int = 0

    def matches(self, method: str, chat_id: str | None) -> bool:
        if self.method is not None and self.method != method:
            return False
        return self.chat_id is None or self.chat_id == chat_id

    def to_json(self) -> JSONDict:
        return {
            "id": self.id,
            "method": self.method,
            "chat_id": self.chat_id,
            "error_code": self.error_code,
            "description": self.description,
            "retry_after": self.retry_after,
            "times": self.times,
            "skip": self.skip,
            "delay": self.delay,
            "hits": self.hits,
        }


@dataclass
class Webhook:
    url: str
    secret_token: str
    updated_at: int


@dataclass
class Delivery:
    """One webhook POST the stand-in made."""

    seq: int
    event_name: str
    message_id: str
    attempt: int
    status: int | None  # None: no answer (connection failed)
    dropped: bool = False

    def to_json(self) -> JSONDict:
        return {
            "seq": self.seq,
            "event_name": self.event_name,
            "message_id": self.message_id,
            "attempt": self.attempt,
            "status": self.status,
            "dropped": self.dropped,
        }


class World(WatchedState):
    def __init__(self, config: StandinConfig | None = None) -> None:
        super().__init__()
        self.config = config or StandinConfig()
        self.bot_id: str | None = self.config.bot_id
        self.stopped = False
        self._clear()

    def _clear(self) -> None:
        self.users: dict[str, ZUser] = {}
        self.messages: list[ZMessage] = []
        self.pending: deque[JSONDict] = deque()
        self.delivered_count = 0
        self.deliveries: list[Delivery] = []
        self.media: dict[str, tuple[bytes, str]] = {}
        self.calls: list[ZCall] = []
        self.faults: list[FaultRule] = []
        self.webhook: Webhook | None = None
        self._seq = 0
        self._call_seq = 0
        self._fault_seq = 0

    def reset(self) -> None:
        self._clear()
        self.bot_id = self.config.bot_id
        self.changed()

    # ---------------------------------------------------------------- records

    @staticmethod
    def now_ms() -> int:
        return int(time.time() * 1000)

    @staticmethod
    def new_message_id() -> str:
        return secrets.token_hex(10)  # Zalo's ids: 20 hex characters

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def user(self, user_id: str, display_name: str | None = None) -> ZUser:
        found = self.users.get(user_id)
        if found is None:
            found = self.users[user_id] = ZUser(user_id, display_name or f"User {user_id}")
        elif display_name:
            found.display_name = display_name
        return found

    def add_message(self, message: ZMessage) -> ZMessage:
        self.messages.append(message)
        self.changed()
        return message

    def chat_messages(self, chat_id: str, sender: str = "bot") -> list[ZMessage]:
        return [
            m
            for m in self.messages
            if m.chat_id == chat_id and (sender == "all" or (sender == "bot") == m.from_bot)
        ]

    def push_update(self, update: JSONDict) -> None:
        self.pending.append(update)
        self.changed()

    def record_call(self, method: str, params: JSONDict, chat_id: str | None) -> ZCall:
        self._call_seq += 1
        call = ZCall(self._call_seq, time.time(), method, params, chat_id)
        return append_bounded(self.calls, call, MAX_LOGGED_CALLS)

    def add_fault(self, **rule: Any) -> FaultRule:
        self._fault_seq += 1
        fault = FaultRule(id=self._fault_seq, **rule)
        self.faults.append(fault)
        return fault

    def take_fault(self, method: str, chat_id: str | None) -> FaultRule | None:
        for rule in self.faults:
            if not rule.matches(method, chat_id):
                continue
            if rule.times is not None and rule.hits >= rule.times:
                continue
            rule.seen += 1
            if rule.seen <= rule.skip:
                continue
            rule.hits += 1
            return rule
        return None
