"""What a button carries back when pressed: one typed value per kind, packed and unpacked here.

The wire formats (buttons already sent keep working, so they never change)::

    <flow>:<nonce>:<step>[:<action>[:<value>]]   FlowPress — a step of the chat's current flow
    g:<name>[:<value>]                           GlobalPress — help pages, language, lists
    tr:<idea id>:<action>[:<value>]              CardPress — a decision on an idea's card
    ans:<idea id>                                AnswerPress — answer the team's question
    pg:<v|c|x>:<unit id>:<campaign id>[:<page>]  ProgressPress — a unit's progress
    glang:<code>                                 GroupLanguagePress — a team group's language
    lc:<idea id>:<action>[:<value>]              LifecyclePress — the council's scores and
                                                 outcome, application, evidence, reward

Trailing optional fields left at their default are left out, and fields after the
last are ignored, as they always were (except the group language's, read whole).
Every id is only a hint: the handler loads and authorises it again on each press.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, fields
from typing import ClassVar, Self

from handlers.limits import MAX_CALLBACK_DATA_BYTES

MAX_ID_DIGITS = 18  # any id or offset fits a signed 64-bit database integer
SEPARATOR = ":"


def parse_id(raw: str) -> int | None:
    """A number from callback data or a typed option: plain ASCII digits only, else None.

    ``str.isdigit`` also accepts "²" (which ``int`` refuses) and "٣" (which it reads),
    and a number longer than a database integer makes the query itself fail.
    """
    if not raw or len(raw) > MAX_ID_DIGITS or not (raw.isascii() and raw.isdigit()):
        return None
    return int(raw)


class ButtonDataError(ValueError):
    """Callback data that could not be sent: too long, or a field holding the separator."""


@dataclass(frozen=True, slots=True)
class Press:
    """The shared packing: the prefix, then the fields in order; ``int`` fields are ids."""

    PREFIX: ClassVar[str] = ""  # empty: the first field is the prefix (a flow's name)
    EXTRA_IGNORED: ClassVar[bool] = True  # fields after the last: ignored, or malformed

    def pack(self) -> str:
        values = [getattr(self, f.name) for f in fields(self)]
        optional = fields(self)[_required(type(self)) :]
        while optional and values[-1] == optional[-1].default:
            values.pop()
            optional = optional[:-1]
        parts = [str(value) for value in values]
        if any(SEPARATOR in part for part in parts):
            raise ButtonDataError(f"a field of {self!r} holds {SEPARATOR!r}")
        data = SEPARATOR.join([self.PREFIX, *parts] if self.PREFIX else parts)
        if len(data.encode()) > MAX_CALLBACK_DATA_BYTES:
            raise ButtonDataError(f"{data!r} is over {MAX_CALLBACK_DATA_BYTES} bytes")
        return data

    @classmethod
    def unpack(cls, data: str) -> Self | None:
        """The press ``data`` stands for, or None if it is not one of this kind."""
        parts = data.split(SEPARATOR)
        if cls.PREFIX:
            if parts[0] != cls.PREFIX:
                return None
            parts = parts[1:]
        declared = fields(cls)
        if len(parts) < _required(cls) or (len(parts) > len(declared) and not cls.EXTRA_IGNORED):
            return None
        values: list[str | int] = []
        for field, raw in zip(declared, parts, strict=False):
            if field.type == "int":  # the annotation, a string under PEP 563
                number = parse_id(raw)
                if number is None:
                    return None
                values.append(number)
            else:
                values.append(raw)
        press = cls(*values)
        return press if press.valid() else None

    def valid(self) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class FlowPress(Press):
    """A button of one flow instance: stale once the flow (or its nonce) has changed."""

    flow: str
    nonce: str
    step: str
    action: str = ""
    value: str = ""


@dataclass(frozen=True, slots=True)
class GlobalPress(Press):
    """A button that works whatever flow the chat is in."""

    PREFIX = "g"
    name: str
    value: str = ""


@dataclass(frozen=True, slots=True)
class CardPress(Press):
    PREFIX = "tr"
    idea_id: int
    action: str
    value: str = ""


@dataclass(frozen=True, slots=True)
class LifecyclePress(Press):
    """A step of an idea's life after approval (handlers/flows/lifecycle.py routes it)."""

    PREFIX = "lc"
    idea_id: int
    action: str
    value: str = ""


@dataclass(frozen=True, slots=True)
class AnswerPress(Press):
    PREFIX = "ans"
    idea_id: int


@dataclass(frozen=True, slots=True)
class ProgressPress(Press):
    """View (``v``), chart (``c``) or export (``x``) of a unit in a campaign."""

    PREFIX = "pg"
    ACTIONS: ClassVar[tuple[str, ...]] = ("v", "c", "x")
    action: str
    unit_id: int
    campaign_id: int
    page: int = 0

    def valid(self) -> bool:
        return self.action in self.ACTIONS


@dataclass(frozen=True, slots=True)
class GroupLanguagePress(Press):
    PREFIX = "glang"
    EXTRA_IGNORED = False  # "glang:vi:x" names no language
    lang: str


KINDS: tuple[type[Press], ...] = (
    FlowPress,
    GlobalPress,
    CardPress,
    AnswerPress,
    ProgressPress,
    GroupLanguagePress,
    LifecyclePress,
)
_BY_PREFIX = {kind.PREFIX: kind for kind in KINDS if kind.PREFIX}


def _required(kind: type[Press]) -> int:
    """How many leading fields every press of this kind carries (those without a default)."""
    return sum(1 for f in fields(kind) if f.default is MISSING)


def kind_of(data: str) -> type[Press]:
    """The kind of press ``data`` claims to be, by its first field; a flow's otherwise."""
    return _BY_PREFIX.get(data.split(SEPARATOR, 1)[0], FlowPress)


def unpack(data: str) -> Press | None:
    return kind_of(data).unpack(data)
