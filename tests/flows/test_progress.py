"""Officials' progress reports through the neutral flows (fake Telegram, real SQLite).

Counts are checked against a computation of the test's own, straight from the
``ideas`` and ``units`` rows; the counters the bot keeps must agree with it, and
with a full rebuild, at every step.
"""

from __future__ import annotations

import io
import re
import struct
import warnings
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from handlers.digest import DigestPolicy, latest_slot, run_digest
from handlers.events import OutMessage
from handlers.i18n import Catalogue
from handlers.reports.jobs import ReportSettings, run_report_jobs
from handlers.textnorm import fold
from storage.models import (
    Campaign,
    Idea,
    OutboxMessage,
    ProgressDaily,
    ProgressTotal,
    Role,
    RoleKind,
    Unit,
    UnitKind,
)
from storage.progress import add_campaign, rebuild_progress
from storage.quotas_import import import_quotas
from tests.flows.harness import Harness, Reply
from tests.flows.test_worker_idea import fill_form, invite, join_by_link

OFFICIAL_HCM, OFFICIAL_Q7, STRANGER = 5001, 5002, 5003
SUPPORT_MAY, SUPPORT_DIEN = 6001, 6002
WORKERS = {"HCM-Q7-MAY": 7001, "HCM-Q7-DIEN": 7002, "HCM-Q7-MAY-T1": 7003, "HCM-Q1-A": 7004}
WORKER_HN = 7005
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NUMBER = r"([\d.]+)"


@dataclass
class World:
    h: Harness
    units: dict[str, Unit]
    p1: Campaign
    p2: Campaign
    reports: ReportSettings
    catalogue: Catalogue


async def add_unit(h: Harness, code: str, name: str, kind: UnitKind, parent: Unit) -> Unit:
    async with h.sessionmaker() as session:
        unit = Unit(
            code=code,
            name=name,
            name_folded=fold(name),
            kind=kind.value,
            parent_id=parent.id,
            path="",
            depth=parent.depth + 1,
            created_at=datetime(2026, 1, 1, tzinfo=UTC),
        )
        session.add(unit)
        await session.flush()
        unit.path = f"{parent.path}{unit.id}/"
        await session.commit()
    h.units[code] = unit
    return unit


@pytest.fixture
async def world(harness: Harness, tmp_path: Path, catalogue: Catalogue) -> World:
    h, u = harness, harness.units
    await add_unit(
        h, "HCM-Q7-MAY-T1", "Tổ Công đoàn Chuyền may số 1", UnitKind.TEAM, u["HCM-Q7-MAY"]
    )
    q1 = await add_unit(h, "HCM-Q1", "Liên đoàn Lao động Quận 1", UnitKind.DISTRICT, u["HCM"])
    await add_unit(h, "HCM-Q1-A", "CĐCS Công ty Đồng hồ Ánh Dương", UnitKind.GRASSROOTS, q1)
    hn = await add_unit(h, "HN", "Liên đoàn Lao động Thành phố Hà Nội", UnitKind.PROVINCE, u["VN"])
    await add_unit(h, "HN-X", "CĐCS Công ty Xi măng Hồng Hà", UnitKind.GRASSROOTS, hn)
    p1, _ = await add_campaign(
        h.sessionmaker,
        code="2026-P1",
        name="Đợt 1 năm 2026",
        starts_on=date(2026, 2, 1),
        ends_on=date(2026, 5, 31),
    )
    p2, _ = await add_campaign(
        h.sessionmaker,
        code="2026-P2",
        name="Đợt 2 năm 2026",
        starts_on=date(2026, 9, 1),
        ends_on=date(2026, 12, 31),
    )
    quotas = tmp_path / "quotas.csv"
    quotas.write_text(
        "unit_code,campaign,target\n"
        "HCM-Q7-MAY,2026-P2,10\n"
        "HCM-Q7-DIEN,2026-P2,5\n"
        "HCM-Q1,2026-P2,8\n"
        "HN,2026-P2,20\n"
        "HCM-Q7-MAY,2026-P1,4\n",
        encoding="utf-8",
    )
    await import_quotas(h.sessionmaker, quotas)
    for user, code in ((OFFICIAL_HCM, "HCM"), (OFFICIAL_Q7, "HCM-Q7")):
        await h.send(user, f"/start {await invite(h, u[code], RoleKind.OFFICIAL)}", name="Cán bộ")
    for user, code in ((SUPPORT_MAY, "HCM-Q7-MAY"), (SUPPORT_DIEN, "HCM-Q7-DIEN")):
        await h.send(user, f"/start {await invite(h, u[code], RoleKind.SUPPORT)}", name="Tổ HT")
    return World(h, u, p1, p2, ReportSettings(tmp_path / "reports"), catalogue)


