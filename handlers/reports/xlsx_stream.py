"""An .xlsx workbook written as a stream: its rows as SpreadsheetML text, deflated into
the zip as they come, and the few fixed parts around them.

No spreadsheet library: a national export's 1.16 million cells cost xlsxwriter about
7 µs each in argument checks and calls (docs/BENCHMARKS.md, "/export"); here a row is
one formatted string. Strings are inline (no shared-string table to hold), every cell
carries its type, so no text is ever read as a formula, a number or a link.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO, Final

from handlers.cards import VIETNAM

COMPRESS_LEVEL: Final = 1  # deflate; docs/BENCHMARKS.md, "/export" (6 costs more, saves little)
TEXT_MAX: Final = 32_767  # UTF-16 units a cell holds
# Characters XML 1.0 does not allow (and the carriage return, which cells never kept).
_ILLEGAL: Final = re.compile("[\x00-\x08\x0b-\x1f\ud800-\udfff\ufffe\uffff]")
_CODED: Final = re.compile("(_x[0-9a-fA-F]{4}_)")  # a character coded in SpreadsheetML
# Text that a spreadsheet program would take for a formula gets a leading apostrophe.
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")
_DAY: Final = timedelta(days=1)
_EPOCH: Final = datetime(1899, 12, 30, tzinfo=VIETNAM)  # Excel's day 0, in Vietnam's time
_EPOCH_DAY: Final = date(1899, 12, 30).toordinal()

# Cell styles, the cellXfs of styles.xml below, in this order.
PLAIN, BOLD, WRAP, MOMENT, DAY, MONEY, PERCENT = range(7)
_STYLES: Final = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<numFmts count="3"><numFmt numFmtId="164" formatCode="dd/mm/yyyy hh:mm"/>'
    '<numFmt numFmtId="165" formatCode="dd/mm/yyyy"/><numFmt numFmtId="166" formatCode="0.0%"/>'
    "</numFmts>"
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="7"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyAlignment="1">'
    '<alignment vertical="top" wrapText="1"/></xf>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="3" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="166" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    "</cellXfs>"
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
_MAIN: Final = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_DOC_RELS: Final = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_RELS: Final = "http://schemas.openxmlformats.org/package/2006/relationships"
_TYPES: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_HEAD: Final = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

# An inline string cell's attribute and markup before its text, and after it.
TEXT_CELL: Final = ' t="inlineStr"><is><t xml:space="preserve">'
TEXT_END: Final = "</t></is></c>"


def clean(text: str) -> str:
    """A string cell's text as it is kept: without the characters XML cannot carry, with
    an apostrophe before what looks like a formula, cut at :data:`TEXT_MAX`."""
    text = _ILLEGAL.sub("", text)
    if text.startswith(_FORMULA_START):
        text = "'" + text
    if len(text) > TEXT_MAX // 2:
        text = _cut(text)
    return text


def escape(text: str) -> str:
    """``text`` as XML character data (attribute values too: quotes escaped)."""
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def text_xml(text: str) -> str:
    """The XML of a string cell's text: :func:`clean`, then escaped. Spreadsheets read
    ``_x0041_`` in a cell's XML as the character it codes ("A"); such text in the idea
    itself is written as ``_x005F_x0041_``, which they read back as ``_x0041_``."""
    text = clean(text)
    if "_x" in text:
        text = _CODED.sub(r"_x005F\1", text)
    return escape(text)


def _cut(text: str) -> str:
    """``text`` cut at :data:`TEXT_MAX` UTF-16 units, never inside a character."""
    if len(text.encode("utf-16-le", "surrogatepass")) // 2 <= TEXT_MAX:
        return text
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > TEXT_MAX:
            return text[:index]
    return text


def moment_serial(moment: datetime) -> float:
    """An aware moment as Excel's serial day in Vietnam's time (Excel has no time zones)."""
    return (moment - _EPOCH) / _DAY


def day_serial(day: date) -> int:
    return day.toordinal() - _EPOCH_DAY


def column_name(index: int) -> str:
    """``A`` for 0, ``Z`` for 25, ``AA`` for 26."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


Cell = tuple[str | int | float | None, int]  # a value and its style


def row_xml(row: int, cells: Sequence[Cell]) -> str:
    """One row (1-based) of cells from column A, each by its Python type: a string cell
    for ``str`` (:func:`clean`-ed), a number for ``int`` and ``float``, none for None."""
    parts = [f'<row r="{row}">']
    for index, (value, style) in enumerate(cells):
        if value is None:
            continue
        at = f"{column_name(index)}{row}"
        s = f' s="{style}"' if style else ""
        if isinstance(value, str):
            parts.append(f'<c r="{at}"{s}{TEXT_CELL}{text_xml(value)}{TEXT_END}')
        else:
            parts.append(f'<c r="{at}"{s}><v>{value!r}</v></c>')
    parts.append("</row>")
    return "".join(parts)


