"""The national ``/export`` by both writers, side by side. ``python -m bench.export``.

On ``bench.progress``'s database (132,133 units, 1,000,000 ideas; built and cached on
first use), the national unit's export of the running campaign: 100,000 of its
750,000 ideas. Each round reads the same rows the product reads
(:func:`handlers.reports.export.export_pages`: one streamed query, units named) and
writes them, a page at a time on a thread, with

* ``xlsxwriter``: xlsxwriter's constant-memory mode (:class:`XlsxwriterWriter`, the
  product's writer of commit 6e993d5, kept here as it was), and
* ``xml rows``: the product's writer (:class:`handlers.reports.spreadsheet.WorkbookWriter`:
  one string of SpreadsheetML per row, deflated at level 1), and the same at level 6;

then ``read only`` (the rows read and dropped) and ``write_export`` (the product's
whole export: figures, rows, the count of those left out, the writer) are timed too.
Each run in a process of its own; prints medians of seconds and of the process's RSS
growth (sampled every 10 ms), and each design's median time against xlsxwriter's."""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.progress import RESULTS_DIR, TODAY, RssPeak, build, cached

DESIGNS = ("read only", "xlsxwriter", "xml rows", "xml rows, deflate 6", "write_export")


class XlsxwriterWriter:
    """The ideas and summary sheets as the product wrote them with xlsxwriter's
    constant-memory mode (commit 6e993d5) until the rows were written as XML by hand;
    kept for the side-by-side figures and for tests that compare the two files."""

    def __init__(self, path: Path, t: Any, view: Any) -> None:
        from xlsxwriter import Workbook

        from handlers.reports.spreadsheet import IDEA_COLUMNS, SHEET_NAME_CHARS
        from handlers.reports.view import plain

        self.path, self.t, self.view, self.rows = path, t, view, 0
        self._workbook = Workbook(
            str(path),
            {
                "constant_memory": True,
                "tmpdir": str(path.parent),
                "strings_to_formulas": False,
                "strings_to_numbers": False,
                "strings_to_urls": False,
            },
        )
        add_format = self._workbook.add_format
        self._bold = add_format({"bold": True})
        self._wrap = add_format({"text_wrap": True, "valign": "top"})
        self._moment = add_format({"num_format": "dd/mm/yyyy hh:mm"})
        self._day = add_format({"num_format": "dd/mm/yyyy"})
        self._money = add_format({"num_format": "#,##0"})
        self._percent = add_format({"num_format": "0.0%"})
        self._ideas = self._workbook.add_worksheet(plain(t("sheet.ideas"))[:SHEET_NAME_CHARS])
        self._ideas.freeze_panes(1, 0)
        self._header(self._ideas, 0, IDEA_COLUMNS)
        self._next_row = 1
        self._redacted = plain(t("sheet.redacted"))
        self._yes, self._no = plain(t("sheet.yes")), plain(t("sheet.no"))
        self._labels: dict[str, str] = {}

    def _header(self, sheet: Any, row: int, columns: Sequence[tuple[str, int]]) -> None:
        from handlers.reports.view import plain

        for index, (key, width) in enumerate(columns):
            sheet.set_column(index, index, width)
            sheet.write_string(row, index, plain(self.t(key)), self._bold)

    def _label(self, key: str) -> str:
        from handlers.reports.spreadsheet import _label

        label = self._labels.get(key)
        if label is None:
            label = self._labels[key] = _label(self.t(key))
        return label

    def add(self, page: Any) -> None:
        from handlers.reports.spreadsheet import safe

        text, number, moment = (
            self._ideas.write_string,
            self._ideas.write_number,
            self._ideas.write_datetime,
        )
        label, redacted, yes, no = self._label, self._redacted, self._yes, self._no
        r = self._next_row
        for idea, unit_path in zip(page.ideas, page.unit_paths, strict=True):
            text(r, 0, idea.ref_code)
            text(r, 1, safe(unit_path))
            title = safe(idea.title)
            text(r, 2, redacted if title is None else title)
            text(r, 3, label(f"category.{idea.category}"))
            text(r, 4, label(f"status.{idea.status}"))
            moment(r, 5, _local(idea.created_at), self._moment)
            moment(r, 6, _local(idea.updated_at), self._moment)
            text(r, 7, label(f"benefit.{idea.benefit}"))
            if idea.benefit_amount is not None:
                number(r, 8, idea.benefit_amount, self._money)
            if idea.confidential:
                text(r, 9, yes)
                text(r, 10, redacted)
                text(r, 11, redacted, self._wrap)
            else:
                text(r, 9, no)
                text(r, 10, safe(idea.author) or "")
                text(r, 11, safe(idea.body) or "", self._wrap)
            if idea.recognised is not None:
                text(r, 12, yes if idea.recognised else no)
            if idea.decision_no is not None:
                text(r, 13, safe(idea.decision_no))
            for column, day in ((14, idea.decision_date), (15, idea.applied_on)):
                if day is not None:
                    moment(r, column, day, self._day)
            if idea.benefit_vnd is not None:
                number(r, 16, idea.benefit_vnd, self._money)
            r += 1
        self._next_row = r
        self.rows += len(page.ideas)

    def finish(self, *, total: int) -> None:
        from handlers.reports.spreadsheet import SHEET_NAME_CHARS, SUMMARY_COLUMNS, safe
        from handlers.reports.view import RECOGNISED, SUBMITTED, plain

        t, view = self.t, self.view
        if total > self.rows:
            note = plain(t("sheet.truncated", shown=self.rows, total=total))
            self._ideas.write_string(self._next_row + 1, 0, note)
        summary = self._workbook.add_worksheet(plain(t("sheet.summary"))[:SHEET_NAME_CHARS])
        campaign = t("sheet.campaign", code=view.campaign.code, name=view.campaign.name)
        summary.write_string(0, 0, plain(campaign))
        self._header(summary, 2, SUMMARY_COLUMNS)
        for row, figures in enumerate([view.own, *view.children], start=3):
            summary.write_string(row, 0, safe(figures.unit.name))
            counts = (figures.submitted, figures.approved, figures.recognised, figures.applied)
            for column, count in enumerate(counts, start=1):
                summary.write_number(row, column, count)
            summary.write_number(row, 5, figures.benefit, self._money)
            column = 6
            for measure in (SUBMITTED, RECOGNISED):
                quota = figures.quota(measure)
                if quota is not None:
                    summary.write_number(row, column, quota.target)
                    if quota.attainment is not None:
                        summary.write_number(
                            row, column + 1, round(quota.attainment / 100, 4), self._percent
                        )
                column += 2
            summary.write_number(row, 10, figures.week_submitted)
        self._workbook.close()