async def submit(h: Harness, user: int, unit: Unit, text: str) -> None:
    await join_by_link(h, user, unit)
    r = await fill_form(h, user, text)
    await h.press(user, r.last.button("Gửi"), message_id=r.last.message_id)


async def approve_all(h: Harness, support: int) -> None:
    for reply in h.screen(support):
        if "✅ Duyệt" in reply.labels:
            confirm = await h.click(support, reply, "Duyệt")
            await h.click(support, confirm.last, "Đúng, duyệt")


async def seed_live(w: World) -> None:
    """Ideas sent and approved through the bot itself, as workers and teams would."""
    h, u = w.h, w.units
    texts = iter(f"Sáng kiến số {n}: cải tiến khâu đóng gói để giảm hao hụt" for n in range(99))
    for code, count in (("HCM-Q7-MAY", 3), ("HCM-Q7-DIEN", 2), ("HCM-Q7-MAY-T1", 1)):
        for _ in range(count):
            await submit(h, WORKERS[code], u[code], next(texts))
    await submit(h, WORKERS["HCM-Q1-A"], u["HCM-Q1-A"], next(texts))
    await submit(h, WORKER_HN, u["HN-X"], next(texts))
    await h.deliver()
    await approve_all(h, SUPPORT_MAY)  # the team of MAY also serves its team T1
    dien = [r for r in h.screen(SUPPORT_DIEN) if "✅ Duyệt" in r.labels]
    confirm = await h.click(SUPPORT_DIEN, dien[0], "Duyệt")
    await h.click(SUPPORT_DIEN, confirm.last, "Đúng, duyệt")


async def expected(w: World, code: str, campaign: Campaign) -> dict[str, tuple[int, int]]:
    """(submitted, approved) of the unit and each direct sub-unit, from the raw rows."""
    async with w.h.sessionmaker() as session:
        units = list((await session.execute(select(Unit))).scalars())
        ideas = list((await session.execute(select(Idea))).scalars())
    by_id = {unit.id: unit for unit in units}
    top = next(unit for unit in units if unit.code == code)
    wanted = [top, *(unit for unit in units if unit.parent_id == top.id)]
    result = {}
    for unit in wanted:
        mine = [
            i
            for i in ideas
            if i.campaign_id == campaign.id and by_id[i.unit_id].path.startswith(unit.path)
        ]
        result[unit.code] = (len(mine), sum(1 for i in mine if i.status == "approved"))
    return result


def shown_counts(text: str, units: dict[str, Unit]) -> dict[str, tuple[int, int]]:
    """(submitted, approved) as the message shows them, per unit name → code."""
    names = {unit.name: code for code, unit in units.items()}
    found: dict[str, tuple[int, int]] = {}
    head = re.search(rf"Đã gửi: <b>{NUMBER}</b>.*?Đã duyệt: <b>{NUMBER}</b>", text, re.S)
    assert head, text
    top = re.search(r"📊 <b>(.*?)</b>", text)
    assert top
    found[names[top.group(1)]] = (int(head.group(1)), int(head.group(2)))
    for line in text.splitlines():
        m = re.match(rf"\d+\. \S+ (.*?): ✅ {NUMBER}(?:/{NUMBER} \([^)]*\))? · 📨 {NUMBER}", line)
        if m:
            found[names[m.group(1)]] = (int(m.group(4)), int(m.group(2)))
    return found


async def counters(w: World) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """Every counter row, every column: what a rebuild must reproduce."""
    columns = ("submitted", "approved", "recognised", "applied", "benefit")
    async with w.h.sessionmaker() as session:
        totals = await session.execute(
            select(
                ProgressTotal.unit_id,
                ProgressTotal.campaign_id,
                *(getattr(ProgressTotal, c) for c in columns),
            ).order_by(ProgressTotal.unit_id, ProgressTotal.campaign_id)
        )
        daily = await session.execute(
            select(
                ProgressDaily.unit_id,
                ProgressDaily.campaign_id,
                ProgressDaily.day,
                *(getattr(ProgressDaily, c) for c in columns),
            ).order_by(ProgressDaily.unit_id, ProgressDaily.campaign_id, ProgressDaily.day)
        )
        return [tuple(r) for r in totals], [tuple(r) for r in daily]


