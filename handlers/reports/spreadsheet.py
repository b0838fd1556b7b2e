"""The ideas of a subtree and campaign as an .xlsx workbook, written as they come.

Two sheets: the ideas (reference, unit path, title, category, status, dates,
benefit, …, the council's recognition with its decision, the application and its
measured benefit) and the summary of the progress message. Confidentiality holds
here as on the cards: a confidential idea leaves its grassroots union only as its
summary (title if typed, status, benefit, the outcome's dates and figures); its
author and its text are not in the file (the query does not even read them).

Each idea is one row of SpreadsheetML built by one formatted string and deflated into
the file at once (:mod:`handlers.reports.xlsx_stream`), so a national export of
100,000 ideas is never in memory; it is about twice as fast as xlsxwriter's
constant-memory mode (docs/BENCHMARKS.md, "/export").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from handlers.i18n import Translator
from handlers.reports.view import RECOGNISED, SUBMITTED, Figures, ProgressView
from handlers.reports.view import plain as _plain
from handlers.reports.xlsx_stream import (
    BOLD,
    DAY,
    MOMENT,
    MONEY,
    PERCENT,
    PLAIN,
    TEXT_CELL,
    TEXT_END,
    WRAP,
    Cell,
    XlsxStream,
    clean,
    day_serial,
    moment_serial,
    row_xml,
    text_xml,
)
from storage.repositories.progress import ExportedIdea

PATH_SEPARATOR: Final = " › "
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
class ExportPage:
    ideas: Sequence[ExportedIdea]
    unit_paths: Sequence[str]  # of each idea: unit names from the exported unit down


def safe(text: str | None) -> str | None:
    """A string cell's text as the file keeps it (:func:`xlsx_stream.clean`): no formula,
    nothing XML cannot carry, at most 32,767 characters."""
    return None if text is None else clean(text)


def _label(text: str) -> str:
    """A button label as a cell: without the emoji in front."""
    plain = _plain(text)
    start = next((i for i, ch in enumerate(plain) if ch.isalnum()), 0)
    return plain[start:]


def _text(column: str, row: int, xml: str, style: str = "") -> str:
    return f'<c r="{column}{row}"{style}{TEXT_CELL}{xml}{TEXT_END}'


class WorkbookWriter:
    """The workbook for ``view``, written as its rows come. :meth:`add` pages of rows,
    then :meth:`finish` once (or :meth:`close` to give up); both do file work, so
    callers run them on a thread.

    Every cell is written with its type: text as an inline string (never a formula, a
    number or a link whatever it looks like), numbers as numbers, dates as serial days
    with a date format.
    """

    def __init__(
        self, path: Path, t: Translator, view: ProgressView, *, compresslevel: int | None = None
    ) -> None:
        self.path, self.t, self.view = path, t, view
        self.rows = 0
        names = [_plain(t(key))[:SHEET_NAME_CHARS] for key in ("sheet.ideas", "sheet.summary")]
        options = {} if compresslevel is None else {"compresslevel": compresslevel}
        self._file = XlsxStream(path, names, [w for _, w in IDEA_COLUMNS], frozen_rows=1, **options)
        self._file.write([row_xml(1, [(_plain(t(key)), BOLD) for key, _ in IDEA_COLUMNS])])
        self._next_row = 2
        self._redacted = text_xml(_plain(t("sheet.redacted")))
        self._yes, self._no = text_xml(_plain(t("sheet.yes"))), text_xml(_plain(t("sheet.no")))
        # Category, status and benefit labels: a handful of values, looked up once each.
        self._labels: dict[str, str] = {}

    def _label(self, key: str) -> str:
        label = self._labels.get(key)
        if label is None:
            label = self._labels[key] = text_xml(_label(self.t(key)))
        return label

    def add(self, page: ExportPage) -> None:
        """A page of ideas, one row each: one formatted string per row, the cells
        that may be empty added only when they are not."""
        label, redacted, yes, no = self._label, self._redacted, self._yes, self._no
        text, moment, day = text_xml, moment_serial, day_serial
        t, w = TEXT_CELL, TEXT_END
        r = self._next_row
        out = []
        for idea, unit_path in zip(page.ideas, page.unit_paths, strict=True):
            if idea.confidential:
                author, body, secret = redacted, redacted, yes
            else:
                author, body, secret = text(idea.author or ""), text(idea.body or ""), no
            title = redacted if idea.title is None else text(idea.title)
            out.append(
                f'<row r="{r}"><c r="A{r}"{t}{text(idea.ref_code)}{w}'
                f'<c r="B{r}"{t}{text(unit_path)}{w}<c r="C{r}"{t}{title}{w}'
                f'<c r="D{r}"{t}{label("category." + idea.category)}{w}'
                f'<c r="E{r}"{t}{label("status." + idea.status)}{w}'
                f'<c r="F{r}" s="{MOMENT}"><v>{moment(idea.created_at)!r}</v></c>'
                f'<c r="G{r}" s="{MOMENT}"><v>{moment(idea.updated_at)!r}</v></c>'
                f'<c r="H{r}"{t}{label("benefit." + idea.benefit)}{w}'
            )
            if idea.benefit_amount is not None:
                out.append(f'<c r="I{r}" s="{MONEY}"><v>{idea.benefit_amount}</v></c>')
            out.append(
                f'<c r="J{r}"{t}{secret}{w}<c r="K{r}"{t}{author}{w}'
                f'<c r="L{r}" s="{WRAP}"{t}{body}{w}'
            )
            if idea.recognised is not None:
                out.append(_text("M", r, yes if idea.recognised else no))
            if idea.decision_no is not None:
                out.append(_text("N", r, text(idea.decision_no)))
            if idea.decision_date is not None:
                out.append(f'<c r="O{r}" s="{DAY}"><v>{day(idea.decision_date)}</v></c>')
            if idea.applied_on is not None:
                out.append(f'<c r="P{r}" s="{DAY}"><v>{day(idea.applied_on)}</v></c>')
            if idea.benefit_vnd is not None:
                out.append(f'<c r="Q{r}" s="{MONEY}"><v>{idea.benefit_vnd}</v></c>')
            out.append("</row>")
            r += 1
        self._file.write(out)
        self._next_row = r
        self.rows += len(page.ideas)

    def finish(self, *, total: int) -> None:
        """The note on rows left out (``total``: ideas before any limit), the summary
        sheet, and the file."""
        t, view = self.t, self.view
        if total > self.rows:  # a blank row, then the note
            note = _plain(t("sheet.truncated", shown=self.rows, total=total))
            self._file.write([row_xml(self._next_row + 1, [(note, PLAIN)])])
        campaign = t("sheet.campaign", code=view.campaign.code, name=view.campaign.name)
        rows: list[Sequence[Cell]] = [[(_plain(campaign), PLAIN)], []]
        rows.append([(_plain(t(key)), BOLD) for key, _ in SUMMARY_COLUMNS])
        # The first row is the unit itself: the totals of its whole subtree.
        rows.extend(_summary_row(figures) for figures in [view.own, *view.children])
        self._file.finish([([w for _, w in SUMMARY_COLUMNS], rows)])

    def close(self) -> None:
        """Give up: remove whatever was written of the file."""
        self._file.close()


def _summary_row(figures: Figures) -> list[Cell]:
    cells: list[Cell] = [(figures.unit.name, PLAIN)]
    counts = (figures.submitted, figures.approved, figures.recognised, figures.applied)
    cells.extend((count, PLAIN) for count in counts)
    cells.append((figures.benefit, MONEY))
    for measure in (SUBMITTED, RECOGNISED):
        quota = figures.quota(measure)
        if quota is None:
            cells += [(None, PLAIN), (None, PLAIN)]
        else:
            attainment = None if quota.attainment is None else round(quota.attainment / 100, 4)
            cells += [(quota.target, PLAIN), (attainment, PERCENT)]
    cells.append((figures.week_submitted, PLAIN))
    return cells
