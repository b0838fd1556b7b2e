"""Telegram's flood limits, enforced when limits mode is on.

Telegram documents roughly 30 messages a second per bot, one a second per private chat (short
bursts tolerated) and 20 a minute per group; beyond them it answers 429 with ``retry_after``.
Each limit here is a token bucket; a message must find a token in every bucket it passes
through, and a refused one takes none.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class LimitsConfig:
    enabled: bool = False
    global_per_second: float = 30.0
    global_burst: int = 30
    private_per_second: float = 1.0
    private_burst: int = 3
    group_per_minute: float = 20.0
    group_burst: int = 20
    # Paid broadcasting (allow_paid_broadcast, Telegram Stars): up to 1,000 a second,
    # outside the free bot-wide limit; the per-chat limits still hold.
    paid_per_second: float = 1000.0
    paid_burst: int = 1000

    def update(self, changes: dict[str, Any]) -> None:
        for name, value in changes.items():
            if name not in self.__dataclass_fields__:
                raise ValueError(f"unknown limits setting {name!r}")
            current = getattr(self, name)
            if isinstance(current, bool):
                if not isinstance(value, bool):
                    raise ValueError(f"{name} must be true or false")
            elif not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name} must be a positive number")
            setattr(self, name, type(current)(value))


@dataclass
class _Bucket:
    capacity: float
    rate: float  # tokens per second
    tokens: float
    stamp: float

    def wait_needed(self, now: float) -> float:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate


@dataclass
class FloodLimiter:
    config: LimitsConfig = field(default_factory=LimitsConfig)
    clock: Callable[[], float] = time.monotonic
    refused: int = 0
    refused_by_chat: Counter[int] = field(default_factory=Counter)
    _buckets: dict[object, _Bucket] = field(default_factory=dict)

    def admit(self, chat_id: int, is_group: bool, paid: bool = False) -> int | None:
        """Take a token for one message to ``chat_id``; the retry_after to answer if refused.

        A ``paid`` broadcast passes the paid bucket instead of the bot-wide one."""
        if not self.config.enabled:
            return None
        now = self.clock()
        if paid:
            first = self._bucket("paid", self.config.paid_burst, self.config.paid_per_second)
        else:
            first = self._bucket("bot", self.config.global_burst, self.config.global_per_second)
        buckets = [first]
        if is_group:
            rate = self.config.group_per_minute / 60
            buckets.append(self._bucket(chat_id, self.config.group_burst, rate))
        else:
            buckets.append(
                self._bucket(chat_id, self.config.private_burst, self.config.private_per_second)
            )
        wait = max(bucket.wait_needed(now) for bucket in buckets)
        if wait > 0:
            self.refused += 1
            self.refused_by_chat[chat_id] += 1
            return max(1, math.ceil(wait))
        for bucket in buckets:
            bucket.tokens -= 1
        return None

    def reset(self) -> None:
        self.refused = 0
        self.refused_by_chat.clear()
        self._buckets.clear()

    def to_json(self) -> dict[str, Any]:
        return {
            **asdict(self.config),
            "too_many_requests": self.refused,
            "too_many_requests_by_chat": {str(k): v for k, v in self.refused_by_chat.items()},
        }

    def _bucket(self, key: object, capacity: float, rate: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None or bucket.capacity != capacity or bucket.rate != rate:
            bucket = _Bucket(capacity, rate, capacity, self.clock())
            self._buckets[key] = bucket
        return bucket
