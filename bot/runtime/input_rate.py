"""How fast one person may send: a token bucket per sender, told apart by arrival time.

A person may send ``burst`` updates at once (an album of ten photos and its caption, a
quick typist) and ``per_second`` more for every second after. Above that, the first
update over the limit is answered with one "slow down" and the rest are dropped
unhandled, until the person has been quiet long enough for the bucket to fill again.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

# Buckets of people quiet long enough to be full again are forgotten past this many.
PRUNE_ABOVE = 10_000


class Verdict(enum.Enum):
    ADMIT = "admit"
    WARN = "warn"  # the first update over the limit: tell them to slow down
    DROP = "drop"


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float
    warned: bool = False


class InputRate:
    def __init__(self, *, burst: int, per_second: float) -> None:
        if burst < 1 or per_second <= 0:
            raise ValueError("an input rate needs burst >= 1 and per_second > 0")
        self.burst = float(burst)
        self.per_second = per_second
        self._buckets: dict[str, _Bucket] = {}

    def admit(self, sender: str, arrived: float) -> Verdict:
        """The verdict on an update from ``sender`` that arrived at ``arrived`` (monotonic)."""
        bucket = self._buckets.get(sender)
        if bucket is None:
            if len(self._buckets) >= PRUNE_ABOVE:
                self._prune(arrived)
            bucket = self._buckets[sender] = _Bucket(self.burst, arrived)
        elif arrived > bucket.at:
            bucket.tokens = min(self.burst, bucket.tokens + (arrived - bucket.at) * self.per_second)
            bucket.at = arrived
        if bucket.tokens >= self.burst:
            bucket.warned = False  # quiet long enough: a later flood is told again
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return Verdict.ADMIT
        if bucket.warned:
            return Verdict.DROP
        bucket.warned = True
        return Verdict.WARN

    def _prune(self, now: float) -> None:
        full_after = self.burst / self.per_second
        for sender in [s for s, b in self._buckets.items() if now - b.at >= full_after]:
            del self._buckets[sender]