async def test_counts_are_exact_and_match_a_rebuild(world: World) -> None:
    w, h = world, world.h
    await seed_live(w)
    r = await h.send(OFFICIAL_HCM, "/progress")
    text = r.last.text
    want = await expected(w, "HCM", w.p2)
    assert want == {"HCM": (7, 5), "HCM-Q7": (6, 5), "HCM-Q1": (1, 0)}
    assert shown_counts(text, w.units) == want
    # Quotas: Q7 has none of its own, so it sums MAY (10) and DIEN (5); HCM sums Q7 and Q1.
    assert "Chỉ tiêu: <b>23</b> (tổng chỉ tiêu" in text
    assert "✅ 5/15 (33,3%)" in text and "✅ 0/8 (0,0%)" in text
    # Laggards first: Q1 (0 %) before Q7 (33.3 %).
    assert text.index("Quận 1") < text.index("Quận 7")
    assert "(+7 trong 7 ngày)" in text and "(+5 trong 7 ngày)" in text
    assert "còn 42 ngày" in text  # 20/11 to 31/12, both counted
    # The counters kept at each change equal a rebuild from the ideas and the events.
    before = await counters(w)
    await rebuild_progress(h.sessionmaker)
    assert await counters(w) == before


async def test_drill_down_two_levels_and_back_up(world: World) -> None:
    w, h = world, world.h
    await seed_live(w)
    r = await h.send(OFFICIAL_HCM, "/progress")
    assert not any(label.startswith("⬆️") for label in r.last.labels), "VN is not theirs"
    r = await h.click(OFFICIAL_HCM, r.last, "LĐLĐ Quận 7")
    assert r.answer is not None and r.last.message.edit_message_id is not None
    assert shown_counts(r.last.text, w.units) == await expected(w, "HCM-Q7", w.p2)
    shown = h.screen(OFFICIAL_HCM)[-1]
    r = await h.click(OFFICIAL_HCM, shown, "CĐCS Cty May Phú Mỹ")
    assert shown_counts(r.last.text, w.units) == await expected(w, "HCM-Q7-MAY", w.p2)
    assert "Chuyền may số 1" in r.last.text
    r = await h.click(OFFICIAL_HCM, h.screen(OFFICIAL_HCM)[-1], "⬆️")
    assert "📊 <b>Liên đoàn Lao động Quận 7</b>" in r.last.text
    r = await h.click(OFFICIAL_HCM, h.screen(OFFICIAL_HCM)[-1], "⬆️")
    assert "📊 <b>Liên đoàn Lao động TP. Hồ Chí Minh</b>" in r.last.text
    # An official of the district sees no way up to the province.
    r = await h.send(OFFICIAL_Q7, "/progress")
    assert "Quận 7" in r.last.text and not any(x.startswith("⬆️") for x in r.last.labels)


async def test_nothing_outside_the_subtree(world: World) -> None:
    w, h = world, world.h
    r = await h.send(OFFICIAL_Q7, "/progress HCM")
    assert "không tìm thấy" in r.last.text.lower() and "Đã gửi" not in r.last.text
    r = await h.send(OFFICIAL_Q7, "/progress HN-X")
    assert "không tìm thấy" in r.last.text.lower()
    r = await h.send(OFFICIAL_Q7, "/progress NO-SUCH-UNIT")
    assert "không tìm thấy" in r.last.text.lower()
    r = await h.send(OFFICIAL_Q7, "/progress hcm-q7-may")  # codes are not case-sensitive
    assert "May Phú Mỹ" in r.last.text
    # A forged button for a unit outside: refused on the server, nothing shown.
    for action in ("v", "c", "x"):
        r = await h.press(OFFICIAL_Q7, f"pg:{action}:{w.units['HN'].id}:{w.p2.id}")
        assert r.answer is not None and r.answer.alert and not r.replies
    r = await h.press(OFFICIAL_Q7, f"pg:v:{w.units['HCM'].id}:{w.p2.id}")
    assert r.answer is not None and r.answer.alert
    r = await h.press(OFFICIAL_Q7, "pg:v:nonsense")
    assert r.answer is not None and not r.replies
    # No role at all.
    r = await h.send(STRANGER, "/progress")
    assert "dành cho cán bộ" in r.last.text
    r = await h.send(STRANGER, "/progress HCM")
    assert "dành cho cán bộ" in r.last.text
    # A revoked role stops the buttons of messages shown before.
    r = await h.send(OFFICIAL_Q7, "/progress")
    async with h.sessionmaker() as session:
        await session.execute(update(Role).values(revoked_at=h.now))
        await session.commit()
    r = await h.click(OFFICIAL_Q7, r.last, "Cty May Phú Mỹ")
    assert r.answer is not None and r.answer.alert and not r.replies


