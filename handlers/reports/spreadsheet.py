"""The ideas of a subtree and campaign as an .xlsx workbook (xlsxwriter, constant memory).

Two sheets: the ideas (reference, unit path, title, category, status, dates,
benefit, …, the council's recognition with its decision, the application and its
measured benefit) and the summary of the progress message. Confidentiality holds
here as on the cards: a confidential idea leaves its grassroots union only as its
summary (title if typed, status, benefit, the outcome's dates and figures); its
author and its text are not in the file (the query does not even read them).

xlsxwriter's constant-memory mode writes each row to a temporary file as soon as the
next one starts, with its strings inline, so a national export of 100,000 ideas
never holds them in memory; it wrote that export 2.4 times as fast as openpyxl's
write-only mode (docs/BENCHMARKS.md, "/export").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Final

from handlers.cards import VIETNAM
from handlers.i18n import Translator
from handlers.reports.view import RECOGNISED, SUBMITTED, Figures, ProgressView
from handlers.reports.view import plain as _plain
from storage.repositories.progress import ExportedIdea

PATH_SEPARATOR: Final = " › "
# Text that Excel would take for a formula is written with a leading apostrophe.
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")
# Control characters other than the tab and the line break: not allowed in the file's XML.
_CONTROL: Final = re.compile("[\x00-\x08\x0b-\x1f]")
SHEET_NAME_CHARS: Final = 31

IDEA_COLUMNS: Final = (
    ("sheet.ref", 16),
    ("sheet.unit", 48),
    ("sheet.title", 48),
    ("sheet.category", 18),
    ("sheet.status", 22),
    ("sheet.submitted", 17),
    ("sheet.updated", 17),
    ("sheet.benefit", 28),
    ("sheet.amount", 16),
    ("sheet.confidential", 12),
    ("sheet.author", 24),
    ("sheet.body", 80),
    ("sheet.recognised", 14),
    ("sheet.decision_no", 18),
    ("sheet.decision_date", 14),
    ("sheet.applied_on", 14),
    ("sheet.benefit_vnd", 18),
)
SUMMARY_COLUMNS: Final = (
    ("sheet.unit", 56),
    ("sheet.count_submitted", 12),
    ("sheet.count_approved", 12),
    ("sheet.count_recognised", 14),
    ("sheet.count_applied", 12),
    ("sheet.benefit_total", 20),
    ("sheet.target", 12),
    ("sheet.attainment", 12),
    ("sheet.target_recognised", 14),
    ("sheet.attainment_recognised", 12),
    ("sheet.week_submitted", 16),
)


@dataclass(frozen=True, slots=True)
class ExportRow:
    idea: ExportedIdea
    unit_path: str  # unit names from the exported unit down to the idea's unit


def safe(text: str | None) -> str | None:
    """A string cell that no spreadsheet program runs as a formula."""
    if text is None:
        return None
    cleaned = _CONTROL.sub("", text)
    return "'" + cleaned if cleaned.startswith(_FORMULA_START) else cleaned


def _label(text: str) -> str:
    """A button label as a cell: without the emoji in front."""
    plain = _plain(text)
    start = next((i for i, ch in enumerate(plain) if ch.isalnum()), 0)
    return plain[start:]


def _local(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.astimezone(VIETNAM).replace(tzinfo=None)  # Excel has no time zones


class WorkbookWriter:
    """The workbook for ``view``, written as its rows come. :meth:`add` pages of rows,
    then :meth:`finish` once (or :meth:`close` to give up); both do file work, so
    callers run them on a thread.

    Every cell is written by its type (``write_string``, never ``write``), so no text
    becomes a formula, a number or a link whatever it looks like.
    """

    def __init__(self, path: Path, t: Translator, view: ProgressView) -> None:
        from xlsxwriter import Workbook  # only the report worker writes spreadsheets

        self.path, self.t, self.view = path, t, view
        self.rows = 0
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
        self._ideas = self._workbook.add_worksheet(_plain(t("sheet.ideas"))[:SHEET_NAME_CHARS])
        self._ideas.freeze_panes(1, 0)
        self._header(self._ideas, 0, IDEA_COLUMNS)
        self._next_row = 1
        self._redacted = _plain(t("sheet.redacted"))
        self._yes, self._no = _plain(t("sheet.yes")), _plain(t("sheet.no"))
        # Category, status and benefit labels: a handful of values, looked up once each.
        self._labels: dict[str, str] = {}

    def _header(self, sheet: Any, row: int, columns: Sequence[tuple[str, int]]) -> None:
        for index, (key, width) in enumerate(columns):
            sheet.set_column(index, index, width)
            sheet.write_string(row, index, _plain(self.t(key)), self._bold)

    def _label(self, key: str) -> str:
        label = self._labels.get(key)
        if label is None:
            label = self._labels[key] = _label(self.t(key))
        return label

    def add(self, rows: Sequence[ExportRow]) -> None:
        text, number, moment = (
            self._ideas.write_string,
            self._ideas.write_number,
            self._ideas.write_datetime,
        )
        label, redacted, yes, no = self._label, self._redacted, self._yes, self._no
        r = self._next_row
        for row in rows:
            idea = row.idea
            text(r, 0, idea.ref_code)
            text(r, 1, safe(row.unit_path))
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
            _day(moment, r, 14, idea.decision_date, self._day)
            _day(moment, r, 15, idea.applied_on, self._day)
            if idea.benefit_vnd is not None:
                number(r, 16, idea.benefit_vnd, self._money)
            r += 1
        self._next_row = r
        self.rows += len(rows)

    def finish(self, *, total: int) -> None:
        """The note on rows left out (``total``: ideas before any limit), the summary
        sheet, and the file."""
        t, view = self.t, self.view
        if total > self.rows:  # a blank row, then the note
            note = _plain(t("sheet.truncated", shown=self.rows, total=total))
            self._ideas.write_string(self._next_row + 1, 0, note)
        summary = self._workbook.add_worksheet(_plain(t("sheet.summary"))[:SHEET_NAME_CHARS])
        campaign = t("sheet.campaign", code=view.campaign.code, name=view.campaign.name)
        summary.write_string(0, 0, _plain(campaign))
        self._header(summary, 2, SUMMARY_COLUMNS)
        # The first row is the unit itself: the totals of its whole subtree.
        for row, figures in enumerate([view.own, *view.children], start=3):
            self._summary_row(summary, row, figures)
        self._workbook.close()

    def close(self) -> None:
        """Give up: remove the temporary files and whatever was written of the file."""
        for sheet in self._workbook.worksheets():
            handle = getattr(sheet, "row_data_fh", None)
            if handle is not None and not handle.closed:
                handle.close()
            name = getattr(sheet, "row_data_filename", None)
            if name:
                Path(name).unlink(missing_ok=True)
        self.path.unlink(missing_ok=True)

    def _summary_row(self, summary: Any, row: int, figures: Figures) -> None:
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


def _day(write: Any, row: int, column: int, day: date | None, day_format: Any) -> None:
    if day is not None:
        write(row, column, day, day_format)
