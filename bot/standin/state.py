"""Everything the stand-in remembers, in one place, and waiting for it to change."""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bot.standin.config import StandinConfig
from bot.standin.faults import FaultBook
from bot.standin.files import FileStore
from bot.standin.limits import FloodLimiter
from bot.standin.models import (
    BotIdentity,
    CallbackQueryRecord,
    CallRecord,
    ChatAction,
    ChatRecord,
    JSONDict,
    StoredMessage,
    UserRecord,
)
from bot.standin.updates import UpdateQueue

T = TypeVar("T")

# The call log keeps this many of the newest calls; sequence numbers keep counting.
MAX_LOGGED_CALLS = 20_000


@dataclass
class WebhookSettings:
    url: str
    secret_token: str | None = None
    max_connections: int = 40
    allowed_updates: list[str] | None = None
    ip_address: str | None = None


@dataclass
class BotProfile:
    """What set/getMy* keep: commands per (scope, language), names and descriptions."""

    commands: dict[tuple[str, str], list[JSONDict]] = field(default_factory=dict)
    command_scopes: dict[tuple[str, str], JSONDict] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)
    short_descriptions: dict[str, str] = field(default_factory=dict)
    default_menu_button: JSONDict = field(default_factory=lambda: {"type": "commands"})


class World:
    def __init__(self, config: StandinConfig | None = None) -> None:
        self.config = config or StandinConfig()
        self.bot = BotIdentity(
            username=self.config.bot_username,
            first_name=self.config.bot_first_name,
            id=self.config.bot_id,
            configured_id=self.config.bot_id,
        )
        self.updates = UpdateQueue(self.config.first_update_id)
        self.limiter = FloodLimiter(copy.deepcopy(self.config.limits))
        self._waiters: set[asyncio.Future[None]] = set()
        # Bot API calls other than getUpdates: how many are running, and when one last ended.
        self.calls_in_flight = 0
        self.last_call_activity = time.monotonic()
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
        self.calls.append(record)
        if len(self.calls) > MAX_LOGGED_CALLS:
            del self.calls[: len(self.calls) - MAX_LOGGED_CALLS]
        self.changed()
        return record

    # Waiting ------------------------------------------------------------------------------

    def changed(self) -> None:
        """Wake everything waiting for the state to change."""
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    async def wait_change(self, timeout: float) -> None:
        """Return at the next change, or after ``timeout`` seconds."""
        if timeout <= 0:
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.add(waiter)
        try:
            await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            pass
        finally:
            self._waiters.discard(waiter)

    async def wait_until(self, check: Callable[[], T | None], timeout: float) -> T | None:
        """Return ``check()``'s first truthy value, re-checking after every change."""
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            await self.wait_change(remaining)
