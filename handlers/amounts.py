"""Reading a money figure the way workers type it: "5 triệu", "5tr", "khoảng 1,5 tỷ", "about 5m"."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from handlers.textnorm import fold

MAX_AMOUNT_VND = 10**14  # a hundred trillion đồng: anything above is a typo
# A measured benefit or a reward (issue #18): a million billion đồng is past any
# enterprise's books, so anything above it is a typo.
MAX_MEASURED_VND = 10**15

_UNITS: dict[str, int] = {
    "": 1,
    "d": 1,
    "dong": 1,
    "vnd": 1,
    "k": 1_000,
    "nghin": 1_000,
    "ngan": 1_000,
    "thousand": 1_000,
    "tr": 1_000_000,
    "trieu": 1_000_000,
    "m": 1_000_000,
    "million": 1_000_000,
    "millions": 1_000_000,
    "cu": 1_000_000,  # "5 củ": colloquial for a million
    "ty": 1_000_000_000,
    "ti": 1_000_000_000,
    "b": 1_000_000_000,
    "billion": 1_000_000_000,
    "billions": 1_000_000_000,
}

# An estimate is an estimate: "khoảng", "tầm", "about", "~" in front change nothing.
_APPROXIMATELY = (
    r"(?:(?:khoang|tam|chung|uoc(?:\s*tinh)?|about|around|approximately|approx\.?|roughly|~)\s*)?"
)
_CURRENCY = r"(?:\s*(?:dong|d|vnd))?"
_PER_YEAR = r"(?:\s*(?:/\s*|moi\s+|per\s+|a\s+|each\s+)(?:nam|year|yr))?"
_PATTERN = re.compile(
    rf"^{_APPROXIMATELY}(?P<number>\d[\d.,\s]*)\s*(?P<unit>[a-z]*){_CURRENCY}{_PER_YEAR}$"
)


# A minus in front ("-5 triệu", "âm 5 triệu", a typographic minus or dash).
_NEGATIVE = re.compile(r"^(?:-|\u2212|\u2013|am\s+|minus\s+)\s*")


class AmountProblem(enum.StrEnum):
    NOT_A_NUMBER = "not_a_number"
    NEGATIVE = "negative"
    ZERO = "zero"
    TOO_LARGE = "too_large"


@dataclass(frozen=True, slots=True)
class Reading:
    """A typed figure read: the amount in đồng, or why it cannot be taken."""

    amount: int | None
    problem: AmountProblem | None = None


def read_amount(text: str, *, limit: int = MAX_AMOUNT_VND, allow_zero: bool = False) -> Reading:
    """The amount in đồng, or the reason it is refused (to answer the person precisely)."""
    folded = fold(text).replace("đ", "d").rstrip(".")
    negative = _NEGATIVE.match(folded)
    if negative is not None:
        rest = _figure(folded[negative.end() :])
        if rest is not None and rest > 0:
            return Reading(None, AmountProblem.NEGATIVE)
        return Reading(None, AmountProblem.NOT_A_NUMBER)
    amount = _figure(folded)
    if amount is None:
        return Reading(None, AmountProblem.NOT_A_NUMBER)
    if amount == 0 and not allow_zero:
        return Reading(None, AmountProblem.ZERO)
    if amount > limit:
        return Reading(None, AmountProblem.TOO_LARGE)
    return Reading(amount)


def parse_amount(text: str) -> int | None:
    """The amount in đồng (above zero, at most ``MAX_AMOUNT_VND``: the idea form's
    estimate), or None if the text is not such a figure."""
    return read_amount(text).amount


def _figure(folded: str) -> int | None:
    match = _PATTERN.match(folded)
    if match is None:
        return None
    unit = _UNITS.get(match["unit"])
    if unit is None:
        return None
    number = _to_decimal(match["number"].replace(" ", ""), has_unit=unit > 1)
    if number is None:
        return None
    return int(number * unit)


def _to_decimal(raw: str, *, has_unit: bool) -> Decimal | None:
    """Vietnamese writes 5.000.000 and 1,5; English 5,000,000 and 1.5: tell them apart."""
    if not raw:
        return None
    separators = [c for c in raw if c in ".,"]
    if not separators:
        digits = raw
    elif len(set(separators)) == 2:
        # Both kinds: the last one is the decimal mark.
        decimal_mark = separators[-1]
        group_mark = "," if decimal_mark == "." else "."
        digits = raw.replace(group_mark, "").replace(decimal_mark, ".")
    else:
        mark = separators[0]
        groups = raw.split(mark)
        looks_grouped = all(len(g) == 3 for g in groups[1:]) and (len(groups) > 2 or not has_unit)
        digits = raw.replace(mark, "") if looks_grouped else raw.replace(mark, ".")
    try:
        return Decimal(digits)
    except InvalidOperation:
        return None


def format_amount(amount: int, lang: str) -> str:
    """12500000 → "12.500.000 đ" in Vietnamese, "12,500,000 VND" in English."""
    grouped = f"{amount:,}"
    if lang == "vi":
        return grouped.replace(",", ".") + " đ"
    return grouped + " VND"
