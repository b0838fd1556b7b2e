"""The export's workbook written as XML rows by hand (issue #20): the same file, read
back, as xlsxwriter's (the product's writer before, kept in bench/export.py); text that
XML or a spreadsheet would misread stays the text it was; the package is complete."""

from __future__ import annotations

import re
import zipfile
from datetime import date
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from bench.export import XlsxwriterWriter
from handlers.reports.export import export_pages, write_export
from handlers.reports.spreadsheet import ExportPage, WorkbookWriter
from handlers.reports.view import load_view
from handlers.reports.xlsx_stream import TEXT_MAX
from storage.lifecycle_models import IdeaResult
from storage.models import Idea, Unit
from storage.uow import UnitOfWork
from tests.flows import test_progress
from tests.flows.test_progress import World, seed_live

world = test_progress.world

TODAY = date(2026, 11, 25)
# Characters XML 1.0 cannot carry, and markup that would break the sheet's XML.
HOSTILE = "a\x00b\x01c\x08d\x0be\x0cf\x1bg\ufffeh\uffffi]]><x>&amp;&<!--"
KEPT = "abcdefghi]]><x>&amp;&<!--"
LONG = "Đ" * (TEXT_MAX - 1) + "😀" + "tail"  # the emoji would straddle the limit


async def tricky(w: World) -> dict[str, str]:
    """Ideas in HCM whose texts a careless writer would spoil; their reference codes."""
    await seed_live(w)
    async with w.h.sessionmaker() as session:
        ideas = list(
            (
                await session.execute(
                    select(Idea)
                    .where(Idea.unit_id == w.units["HCM-Q7-MAY"].id)
                    .order_by(Idea.id)
                    .limit(3)
                )
            ).scalars()
        )
        hostile, formula, long = ideas
        # (SQLite's substr, which cuts the text, stops at a NUL: the body has none.)
        body = "<b>" + HOSTILE.replace("\x00", "") + "</b>\r\n_x0041_ \t"
        hostile.title, hostile.body = HOSTILE, body
        formula.title, formula.body = "=SUM(A1:A9)", "@cmd|' /C calc'!A0"
        long.title = LONG
        result = (
            await session.execute(select(IdeaResult).where(IdeaResult.idea_id == formula.id))
        ).scalar_one_or_none()
        if result is None:
            result = IdeaResult(idea_id=formula.id)
            session.add(result)
        result.recognised, result.decision_no = True, "-12/QĐ"
        result.decision_date, result.applied_on = date(2026, 11, 19), date(2026, 11, 20)
        result.benefit_vnd = 2_000_000_000
        refs = {"hostile": hostile.ref_code, "formula": formula.ref_code, "long": long.ref_code}
        await session.commit()
    return refs


async def both_files(w: World, tmp_path: Path, code: str) -> tuple[Path, Path, list[str]]:
    """The export of unit ``code`` by the product's writer and by xlsxwriter, from the
    same pages; and the unit paths the pages carried."""
    t = w.catalogue.for_lang("vi")
    ours, theirs = tmp_path / f"ours-{code}.xlsx", tmp_path / f"theirs-{code}.xlsx"
    paths: list[str] = []
    async with UnitOfWork(w.h.sessionmaker, read_only=True) as uow:
        unit = w.units[code]
        view = await load_view(uow, unit, w.p2, TODAY)
        writers = WorkbookWriter(ours, t, view), XlsxwriterWriter(theirs, t, view)
        async for page in export_pages(uow, unit, w.p2, max_rows=100, page_rows=2):
            paths.extend(page.unit_paths)
            for writer in writers:
                writer.add(page)
        for writer in writers:
            writer.finish(total=writer.rows + 1)  # the note on one left out, too
    return ours, theirs, paths


def cells(path: Path) -> list[list[tuple[object, ...]]]:
    """Every cell of every sheet as openpyxl reads it: value, type, format, bold, wrap."""
    workbook = load_workbook(path)
    return [
        [
            (
                sheet.title,
                c.coordinate,
                c.value,
                c.data_type,
                c.number_format,
                bool(c.font.b),
                bool(c.alignment.wrap_text),
            )
            for row in sheet.iter_rows()
            for c in row
            if c.value is not None
        ]
        for sheet in workbook.worksheets
    ]


def widths(sheet: Any) -> dict[int, float]:
    """Each column's width (a file may give neighbours of one width in one range)."""
    return {
        column: d.width
        for d in sheet.column_dimensions.values()
        for column in range(d.min, d.max + 1)
    }


