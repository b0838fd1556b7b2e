"""A worker on Zalo adds evidence and records the reward in /myideas by typing (issue #18).

Zalo has no buttons: the bot's choices come as a numbered list and the worker types a
number or the option's words. This runs the real Zalo channel against the stand-in
server, so what the worker reads is what Zalo would show (bot/zalo/wording.py included).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.zalo.choices import match_choice
from handlers.i18n import Catalogue
from standins.zalo import ZaloStandinClient, ZaloStandinServer
from storage.lifecycle_models import IdeaResult
from storage.models import Attachment, Idea, IdeaEvent, IdeaStatus, RoleKind, Unit
from tests.flows.harness import Harness
from tests.flows.test_worker_idea import invite
from tests.zalo.test_channel import USER, run_channel, zalo_settings
from tests.zalo.test_wording import BUTTON_WORDS

IDEA_TEXT = "Lắp cảm biến tắt máy nén khí khi chuyền dừng để tiết kiệm điện."


async def say(people: ZaloStandinClient, text: str, count: int = 1) -> list[dict[str, Any]]:
    sent = await people.send_text(USER, text)
    return await people.wait_reply(sent, count)


async def recognise(db: async_sessionmaker[AsyncSession], unit: Unit) -> Idea:
    """The worker's idea as the team's approval and the council's recognition store it."""
    async with db() as session:
        idea = await session.scalar(select(Idea))
        assert idea is not None
        idea.status = IdeaStatus.RECOGNISED.value
        decided = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
        session.add(IdeaEvent(idea_id=idea.id, kind="recognised", actor_id=None, at=decided))
        session.add(
            IdeaResult(
                idea_id=idea.id,
                council_unit_id=unit.id,
                recognised=True,
                decision_no="15/QĐ-CĐCS",
                decision_date=date(2026, 11, 10),
                decided_at=decided,
            )
        )
        await session.commit()
        return idea


async def test_a_zalo_worker_adds_evidence_and_records_the_reward_by_typing(
    server: ZaloStandinServer,
    people: ZaloStandinClient,
    db: async_sessionmaker[AsyncSession],
    catalogue: Catalogue,
    tmp_path: Path,
    h: Harness,
    units: dict[str, Unit],
) -> None:
    token = await invite(h, units["HCM-Q7-MAY"], RoleKind.MEMBER)
    async for _channel, _ in run_channel(zalo_settings(server, tmp_path), db, catalogue):
        await say(people, f"/start {token}")
        await say(people, "/idea")
        await say(people, IDEA_TEXT)
        for typed in ("xong", "1", "tiet kiem chi phi", "bo qua", "co the chia se"):
            [review] = await say(people, typed)
        assert "Có thể chia sẻ" in review["text"]
        [submitted] = await say(people, "gui")
        idea = await recognise(db, units["HCM-Q7-MAY"])
        assert idea.ref_code in submitted["text"]

        [mine] = await say(people, "/myideas")
        assert idea.ref_code in mine["text"] and "\n1. " in mine["text"]
        [life] = await say(people, "1")
        assert "Thêm minh chứng" in life["text"] and "Ghi nhận tiền thưởng" in life["text"]
        # The option's words, without diacritics.
        [ask] = await say(people, "them minh chung")
        assert "minh chứng" in ask["text"] and "gõ Xong" in ask["text"]
        assert not BUTTON_WORDS.search(ask["text"]), ask["text"]
        sent = await people.send_photo(USER, width=320, height=200)
        [got] = await people.wait_reply(sent)
        assert "Đã nhận 1 tệp" in got["text"] and "gõ Xong" in got["text"]
        assert not BUTTON_WORDS.search(got["text"]), got["text"]
        [added] = await say(people, "xong")
        assert "Đã thêm 1 tệp" in added["text"]

        await say(people, "/myideas")
        await say(people, "một")
        [ask] = await say(people, "2")  # 🎁 the reward received
        assert "thưởng" in ask["text"]
        [done] = await say(people, "5 triệu")
        assert "5.000.000" in done["text"]

    async with db() as session:
        result = await session.get(IdeaResult, idea.id)
        assert result is not None and result.reward_vnd == 5_000_000
        events = list(
            (await session.execute(select(IdeaEvent).where(IdeaEvent.idea_id == idea.id)))
            .scalars()
            .all()
        )
        [evidence] = [e for e in events if e.kind == "evidence_added"]
        assert evidence.data == {"files": 1}
        files = list(
            (await session.execute(select(Attachment).where(Attachment.event_id == evidence.id)))
            .scalars()
            .all()
        )
        assert len(files) == 1
        assert [e.data for e in events if e.kind == "rewarded"] == [
            {"reward": 5_000_000, "old": None}
        ]


def test_the_application_steps_choices_are_read_from_typed_words(catalogue: Catalogue) -> None:
    """Today, No files yet / Done, Record and Cancel as the application flow offers them."""
    for lang, typed in (
        (
            "vi",
            {"today": "hom nay", "no_files": "chua co tep", "done": "xong", "record": "ghi nhan"},
        ),
        ("en", {"today": "today", "no_files": "no files yet", "done": "done", "record": "record"}),
    ):
        t = catalogue.for_lang(lang)
        for key, words in typed.items():
            choices = [(t(f"applied.{key}"), key), (t("applied.cancel"), "x")]
            assert match_choice(words, choices) == 0, (lang, key)
            assert match_choice("1", choices) == 0 and match_choice("2", choices) == 1
            assert match_choice(t("applied.cancel"), choices) == 1
            assert match_choice("huy" if lang == "vi" else "cancel", choices) == 1