async def seed_p1(w: World) -> None:
    """Two ideas from the first phase, written as rows (as an older database would hold)."""
    async with w.h.sessionmaker() as session:
        author = (await session.execute(select(Role.person_id).limit(1))).scalar_one()
        for n, status in enumerate(("approved", "submitted")):
            moment = datetime(2026, 3, 10 + n, 3, 0, tzinfo=UTC)
            session.add(
                Idea(
                    ref_code=f"SK-2026-9{n:05d}",
                    author_id=author,
                    unit_id=w.units["HCM-Q7-MAY"].id,
                    holder_unit_id=w.units["HCM-Q7-MAY"].id,
                    title=f"Sáng kiến đợt 1 số {n}",
                    body="Nội dung",
                    category="technical",
                    benefit="cost",
                    confidential=False,
                    language="vi",
                    status=status,
                    created_at=moment,
                    updated_at=moment,
                    campaign_id=w.p1.id,
                )
            )
        await session.commit()
    await rebuild_progress(w.h.sessionmaker)


async def test_switch_phase(world: World) -> None:
    w, h = world, world.h
    await seed_live(w)
    await seed_p1(w)
    r = await h.send(OFFICIAL_Q7, "/progress")
    assert "Đợt <b>2026-P2</b>" in r.last.text and "Đợt 2026-P1" in " ".join(r.last.labels)
    r = await h.click(OFFICIAL_Q7, r.last, "◀ Đợt 2026-P1")
    text = r.last.text
    assert "Đợt <b>2026-P1</b>" in text and "đã kết thúc ngày 31/05/2026" in text
    assert shown_counts(text, w.units) == await expected(w, "HCM-Q7", w.p1)
    assert shown_counts(text, w.units)["HCM-Q7"] == (2, 1)
    assert "✅ 1/4 (25,0%)" in text  # MAY's own P1 quota
    assert "(+0 trong 7 ngày)" in text
    r = await h.click(OFFICIAL_Q7, h.screen(OFFICIAL_Q7)[-1], "Đợt 2026-P2 ▶")
    assert "Đợt <b>2026-P2</b>" in r.last.text


async def test_paging_through_many_sub_units(world: World) -> None:
    w, h = world, world.h
    for n in range(12):
        await add_unit(
            h, f"HCM-Q1-{n:02d}", f"CĐCS Công ty số {n:02d}", UnitKind.GRASSROOTS, w.units["HCM-Q1"]
        )
    r = await h.send(OFFICIAL_HCM, "/progress HCM-Q1")
    assert "(1–10 / 13)" in r.last.text and "Sau »" in r.last.labels
    r = await h.click(OFFICIAL_HCM, r.last, "Sau »")
    assert "(11–13 / 13)" in r.last.text and "« Trước" in r.last.labels
    assert "11. " in r.last.text


async def deliver_reports(w: World) -> list[Reply]:
    made = await run_report_jobs(w.h.sessionmaker, w.catalogue, w.reports)
    assert made >= 1
    return list((await w.h.deliver()).values())


def read(path: str) -> bytes:
    return Path(path).read_bytes()


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE
    width, height = struct.unpack(">II", data[16:24])
    return width, height