def _local(moment: Any) -> Any:
    from handlers.cards import VIETNAM

    return moment.astimezone(VIETNAM).replace(tzinfo=None)


async def _written(sessionmaker: Any, unit: Any, campaign: Any, make: Any, path: Path) -> int:
    """The product's rows, written by ``make``'s writer (``None``: read and dropped)."""
    from handlers.reports.export import export_pages
    from storage.uow import UnitOfWork

    rows = 0
    async with UnitOfWork(sessionmaker, read_only=True) as uow:
        writer = None if make is None else await asyncio.to_thread(make, path)
        async for page in export_pages(uow, unit, campaign, max_rows=100_000):
            rows += len(page.ideas)
            if writer is not None:
                await asyncio.to_thread(writer.add, page)
        if writer is not None:
            await asyncio.to_thread(writer.finish, total=rows)
    return rows


async def measure(
    db: Path, rounds: int, only: str | None = None
) -> dict[str, list[tuple[float, float, float]]]:
    from sqlalchemy import select

    from handlers.i18n import Catalogue
    from handlers.reports.export import write_export
    from handlers.reports.spreadsheet import WorkbookWriter
    from handlers.reports.view import load_view
    from storage.db import create_engine, create_sessionmaker
    from storage.models import Unit
    from storage.uow import UnitOfWork

    engine = create_engine(f"sqlite+aiosqlite:///{db}")
    sessionmaker = create_sessionmaker(engine)
    t = Catalogue.load().for_lang("vi")
    async with UnitOfWork(sessionmaker, read_only=True) as uow:
        campaign = await uow.progress.campaign_on(TODAY)
        query = select(Unit).where(Unit.parent_id.is_(None))
        unit = (await uow.session.execute(query)).scalars().first()
        assert campaign is not None and unit is not None
        view = await load_view(uow, unit, campaign, TODAY)

    async def product(path: Path) -> int:
        made = await write_export(
            sessionmaker, unit, campaign, path, t=t, today=TODAY, max_rows=100_000
        )
        return made.rows

    def run(make: Any) -> Any:
        return lambda path: _written(sessionmaker, unit, campaign, make, path)

    designs = {
        "read only": run(None),
        "xlsxwriter": run(lambda path: XlsxwriterWriter(path, t, view)),
        "xml rows": run(lambda path: WorkbookWriter(path, t, view)),
        "xml rows, deflate 6": run(lambda path: WorkbookWriter(path, t, view, compresslevel=6)),
        "write_export": product,
    }
    if only is not None:
        designs = {only: designs[only]}
    results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in designs}
    try:
        with tempfile.TemporaryDirectory(prefix="export-bench-") as directory:
            for round_ in range(rounds):
                for name, call in designs.items():
                    path = Path(directory) / f"{name.replace(' ', '-')}-{round_}.xlsx"
                    with RssPeak() as rss:
                        started = time.perf_counter()
                        rows = await call(path)
                        seconds = time.perf_counter() - started
                    size = path.stat().st_size / 1e6 if path.exists() else 0.0
                    path.unlink(missing_ok=True)
                    assert rows == 100_000, (name, rows)
                    results[name].append((seconds, rss.growth_mb, size))
                    print(
                        f"round {round_ + 1} {name}: {seconds:.2f} s, RSS +{rss.growth_mb:.0f} MB",
                        file=sys.stderr,
                    )
    finally:
        await engine.dispose()
    return results


