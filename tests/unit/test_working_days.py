"""Reminders count working days: the configured weekdays less Vietnam's public holidays
(Tết and the other lunar ones, the 2/9 bridge days) and the operator's extra days off
(issue 16)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from bot.runtime.periodic import reminder_policy
from handlers.cards import VIETNAM
from handlers.reminders import ReminderPolicy, add_working_days, working_days_between

MON_FRI = frozenset(range(5))


def at(day: int, month: int, year: int, hour: int = 10) -> datetime:
    return datetime(year, month, day, hour, 0, tzinfo=VIETNAM)


DEFAULT = ReminderPolicy()


def due(sent: datetime, policy: ReminderPolicy = DEFAULT) -> datetime:
    moment = add_working_days(sent, policy.working_days, policy.weekdays, policy.extra_days_off)
    return moment.astimezone(VIETNAM)


def test_national_day_is_not_a_working_day() -> None:
    # Sent Monday 31/08/2026 (itself a day off, swapped for Saturday 22/08); 1/9 and 2/9
    # are National Day: Thursday 03/09 is the first working day, Monday 07/09 the third.
    assert due(at(31, 8, 2026)) == at(7, 9, 2026)


def test_tet_is_not_counted() -> None:
    # Sent Thursday 04/02/2027: Tết runs to Wednesday 10/02.
    assert due(at(4, 2, 2027)) == at(15, 2, 2027)


def test_hung_kings_day_observed_and_the_may_holidays_are_not_counted() -> None:
    # Sent Friday 24/04/2026: the Hùng Kings' day (Sunday 26/04) is observed on Monday 27/04;
    # 30/04 and 01/05 are off too.
    assert due(at(24, 4, 2026)) == at(4, 5, 2026)


def test_an_ordinary_week_is_unchanged() -> None:
    assert due(at(4, 12, 2026)) == at(9, 12, 2026)  # Friday -> Wednesday


def test_the_operators_extra_days_off_are_not_counted() -> None:
    policy = ReminderPolicy(extra_days_off=frozenset({date(2026, 12, 7)}))
    assert due(at(4, 12, 2026), policy) == at(10, 12, 2026)


def test_working_days_between_counts_what_the_reminder_says() -> None:
    sent = at(31, 8, 2026)
    assert working_days_between(sent, at(7, 9, 2026), MON_FRI) == 3
    assert working_days_between(sent, at(3, 9, 2026, 11), MON_FRI) == 1
    assert working_days_between(sent, at(31, 8, 2026, 23), MON_FRI) == 0


def test_config_takes_extra_days_off_as_a_list_or_from_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        'zalo:\n  enabled: false\nreminders:\n  extra_days_off: ["2026-12-07", 2026-12-08]\n',
        encoding="utf-8",
    )
    policy = reminder_policy(load_settings(path, env={}))
    assert policy.extra_days_off == {date(2026, 12, 7), date(2026, 12, 8)}
    assert due(at(4, 12, 2026), policy) == at(11, 12, 2026)
    from_env = load_settings(path, env={"REMINDER_EXTRA_DAYS_OFF": "2026-12-24, 2026-12-25"})
    assert reminder_policy(from_env).extra_days_off == {date(2026, 12, 24), date(2026, 12, 25)}


def test_a_bad_extra_day_off_is_named(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text('reminders:\n  extra_days_off: ["2026-13-01"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"reminders\.extra_days_off"):
        load_settings(path, env={})


def test_config_yaml_documents_extra_days_off() -> None:
    text = (Path(__file__).resolve().parents[2] / "config.yaml").read_text("utf-8")
    assert "extra_days_off" in text and "REMINDER_EXTRA_DAYS_OFF" in text
