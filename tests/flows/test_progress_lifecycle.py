"""Officials' figures past the team's approval (issue #18): recognised, applied, benefit.

The council's and the application's steps are counted by
``handlers.progress_counts`` in the step's transaction; here they are driven
directly in a :class:`handlers.context.Scope`, as the council and application flows
call them. Every figure is checked against the test's own count from the
``idea_results`` rows, against what ``/progress``, ``/export`` and the digest show,
and against a full rebuild.
"""

from __future__ import annotations

import io
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from handlers import progress_counts
from handlers.context import Scope
from handlers.digest import DigestPolicy, run_digest
from storage.lifecycle_models import IdeaResult
from storage.models import Idea, RoleKind, Unit
from storage.progress import rebuild_progress
from storage.quotas_import import import_quotas
from storage.uow import UnitOfWork
from tests.flows.test_progress import (
    OFFICIAL_HCM,
    OFFICIAL_Q7,
    World,
    counters,
    deliver_reports,
    digests,
    read,
    seed_live,
    seed_p1,
    world,
)
from tests.flows.test_worker_idea import invite

__all__ = ["world"]  # the fixture, shared with test_progress

OFFICIAL_HN = 5004
SECRET = "Bí mật công nghệ: đổi nhiệt độ lò nung"
TODAY = date(2026, 11, 20)  # the harness's clock: Friday 20/11/2026 in Vietnam


async def ideas_of(w: World, code: str, status: str) -> list[Idea]:
    async with w.h.sessionmaker() as session:
        rows = await session.execute(
            select(Idea)
            .where(Idea.unit_id == w.units[code].id, Idea.status == status)
            .order_by(Idea.id)
        )
        return list(rows.scalars())


async def recognise(w: World, idea_id: int, decision: str) -> None:
    """The chair records the council's recognition today, as the council flow does."""
    async with UnitOfWork(w.h.sessionmaker) as uow:
        scope = Scope(uow=uow, catalogue=w.catalogue, now=w.h.now)
        idea = await uow.session.get(Idea, idea_id)
        assert idea is not None
        idea.status = "recognised"
        result = await uow.council.result_for_update(idea.id)  # made at approval, or now
        result.recognised, result.decision_no = True, decision
        result.decision_date, result.decided_at = TODAY - timedelta(days=1), w.h.now
        await progress_counts.record_recognised(scope, idea, result)
        await uow.commit()


async def apply(w: World, idea_id: int, on: date, benefit: int) -> None:
    async with UnitOfWork(w.h.sessionmaker) as uow:
        scope = Scope(uow=uow, catalogue=w.catalogue, now=w.h.now)
        idea = await uow.session.get(Idea, idea_id)
        result = await uow.session.get(IdeaResult, idea_id)
        assert idea is not None and result is not None
        idea.status = "applied"
        result.applied_on, result.applied_at, result.benefit_vnd = on, w.h.now, benefit
        await progress_counts.record_applied(scope, idea, result, on)
        await uow.commit()


async def revise(w: World, idea_id: int, benefit: int) -> None:
    async with UnitOfWork(w.h.sessionmaker) as uow:
        scope = Scope(uow=uow, catalogue=w.catalogue, now=w.h.now)
        idea = await uow.session.get(Idea, idea_id)
        result = await uow.session.get(IdeaResult, idea_id)
        assert idea is not None and result is not None
        old, result.benefit_vnd = result.benefit_vnd or 0, benefit
        await progress_counts.record_benefit_change(scope, idea, result, old)
        await uow.commit()


async def seed_lifecycle(w: World, tmp_path: Path) -> dict[str, int]:
    """Ideas recognised and applied; quotas on recognised initiatives. Returns idea ids."""
    await seed_live(w)
    await seed_p1(w)  # one idea approved in the first phase, recognised now
    quotas = tmp_path / "recognised.csv"
    quotas.write_text(
        "unit_code,campaign,measure,target\n"
        "HCM-Q7-MAY,2026-P2,công nhận,6\n"
        "HCM-Q7-DIEN,2026-P2,Recognised,2\n",
        encoding="utf-8",
    )
    await import_quotas(w.h.sessionmaker, quotas)
    may = await ideas_of(w, "HCM-Q7-MAY", "approved")
    dien = await ideas_of(w, "HCM-Q7-DIEN", "approved")
    p1 = next(i for i in may if i.campaign_id == w.p1.id)
    may_p2 = [i for i in may if i.campaign_id == w.p2.id]
    async with w.h.sessionmaker() as session:  # one of them is confidential, title derived
        secret = await session.get(Idea, may_p2[1].id)
        assert secret is not None
        secret.confidential, secret.title_given = True, False
        secret.title = secret.body = SECRET
        await session.commit()
    ids = {"applied": may_p2[0].id, "secret": may_p2[1].id, "dien": dien[0].id, "p1": p1.id}
    for n, idea_id in enumerate(ids.values()):
        await recognise(w, idea_id, f"{n + 12}/QĐ-CĐ")
    await apply(w, ids["applied"], TODAY, 1_500_000_000)
    await revise(w, ids["applied"], 2_000_000_000)  # the figures firmed up, same day
    await apply(w, ids["dien"], date(2026, 11, 10), 200_000_000)
    await revise(w, ids["dien"], 300_000_000)  # ten days later: counted today
    return ids


