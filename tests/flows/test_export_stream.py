"""The export streamed (issue #20): the chat's /export and the dashboard's
download are the same file, text that looks like a formula stays text, a confidential
idea is only its summary, and only an official covering the unit gets one."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from handlers.dashboard.service import Dashboard, Denied
from handlers.reports.jobs import run_report_jobs
from storage.models import Idea, Unit
from tests.flows import test_progress
from tests.flows.test_progress import (
    OFFICIAL_HCM,
    OFFICIAL_Q7,
    SUPPORT_MAY,
    WORKER_HN,
    WORKERS,
    World,
    read,
    seed_live,
)
from tests.flows.trust import _person_id

world = test_progress.world

FORMULA = '=HYPERLINK("http://evil.example/x","Bấm vào đây")'
SECRET = "Bí mật công nghệ: nhiệt độ lò 1.250 độ"
HEADER = (
    "Mã",
    "Đơn vị",
    "Tiêu đề",
    "Phân loại",
    "Trạng thái",
    "Ngày gửi",
    "Cập nhật",
    "Lợi ích",
    "Giá trị làm lợi ước tính (đồng/năm)",
    "Bảo mật",
    "Người gửi",
    "Nội dung",
    "Được công nhận",
    "Số quyết định công nhận",
    "Ngày quyết định",
    "Ngày áp dụng",
    "Giá trị làm lợi đo được (đồng/năm)",
)


def board(w: World) -> Dashboard:
    h = w.h
    return Dashboard(
        sessionmaker=h.sessionmaker,
        reader=h.sessionmaker,
        catalogue=w.catalogue,
        reports_dir=w.reports.directory,
        clock=lambda: h.now,
    )


async def seed_tricky(w: World) -> tuple[str, str]:
    """Seven ideas in HCM; one carries a formula as its title and text, one is confidential."""
    await seed_live(w)
    async with w.h.sessionmaker() as session:
        formula, secret = (
            await session.execute(
                select(Idea).where(Idea.unit_id == w.units["HCM-Q7-MAY"].id).limit(2)
            )
        ).scalars()
        formula.title, formula.body = FORMULA, FORMULA + "\x07\r\nrồi =1+1"
        secret.confidential, secret.title, secret.body = True, SECRET, SECRET
        refs = formula.ref_code, secret.ref_code
        await session.commit()
    return refs


def sheets(data: bytes) -> list[list[tuple[object, ...]]]:
    workbook = load_workbook(io.BytesIO(data))
    return [list(ws.iter_rows(values_only=True)) for ws in workbook.worksheets]


async def test_the_page_and_the_chat_get_the_same_export(world: World, tmp_path: Path) -> None:
    w, h = world, world.h
    formula_ref, secret_ref = await seed_tricky(w)
    await h.send(OFFICIAL_HCM, "/export")
    assert await run_report_jobs(h.sessionmaker, w.catalogue, w.reports) == 1
    [sent] = [r for r in (await h.deliver()).values() if r.message.upload is not None]
    assert sent.message.upload is not None
    chat = read(sent.message.upload.path)

    official = await _person_id(h, OFFICIAL_HCM)
    path = tmp_path / "page.xlsx"
    made = await board(w).export(official, None, path)  # no unit: the official's own
    assert made == {"file_name": "HCM-2026-P2.xlsx", "rows": 7, "total": 7}
    page = path.read_bytes()
    (page_ideas, page_summary), (chat_ideas, chat_summary) = sheets(page), sheets(chat)
    assert page_ideas == chat_ideas
    # The summary's last column counts the last 7 days: the report job's by the real
    # clock, the page's by the test's.
    assert [row[:-1] for row in page_summary] == [row[:-1] for row in chat_summary]

    workbook = load_workbook(io.BytesIO(page))
    assert workbook.sheetnames == ["Sáng kiến", "Tổng hợp"]
    ideas = workbook["Sáng kiến"]
    assert ideas.freeze_panes == "A2" and ideas["A1"].font.bold
    rows = list(ideas.iter_rows(values_only=True))
    assert rows[0] == HEADER and len(rows) == 1 + 7
    body = {row[0]: dict(zip(HEADER, row, strict=True)) for row in rows[1:]}
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
    assert set(body) == refs
    assert all(isinstance(row["Ngày gửi"], datetime) for row in body.values())
    # Newest first, as the chat's export always was.
    submitted = [row["Ngày gửi"] for row in body.values()]
    assert submitted == sorted(submitted, reverse=True)

    # A formula stays text: a leading apostrophe, a string cell, control characters gone.
    trap = body[formula_ref]
    assert trap["Tiêu đề"] == "'" + FORMULA
    assert trap["Nội dung"] == "'" + FORMULA + "\nrồi =1+1"
    cells = {c.coordinate: c for row in ideas.iter_rows() for c in row if c.value is not None}
    assert all(c.data_type != "f" for c in cells.values())

    # The confidential idea: its summary only, nowhere its words.
    hidden = body[secret_ref]
    assert hidden["Tiêu đề"] == hidden["Nội dung"] == hidden["Người gửi"] == "(bảo mật)"
    assert hidden["Bảo mật"] == "Có" and hidden["Trạng thái"]
    assert all("Bí mật" not in str(v) for sheet in sheets(page) for row in sheet for v in row)


async def test_the_page_export_in_the_officials_language_and_of_a_unit_below(
    world: World, tmp_path: Path
) -> None:
    w, h = world, world.h
    await seed_tricky(w)
    await h.send(OFFICIAL_HCM, "/lang en")
    official = await _person_id(h, OFFICIAL_HCM)
    path = tmp_path / "q7.xlsx"
    made = await board(w).export(official, w.units["HCM-Q7"].id, path)
    assert made["file_name"] == "HCM-Q7-2026-P2.xlsx" and made["rows"] == 6
    workbook = load_workbook(path)
    assert workbook.sheetnames == ["Ideas", "Summary"]
    rows = list(workbook["Ideas"].iter_rows(values_only=True))
    assert rows[0][:3] == ("Reference", "Unit", "Title") and len(rows) == 1 + 6


async def test_only_an_official_covering_the_unit_gets_the_page_export(
    world: World, tmp_path: Path
) -> None:
    w, h = world, world.h
    await seed_tricky(w)
    page = board(w)
    path = tmp_path / "refused.xlsx"
    q7 = await _person_id(h, OFFICIAL_Q7)
    # Above the official's own unit, another province, the country, no such unit.
    for unit in (w.units["HCM"].id, w.units["HN"].id, w.units["VN"].id, 10**6):
        with pytest.raises(Denied):
            await page.export(q7, unit, path)
    # A support member, a worker, a worker of another province, nobody at all.
    for user in (SUPPORT_MAY, WORKERS["HCM-Q7-MAY"], WORKER_HN):
        person = await _person_id(h, user)
        for unit_id in (None, w.units["HCM-Q7-MAY"].id):
            with pytest.raises(Denied):
                await page.export(person, unit_id, path)
    with pytest.raises(Denied):
        await page.export(10**6, None, path)
    assert not path.exists()


async def test_a_limited_export_says_how_many_were_left_out(world: World, tmp_path: Path) -> None:
    w, h = world, world.h
    await seed_tricky(w)
    official = await _person_id(h, OFFICIAL_HCM)
    path = tmp_path / "cut.xlsx"
    page = board(w)
    page.export_max_rows = 3
    made = await page.export(official, None, path)
    assert made["rows"] == 3 and made["total"] == 7
    rows = list(load_workbook(path)["Sáng kiến"].iter_rows(values_only=True))
    assert len(rows) == 1 + 3 + 2 and rows[4] == (None,) * 17
    assert "3" in str(rows[5][0]) and "7" in str(rows[5][0])
