"""Days as people type them (the day an initiative came into use)."""

from __future__ import annotations

from datetime import date

import pytest

from handlers.typed_dates import parse_day

TODAY = date(2026, 11, 20)


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("15/11/2026", date(2026, 11, 15)),
        ("5/1/2026", date(2026, 1, 5)),
        ("15-11-2026", date(2026, 11, 15)),
        ("15.11.2026", date(2026, 11, 15)),
        ("15/11/26", date(2026, 11, 15)),
        ("15/11", date(2026, 11, 15)),
        ("2026-11-15", date(2026, 11, 15)),
        ("ngày 15 tháng 11 năm 2026", date(2026, 11, 15)),
        ("ngay 15 thang 11", date(2026, 11, 15)),
        ("Hôm nay", TODAY),
        ("today", TODAY),
        ("hôm qua", date(2026, 11, 19)),
    ],
)
def test_days_are_read(text: str, day: date) -> None:
    assert parse_day(text, TODAY) == day


@pytest.mark.parametrize(
    "text", ["31/02/2026", "32/1/2026", "15/13/2026", "ngày mai", "", "1" * 100, "11/15/2026"]
)
def test_what_is_no_day(text: str) -> None:
    assert parse_day(text, TODAY) is None