def table(results: dict[str, list[tuple[float, float, float]]]) -> str:
    lines = [
        "| national /export, 100,000 of 750,000 ideas | runs | median s | × xlsxwriter "
        "| each run s | RSS growth MB (median) | file MB |",
        "| --- | ---: | ---: | ---: | --- | ---: | ---: |",
    ]
    medians = {name: statistics.median(s for s, _, _ in runs) for name, runs in results.items()}
    base = medians.get("xlsxwriter")
    for name, runs in results.items():
        ratio = f"{medians[name] / base:.2f}" if base else ""
        lines.append(
            f"| {name} | {len(runs)} | {medians[name]:.2f} | {ratio} "
            f"| {', '.join(f'{s:.1f}' for s, _, _ in runs)} "
            f"| {statistics.median(r for _, r, _ in runs):.0f} | {runs[0][2]:.1f} |"
        )
    return "\n".join(lines)


async def _fresh(design: str) -> tuple[float, float, float]:
    """One run of ``design`` in a process of its own: the RSS growth of a first export."""
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.export", "--design", design, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await child.communicate()
    seconds, growth, size = json.loads(out.decode().strip().splitlines()[-1])
    return float(seconds), float(growth), float(size)


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.export", description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--design", help="one design, one run, in this process (JSON out)")
    args = parser.parse_args(argv)
    db = RESULTS_DIR / "progress-132133u-1000000i.db"
    if not cached(db):
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        await build(db, 132_133, 1_000_000)
    if args.design:
        [run] = (await measure(db, 1, args.design))[args.design]
        print(json.dumps(run))
        return
    # Each run in a fresh process, rounds interleaved: a process's heap, once grown by
    # one export, hides the growth of the next.
    results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in DESIGNS}
    for _ in range(args.rounds):
        for name in DESIGNS:
            results[name].append(await _fresh(name))
    print(table(results))


if __name__ == "__main__":
    asyncio.run(main())
