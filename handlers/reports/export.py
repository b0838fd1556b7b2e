"""A unit's export written to a file: the chat's ``/export`` (the report job) and the
dashboard's download (``handlers/dashboard/export.py``) both call :func:`write_export`.

The ideas are read a page at a time from one streamed query (a server-side cursor),
their units named, and each page written on a thread while the next is read, so a
national export of 100,000 ideas holds a page or two in memory, never the whole.
The caller has checked the person's role; this module only reads and writes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.i18n import Translator
from handlers.reports.spreadsheet import PATH_SEPARATOR, ExportRow, WorkbookWriter
from handlers.reports.view import ProgressView, load_view
from storage.models import Campaign, Unit
from storage.repositories.units import unit_ids_on_path
from storage.uow import UnitOfWork

BODY_CHARS: Final = 2000  # of an idea's text in a spreadsheet cell (which holds 32,767)
PAGE_ROWS: Final = 2_000  # ideas read and written at a time


@dataclass(frozen=True, slots=True)
class ExportResult:
    rows: int  # ideas written
    total: int  # ideas of the unit and campaign, before the limit
    view: ProgressView  # the figures of the summary sheet

    @property
    def file_name(self) -> str:
        """What the person's copy is called: ``HCM-2026-P2.xlsx``."""
        return f"{self.view.unit.code}-{self.view.campaign.code}.xlsx".replace("/", "-")


async def export_pages(
    uow: UnitOfWork, unit: Unit, campaign: Campaign, *, max_rows: int, page_rows: int = PAGE_ROWS
) -> AsyncGenerator[list[ExportRow], None]:
    """The rows of the unit's export, newest first, a page at a time: each idea with the
    names of the units from ``unit`` down to its own."""
    skip = len(unit_ids_on_path(unit.path)) - 1  # the path starts at the exported unit
    names: dict[int, str] = {}
    pages = uow.progress.stream_ideas_in_subtree(
        unit.path, campaign.id, limit=max_rows, body_chars=BODY_CHARS, page=page_rows
    )
    async with contextlib.aclosing(pages):
        async for page in pages:
            paths = [unit_ids_on_path(idea.unit_path)[skip:] for idea in page]
            unnamed = {i for ids in paths for i in ids if i not in names}
            if unnamed:
                names.update(await uow.progress.unit_names(sorted(unnamed)))
            yield [
                ExportRow(idea, PATH_SEPARATOR.join(names.get(i, "?") for i in ids))
                for idea, ids in zip(page, paths, strict=True)
            ]


async def write_export(
    sessionmaker: async_sessionmaker[AsyncSession],
    unit: Unit,
    campaign: Campaign,
    path: Path,
    *,
    t: Translator,
    today: date,
    max_rows: int,
    page_rows: int = PAGE_ROWS,
) -> ExportResult:
    """Write the export of ``unit`` in ``campaign`` to ``path`` (.xlsx), in ``t``'s
    language: at most ``max_rows`` ideas, newest first, and the summary of ``today``'s
    figures. Reads in read-only units of work (on SQLite they neither queue behind the
    bot's writers nor hold them up). On failure no file is left at ``path``."""
    async with UnitOfWork(sessionmaker, read_only=True) as uow:
        view = await load_view(uow, unit, campaign, today)
        # The ideas left out are counted only when some are: on a connection of their
        # own while the rows are written (2 s of the national export's 750,000).
        counting = None
        if view.own.submitted > max_rows:
            counting = asyncio.ensure_future(_count(sessionmaker, unit, campaign))
        writer = await asyncio.to_thread(WorkbookWriter, path, t, view)
        writing: asyncio.Future[None] | None = None
        pages = export_pages(uow, unit, campaign, max_rows=max_rows, page_rows=page_rows)
        try:
            async with contextlib.aclosing(pages):
                async for rows in pages:
                    # The page before is written on its thread while this one is read.
                    if writing is not None:
                        await writing
                    writing = asyncio.ensure_future(asyncio.to_thread(writer.add, rows))
            if writing is not None:
                await writing
            if counting is not None:
                total = await counting
            elif writer.rows >= max_rows:
                total = await uow.progress.count_in_subtree(unit.path, campaign.id)
            else:
                total = writer.rows
            total = max(total, writer.rows)  # an idea may have come between the two reads
            await asyncio.to_thread(writer.finish, total=total)
        except BaseException:
            if counting is not None:
                counting.cancel()
            for task in (writing, counting):  # a page's thread cannot be stopped: wait for it
                if task is not None:
                    with contextlib.suppress(BaseException):
                        await task
            await asyncio.to_thread(writer.close)
            raise
    return ExportResult(writer.rows, total, view)


async def _count(
    sessionmaker: async_sessionmaker[AsyncSession], unit: Unit, campaign: Campaign
) -> int:
    async with UnitOfWork(sessionmaker, read_only=True) as uow:
        return await uow.progress.count_in_subtree(unit.path, campaign.id)
