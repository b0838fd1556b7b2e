"""One reader for every CSV import (units, quotas): decoding, separator, header, rows,
and how a rejected file is reported.

A file is UTF-8 with or without a byte-order mark; its separator is the comma, or a
semicolon or tab (Excel with Vietnamese regional settings saves ";"), whichever the
first non-blank line has most of. The first non-blank record is the header: it names
the columns an import needs, in any order, other columns ignored. Blank records are
skipped; line numbers are those of the file, where a quoted cell may span lines.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

__all__ = ["CsvImportError", "Record", "RowError", "records"]


@dataclass(frozen=True, slots=True)
class RowError:
    """What is wrong with one row (``line`` 0: with the file as a whole)."""

    line: int
    reasons: tuple[str, ...]
    code: str | None = None

    @property
    def message(self) -> str:
        return "; ".join(self.reasons)

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "file"
        return f"{where}: {self.message}"


class CsvImportError(Exception):
    """The file was rejected; nothing was written. ``errors`` lists every bad row."""

    what: ClassVar[str] = "CSV"  # the file, as the message names it

    def __init__(self, errors: Sequence[RowError]) -> None:
        self.errors: list[RowError] = sorted(errors, key=lambda e: e.line)
        shown = "\n".join(str(e) for e in self.errors[:20])
        more = len(self.errors) - 20
        if more > 0:
            shown += f"\n… and {more} more"
        count = len(self.errors)
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"{count} {noun} in the {self.what} file; nothing was imported:\n{shown}")


@dataclass(frozen=True, slots=True)
class Record:
    """One data row: its line, and its cells by column name ("" where the row is short)."""

    line: int
    cells: list[str]
    columns: dict[str, int]
    width: int  # the header's number of fields

    def __getitem__(self, column: str) -> str:
        index = self.columns.get(column)  # None: an optional column the file does not have
        return self.cells[index] if index is not None and index < len(self.cells) else ""

    @property
    def overflows(self) -> bool:
        """More non-empty fields than the header has."""
        return len(self.cells) > self.width and any(c.strip() for c in self.cells[self.width :])


def records(
    path: str | os.PathLike[str],
    columns: Sequence[str],
    error: type[CsvImportError],
    errors: list[RowError],
    optional: Sequence[str] = (),
) -> Iterator[Record]:
    """The data rows of the file at ``path``, whose header must name ``columns`` and may
    name the ``optional`` ones (read as "" when it does not).

    Raises ``error`` if the file cannot be read, is not UTF-8, is empty or lacks a
    column; if it stops being readable as CSV part-way, the ``errors`` the caller has
    gathered so far are raised too.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise error([RowError(0, (f"cannot read {os.fspath(path)}: {exc}",))]) from exc
    content = _decode(data, error)
    first_line = next((ln for ln in content.splitlines() if ln.strip()), "")
    if not first_line:
        raise error([RowError(1, ("the file is empty",))])
    reader = csv.reader(io.StringIO(content, newline=""), delimiter=_delimiter(first_line))
    named: dict[str, int] | None = None
    width = 0
    consumed = 0  # physical lines read so far: a record starts on the next one
    try:
        for cells in reader:
            line, consumed = consumed + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if named is None:
                named, width = _header(line, cells, columns, optional, error), len(cells)
            else:
                yield Record(line, cells, named, width)
    except csv.Error as exc:
        raise error(
            [*errors, RowError(reader.line_num, (f"not readable as CSV: {exc}",))]
        ) from None


def _decode(data: bytes, error: type[CsvImportError]) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise error(
            [RowError(line, ("the file is not UTF-8 text: save it as “CSV UTF-8”",))]
        ) from None


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _header(
    line: int,
    cells: list[str],
    wanted: Sequence[str],
    optional: Sequence[str],
    error: type[CsvImportError],
) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, cell in enumerate(cells):
        name = cell.strip().lstrip("\ufeff").lower()
        if (name in wanted or name in optional) and name not in columns:
            columns[name] = index
    missing = [c for c in wanted if c not in columns]
    if missing:
        reason = (
            f"the first row must be the header {','.join(wanted)} (missing: {', '.join(missing)})"
        )
        raise error([RowError(line, (reason,))])
    return columns
