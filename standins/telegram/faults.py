"""Scripted faults: what the Bot API side answers instead of the real result.

A rule matches calls by method and/or chat, may let the first ``skip`` matching calls through,
fires ``times`` times (or forever) with probability ``rate`` drawn from its own seeded RNG, and
then does one of:

* ``retry_after``: 429 ``Too Many Requests: retry after N`` with ``parameters.retry_after``;
* ``error``: any status (500, 502 …) with a JSON body, or nginx's HTML page (``format: html``);
* ``delay``: waits ``delay`` seconds, then answers normally;
* ``drop``: closes the connection without an answer.

``phase: after`` applies the fault after the call has taken effect (the message was sent, but
the bot never hears so), which is how a real network loses answers.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

KINDS = frozenset({"retry_after", "error", "delay", "drop"})
PHASES = frozenset({"before", "after"})

NGINX_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n"
    "</body>\r\n</html>\r\n"
)


@dataclass
class FaultRule:
    id: int
    kind: str
    method: str | None = None
    chat_id: int | str | None = None
    times: int | None = 1
    rate: float = 1.0
    seed: int | None = None
    skip: int = 0
    retry_after: int = 1
    status: int = 500
    description: str | None = None
    format: str = "json"
    delay: float = 0.0
    phase: str = "before"
    hits: int = 0
    seen: int = 0
    rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def roll(self) -> bool:
        """Whether the rule fires this time, drawn from its own seeded RNG."""
        return self.rate >= 1 or self.rng.random() < self.rate

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.hits >= self.times

    def matches(self, method: str, chat_id: int | str | None, phase: str) -> bool:
        if phase != self.phase or self.exhausted:
            return False
        if self.method is not None and self.method.lower() != method.lower():
            return False
        return self.chat_id is None or str(self.chat_id) == str(chat_id)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "method": self.method,
            "chat_id": self.chat_id,
            "times": self.times,
            "rate": self.rate,
            "seed": self.seed,
            "skip": self.skip,
            "retry_after": self.retry_after,
            "status": self.status,
            "description": self.description,
            "format": self.format,
            "delay": self.delay,
            "phase": self.phase,
            "hits": self.hits,
            "seen": self.seen,
        }


class FaultBook:
    def __init__(self) -> None:
        self.rules: list[FaultRule] = []
        self._next_id = 1

    def add(self, spec: dict[str, Any]) -> FaultRule:
        """Add a rule from its JSON description; ValueError says what is wrong with it."""
        settable = set(FaultRule.__dataclass_fields__) - {"id", "hits", "seen", "rng"}
        unknown = set(spec) - settable
        if unknown:
            raise ValueError(f"unknown fault field {sorted(unknown)[0]!r}")
        kind = spec.get("kind")
        if kind not in KINDS:
            raise ValueError(f"fault kind must be one of {sorted(KINDS)}")
        if spec.get("phase", "before") not in PHASES:
            raise ValueError("fault phase must be 'before' or 'after'")
        if spec.get("format", "json") not in ("json", "html"):
            raise ValueError("fault format must be 'json' or 'html'")
        rate = spec.get("rate", 1.0)
        if not isinstance(rate, int | float) or not 0 <= rate <= 1:
            raise ValueError("fault rate must be a number between 0 and 1")
        if kind == "delay" and spec.get("phase") == "after":
            raise ValueError("a delay fault acts before the call")
        _check_number(spec, "times", minimum=1, integer=True, optional=True)
        _check_number(spec, "skip", minimum=0, integer=True)
        _check_number(spec, "retry_after", minimum=1, integer=True)
        _check_number(spec, "status", minimum=400, integer=True)
        _check_number(spec, "delay", minimum=0)
        if not isinstance(spec.get("method", ""), str | None):
            raise ValueError("fault method must be a method name")
        fields = dict(spec) | {"id": self._next_id, "kind": kind}
        try:
            rule = FaultRule(**fields)
        except TypeError as error:
            raise ValueError(str(error)) from error
        self._next_id += 1
        self.rules.append(rule)
        return rule

    def pick(self, method: str, chat_id: int | str | None, phase: str) -> FaultRule | None:
        """The rule that fires for this call now, if any (counting it as fired)."""
        for rule in self.rules:
            if not rule.matches(method, chat_id, phase):
                continue
            rule.seen += 1
            if rule.seen <= rule.skip:
                continue
            if not rule.roll():
                continue
            rule.hits += 1
            return rule
        return None

    def clear(self) -> None:
        self.rules.clear()


def _check_number(
    spec: dict[str, Any],
    name: str,
    *,
    minimum: float,
    integer: bool = False,
    optional: bool = False,
) -> None:
    if name not in spec or (optional and spec[name] is None):
        return
    value = spec[name]
    wanted = int if integer else int | float
    if isinstance(value, bool) or not isinstance(value, wanted) or value < minimum:
        kind = "an integer" if integer else "a number"
        raise ValueError(f"fault {name} must be {kind} of at least {minimum:g}")
