"""An idea's whole life in the chat, in process: the team approves, the council scores and
the chair records recognition (handlers/flows/council.py), the team records it in use from
the message the recognition brought, and the worker reads it all in /myideas (issue #18)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from storage.lifecycle_models import IdeaResult
from storage.models import Campaign, IdeaStatus, ProgressTotal
from tests.flows.council_world import (
    ANH,
    C1,
    C2,
    C3,
    CHAIR,
    WORKER,
    World,
    approve,
    council_card,
    current,
    make_world,
    new_idea,
    score,
)
from tests.flows.harness import Harness, photo


@pytest.fixture
async def w(harness: Harness) -> World:
    return await make_world(harness)


async def test_approved_recognised_applied_and_read_by_the_worker(w: World) -> None:
    h = w.h
    idea = await new_idea(w)
    await approve(w, idea)
    for member, digits in ((C1, "4534"), (C2, "3333"), (C3, "5555")):
        await score(w, member, idea, digits)
    h.now += timedelta(days=21)
    r = await h.click(CHAIR, council_card(h, CHAIR, idea.ref_code), "🏅 Công nhận")
    r = await h.send(CHAIR, "số 12/QĐ-CĐ ngày 5/12/2026")
    await h.click(CHAIR, r.last, "Xác nhận")
    assert (await current(h, idea.id)).status == IdeaStatus.RECOGNISED.value

    # The team's message about the recognition carries the button that starts it all.
    await h.deliver()
    told = [m for m in h.screen(ANH) if "Hội đồng sáng kiến công nhận" in m.text]
    r = await h.click(ANH, told[-1], told[-1].labels[0])
    assert "từ ngày nào" in r.last.text
    r = await h.send(ANH, "4/12/2026")  # before the decision of 5/12
    assert "05/12/2026" in r.last.text
    await h.send(ANH, "hôm nay")
    await h.send(ANH, "Chuyền may số 2")
    await h.send(ANH, "1,5 tỷ")
    r = await h.send(ANH, None, files=(photo(9),))
    r = await h.press(ANH, r.last.button("Xong"), message_id=r.last.message_id)
    r = await h.press(ANH, r.last.button("Ghi nhận"), message_id=r.last.message_id)
    assert "1.500.000.000 đ" in r.last.text
    assert (await current(h, idea.id)).status == IdeaStatus.APPLIED.value

    async with h.sessionmaker() as session:
        campaign = await session.scalar(select(Campaign).where(Campaign.code == "2026-P2"))
        assert campaign is not None
        row = await session.get(ProgressTotal, (w.units["HCM-Q7-MAY"].id, campaign.id))
        result = await session.get(IdeaResult, idea.id)
    assert row is not None and (row.recognised, row.applied, row.benefit) == (1, 1, 1_500_000_000)
    assert result is not None and result.applied_campaign_id == campaign.id

    r = await h.send(WORKER, "/myideas")
    r = await h.press(WORKER, r.last.button(idea.ref_code), message_id=r.last.message_id)
    life = r.last.text
    for step in (
        "Tổ hỗ trợ chấp thuận",
        "quyết định số 12/QĐ-CĐ ngày 05/12/2026",
        "1.500.000.000 đ",
    ):
        assert step in life, life
    for secret in ("Chi Hội đồng", "Dũng Hội đồng", "Nên thử", "4534", "điểm"):
        assert secret not in life, secret