def _sheet_head(widths: Sequence[float], *, frozen_rows: int, selected: bool) -> str:
    view = '<sheetView workbookViewId="0"' + (' tabSelected="1"' if selected else "")
    if frozen_rows:
        top = f"A{frozen_rows + 1}"
        view += (
            f'><pane ySplit="{frozen_rows}" topLeftCell="{top}" activePane="bottomLeft"'
            f' state="frozen"/><selection pane="bottomLeft" activeCell="{top}"'
            f' sqref="{top}"/></sheetView>'
        )
    else:
        view += "/>"
    cols = "".join(
        f'<col min="{i}" max="{i}" width="{_width(w)}" customWidth="1"/>'
        for i, w in enumerate(widths, start=1)
    )
    return (
        f'{_HEAD}<worksheet xmlns="{_MAIN}" xmlns:r="{_DOC_RELS}">'
        f'<sheetViews>{view}</sheetViews><sheetFormatPr defaultRowHeight="15"/>'
        f"<cols>{cols}</cols><sheetData>"
    )


_SHEET_TAIL: Final = (
    '</sheetData><pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75"'
    ' header="0.3" footer="0.3"/></worksheet>'
)


def _width(characters: float) -> float:
    """A column's width in characters as Excel stores it (with the cell's padding)."""
    return int((characters * 7 + 5) / 7 * 256) / 256


class XlsxStream:
    """A workbook of named sheets in ``path``: the first one written row by row
    (:meth:`write`), the others whole at :meth:`finish`. :meth:`close` gives up and
    removes the file."""

    def __init__(
        self,
        path: Path,
        sheet_names: Sequence[str],
        widths: Sequence[float],
        *,
        frozen_rows: int = 0,
        compresslevel: int = COMPRESS_LEVEL,
    ) -> None:
        self.path, self.names = path, list(sheet_names)
        self._zip = zipfile.ZipFile(
            path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=compresslevel
        )
        self._package()
        self._sheet: IO[bytes] | None = self._zip.open("xl/worksheets/sheet1.xml", "w")
        self.write([_sheet_head(widths, frozen_rows=frozen_rows, selected=True)])

    def write(self, parts: Iterable[str]) -> None:
        """More of the first sheet's rows, as XML text."""
        assert self._sheet is not None
        self._sheet.write("".join(parts).encode("utf-8"))

    def finish(self, sheets: Sequence[tuple[Sequence[float], Sequence[Sequence[Cell]]]]) -> None:
        """The first sheet's end, then each other sheet: its column widths and rows."""
        assert self._sheet is not None
        self._sheet.write(_SHEET_TAIL.encode())
        self._sheet.close()
        self._sheet = None
        for number, (widths, rows) in enumerate(sheets, start=2):
            body = [_sheet_head(widths, frozen_rows=0, selected=False)]
            body.extend(row_xml(r, cells) for r, cells in enumerate(rows, start=1) if cells)
            body.append(_SHEET_TAIL)
            self._zip.writestr(f"xl/worksheets/sheet{number}.xml", "".join(body))
        self._zip.close()

    def close(self) -> None:
        try:
            if self._sheet is not None:
                self._sheet.close()
            self._zip.close()
        finally:
            self.path.unlink(missing_ok=True)

    def _package(self) -> None:
        """The parts every workbook has, each listed in [Content_Types].xml."""
        count = len(self.names)
        sheets = range(1, count + 1)
        overrides = "".join(
            f'<Override PartName="/xl/worksheets/sheet{n}.xml"'
            f' ContentType="{_TYPES}.worksheet+xml"/>'
            for n in sheets
        )
        parts = {
            "[Content_Types].xml": (
                f'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                '<Default Extension="rels"'
                ' ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                '<Default Extension="xml" ContentType="application/xml"/>'
                f'<Override PartName="/xl/workbook.xml" ContentType="{_TYPES}.sheet.main+xml"/>'
                f'<Override PartName="/xl/styles.xml" ContentType="{_TYPES}.styles+xml"/>'
                f"{overrides}</Types>"
            ),
            "_rels/.rels": (
                f'<Relationships xmlns="{_PKG_RELS}"><Relationship Id="rId1"'
                f' Type="{_DOC_RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
            ),
            "xl/workbook.xml": (
                f'<workbook xmlns="{_MAIN}" xmlns:r="{_DOC_RELS}"><bookViews><workbookView/>'
                "</bookViews><sheets>"
                + "".join(
                    f'<sheet name="{escape(name)}" sheetId="{n}" r:id="rId{n}"/>'
                    for n, name in zip(sheets, self.names, strict=True)
                )
                + "</sheets></workbook>"
            ),
            "xl/_rels/workbook.xml.rels": (
                f'<Relationships xmlns="{_PKG_RELS}">'
                + "".join(
                    f'<Relationship Id="rId{n}" Type="{_DOC_RELS}/worksheet"'
                    f' Target="worksheets/sheet{n}.xml"/>'
                    for n in sheets
                )
                + f'<Relationship Id="rId{count + 1}" Type="{_DOC_RELS}/styles"'
                ' Target="styles.xml"/></Relationships>'
            ),
        }
        for name, xml in parts.items():
            self._zip.writestr(name, _HEAD + xml)
        self._zip.writestr("xl/styles.xml", _STYLES)