@pytest.mark.parametrize("code", ["VN", "HCM", "HCM-Q7", "HCM-Q7-MAY"])
async def test_the_file_reads_back_as_xlsxwriters_did(
    world: World, tmp_path: Path, code: str
) -> None:
    w = world
    await tricky(w)
    ours, theirs, paths = await both_files(w, tmp_path, code)
    mine, old = cells(ours), cells(theirs)
    assert [len(sheet) for sheet in mine] == [len(sheet) for sheet in old]
    pairs = [pair for x, y in zip(mine, old, strict=True) for pair in zip(x, y, strict=True)]
    assert [(a, b) for a, b in pairs if a != b] == []
    a, b = load_workbook(ours), load_workbook(theirs)
    assert a.sheetnames == b.sheetnames == ["Sáng kiến", "Tổng hợp"]
    for mine, old in zip(a.worksheets, b.worksheets, strict=True):
        assert mine.freeze_panes == old.freeze_panes
        assert widths(mine) == widths(old)
    assert a["Sáng kiến"].freeze_panes == "A2"

    # Each idea's unit path: the names from the exported unit down to its own unit.
    top = w.units[code]
    async with w.h.sessionmaker() as session:
        units = {u.id: u for u in (await session.execute(select(Unit))).scalars()}
        own = (
            await session.execute(
                select(Idea.unit_id)
                .join(Unit, Unit.id == Idea.unit_id)
                .where(Unit.path.startswith(top.path), Idea.campaign_id == w.p2.id)
            )
        ).scalars()
        expected = []
        for unit_id in own:
            chain = [units[unit_id]]
            while chain[-1].id != top.id:
                parent_id = chain[-1].parent_id
                assert parent_id is not None
                chain.append(units[parent_id])
            expected.append(" › ".join(u.name for u in reversed(chain)))
    assert sorted(paths) == sorted(expected) and len(expected) >= 1


async def test_hostile_text_survives_as_text(world: World, tmp_path: Path) -> None:
    w = world
    refs = await tricky(w)
    path = tmp_path / "x.xlsx"
    made = await write_export(
        w.h.sessionmaker,
        w.units["HCM"],
        w.p2,
        path,
        t=w.catalogue.for_lang("vi"),
        today=TODAY,
        max_rows=100,
    )
    assert made.rows == 7
    sheet = load_workbook(path)["Sáng kiến"]
    rows = {r[0].value: r for r in sheet.iter_rows(min_row=2) if r[0].value}
    hostile, formula, long = rows[refs["hostile"]], rows[refs["formula"]], rows[refs["long"]]
    # Characters XML cannot carry are gone; ]]>, < and & are the text they were.
    assert hostile[2].value == KEPT
    # Text that reads like SpreadsheetML's coded character: its _ coded, as Excel does
    # (Excel shows _x0041_; openpyxl shows what the XML says).
    assert hostile[11].value == "<b>" + KEPT + "</b>\n_x005F_x0041_ \t"
    # What looks like a formula is a string cell with an apostrophe in front.
    assert (formula[2].value, formula[2].data_type) == ("'=SUM(A1:A9)", "s")
    assert (formula[11].value, formula[11].data_type) == ("'@cmd|' /C calc'!A0", "s")
    assert (formula[13].value, formula[13].data_type) == ("'-12/QĐ", "s")
    assert formula[16].value == 2_000_000_000 and formula[16].number_format == "#,##0"
    assert formula[14].value.date() == date(2026, 11, 19) and formula[14].is_date
    # A title past a cell's 32,767 characters is cut there, never inside a character.
    assert long[2].value == "Đ" * (TEXT_MAX - 1)
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)


async def test_the_package_lists_every_part(world: World, tmp_path: Path) -> None:
    w = world
    await tricky(w)
    ours, _, _ = await both_files(w, tmp_path, "HCM")
    with zipfile.ZipFile(ours) as package:
        names = package.namelist()
        assert package.testzip() is None
        types = ElementTree.fromstring(package.read("[Content_Types].xml"))
        ns = "{http://schemas.openxmlformats.org/package/2006/content-types}"
        defaults = {d.get("Extension") for d in types.iter(f"{ns}Default")}
        overrides = {o.get("PartName") for o in types.iter(f"{ns}Override")}
        for name in names:
            if name == "[Content_Types].xml":
                continue
            assert "/" + name in overrides or name.rsplit(".", 1)[-1] in defaults, name
            if not name.endswith(".rels"):
                assert "/" + name in overrides, name  # every part by its own content type
            ElementTree.fromstring(package.read(name))  # well-formed, every one
        assert {str(o).lstrip("/") for o in overrides} <= set(names)
        assert {"xl/workbook.xml", "xl/styles.xml", "_rels/.rels"} <= set(names)
        assert {"xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml"} <= set(names)
        # Every relationship points at a part that is there.
        rels = package.read("xl/_rels/workbook.xml.rels").decode()
        for target in re.findall(r'Target="([^"]+)"', rels):
            assert "xl/" + target in names
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in package.infolist())
    assert load_workbook(ours).sheetnames == ["Sáng kiến", "Tổng hợp"]


async def test_a_failed_export_leaves_no_file(world: World, tmp_path: Path) -> None:
    w = world
    await seed_live(w)
    (tmp_path / "out").mkdir()
    path = tmp_path / "out" / "gone.xlsx"
    async with UnitOfWork(w.h.sessionmaker, read_only=True) as uow:
        view = await load_view(uow, w.units["HCM"], w.p2, TODAY)
    writer = WorkbookWriter(path, w.catalogue.for_lang("vi"), view)
    with pytest.raises(ValueError):
        writer.add(ExportPage([], ["one path too many"]))
    writer.close()
    assert list(path.parent.iterdir()) == []