async def test_chart_is_a_phone_sized_png(world: World) -> None:
    w, h = world, world.h
    await seed_live(w)
    r = await h.send(OFFICIAL_HCM, "/progress")
    r = await h.click(OFFICIAL_HCM, r.last, "Biểu đồ")
    assert r.answer is not None and "biểu đồ" in r.answer.text and not r.replies
    # A second press while the first is being made does not make a second chart.
    await h.click(OFFICIAL_HCM, h.screen(OFFICIAL_HCM)[-1], "Biểu đồ")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph is a warning: make it fail
        sent = await deliver_reports(w)
    [chart] = [s for s in sent if s.message.upload is not None]
    upload = chart.message.upload
    assert upload is not None and upload.kind.value == "photo"
    assert upload.mime_type == "image/png" and upload.file_name == "HCM-2026-P2.png"
    data = read(upload.path)
    width, height = png_size(data)
    assert width == 1080 and 400 <= height <= 3000
    assert 10_000 < len(data) < 1_000_000
    assert "Tỷ lệ đạt chỉ tiêu" in chart.text
    assert await run_report_jobs(h.sessionmaker, w.catalogue, w.reports) == 0


def ink(data: bytes) -> float:
    """The share of a picture's pixels that are not (almost) white."""
    from matplotlib.image import imread

    pixels = imread(io.BytesIO(data), format="png")
    return float((pixels[:, :, :3].min(axis=2) < 0.9).mean())


async def test_no_quota_and_no_ideas_is_said_in_words_not_a_blank_picture(world: World) -> None:
    w, h = world, world.h
    r = await h.send(OFFICIAL_HCM, "/progress HCM-Q1-A")
    assert "không có đơn vị trực thuộc" in r.last.text
    await h.click(OFFICIAL_HCM, r.last, "Biểu đồ")
    [said] = await deliver_reports(w)
    assert said.message.upload is None
    assert "CĐCS Công ty Đồng hồ Ánh Dương" in said.text
    assert "chưa giao chỉ tiêu" in said.text and "chưa có sáng kiến nào" in said.text


async def test_without_quotas_the_chart_shows_the_counts(world: World) -> None:
    """Ideas sent in sub-units without a quota: bars of what was sent, no quota line."""
    w, h, u = world, world.h, world.units
    texts = iter(f"Sáng kiến số {n}: sắp xếp lại kho vải để lấy hàng nhanh hơn" for n in range(9))
    for user in (7101, 7102, 7103):
        await submit(h, user, u["HCM-Q7-MAY-T1"], next(texts))
    await submit(h, 7104, u["HCM-Q7-MAY"], next(texts))
    r = await h.send(OFFICIAL_HCM, "/progress HCM-Q7-MAY")
    await h.click(OFFICIAL_HCM, r.last, "Biểu đồ")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph is a warning: make it fail
        [chart] = await deliver_reports(w)
    upload = chart.message.upload
    assert upload is not None and upload.kind.value == "photo"
    assert "Số sáng kiến" in chart.text and "chưa giao chỉ tiêu" in chart.text
    assert "Tỷ lệ đạt chỉ tiêu" not in chart.text
    data = read(upload.path)
    assert png_size(data)[0] == 1080
    # The almost blank picture this replaced had under 4 % of its pixels inked (titles, notes);
    # the bars bring it to about 7 %.
    assert ink(data) > 0.05


