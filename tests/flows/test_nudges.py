"""The weekly nudge (issue #19) through the neutral core: real SQLite, queued messages read
back as the chats would show them.

The campaign runs 60 days and the nudge comes on its 31st (Monday 23/11/2026, 09:00
Vietnam time): 30 whole days have gone by, so what is expected by now is exactly half
of each target. Each unit below is set up to be one case of who hears and who does not.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from bot import cli
from bot.config import ENV_OVERRIDES
from handlers.events import ChatRef, OutMessage
from handlers.i18n import Catalogue
from handlers.nudges import NudgePolicy, run_nudges, week_of
from storage.db import create_engine, create_sessionmaker
from storage.models import OutboxMessage, Role, RoleKind, Unit, UnitKind
from storage.outreach_models import NudgeSent
from storage.progress import VIETNAM, add_campaign
from storage.quotas_import import import_quotas
from storage.repositories.units import unit_ids_on_path
from storage.schema import upgrade
from storage.uow import UnitOfWork
from tests.flows.harness import Harness, seed_units
from tests.flows.test_progress import add_unit, submit
from tests.flows.test_worker_idea import invite

MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=VIETNAM)
START, END = date(2026, 10, 24), date(2026, 12, 22)  # 60 days; 30 gone by on MONDAY
OLD_DAY = date(2026, 11, 1)  # long before the nudge's week
POLICY = NudgePolicy(weekday=0, hour=9)

OFFICIAL_Q7, OFFICIAL_HCM, OFFICIAL_HN = 5101, 5102, 5103
SUPPORT = {
    "HCM-Q7-MAY": 6101,  # behind, three ideas waiting: clear /queue
    "HCM-Q7-DIEN": 6102,  # ahead
    "HCM-Q7-B": 6103,  # exactly on track
    "HCM-Q7-C": 6104,  # a team, but no quota
    "HCM-Q7-E": 6105,  # English; approvals fine, recognised behind: the council
    "HCM-Q1-G": 6106,  # its team's group gets it: nothing sent this week: the poster
    "HN-X": 6107,  # behind, ideas still coming: encourage
}
GROUP_G = "-100777"
WORKERS = (7101, 7102, 7103)
IDEA_TEXT = "Sáng kiến bí mật {n}: thay khuôn ép nhựa để giảm phế phẩm"
WORKER_NAME = "Lê Thị Hoa"


@dataclass
class World:
    h: Harness
    units: dict[str, Unit]


async def bump(h: Harness, unit: Unit, day: date, **counts: int) -> None:
    """Counts as the bot keeps them: for the unit and every unit above it."""
    async with UnitOfWork(h.sessionmaker) as uow:
        campaign = await uow.progress.campaign_by_code("N-P1")
        assert campaign is not None
        await uow.progress.bump(unit_ids_on_path(unit.path), campaign.id, day, **counts)
        await uow.commit()


async def build(h: Harness, tmp_path: Path) -> World:
    u = h.units
    q7, hcm = u["HCM-Q7"], u["HCM"]
    for code in ("HCM-Q7-B", "HCM-Q7-C", "HCM-Q7-D", "HCM-Q7-E"):
        await add_unit(h, code, f"CĐCS Công ty {code[-1]} Quận 7", UnitKind.GRASSROOTS, q7)
    q1 = await add_unit(h, "HCM-Q1", "Liên đoàn Lao động Quận 1", UnitKind.DISTRICT, hcm)
    await add_unit(h, "HCM-Q1-G", "CĐCS Công ty Giày Quận 1", UnitKind.GRASSROOTS, q1)
    hn = await add_unit(h, "HN", "Liên đoàn Lao động Thành phố Hà Nội", UnitKind.PROVINCE, u["VN"])
    await add_unit(h, "HN-X", "CĐCS Công ty Xi măng Hồng Hà", UnitKind.GRASSROOTS, hn)
    await add_campaign(h.sessionmaker, code="N-P1", name="Đợt thử", starts_on=START, ends_on=END)
    quotas = tmp_path / "quotas.csv"
    quotas.write_text(
        "unit_code,campaign,target,measure\n"
        "HCM-Q7-MAY,N-P1,20,submitted\n"
        "HCM-Q7-DIEN,N-P1,10,submitted\n"
        "HCM-Q7-B,N-P1,10,submitted\n"
        "HCM-Q7-D,N-P1,10,submitted\n"
        "HCM-Q7-E,N-P1,4,submitted\n"
        "HCM-Q7-E,N-P1,4,recognised\n"
        "HCM-Q1-G,N-P1,10,submitted\n"
        "HN-X,N-P1,10,submitted\n",
        encoding="utf-8",
    )
    await import_quotas(h.sessionmaker, quotas)
    for user, code in ((OFFICIAL_Q7, "HCM-Q7"), (OFFICIAL_HCM, "HCM"), (OFFICIAL_HN, "HN")):
        await h.send(user, f"/start {await invite(h, u[code], RoleKind.OFFICIAL)}", name="Cán bộ")
    for code, user in SUPPORT.items():
        lang = "en" if code == "HCM-Q7-E" else "vi"
        token = await invite(h, u[code], RoleKind.SUPPORT)
        await h.send(user, f"/start {token}", name="Tổ HT", lang=lang)
    async with UnitOfWork(h.sessionmaker) as uow:
        person = await uow.people.by_private_chat("telegram", str(SUPPORT["HCM-Q1-G"]))
        assert person is not None
        await uow.teams.bind(
            unit_id=u["HCM-Q1-G"].id,
            channel="telegram",
            chat_id=GROUP_G,
            title="Tổ hỗ trợ Giày",
            person_id=person.id,
            now=h.now,
        )
        await uow.commit()

    # MAY: 2 approved long ago, and three ideas sent through the bot now, waiting.
    await bump(h, u["HCM-Q7-MAY"], OLD_DAY, submitted=2, approved=2)
    for n, worker in enumerate(WORKERS):
        await submit(h, worker, u["HCM-Q7-MAY"], IDEA_TEXT.format(n=n))
    await bump(h, u["HCM-Q7-DIEN"], OLD_DAY, submitted=9, approved=8)  # 8 > 5
    await bump(h, u["HCM-Q7-B"], OLD_DAY, submitted=6, approved=5)  # 5 = 5
    await bump(h, u["HCM-Q7-D"], OLD_DAY, submitted=1)  # behind, but no team
    await bump(h, u["HCM-Q7-E"], OLD_DAY, submitted=4, approved=3)  # 3 > 2; 0 < 2
    await bump(h, u["HCM-Q1-G"], OLD_DAY, submitted=2, approved=1)  # 1 < 5; none this week
    await bump(h, u["HN-X"], date(2026, 11, 20), submitted=2, approved=1)  # 1 < 5
    await h.deliver()
    return World(h, u)


@pytest.fixture
async def world(harness: Harness, tmp_path: Path) -> World:
    return await build(harness, tmp_path)


async def nudges(h: Harness, chat: int | str) -> list[OutMessage]:
    async with h.sessionmaker() as session:
        rows = await session.execute(
            select(OutboxMessage)
            .where(OutboxMessage.chat_id == str(chat), OutboxMessage.purpose == "nudge")
            .order_by(OutboxMessage.id)
        )
        return [OutMessage.from_json(r.payload) for r in rows.scalars()]


async def all_nudges(h: Harness) -> dict[str, list[str]]:
    async with h.sessionmaker() as session:
        rows = await session.execute(
            select(OutboxMessage).where(OutboxMessage.purpose == "nudge").order_by(OutboxMessage.id)
        )
        found: dict[str, list[str]] = {}
        for row in rows.scalars():
            found.setdefault(row.chat_id, []).append(OutMessage.from_json(row.payload).text)
        return found


async def test_exactly_the_lagging_teams_hear(world: World, catalogue: Catalogue) -> None:
    h = world.h
    # A minute before the hour: last week's moment is six days old, its nudges wait no more.
    run = await run_nudges(h.sessionmaker, catalogue, MONDAY - timedelta(minutes=1), POLICY)
    assert run.week == date(2026, 11, 16) and (run.teams, run.officials) == (0, 0)
    assert not await all_nudges(h)
    run = await run_nudges(h.sessionmaker, catalogue, MONDAY, POLICY)
    assert run.week == date(2026, 11, 23)
    sent = await all_nudges(h)
    teams = {str(SUPPORT[c]) for c in ("HCM-Q7-MAY", "HCM-Q7-E", "HN-X")} | {GROUP_G}
    officials = {str(OFFICIAL_Q7), str(OFFICIAL_HCM), str(OFFICIAL_HN)}
    assert set(sent) == teams | officials
    assert all(len(texts) == 1 for texts in sent.values())
    # Nobody else: ahead, on track, no quota, the group's member privately, the workers.
    for code in ("HCM-Q7-DIEN", "HCM-Q7-B", "HCM-Q7-C", "HCM-Q1-G"):
        assert not await nudges(h, SUPPORT[code]), code
    for worker in WORKERS:
        assert not await nudges(h, worker)


async def test_the_team_hears_its_numbers_and_one_fitting_suggestion(
    world: World, catalogue: Catalogue
) -> None:
    h = world.h
    run = await run_nudges(h.sessionmaker, catalogue, MONDAY, POLICY)
    assert (run.teams, run.on_track) == (4, 2)  # MAY, E, G, X; DIEN and B (C has no quota)

    [may] = await nudges(h, SUPPORT["HCM-Q7-MAY"])
    assert "Nhắc nhẹ hằng tuần — Công đoàn cơ sở Công ty May Phú Mỹ" in may.text
    assert "Ý tưởng được duyệt: <b>2</b> · cần đạt đến nay: 10 · chỉ tiêu cả đợt: 20" in may.text
    assert "Đang có 3 ý tưởng chờ tổ xem xét. Mở /queue" in may.text
    assert "50,0%" in may.text  # of the campaign gone by
    assert "áp phích" not in may.text and "Hội đồng" not in may.text  # one suggestion

    [english] = await nudges(h, SUPPORT["HCM-Q7-E"])
    assert "Your weekly nudge" in english.text
    assert "✅ Ideas approved: <b>3</b> · expected by now: 2 · target for the campaign: 4" in (
        english.text
    )
    assert "🔸 Initiatives recognised: <b>0</b> · expected by now: 2" in english.text
    assert "Ask the initiative council to meet" in english.text

    [group] = await nudges(h, GROUP_G)  # the bound group, not its members privately
    assert "Ý tưởng được duyệt: <b>1</b> · cần đạt đến nay: 5" in group.text
    assert "áp phích có mã QR" in group.text
    assert not await nudges(h, SUPPORT["HCM-Q1-G"])

    [hanoi] = await nudges(h, SUPPORT["HN-X"])
    assert "mời mỗi tổ sản xuất góp thêm một ý tưởng" in hanoi.text

    # Never an idea's text, never a person's name, in any nudge.
    for texts in (await all_nudges(h)).values():
        for text in texts:
            assert "bí mật" not in text and "khuôn ép" not in text
            assert "Nguyễn Văn An" not in text and "Tổ HT" not in text and "Cán bộ" not in text


async def test_officials_hear_of_their_own_lagging_units_only(
    world: World, catalogue: Catalogue
) -> None:
    h = world.h
    run = await run_nudges(h.sessionmaker, catalogue, MONDAY, POLICY)
    assert run.officials == 3

    [q7] = await nudges(h, OFFICIAL_Q7)
    lines = [line for line in q7.text.splitlines() if line[:2] in ("1.", "2.", "3.")]
    # Laggards first: E has 0 of 2 recognised (0 %), MAY 2 of 10 approved (20 %).
    assert lines == [
        "1. CĐCS Công ty E Quận 7 — sáng kiến được công nhận: 0/2 (0,0%)",
        "2. Công đoàn cơ sở Công ty May Phú Mỹ — ý tưởng được duyệt: 2/10 (20,0%)",
    ]
    assert "Liên đoàn Lao động Quận 7" in q7.text
    # Not the unit without a team, nor the ones on track, nor another district's.
    for name in ("Công ty D", "Công ty B", "Điện tử", "Giày", "Xi măng"):
        assert name not in q7.text

    # The province hears of the Q1 unit (Q1 has no official), not of Q7's (Q7 has one).
    [hcm] = await nudges(h, OFFICIAL_HCM)
    assert "1. CĐCS Công ty Giày Quận 1 — ý tưởng được duyệt: 1/5 (20,0%)" in hcm.text
    assert "May Phú Mỹ" not in hcm.text and "Xi măng" not in hcm.text

    [hn] = await nudges(h, OFFICIAL_HN)
    assert "Xi măng Hồng Hà" in hn.text and "Quận" not in hn.text


async def test_a_second_pass_the_same_week_sends_nothing(
    world: World, catalogue: Catalogue
) -> None:
    h = world.h
    await run_nudges(h.sessionmaker, catalogue, MONDAY, POLICY)
    before = await all_nudges(h)
    for later in (timedelta(minutes=5), timedelta(hours=8), timedelta(days=6, hours=23)):
        run = await run_nudges(h.sessionmaker, catalogue, MONDAY + later, POLICY)
        assert (run.teams, run.officials) == (0, 0)
    assert await all_nudges(h) == before
    async with h.sessionmaker() as session:
        kinds = await session.execute(
            select(NudgeSent.kind, func.count()).group_by(NudgeSent.kind).order_by(NudgeSent.kind)
        )
        assert list(kinds) == [("official", 3), ("team", 4)]

    # The next week they hear again, as long as they are behind; B, which stood still,
    # is behind now (37 of 60 days gone: 6 of 10 expected, 5 done).
    run = await run_nudges(h.sessionmaker, catalogue, MONDAY + timedelta(days=7), POLICY)
    assert (run.teams, run.officials) == (5, 3)
    assert len(await nudges(h, SUPPORT["HCM-Q7-MAY"])) == 2
    [b] = await nudges(h, SUPPORT["HCM-Q7-B"])
    assert "<b>5</b> · cần đạt đến nay: 6" in b.text


async def test_a_bot_down_at_the_hour_sends_later_in_the_week(
    world: World, catalogue: Catalogue
) -> None:
    h = world.h
    thursday = MONDAY + timedelta(days=3, hours=5)
    assert week_of(thursday, POLICY) == date(2026, 11, 23)
    run = await run_nudges(h.sessionmaker, catalogue, thursday, POLICY)
    assert run.teams == 4
    run = await run_nudges(h.sessionmaker, catalogue, MONDAY, POLICY)
    assert run.teams == 0


async def test_a_team_that_catches_up_hears_nothing(world: World, catalogue: Catalogue) -> None:
    h, u = world.h, world.units
    await bump(h, u["HN-X"], date(2026, 11, 21), approved=4)  # 5 of 5 expected
    await run_nudges(h.sessionmaker, catalogue, MONDAY, POLICY)
    assert not await nudges(h, SUPPORT["HN-X"])
    assert not await nudges(h, OFFICIAL_HN)  # nothing lagging below: no list either


async def test_a_removed_team_member_and_a_stranger_hear_nothing(
    world: World, catalogue: Catalogue
) -> None:
    """The nudge follows the roles at the time of the pass; a group without a role hears
    nothing; an official moved away is not told of the units they no longer cover."""
    h, u = world.h, world.units
    async with h.sessionmaker() as session:
        await session.execute(
            update(Role)
            .where(Role.unit_id == u["HN-X"].id, Role.role == RoleKind.SUPPORT.value)
            .values(revoked_at=h.now)
        )
        await session.commit()
    stranger_group = ChatRef("telegram", "-100999", "group", "Nhóm lạ")
    await h.send(SUPPORT["HCM-Q7-C"], "xin chào", chat=stranger_group)
    await run_nudges(h.sessionmaker, catalogue, MONDAY, POLICY)
    assert not await nudges(h, SUPPORT["HN-X"])
    assert not await nudges(h, "-100999")
    assert not await nudges(h, OFFICIAL_HN)  # HN-X has no team now: nobody nudged there
    assert await nudges(h, OFFICIAL_Q7)


async def test_many_lagging_units_are_cut_at_twenty_lines(
    harness: Harness, tmp_path: Path, catalogue: Catalogue
) -> None:
    h = harness
    district = h.units["HCM-Q7"]
    quotas = "unit_code,campaign,target\n"
    codes = [f"Q7-L{n:02d}" for n in range(23)]
    for n, code in enumerate(codes):
        await add_unit(h, code, f"CĐCS Công ty Số {n:02d}", UnitKind.GRASSROOTS, district)
        quotas += f"{code},N-P1,{10 + n}\n"
    await add_campaign(h.sessionmaker, code="N-P1", name="Đợt thử", starts_on=START, ends_on=END)
    (tmp_path / "q.csv").write_text(quotas, encoding="utf-8")
    await import_quotas(h.sessionmaker, tmp_path / "q.csv")
    await h.send(
        OFFICIAL_Q7, f"/start {await invite(h, district, RoleKind.OFFICIAL)}", name="Cán bộ"
    )
    for n, code in enumerate(codes):
        await h.send(8000 + n, f"/start {await invite(h, h.units[code], RoleKind.SUPPORT)}")
        await bump(h, h.units[code], OLD_DAY, submitted=1, approved=1)
    run = await run_nudges(h.sessionmaker, catalogue, MONDAY, POLICY)
    assert (run.teams, run.officials) == (23, 1)
    [listing] = await nudges(h, OFFICIAL_Q7)
    numbered = [line for line in listing.text.splitlines() if line.split(".")[0].isdigit()]
    assert len(numbered) == 20
    # The biggest targets are the furthest behind (1 of 16 … 1 of 5): they come first.
    assert numbered[0] == "1. CĐCS Công ty Số 22 — ý tưởng được duyệt: 1/16 (6,2%)"
    assert "… và 3 đơn vị khác." in listing.text
    assert "23 đơn vị trực thuộc" in listing.text


async def test_no_campaign_running_no_nudge(harness: Harness, catalogue: Catalogue) -> None:
    h = harness
    await h.send(6199, f"/start {await invite(h, h.units['HCM-Q7-MAY'], RoleKind.SUPPORT)}")
    run = await run_nudges(h.sessionmaker, catalogue, MONDAY, POLICY)
    assert (run.teams, run.officials) == (0, 0)
    assert not await all_nudges(h)


# ---------------------------------------------------------------- the command line


def test_the_command_line_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``python -m bot nudges --now …`` on a migrated database: once a week, as the bot."""
    for variable in ENV_OVERRIDES:
        monkeypatch.delenv(variable, raising=False)
    config = tmp_path / "config.yaml"
    config.write_text("zalo:\n  enabled: false\nnudges:\n  hour: 9\n", encoding="utf-8")
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    env = {"SANGKIEN_CONFIG": str(config), "DATABASE_URL": url}

    async def seed() -> None:
        await upgrade(url)
        engine = create_engine(url)
        try:
            h = Harness(create_sessionmaker(engine), Catalogue.load())
            h.units = await seed_units(h.sessionmaker)
            await build(h, tmp_path)
        finally:
            await engine.dispose()

    async def people_told() -> set[str]:
        engine = create_engine(url)
        try:
            async with create_sessionmaker(engine)() as session:
                rows = await session.execute(
                    select(OutboxMessage.chat_id).where(OutboxMessage.purpose == "nudge")
                )
                return set(rows.scalars())
        finally:
            await engine.dispose()

    asyncio.run(seed())
    runner = CliRunner()
    result = runner.invoke(cli.app, ["nudges", "--now", "2026-11-23T08:59"], env=env)
    assert result.exit_code == 0, result.output
    assert "week of 2026-11-16" in result.output
    result = runner.invoke(cli.app, ["nudges", "--now", "2026-11-23T09:00"], env=env)
    assert result.exit_code == 0, result.output
    assert "4 teams nudged, 3 officials told, 2 units on track (week of 2026-11-23)." in (
        result.output
    )
    assert str(SUPPORT["HCM-Q7-MAY"]) in asyncio.run(people_told())
    result = runner.invoke(cli.app, ["nudges", "--now", "2026-11-23T15:00"], env=env)
    assert "0 teams nudged, 0 officials told" in result.output
    assert "Vietnam time" in " ".join(runner.invoke(cli.app, ["nudges", "--help"]).output.split())
