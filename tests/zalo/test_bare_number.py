"""A bare number that is not on the list shown is not taken as a value: the bot asks.

At the benefit-amount step Zalo lists only "1. Bỏ qua"; a worker who types "2" meant a
choice (or left out the unit), never 2 đồng a year.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.i18n import Catalogue
from standins.zalo import ZaloStandinClient, ZaloStandinServer
from storage.models import Idea, RoleKind, Unit
from tests.flows.harness import Harness
from tests.flows.test_worker_idea import invite
from tests.zalo.test_channel import USER, run_channel, zalo_settings


async def test_a_number_off_the_list_at_the_amount_step_is_asked_about(
    server: ZaloStandinServer,
    people: ZaloStandinClient,
    db: async_sessionmaker[AsyncSession],
    catalogue: Catalogue,
    tmp_path: Path,
    h: Harness,
    units: dict[str, Unit],
) -> None:
    token = await invite(h, units["HCM-Q7-MAY"], RoleKind.MEMBER)
    body = "Lắp cảm biến tắt máy nén khí khi chuyền dừng để tiết kiệm điện."
    async for _channel, _ in run_channel(zalo_settings(server, tmp_path), db, catalogue):
        for typed in (f"/start {token}", "/idea", body, "xong", "1", "1"):
            sent = await people.send_text(USER, typed)
            [reply] = await people.wait_reply(sent)
        assert reply["text"].rstrip().endswith("1. Bỏ qua")  # the amount question
        sent = await people.send_text(USER, "2")
        [asked] = await people.wait_reply(sent)
        assert "2" in asked["text"] and "2 triệu" in asked["text"], asked["text"]
        assert "bảo mật" not in asked["text"].lower()  # still at the amount
        sent = await people.send_text(USER, "5000000")  # a bare number that is a sum
        [reply] = await people.wait_reply(sent)
        assert "bảo mật" in reply["text"].lower()
        for typed in ("2", "1"):  # shareable, then submit
            sent = await people.send_text(USER, typed)
            await people.wait_reply(sent)
    async with db() as session:
        [idea] = (await session.execute(select(Idea))).scalars()
    assert idea.benefit_amount == 5_000_000
