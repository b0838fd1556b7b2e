"""What a person types stays out of the flows' own log lines (caplog at DEBUG).

The libraries' records (aiosqlite logs SQL values at DEBUG) are bot/logs.py's filter's
business: tests/unit/test_private_logs.py.
"""

from __future__ import annotations

import logging

import pytest

from tests.flows.harness import Harness

STRANGER = 5001
TYPED = "0912345678-Xuyen"  # a phone number typed where a unit code was asked


async def test_a_refused_progress_code_is_not_logged(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="handlers")
    r = await harness.send(STRANGER, f"/progress {TYPED}")
    assert r.replies, "the person is answered"
    ours = "\n".join(rec.getMessage() for rec in caplog.records if rec.name.startswith("handlers"))
    assert "progress refused" in ours  # the refusal is still logged
    assert "0912345678" not in ours
