"""The ideas of a subtree and campaign as an .xlsx workbook (openpyxl, write-only mode).

Two sheets: the ideas (reference, unit path, title, category, status, dates,
benefit, …, the council's recognition with its decision, the application and its
measured benefit) and the summary of the progress message. Confidentiality holds
here as on the cards: a confidential idea leaves its grassroots union only as its
summary (title if typed, status, benefit, the outcome's dates and figures); its
author and its text are not in the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
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


@dataclass(frozen=True, slots=True)
class ExportRow:
    idea: ExportedIdea
    unit_path: str  # unit names from the exported unit down to the idea's unit


def safe(text: str | None) -> str | None:
    """A string cell that no spreadsheet program runs as a formula."""
    if text is None:
        return None
    cleaned = "".join(ch for ch in text if ch in "\n\t" or ord(ch) >= 32)
    return "'" + cleaned if cleaned.startswith(_FORMULA_START) else cleaned


def _label(text: str) -> str:
    """A button label as a cell: without the emoji in front."""
    plain = _plain(text)
    start = next((i for i, ch in enumerate(plain) if ch.isalnum()), 0)
    return plain[start:]


def _column(index: int) -> str:
    """The spreadsheet's letter of the column at ``index`` (0: A; up to ZZ)."""
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return letters[index] if index < 26 else letters[index // 26 - 1] + letters[index % 26]


def _local(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.astimezone(VIETNAM).replace(tzinfo=None)  # Excel has no time zones


class WorkbookWriter:
    """The workbook for ``view``, written as its rows come (openpyxl's write-only mode
    streams each row to a temporary file), so an export of 100,000 ideas never holds
    them all in memory. :meth:`add` pages of rows, then :meth:`finish` once; both do
    file work, so the report job calls them on a thread."""

    def __init__(self, path: Path, t: Translator, view: ProgressView) -> None:
        from openpyxl import Workbook
        from openpyxl.styles import Alignment, Font

        self.path, self.t, self.view = path, t, view
        self.rows = 0
        self._workbook = Workbook(write_only=True)
        self._bold = Font(bold=True)
        self._wrap = Alignment(wrap_text=True, vertical="top")
        self._ideas = self._workbook.create_sheet(_plain(t("sheet.ideas"))[:31])
        widths = (16, 48, 48, 18, 22, 17, 17, 28, 16, 12, 24, 80, 14, 18, 14, 14, 18)
        for index, width in enumerate(widths):
            self._ideas.column_dimensions[_column(index)].width = width
        self._ideas.freeze_panes = "A2"
        self._header(
            self._ideas,
            [
                "sheet.ref",
                "sheet.unit",
                "sheet.title",
                "sheet.category",
                "sheet.status",
                "sheet.submitted",
                "sheet.updated",
                "sheet.benefit",
                "sheet.amount",
                "sheet.confidential",
                "sheet.author",
                "sheet.body",
                "sheet.recognised",
                "sheet.decision_no",
                "sheet.decision_date",
                "sheet.applied_on",
                "sheet.benefit_vnd",
            ],
        )
        self._redacted = _plain(t("sheet.redacted"))
        self._yes, self._no = _plain(t("sheet.yes")), _plain(t("sheet.no"))
        # Category, status and benefit labels: a handful of values, looked up once each.
        self._labels: dict[str, str] = {}

    def _header(self, sheet: Any, names: list[str]) -> None:
        from openpyxl.cell import WriteOnlyCell

        cells = []
        for name in names:
            cell = WriteOnlyCell(sheet, value=_plain(self.t(name)))
            cell.font = self._bold
            cells.append(cell)
        sheet.append(cells)

    def _label(self, key: str) -> str:
        label = self._labels.get(key)
        if label is None:
            label = self._labels[key] = _label(self.t(key))
        return label

    def add(self, rows: Sequence[ExportRow]) -> None:
        from openpyxl.cell import WriteOnlyCell

        ideas, date_format = self._ideas, "dd/mm/yyyy hh:mm"
        for row in rows:
            idea = row.idea
            submitted = WriteOnlyCell(ideas, value=_local(idea.created_at))
            submitted.number_format = date_format
            updated = WriteOnlyCell(ideas, value=_local(idea.updated_at))
            updated.number_format = date_format
            amount = WriteOnlyCell(ideas, value=idea.benefit_amount)
            amount.number_format = "#,##0"
            if idea.confidential:
                author, body = self._redacted, self._redacted
            else:
                author = safe(idea.author) or ""
                body = safe(idea.body) or ""
            body_cell = WriteOnlyCell(ideas, value=body)
            body_cell.alignment = self._wrap
            decided = WriteOnlyCell(ideas, value=idea.decision_date)
            decided.number_format = "dd/mm/yyyy"
            applied = WriteOnlyCell(ideas, value=idea.applied_on)
            applied.number_format = "dd/mm/yyyy"
            measured = WriteOnlyCell(ideas, value=idea.benefit_vnd)
            measured.number_format = "#,##0"
            recognised = (
                None if idea.recognised is None else self._yes if idea.recognised else self._no
            )
            ideas.append(
                [
                    idea.ref_code,
                    safe(row.unit_path),
                    safe(idea.title) if idea.title is not None else self._redacted,
                    self._label(f"category.{idea.category}"),
                    self._label(f"status.{idea.status}"),
                    submitted,
                    updated,
                    self._label(f"benefit.{idea.benefit}"),
                    amount,
                    self._yes if idea.confidential else self._no,
                    author,
                    body_cell,
                    recognised,
                    safe(idea.decision_no),
                    decided,
                    applied,
                    measured,
                ]
            )
        self.rows += len(rows)

    def finish(self, *, total: int) -> None:
        """The note on rows left out (``total``: ideas before any limit), the summary
        sheet, and the file."""

        t, view = self.t, self.view
        if total > self.rows:
            self._ideas.append([])
            self._ideas.append([_plain(t("sheet.truncated", shown=self.rows, total=total))])
        summary = self._workbook.create_sheet(_plain(t("sheet.summary"))[:31])
        widths = (56, 12, 12, 14, 12, 20, 12, 12, 14, 12, 16)
        for index, width in enumerate(widths):
            summary.column_dimensions[_column(index)].width = width
        summary.append(
            [_plain(t("sheet.campaign", code=view.campaign.code, name=view.campaign.name))]
        )
        summary.append([])
        self._header(
            summary,
            [
                "sheet.unit",
                "sheet.count_submitted",
                "sheet.count_approved",
                "sheet.count_recognised",
                "sheet.count_applied",
                "sheet.benefit_total",
                "sheet.target",
                "sheet.attainment",
                "sheet.target_recognised",
                "sheet.attainment_recognised",
                "sheet.week_submitted",
            ],
        )
        # The first row is the unit itself: the totals of its whole subtree.
        for figures in [view.own, *view.children]:
            summary.append(self._summary_row(summary, figures))
        self._workbook.save(str(self.path))

    def _summary_row(self, summary: Any, figures: Figures) -> list[Any]:
        from openpyxl.cell import WriteOnlyCell

        benefit = WriteOnlyCell(summary, value=figures.benefit)
        benefit.number_format = "#,##0"
        row: list[Any] = [
            safe(figures.unit.name),
            figures.submitted,
            figures.approved,
            figures.recognised,
            figures.applied,
            benefit,
        ]
        for measure in (SUBMITTED, RECOGNISED):
            quota = figures.quota(measure)
            attainment = quota.attainment if quota is not None else None
            percent_cell = WriteOnlyCell(
                summary, value=None if attainment is None else round(attainment / 100, 4)
            )
            percent_cell.number_format = "0.0%"
            row += [quota.target if quota is not None else None, percent_cell]
        row.append(figures.week_submitted)
        return row
