"""The periodic passes (reminders, reports and digests) stop between passes, never inside one.

A pass cancelled half-way through its transaction left its connection for the pool to roll
back from a cancelled task, which SQLAlchemy reported with a traceback at every such stop.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from bot.config import load_settings
from bot.runtime import periodic


class Pass:
    """Stands in for a pass: takes a while, and says whether it ran to its end."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started = asyncio.Event()
        self.finished = 0
        self.cancelled = 0

    async def __call__(self, *_: Any, **__: Any) -> Any:
        self.started.set()
        try:
            await asyncio.sleep(self.seconds)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        self.finished += 1
        return 0


@pytest.mark.parametrize("which", ["reminders", "reports"])
async def test_a_stop_lets_the_pass_in_hand_finish_and_ends_the_loop(
    which: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings(env={})
    one = Pass(0.3)
    stop = asyncio.Event()
    if which == "reminders":
        monkeypatch.setattr(periodic, "run_reminders", one)
        loop = periodic.remind_periodically(settings, None, None, None, stop)  # type: ignore[arg-type]
    else:
        monkeypatch.setattr(periodic, "run_report_jobs", one)
        monkeypatch.setattr(periodic, "run_digest", Pass(0))
        loop = periodic.report_periodically(settings, None, None, None, stop)  # type: ignore[arg-type]
    task = asyncio.create_task(loop, name=which)
    await one.started.wait()
    stop.set()
    started = time.monotonic()
    await periodic.stop_periodic([task])
    assert one.finished == 1 and one.cancelled == 0
    assert task.done() and not task.cancelled()
    assert time.monotonic() - started < 1.0  # not the minutes until the next pass


async def test_a_pass_that_overruns_the_stop_is_cut_short(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(periodic, "PERIODIC_STOP_SECONDS", 0.1)
    monkeypatch.setattr(periodic, "run_reminders", slow := Pass(30))
    stop = asyncio.Event()
    task = asyncio.create_task(
        periodic.remind_periodically(load_settings(env={}), None, None, None, stop),  # type: ignore[arg-type]
        name="reminders",
    )
    await slow.started.wait()
    stop.set()
    await periodic.stop_periodic([task])
    assert slow.cancelled == 1 and task.cancelled()
    assert "reminders did not stop in time" in caplog.text
