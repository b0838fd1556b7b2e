"""The national ``/export`` by both writers, side by side. ``python -m bench.export``.

On ``bench.progress``'s database (132,133 units, 1,000,000 ideas; built and cached on
first use), the national unit's export of the running campaign: 100,000 of its
750,000 ideas. Each round reads the same rows the product reads
(:func:`handlers.reports.export.export_pages`: one streamed query, units named) and
writes them, a page at a time on a thread, with

* ``openpyxl``: openpyxl's write-only mode (the product's writer until issue #20,
  kept here as it was, with today's ``safe``), and
* ``xlsxwriter``: xlsxwriter's constant-memory mode (:class:`WorkbookWriter`);

then ``read only`` (the rows read and dropped) and ``write_export`` (the product's
whole export: figures, rows, the count of those left out, the writer) are timed too.
Each run in a process of its own; prints medians of seconds and of the process's RSS
growth (sampled every 10 ms).
"""

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

DESIGNS = ("read only", "openpyxl", "xlsxwriter", "write_export")
OPENPYXL_WIDTHS = (16, 48, 48, 18, 22, 17, 17, 28, 16, 12, 24, 80, 14, 18, 14, 14, 18)


class OpenpyxlWriter:
    """The ideas sheet as the product wrote it with openpyxl (write-only) until issue #20;
    the summary sheet left out (the same few rows for both writers)."""

    def __init__(self, path: Path, t: Any, view: Any) -> None:
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Alignment, Font

        from handlers.reports.spreadsheet import IDEA_COLUMNS
        from handlers.reports.view import plain

        self.path, self.t, self.rows = path, t, 0
        self._cell = WriteOnlyCell
        self._workbook = Workbook(write_only=True)
        self._wrap = Alignment(wrap_text=True, vertical="top")
        self._ideas = self._workbook.create_sheet(plain(t("sheet.ideas"))[:31])
        for index, width in enumerate(OPENPYXL_WIDTHS):
            self._ideas.column_dimensions["ABCDEFGHIJKLMNOPQ"[index]].width = width
        self._ideas.freeze_panes = "A2"
        header = []
        for key, _ in IDEA_COLUMNS:
            cell = WriteOnlyCell(self._ideas, value=plain(t(key)))
            cell.font = Font(bold=True)
            header.append(cell)
        self._ideas.append(header)
        self._redacted = plain(t("sheet.redacted"))
        self._yes, self._no = plain(t("sheet.yes")), plain(t("sheet.no"))
        self._labels: dict[str, str] = {}

    def _label(self, key: str) -> str:
        from handlers.reports.spreadsheet import _label

        if key not in self._labels:
            self._labels[key] = _label(self.t(key))
        return self._labels[key]

    def _formatted(self, value: Any, number_format: str) -> Any:
        cell = self._cell(self._ideas, value=value)
        cell.number_format = number_format
        return cell

    def add(self, rows: Sequence[Any]) -> None:
        from handlers.reports.spreadsheet import _local, safe

        cell = self._formatted
        for row in rows:
            idea = row.idea
            if idea.confidential:
                author, body = self._redacted, self._redacted
            else:
                author, body = safe(idea.author) or "", safe(idea.body) or ""
            body_cell = self._cell(self._ideas, value=body)
            body_cell.alignment = self._wrap
            recognised = (
                None if idea.recognised is None else self._yes if idea.recognised else self._no
            )
            self._ideas.append(
                [
                    idea.ref_code,
                    safe(row.unit_path),
                    safe(idea.title) if idea.title is not None else self._redacted,
                    self._label(f"category.{idea.category}"),
                    self._label(f"status.{idea.status}"),
                    cell(_local(idea.created_at), "dd/mm/yyyy hh:mm"),
                    cell(_local(idea.updated_at), "dd/mm/yyyy hh:mm"),
                    self._label(f"benefit.{idea.benefit}"),
                    cell(idea.benefit_amount, "#,##0"),
                    self._yes if idea.confidential else self._no,
                    author,
                    body_cell,
                    recognised,
                    safe(idea.decision_no),
                    cell(idea.decision_date, "dd/mm/yyyy"),
                    cell(idea.applied_on, "dd/mm/yyyy"),
                    cell(idea.benefit_vnd, "#,##0"),
                ]
            )
        self.rows += len(rows)

    def finish(self, *, total: int) -> None:
        self._workbook.save(str(self.path))


async def _written(sessionmaker: Any, unit: Any, campaign: Any, make: Any, path: Path) -> int:
    """The product's rows, written by ``make``'s writer (``None``: read and dropped)."""
    from handlers.reports.export import export_pages
    from storage.uow import UnitOfWork

    rows = 0
    async with UnitOfWork(sessionmaker, read_only=True) as uow:
        writer = None if make is None else await asyncio.to_thread(make, path)
        async for page in export_pages(uow, unit, campaign, max_rows=100_000):
            rows += len(page)
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
        "openpyxl": run(lambda path: OpenpyxlWriter(path, t, view)),
        "xlsxwriter": run(lambda path: WorkbookWriter(path, t, view)),
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
        "| national /export, 100,000 of 750,000 ideas | runs | median s | each run s "
        "| RSS growth MB (median) | file MB |",
        "| --- | ---: | ---: | --- | ---: | ---: |",
    ]
    for name, runs in results.items():
        seconds = [s for s, _, _ in runs]
        lines.append(
            f"| {name} | {len(runs)} | {statistics.median(seconds):.2f} "
            f"| {', '.join(f'{s:.1f}' for s in seconds)} "
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
