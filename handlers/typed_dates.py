"""Reading a calendar day the way people type it: "25/11/2026", "25-11-26", "ngày 25 tháng 11".

Day first, as Vietnam writes dates; ``2026-11-25`` (ISO) is read too. A day without
a year is in ``today``'s year. "hôm nay"/"today" and "hôm qua"/"yesterday" are read
against ``today`` (the caller's Vietnam day).
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from handlers.textnorm import fold

_DAY_FIRST = re.compile(r"^(\d{1,2})\s*[/.\-]\s*(\d{1,2})(?:\s*[/.\-]\s*(\d{4}|\d{2}))?$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_WORDS = re.compile(r"^(?:ngay\s*)?(\d{1,2})\s*thang\s*(\d{1,2})(?:\s*(?:nam|,)?\s*(\d{4}))?$")
_TODAY = {"hom nay", "today", "nay"}
_YESTERDAY = {"hom qua", "yesterday", "qua"}
MAX_CHARS = 40


def parse_day(text: str, today: date) -> date | None:
    """The day ``text`` names, or None if it names none (31/02 included)."""
    folded = fold(text).strip().rstrip(".")
    if not folded or len(folded) > MAX_CHARS:
        return None
    if folded in _TODAY:
        return today
    if folded in _YESTERDAY:
        return today - timedelta(days=1)
    iso = _ISO.match(folded)
    if iso is not None:
        return _day(int(iso[1]), int(iso[2]), int(iso[3]))
    match = _DAY_FIRST.match(folded) or _WORDS.match(folded)
    if match is None:
        return None
    year = match[3]
    if year is None:
        full_year = today.year
    elif len(year) == 2:
        full_year = 2000 + int(year)
    else:
        full_year = int(year)
    return _day(full_year, int(match[2]), int(match[1]))


def _day(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None