async def test_spreadsheet_with_confidential_redaction(world: World) -> None:
    w, h = world, world.h
    await seed_live(w)
    async with h.sessionmaker() as session:
        secret, titled = (
            await session.execute(
                select(Idea).where(Idea.unit_id == w.units["HCM-Q7-DIEN"].id).limit(2)
            )
        ).scalars()
        # One without a typed title: its title came from the text, and stays in the unit.
        secret.confidential = True
        secret.body = secret.title = "Bí mật công nghệ: thay đổi nhiệt độ lò"
        secret_ref = secret.ref_code
        # One whose worker typed the title: the title travels.
        titled.confidential, titled.title_given = True, True
        titled.title, titled.body = "Giảm hao hụt nhiệt", "Bí mật: đổi vật liệu cách nhiệt"
        titled_ref = titled.ref_code
        await session.commit()
    r = await h.send(OFFICIAL_HCM, "/export")
    assert "bảng tính" in r.last.text
    sent = await deliver_reports(w)
    [sheet] = [s for s in sent if s.message.upload is not None]
    upload = sheet.message.upload
    assert upload is not None and upload.kind.value == "document"
    assert upload.file_name == "HCM-2026-P2.xlsx"
    assert "7 sáng kiến" in sheet.text
    workbook = load_workbook(io.BytesIO(read(upload.path)))
    ideas = workbook["Sáng kiến"]
    rows = list(ideas.iter_rows(values_only=True))
    header = rows[0]
    assert header[:5] == ("Mã", "Đơn vị", "Tiêu đề", "Phân loại", "Trạng thái")
    body = {row[0]: dict(zip(header, row, strict=True)) for row in rows[1:] if row[0]}
    async with h.sessionmaker() as session:
        refs = set(
            (
                await session.execute(
                    select(Idea.ref_code)
                    .join(Unit, Unit.id == Idea.unit_id)
                    .where(Unit.path.startswith(w.units["HCM"].path), Idea.campaign_id == w.p2.id)
                )
            ).scalars()
        )
    assert set(body) == refs and len(refs) == 7
    hidden = body[secret_ref]
    assert hidden["Tiêu đề"] == "(bảo mật)"
    assert hidden["Nội dung"] == "(bảo mật)" and hidden["Người gửi"] == "(bảo mật)"
    assert hidden["Bảo mật"] == "Có" and hidden["Lợi ích"] == "Tiết kiệm chi phí"
    assert body[titled_ref]["Tiêu đề"] == "Giảm hao hụt nhiệt"
    assert body[titled_ref]["Nội dung"] == "(bảo mật)"
    assert all("Bí mật" not in str(v) for row in rows for v in row)
    open_one = next(v for k, v in body.items() if k not in (secret_ref, titled_ref))
    assert open_one["Nội dung"] and open_one["Người gửi"] == "Nguyễn Văn An"
    assert open_one["Đơn vị"].startswith("Liên đoàn Lao động TP. Hồ Chí Minh › ")
    assert isinstance(open_one["Ngày gửi"], datetime)
    summary = list(workbook["Tổng hợp"].iter_rows(values_only=True))
    # The unit's totals: sent, approved, recognised, applied, benefit; then its quota.
    assert summary[3][:7] == ("Liên đoàn Lao động TP. Hồ Chí Minh", 7, 5, 0, 0, 0, 23)


async def test_spreadsheet_written_page_by_page_is_the_same(world: World) -> None:
    w, h = world, world.h
    await seed_live(w)
    sheets = []
    for page_rows, max_rows in ((1_000, 1_000), (2, 1_000), (2, 5)):
        await h.send(OFFICIAL_HCM, "/export")
        settings = replace(w.reports, export_page_rows=page_rows, export_max_rows=max_rows)
        assert await run_report_jobs(h.sessionmaker, w.catalogue, settings) == 1
        [sent] = [r for r in (await h.deliver()).values() if r.message.upload is not None]
        assert sent.message.upload is not None
        workbook = load_workbook(io.BytesIO(read(sent.message.upload.path)))
        sheets.append([list(ws.iter_rows(values_only=True)) for ws in workbook.worksheets])
    whole, paged, cut = sheets
    assert paged == whole and len(whole[0]) == 1 + 7  # the header and seven ideas
    # five ideas in pages of two (2, 2, 1), then the note on the two left out
    assert cut[0][:6] == whole[0][:6] and cut[0][6] == (None,) * 17
    assert "5" in str(cut[0][7][0]) and "7" in str(cut[0][7][0]) and cut[1] == whole[1]


async def test_spreadsheet_is_refused_outside_and_limited(world: World) -> None:
    w, h = world, world.h
    await seed_live(w)
    r = await h.send(OFFICIAL_Q7, "/export HN")
    assert "không tìm thấy" in r.last.text.lower()
    limited = ReportSettings(w.reports.directory, export_max_rows=2)
    await h.send(OFFICIAL_Q7, "/export")
    await run_report_jobs(h.sessionmaker, w.catalogue, limited)
    sent = list((await h.deliver()).values())
    assert "Chỉ có 2 sáng kiến mới nhất trên tổng số 6" in sent[0].text


async def digests(h: Harness, chat: int) -> list[OutMessage]:
    async with h.sessionmaker() as session:
        rows = await session.execute(
            select(OutboxMessage).where(
                OutboxMessage.chat_id == str(chat), OutboxMessage.purpose == "digest"
            )
        )
        return [OutMessage.from_json(row.payload) for row in rows.scalars()]


