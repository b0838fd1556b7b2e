"""A unit's export written to a file: the chat's ``/export`` (the report job) and the
dashboard's download (``handlers/dashboard/export.py``) both call :func:`write_export`.

The ideas are read a page at a time from one streamed query (a server-side cursor),
their units named (:class:`UnitPaths`), and each page written on a thread while the
next is read, so a national export of 100,000 ideas holds a page or two in memory,
never the whole.
The caller has checked the person's role; this module only reads and writes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.i18n import Translator
from handlers.reports.spreadsheet import PATH_SEPARATOR, ExportPage, WorkbookWriter
from handlers.reports.view import ProgressView, load_view
from storage.models import Campaign, Unit
from storage.repositories.progress import ExportedIdea
from storage.repositories.units import unit_ids_on_path
from storage.uow import UnitOfWork

BODY_CHARS: Final = 2000  # of an idea's text in a spreadsheet cell (which holds 32,767)
PAGE_ROWS: Final = 2_000  # ideas read and written at a time
PREFIXES_KEPT: Final = 20_000  # unit paths above ideas' parents, kept while exporting


@dataclass(frozen=True, slots=True)
class ExportResult:
    rows: int  # ideas written
    total: int  # ideas of the unit and campaign, before the limit
    view: ProgressView  # the figures of the summary sheet

    @property
    def file_name(self) -> str:
        """What the person's copy is called: ``HCM-2026-P2.xlsx``."""
        return f"{self.view.unit.code}-{self.view.campaign.code}.xlsx".replace("/", "-")


class UnitPaths:
    """The names from the exported unit down to each idea's unit. An idea's row brings
    its unit's name and its parent's; the names above those, the same for thousands of
    ideas, are looked up once per grandparent and kept (a national export: about 1,100
    of 132,000 units), never more than :data:`PREFIXES_KEPT` at a time."""

    def __init__(self, uow: UnitOfWork, unit: Unit) -> None:
        self._uow, self._top, self._top_path = uow, unit.id, unit.path
        # grandparent → the names from the exported unit down to it and a separator;
        # None: the grandparent is above the exported unit.
        self._prefixes: dict[int | None, str | None] = {None: None}

    async def of(self, ideas: Sequence[ExportedIdea]) -> list[str]:
        prefixes = self._prefixes
        unknown = {i.grandparent_id for i in ideas} - prefixes.keys()
        if unknown:
            if len(prefixes) + len(unknown) > PREFIXES_KEPT:
                prefixes.clear()
                prefixes[None] = None
            await self._learn(unknown)
        paths = []
        top = self._top
        for idea in ideas:
            prefix = prefixes[idea.grandparent_id]
            if prefix is not None:
                paths.append(f"{prefix}{idea.parent_name}{PATH_SEPARATOR}{idea.unit_name}")
            elif idea.parent_id == top:
                paths.append(f"{idea.parent_name}{PATH_SEPARATOR}{idea.unit_name}")
            else:  # the idea's unit is the exported unit
                paths.append(idea.unit_name)
        return paths

    async def _learn(self, grandparents: set[int | None]) -> None:
        known = await self._uow.progress.unit_paths([g for g in grandparents if g is not None])
        skip = len(unit_ids_on_path(self._top_path)) - 1  # the path starts at the exported unit
        below = {g: p for g, (p, _) in known.items() if p.startswith(self._top_path)}
        ids = {i for p in below.values() for i in unit_ids_on_path(p)[skip:]}
        names = {i: n for i, (_, n) in (await self._uow.progress.unit_paths(sorted(ids))).items()}
        for grandparent in grandparents:
            path = below.get(grandparent) if grandparent is not None else None
            if path is None:
                self._prefixes[grandparent] = None
            else:
                on_path = unit_ids_on_path(path)[skip:]
                self._prefixes[grandparent] = "".join(
                    names.get(i, "?") + PATH_SEPARATOR for i in on_path
                )


async def export_pages(
    uow: UnitOfWork, unit: Unit, campaign: Campaign, *, max_rows: int, page_rows: int = PAGE_ROWS
) -> AsyncGenerator[ExportPage, None]:
    """The rows of the unit's export, newest first, a page at a time: each idea with the
    names of the units from ``unit`` down to its own."""
    paths = UnitPaths(uow, unit)
    pages = uow.progress.stream_ideas_in_subtree(
        unit.path, campaign.id, limit=max_rows, body_chars=BODY_CHARS, page=page_rows
    )
    async with contextlib.aclosing(pages):
        async for page in pages:
            yield ExportPage(page, await paths.of(page))


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
            # The ideas left out are told from the counters /progress shows (counting the
            # national export's 750,000 rows took 2-4 s of the export's 10).
            total = max(view.own.submitted, writer.rows) if writer.rows >= max_rows else writer.rows
            await asyncio.to_thread(writer.finish, total=total)
        except BaseException:
            if writing is not None:  # a page's thread cannot be stopped: wait for it
                with contextlib.suppress(BaseException):
                    await writing
            await asyncio.to_thread(writer.close)
            raise
    return ExportResult(writer.rows, total, view)
