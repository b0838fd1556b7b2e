"""A long idea's review on Zalo shows the whole idea, in several messages, the choices last."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.i18n import Catalogue
from standins.zalo import ZaloStandinClient, ZaloStandinServer
from storage.models import RoleKind, Unit
from tests.flows.harness import Harness
from tests.flows.test_worker_idea import invite
from tests.zalo.test_channel import USER, run_channel, zalo_settings


def words(text: str) -> list[str]:
    return text.split()


async def test_the_review_of_a_long_idea_shows_all_of_it(
    server: ZaloStandinServer,
    people: ZaloStandinClient,
    db: async_sessionmaker[AsyncSession],
    catalogue: Catalogue,
    tmp_path: Path,
    h: Harness,
    units: dict[str, Unit],
) -> None:
    token = await invite(h, units["HCM-Q7-MAY"], RoleKind.MEMBER)
    first = " ".join(f"Câu {i}: lắp cảm biến tắt máy nén khí ở chuyền {i}." for i in range(24))
    second = " ".join(f"Ý {i}: đèn LED ở nhà ăn ca {i}, tiết kiệm điện." for i in range(24))
    assert len(first) + len(second) > 2000  # more than one Zalo message, within the limit
    async for _channel, _ in run_channel(zalo_settings(server, tmp_path), db, catalogue):
        for typed in (f"/start {token}", "/idea", first, second, "xong", "1", "1", "bo qua"):
            sent = await people.send_text(USER, typed)
            await people.wait_reply(sent)
        sent = await people.send_text(USER, "2")  # shareable: the review comes
        review = await people.wait_reply(sent)
        while "\n1. " not in review[-1]["text"]:  # the parts come paced: up to the choices
            review = await people.wait_reply(sent, len(review) + 1)
        shown = "\n".join(m["text"] for m in review)
        assert "…" not in shown
        assert " ".join(words(first)) in " ".join(words(shown))
        assert " ".join(words(second)) in " ".join(words(shown))
        # The choices (Submit, Edit, Cancel) come with the last part only.
        assert "\n1. " in review[-1]["text"]
        assert all("\n1. " not in m["text"] for m in review[:-1])
        sent = await people.send_text(USER, "1")  # submit
        [done] = await people.wait_reply(sent)
        assert "SK-" in done["text"]
