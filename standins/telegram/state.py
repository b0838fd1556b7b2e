"""Everything the stand-in remembers, in one place (waiting for it to change:
``standins.core.state``)."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any

from standins.core.state import MAX_LOGGED_CALLS, WatchedState, append_bounded
from standins.telegram.config import StandinConfig
from standins.telegram.faults import FaultBook
from standins.telegram.files import FileStore
from standins.telegram.limits import FloodLimiter
from standins.telegram.models import (
    BotIdentity,
    CallbackQueryRecord,
    CallRecord,
    ChatAction,
    ChatRecord,
    JSONDict,
    StoredMessage,
    UserRecord,
)
from standins.telegram.updates import UpdateQueue

# Like the call log, the webhook delivery log keeps this many of the newest entries.
MAX_LOGGED_DELIVERIES = 20_000


@dataclass
class WebhookSettings:
    url: str
    secret_token: str | None = None
    max_connections: int = 40
    allowed_updates: list[str] | None = None
    ip_address: str | None = None
    # The most recent failed delivery, as getWebhookInfo reports it.
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass
class WebhookTiming:
    """How webhook delivery waits and retries (seconds); see StandinConfig."""

    timeout: float = 60.0
    retry_delay: float = 1.0
    retry_max_delay: float = 60.0
    target_cooldown: float = 5.0

    @classmethod
    def from_config(cls, config: StandinConfig) -> WebhookTiming:
        return cls(
            timeout=config.webhook_timeout,
            retry_delay=config.webhook_retry_delay,
            retry_max_delay=config.webhook_retry_max_delay,
            target_cooldown=config.webhook_target_cooldown,
        )


@dataclass
class DeliveryRecord:
    """One HTTP request of webhook delivery: one update, to one target."""

    seq: int
    update_id: int
    chat_id: int | None  # the chat whose order the update keeps (None: an order of its own)
    attempt: int  # Telegram's attempt at this update, from 1; failover requests share it
    url: str  # the URL setWebhook registered
    target: str  # where the request went (the url itself without load-balancer targets)
    started: float  # time.time()
    finished: float | None = None  # None while the request runs
    status: int | None = None  # the HTTP status, None without an answer
    error: str | None = None  # None when confirmed (2xx)
    retry_after: int | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def to_json(self) -> JSONDict:
        return {
            "seq": self.seq,
            "update_id": self.update_id,
            "chat_id": self.chat_id,
            "attempt": self.attempt,
            "url": self.url,
            "target": self.target,
            "started": self.started,
            "finished": self.finished,
            "duration": None if self.finished is None else round(self.finished - self.started, 6),
            "status": self.status,
            "ok": self.ok,
            "error": self.error,
            "retry_after": self.retry_after,
        }


@dataclass
class BotProfile:
    """What set/getMy* keep: commands per (scope, language), names and descriptions."""

    commands: dict[tuple[str, str], list[JSONDict]] = field(default_factory=dict)
    command_scopes: dict[tuple[str, str], JSONDict] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)
    short_descriptions: dict[str, str] = field(default_factory=dict)
    default_menu_button: JSONDict = field(default_factory=lambda: {"type": "commands"})


class World(WatchedState):
    def __init__(self, config: StandinConfig | None = None) -> None:
        super().__init__()
        self.config = config or StandinConfig()
        self.bot = BotIdentity(
            username=self.config.bot_username,
            first_name=self.config.bot_first_name,
            id=self.config.bot_id,
            configured_id=self.config.bot_id,
        )
        self.updates = UpdateQueue(self.config.first_update_id)
        self.limiter = FloodLimiter(copy.deepcopy(self.config.limits))
        # Webhook requests now running (kept across resets: they end on their own).
        self.deliveries_in_flight = 0
        self._clear()

    def _clear(self) -> None:
        self.users: dict[int, UserRecord] = {}
        self.chats: dict[int, ChatRecord] = {}
        self.messages: dict[tuple[int, int], StoredMessage] = {}
        self.files = FileStore()
        self.callbacks: dict[str, CallbackQueryRecord] = {}
        self.actions: list[ChatAction] = []
        self.profile = BotProfile()
        self.webhook: WebhookSettings | None = None
        self.webhook_targets: list[str] = list(self.config.webhook_targets)
        self.webhook_timing = WebhookTiming.from_config(self.config)
        # Targets the load balancer skips, and until when (time.monotonic()).
        self.targets_down: dict[str, float] = {}
        self.deliveries: list[DeliveryRecord] = []
        self._delivery_seq = 0
        self.calls: list[CallRecord] = []
        self._call_seq = 0
        self.faults = FaultBook()
        self._next_callback_id = 1

    def reset(self) -> None:
        """Forget everything but the update id sequence (a running bot's offset stays valid)."""
        self._clear()
        self.updates.clear()
        self.updates.set_allowed([])
        self.bot.id = self.bot.configured_id
        self.limiter.config = copy.deepcopy(self.config.limits)
        self.limiter.reset()
        self.changed()

    # Time ---------------------------------------------------------------------------------

    @staticmethod
    def now() -> int:
        return int(time.time())

    # Records ------------------------------------------------------------------------------

    def add_message(self, chat: ChatRecord, message: StoredMessage) -> StoredMessage:
        self.messages[(chat.id, message.message_id)] = message
        return message

    def next_message_id(self, chat: ChatRecord) -> int:
        message_id = chat.next_message_id
        chat.next_message_id += 1
        return message_id

    def message(self, chat_id: int, message_id: int) -> StoredMessage | None:
        stored = self.messages.get((chat_id, message_id))
        return None if stored is None or stored.deleted else stored

    def chat_messages(self, chat_id: int) -> list[StoredMessage]:
        return sorted(
            (m for (cid, _), m in self.messages.items() if cid == chat_id),
            key=lambda m: m.message_id,
        )

    def new_callback_id(self) -> str:
        # Real ids are large decimal numbers; keep the shape.
        callback_id = str(4_000_000_000_000_000_000 + self._next_callback_id)
        self._next_callback_id += 1
        return callback_id

    def record_call(self, method: str, params: JSONDict, chat_id: Any) -> CallRecord:
        self._call_seq += 1
        record = CallRecord(
            seq=self._call_seq,
            time=time.time(),
            method=method,
            params=params,
            chat_id=chat_id,
        )
        append_bounded(self.calls, record, MAX_LOGGED_CALLS)
        self.changed()
        return record

    def record_delivery(
        self, update_id: int, chat_id: int | None, attempt: int, url: str, target: str
    ) -> DeliveryRecord:
        self._delivery_seq += 1
        record = DeliveryRecord(
            seq=self._delivery_seq,
            update_id=update_id,
            chat_id=chat_id,
            attempt=attempt,
            url=url,
            target=target,
            started=time.time(),
        )
        append_bounded(self.deliveries, record, MAX_LOGGED_DELIVERIES)
        self.changed()
        return record

    def webhook_error(self, message: str) -> None:
        """Remember a failed delivery for getWebhookInfo."""
        if self.webhook is not None:
            self.webhook.last_error_date = self.now()
            self.webhook.last_error_message = message
