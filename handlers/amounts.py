"""Reading a money figure the way workers type it: "5 triệu", "5tr", "khoảng 1,5 tỷ", "about 5m"."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from handlers.textnorm import fold

MAX_AMOUNT_VND = 10**14  # a hundred trillion đồng: anything above is a typo

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


def parse_amount(text: str) -> int | None:
    """The amount in đồng, or None if the text is not a figure we understand."""
    folded = fold(text).replace("đ", "d").rstrip(".")
    match = _PATTERN.match(folded)
    if match is None:
        return None
    unit = _UNITS.get(match["unit"])
    if unit is None:
        return None
    number = _to_decimal(match["number"].replace(" ", ""), has_unit=unit > 1)
    if number is None:
        return None
    amount = int(number * unit)
    if amount <= 0 or amount > MAX_AMOUNT_VND:
        return None
    return amount


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