async def test_weekly_digest_once_a_week(world: World) -> None:
    w, h = world, world.h
    await seed_live(w)
    policy = DigestPolicy(weekday=0, hour=8)
    r = await h.send(OFFICIAL_HCM, "/subscribe")
    assert "Mỗi tuần" in r.last.text
    await h.send(OFFICIAL_Q7, "/subscribe HCM-Q7-MAY")
    # Now is Friday 20/11/2026, 15:00 in Vietnam; the next slot is Monday 23/11, 08:00.
    monday = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    assert latest_slot(monday, policy) == monday
    run = await run_digest(h.sessionmaker, w.catalogue, monday - timedelta(minutes=1), policy)
    assert run.sent == 0
    run = await run_digest(h.sessionmaker, w.catalogue, monday, policy)
    assert run.sent == 2
    for later in (timedelta(minutes=5), timedelta(hours=30), timedelta(days=6)):
        run = await run_digest(h.sessionmaker, w.catalogue, monday + later, policy)
        assert run.sent == 0, later
    [digest] = await digests(h, OFFICIAL_HCM)
    assert "Báo cáo tiến độ hằng tuần" in digest.text
    assert shown_counts(digest.text, w.units) == await expected(w, "HCM", w.p2)
    assert any(b.data.startswith("pg:c:") for row in digest.buttons for b in row)
    [q7] = await digests(h, OFFICIAL_Q7)
    assert "📊 <b>Công đoàn cơ sở Công ty May Phú Mỹ</b>" in q7.text
    # The next week, again once; after /unsubscribe, never.
    r = await h.send(OFFICIAL_Q7, "/unsubscribe")
    assert "Đã thôi" in r.last.text
    r = await h.send(OFFICIAL_Q7, "/unsubscribe")
    assert "chưa đăng ký" in r.last.text
    run = await run_digest(h.sessionmaker, w.catalogue, monday + timedelta(days=7), policy)
    assert run.sent == 1
    assert len(await digests(h, OFFICIAL_HCM)) == 2 and len(await digests(h, OFFICIAL_Q7)) == 1
    # A subscriber whose role was revoked gets nothing.
    async with h.sessionmaker() as session:
        await session.execute(update(Role).values(revoked_at=h.now))
        await session.commit()
    run = await run_digest(h.sessionmaker, w.catalogue, monday + timedelta(days=14), policy)
    assert (run.sent, run.skipped) == (0, 1)
    assert len(await digests(h, OFFICIAL_HCM)) == 2


async def test_ideas_outside_every_phase_join_a_phase_added_later(world: World) -> None:
    w, h = world, world.h
    # A phase for January, added after ideas were sent in January.
    async with h.sessionmaker() as session:
        author = (await session.execute(select(Role.person_id).limit(1))).scalar_one()
        for n in range(3):
            moment = datetime(2026, 1, 5 + n, 2, 0, tzinfo=UTC)
            session.add(
                Idea(
                    ref_code=f"SK-2026-8{n:05d}",
                    author_id=author,
                    unit_id=w.units["HCM-Q1-A"].id,
                    holder_unit_id=w.units["HCM-Q1-A"].id,
                    title="Sáng kiến tháng Giêng",
                    body="…",
                    category="technical",
                    benefit="cost",
                    confidential=False,
                    language="vi",
                    status="submitted",
                    created_at=moment,
                    updated_at=moment,
                )
            )
        await session.commit()
    p0, adopted = await add_campaign(
        h.sessionmaker,
        code="2026-P0",
        name="Đợt thử",
        starts_on=date(2026, 1, 1),
        ends_on=date(2026, 1, 31),
    )
    assert adopted == 3
    r = await h.press(OFFICIAL_HCM, f"pg:v:{w.units['HCM'].id}:{p0.id}")
    assert shown_counts(r.last.text, w.units)["HCM"] == (3, 0)


@pytest.mark.parametrize(
    "data", ["pg:v:²:1", "pg:v:1", "pg:q:1:1", "pg:v:٣:1", "pg:v:1:1:x", "pg:v:" + "9" * 40 + ":1"]
)
async def test_malformed_buttons_are_stale(world: World, data: str) -> None:
    r = await world.h.press(OFFICIAL_HCM, data)
    assert r.answer is not None and not r.replies