async def own_count(w: World, code: str) -> tuple[int, int, int]:
    """(recognised, applied, benefit) of the unit's subtree in P2, from the raw rows."""
    async with w.h.sessionmaker() as session:
        rows = await session.execute(
            select(IdeaResult, Unit.path)
            .join(Idea, Idea.id == IdeaResult.idea_id)
            .join(Unit, Unit.id == Idea.unit_id)
        )
        mine = [r for r, path in rows if path.startswith(w.units[code].path)]
    recognised = sum(1 for r in mine if r.recognised and r.recognised_campaign_id == w.p2.id)
    applied = [r for r in mine if r.applied_on and r.applied_campaign_id == w.p2.id]
    return recognised, len(applied), sum(r.benefit_vnd or 0 for r in applied)


async def test_steps_counted_live_equal_a_rebuild(world: World, tmp_path: Path) -> None:
    w = world
    await seed_lifecycle(w, tmp_path)
    assert await own_count(w, "HCM") == (4, 2, 2_300_000_000)
    assert await own_count(w, "HCM-Q7-MAY") == (3, 1, 2_000_000_000)
    totals, daily = await counters(w)
    # The P1 idea's recognition counts in the campaign running when it was recognised.
    by_key = {(u, c): rest for u, c, *rest in totals}
    hcm = w.units["HCM"].id
    assert by_key[(hcm, w.p2.id)] == [7, 5, 4, 2, 2_300_000_000]
    assert by_key[(hcm, w.p1.id)] == [2, 1, 0, 0, 0]

    await rebuild_progress(w.h.sessionmaker)
    rebuilt_totals, rebuilt_daily = await counters(w)
    assert rebuilt_totals == totals

    # Day by day the counts agree; a benefit revised on a later day is counted on that
    # day live, but on the day of the application by a rebuild (no history of figures).
    def without_benefit(rows: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
        return [row[:-1] for row in rows if any(row[3:-1])]

    def benefit_sums(rows: list[tuple[object, ...]]) -> dict[tuple[object, ...], int]:
        sums: dict[tuple[object, ...], int] = defaultdict(int)
        for row in rows:
            sums[row[:2]] += int(row[-1])  # type: ignore[call-overload]
        return dict(sums)

    assert without_benefit(rebuilt_daily) == without_benefit(daily)
    assert benefit_sums(rebuilt_daily) == benefit_sums(daily)


async def test_progress_shows_recognised_applied_benefit_and_both_quotas(
    world: World, tmp_path: Path
) -> None:
    w, h = world, world.h
    await seed_lifecycle(w, tmp_path)
    text = (await h.send(OFFICIAL_HCM, "/progress")).last.text
    assert "Đã gửi: <b>7</b>" in text and "✅ Đã duyệt: <b>5</b>" in text
    assert "🏅 Được công nhận: <b>4</b> (+4 trong 7 ngày)" in text
    assert "🛠 Đã áp dụng: <b>2</b> (+1 trong 7 ngày)" in text  # one applied on 10/11
    # 2 tỷ today (1,5 then revised), 300 triệu for DIEN of which 100 triệu revised today.
    assert "💰 Giá trị làm lợi: <b>2,3 tỷ đ</b>/năm (+2,1 tỷ đ trong 7 ngày)" in text
    # Both quotas: on ideas (23, summed) and on recognised initiatives (6 + 2, summed).
    assert "🎯 Chỉ tiêu: <b>23</b> (tổng chỉ tiêu" in text
    assert "🎯 Chỉ tiêu công nhận: <b>8</b> (tổng chỉ tiêu" in text
    assert "đạt <b>50,0%</b> (được công nhận ÷ chỉ tiêu)" in text
    assert SECRET not in text
    q7 = (await h.send(OFFICIAL_Q7, "/progress")).last.text
    assert "🏅 3/6 (50,0%) · 💰 2 tỷ đ" in q7  # MAY, with the P1 idea recognised now
    assert "🏅 1/2 (50,0%) · 💰 300 triệu đ" in q7  # DIEN
    r = await h.send(OFFICIAL_HCM, "/lang en")
    assert r.replies
    english = (await h.send(OFFICIAL_HCM, "/progress")).last.text
    assert "🏅 Recognised: <b>4</b>" in english and "<b>2.3 billion VND</b> a year" in english


async def test_export_has_the_outcome_columns_and_a_confidential_row_stays_a_summary(
    world: World, tmp_path: Path
) -> None:
    w, h = world, world.h
    ids = await seed_lifecycle(w, tmp_path)
    await h.send(OFFICIAL_HCM, "/export")
    [sheet] = [s for s in await deliver_reports(w) if s.message.upload is not None]
    assert sheet.message.upload is not None
    workbook = load_workbook(io.BytesIO(read(sheet.message.upload.path)))
    rows = list(workbook["Sáng kiến"].iter_rows(values_only=True))
    header = rows[0]
    assert header[-5:] == (
        "Được công nhận",
        "Số quyết định công nhận",
        "Ngày quyết định",
        "Ngày áp dụng",
        "Giá trị làm lợi đo được (đồng/năm)",
    )
    body = {row[0]: dict(zip(header, row, strict=True)) for row in rows[1:] if row[0]}
    async with h.sessionmaker() as session:
        refs = {
            key: (await session.get(Idea, idea_id)).ref_code  # type: ignore[union-attr]
            for key, idea_id in ids.items()
        }
    applied = body[refs["applied"]]
    assert applied["Được công nhận"] == "Có" and applied["Số quyết định công nhận"] == "12/QĐ-CĐ"
    assert applied["Ngày quyết định"] == datetime(2026, 11, 19)
    assert applied["Ngày áp dụng"] == datetime(2026, 11, 20)
    assert applied["Giá trị làm lợi đo được (đồng/năm)"] == 2_000_000_000
    assert applied["Trạng thái"] == "Đã áp dụng vào thực tế"
    secret = body[refs["secret"]]
    assert secret["Tiêu đề"] == secret["Nội dung"] == secret["Người gửi"] == "(bảo mật)"
    assert secret["Được công nhận"] == "Có" and secret["Ngày áp dụng"] is None
    assert all(SECRET not in str(v) for row in rows for v in row)
    waiting = [v for k, v in body.items() if k not in refs.values()]
    assert waiting and all(v["Được công nhận"] is None for v in waiting)
    assert refs["p1"] not in body  # a P1 idea: not in the P2 export, counted in P2's figures
    summary = list(workbook["Tổng hợp"].iter_rows(values_only=True))
    assert summary[2][:6] == (
        "Đơn vị",
        "Đã gửi",
        "Đã duyệt",
        "Được công nhận",
        "Đã áp dụng",
        "Giá trị làm lợi (đồng/năm)",
    )
    hcm = summary[3]
    assert hcm[:7] == ("Liên đoàn Lao động TP. Hồ Chí Minh", 7, 5, 4, 2, 2_300_000_000, 23)
    assert hcm[7] == pytest.approx(round(5 / 23, 4)) and hcm[8] == 8
    assert hcm[9] == pytest.approx(0.5)


async def test_digest_and_chart_carry_the_recognitions(world: World, tmp_path: Path) -> None:
    w, h = world, world.h
    await seed_lifecycle(w, tmp_path)
    await h.send(OFFICIAL_HCM, "/subscribe")
    monday = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    run = await run_digest(h.sessionmaker, w.catalogue, monday, DigestPolicy(weekday=0, hour=8))
    assert run.sent == 1
    [digest] = await digests(h, OFFICIAL_HCM)
    assert "Được công nhận: <b>4</b>" in digest.text and "<b>2,3 tỷ đ</b>/năm" in digest.text
    r = await h.send(OFFICIAL_Q7, "/progress")
    await h.click(OFFICIAL_Q7, r.last, "📈")
    [chart] = [s for s in await deliver_reports(w) if s.message.upload is not None]
    assert chart.message.upload is not None and read(chart.message.upload.path)[:4] == b"\x89PNG"


async def test_an_official_of_another_province_sees_none_of_it(
    world: World, tmp_path: Path
) -> None:
    w, h = world, world.h
    await seed_lifecycle(w, tmp_path)
    token = await invite(h, w.units["HN"], RoleKind.OFFICIAL)
    await h.send(OFFICIAL_HN, f"/start {token}", name="HN")
    own = (await h.send(OFFICIAL_HN, "/progress")).last.text
    assert "Được công nhận: <b>0</b>" in own and "Giá trị làm lợi: <b>0 đ</b>" in own
    for code in ("HCM", "HCM-Q7-MAY"):
        r = await h.send(OFFICIAL_HN, f"/progress {code}")
        assert "không tìm thấy" in r.last.text.lower() and "công nhận" not in r.last.text
        r = await h.send(OFFICIAL_HN, f"/export {code}")
        assert "không tìm thấy" in r.last.text.lower()
    for action in ("v", "c", "x"):
        r = await h.press(OFFICIAL_HN, f"pg:{action}:{w.units['HCM-Q7-MAY'].id}:{w.p2.id}")
        assert r.answer is not None and r.answer.alert and not r.replies
