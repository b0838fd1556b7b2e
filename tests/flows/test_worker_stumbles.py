"""What a worker stumbled on in the idea form (issue 16, items 4-7)."""

from __future__ import annotations

import pytest

from handlers.limits import MAX_IDEA_BODY_CHARS
from storage.models import Unit
from tests.flows.harness import Harness
from tests.flows.test_worker_idea import join_by_link

WORKER = 1001


@pytest.fixture
def h(harness: Harness) -> Harness:
    return harness


# ---------------------------------------------------------------- 7: amounts and the limit


async def test_approximate_amounts_are_taken_in_both_languages(
    h: Harness, units: dict[str, Unit]
) -> None:
    await join_by_link(h, WORKER, units["HCM-Q7-MAY"])
    await h.send(WORKER, "/idea")
    r = await h.send(WORKER, "Đổi lịch bảo trì máy dệt sang cuối tuần")
    r = await h.press(WORKER, r.last.button("Xong"))
    r = await h.press(WORKER, r.last.button("Quản lý"))
    r = await h.press(WORKER, r.last.button("Tiết kiệm chi phí"))
    r = await h.send(WORKER, "khoang 20 trieu")
    assert "Bảo mật" in r.last.labels[0], r.last.text
    r = await h.press(WORKER, r.last.button("Có thể chia sẻ"))
    assert "20.000.000 đ" in r.last.text


async def test_over_the_limit_counts_what_is_left(h: Harness, units: dict[str, Unit]) -> None:
    await join_by_link(h, WORKER, units["HCM-Q7-MAY"], lang="en")
    await h.send(WORKER, "/idea", lang="en")
    r = await h.send(WORKER, "x" * (MAX_IDEA_BODY_CHARS + 1), lang="en")
    assert f"only {MAX_IDEA_BODY_CHARS} more fit" in r.last.text, r.last.text
    first = "y" * (MAX_IDEA_BODY_CHARS - 10)
    await h.send(WORKER, first, lang="en")
    r = await h.send(WORKER, "z" * 23, lang="en")
    # 2990 kept, a blank line between parts: 8 more fit, and the message says 23 is too many.
    assert "has 23 characters, but only 8 more fit" in r.last.text, r.last.text
    r = await h.send(WORKER, "z" * 8, lang="en")
    assert "3000 characters" in r.last.text, r.last.text
