"""Import the union tree from a CSV file.

The file has a header row naming the columns ``code,name,kind,parent_code`` (any
order; other columns are ignored), read as every import's (storage.csv_reader:
UTF-8 with or without a byte-order mark; comma, semicolon or tab). ``kind`` is one
of :class:`storage.models.UnitKind`; ``parent_code`` is empty for a root and
otherwise names a unit in the file or already in the database. Rows may come in
any order.

The whole file is checked first; if any row is bad, :class:`UnitsImportError`
lists every bad row by line number and nothing is written. Otherwise everything is
written in one transaction: new codes are added, known codes get their name, kind
and parent updated, and the materialised ``path``/``depth`` of every unit whose
ancestry changed (including units not in the file below a moved one) is
recomputed. Rows are written in bulk, a few thousand per statement.
"""

from __future__ import annotations

import asyncio
import os
import unicodedata
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, NamedTuple

from sqlalchemy import Table, bindparam, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.csv_reader import CsvImportError, Record, RowError, records
from storage.folding import fold_name
from storage.models import Base, UnitKind

__all__ = [
    "CSV_COLUMNS",
    "SAMPLE_UNITS_CSV",
    "ImportResult",
    "UnitsImportError",
    "fold_name",
    "import_units",
]

SAMPLE_UNITS_CSV: Final = Path(__file__).resolve().parent / "sample" / "union_tree.csv"
CSV_COLUMNS: Final = ("code", "name", "kind", "parent_code")

_UNITS: Final[Table] = Base.metadata.tables["units"]
CODE_MAX: Final = 32
NAME_MAX: Final = 300
PATH_MAX: Final = 400
CHUNK_SIZE: Final = 5000
_KINDS: Final = tuple(kind.value for kind in UnitKind)

ProgressCallback = Callable[[int, int], None]


class UnitsImportError(CsvImportError):
    """The units file was rejected; nothing was written. ``errors`` lists every bad row."""

    what = "units"


@dataclass(frozen=True, slots=True)
class ImportResult:
    rows: int  # data rows in the file
    added: int  # new units
    updated: int  # units in the file whose name, kind or parent changed
    unchanged: int  # units in the file already exactly so
    paths_changed: int = 0  # existing units (moved ones and their subtrees) given a new path

    def __str__(self) -> str:
        return (
            f"{self.rows} rows: {self.added} added, {self.updated} updated, "
            f"{self.unchanged} unchanged; {self.paths_changed} paths recomputed"
        )


@dataclass(slots=True)
class _Row:
    line: int
    code: str
    name: str
    kind: str
    parent_code: str | None


@dataclass(slots=True)
class _Parsed:
    rows: list[_Row] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    lines: dict[str, int] = field(default_factory=dict)  # code -> line of its (first) row


class _DbUnit(NamedTuple):
    id: int
    code: str
    name: str
    name_folded: str
    kind: str
    parent_id: int | None
    path: str
    depth: int


# ------------------------------------------------------------------------ parsing


def _clean(value: str) -> str:
    return " ".join(unicodedata.normalize("NFC", value).split())


def _parse_row(parsed: _Parsed, record: Record) -> None:
    line = record.line
    reasons: list[str] = []
    if record.overflows:
        reasons.append(
            f"{len(record.cells)} fields where the header has {record.width} "
            "(put a name that contains the separator in double quotes)"
        )
    code = record["code"].strip()
    name = _clean(record["name"])
    kind = record["kind"].strip().lower()
    parent_code = record["parent_code"].strip() or None

    if not code:
        reasons.append("code is missing")
    elif len(code) > CODE_MAX:
        reasons.append(f"code {code!r} is {len(code)} characters long, at most {CODE_MAX}")
    elif any(ch.isspace() for ch in code):
        reasons.append(f"code {code!r} contains a space")
    if not name:
        reasons.append("name is missing")
    elif len(name) > NAME_MAX:
        reasons.append(f"name is {len(name)} characters long, at most {NAME_MAX}")
    if not kind:
        reasons.append(f"kind is missing (one of: {', '.join(_KINDS)})")
    elif kind not in _KINDS:
        reasons.append(f"unknown kind {kind!r} (one of: {', '.join(_KINDS)})")
    if code and parent_code == code:
        reasons.append("the unit is its own parent (a cycle)")
    if code:
        first = parsed.lines.get(code)
        if first is not None:
            reasons.append(f"duplicate code {code!r} (first on line {first})")
        else:
            parsed.lines[code] = line

    if reasons:
        parsed.errors.append(RowError(line, tuple(reasons), code or None))
    else:
        parsed.rows.append(_Row(line, code, name, kind, parent_code))


def _read_file(path: str | os.PathLike[str]) -> _Parsed:
    parsed = _Parsed()
    for record in records(path, CSV_COLUMNS, UnitsImportError, parsed.errors):
        _parse_row(parsed, record)
    return parsed


# ------------------------------------------------------------------- tree checks


def _check_tree(
    parsed: _Parsed, existing: dict[str, _DbUnit], by_id: dict[int, str]
) -> tuple[dict[str, str | None], list[RowError]]:
    """Final parent of every code (database overlaid with the file), and tree errors."""
    errors: list[RowError] = []
    parent_of: dict[str, str | None] = {
        code: (by_id[unit.parent_id] if unit.parent_id is not None else None)
        for code, unit in existing.items()
    }
    file_codes = set(parsed.lines)  # includes codes of rows rejected above
    for row in parsed.rows:
        parent_of[row.code] = row.parent_code
        if (
            row.parent_code is not None
            and row.parent_code not in file_codes
            and row.parent_code not in existing
        ):
            errors.append(
                RowError(
                    row.line,
                    (f"parent {row.parent_code!r} is neither in the file nor in the database",),
                    row.code,
                )
            )

    # Cycles: walk up from every row; the database alone is a tree, so a cycle
    # always runs through at least one row of the file.
    state: dict[str, int] = {}  # 1: on the current walk, 2: leads to a root
    for row in parsed.rows:
        walk: list[str] = []
        code: str | None = row.code
        while code is not None and code in parent_of and state.get(code) is None:
            state[code] = 1
            walk.append(code)
            code = parent_of[code]
        if code is not None and state.get(code) == 1:
            cycle = walk[walk.index(code) :]
            loop = " → ".join([*cycle, cycle[0]])
            for member in cycle:
                line = parsed.lines.get(member)
                if line is not None:
                    errors.append(RowError(line, (f"parents form a cycle: {loop}",), member))
        for member in walk:
            state[member] = 2
    return parent_of, errors


# ---------------------------------------------------------------------- writing


async def _load_existing(session: AsyncSession) -> dict[str, _DbUnit]:
    u = _UNITS.c
    result = await session.execute(
        select(u.id, u.code, u.name, u.name_folded, u.kind, u.parent_id, u.path, u.depth)
    )
    return {row.code: _DbUnit(*row) for row in result}


async def _allocate_ids(session: AsyncSession, count: int) -> list[int]:
    if count == 0:
        return []
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        result = await session.execute(
            text(
                "SELECT nextval(pg_get_serial_sequence('units', 'id')) FROM generate_series(1, :n)"
            ),
            {"n": count},
        )
        return sorted(int(v) for v in result.scalars())
    if dialect == "sqlite":
        # The transaction began with BEGIN IMMEDIATE: no other writer can take these.
        top = (await session.execute(select(func.coalesce(func.max(_UNITS.c.id), 0)))).scalar_one()
        return list(range(int(top) + 1, int(top) + 1 + count))
    raise NotImplementedError(f"unit import does not support {dialect}")


async def _lock_units(session: AsyncSession) -> None:
    if session.get_bind().dialect.name == "postgresql":
        # Readers carry on; other writers of units (another import) wait for us.
        await session.execute(text("LOCK TABLE units IN SHARE ROW EXCLUSIVE MODE"))


async def import_units(
    sessionmaker: async_sessionmaker[AsyncSession],
    path: str | os.PathLike[str],
    on_progress: ProgressCallback | None = None,
) -> ImportResult:
    """Import (add or update) the units listed in the CSV file at ``path``.

    Raises :class:`UnitsImportError` listing every bad row, in which case nothing
    was written. ``on_progress(done, total)`` is called as rows are written.
    """
    parsed = await asyncio.to_thread(_read_file, path)
    async with sessionmaker() as session, session.begin():
        await _lock_units(session)
        existing = await _load_existing(session)
        by_id = {unit.id: code for code, unit in existing.items()}
        parent_of, tree_errors = _check_tree(parsed, existing, by_id)
        if parsed.errors or tree_errors:
            raise UnitsImportError([*parsed.errors, *tree_errors])
        result = await _write(session, parsed, existing, parent_of, on_progress)
    return result


async def _write(
    session: AsyncSession,
    parsed: _Parsed,
    existing: dict[str, _DbUnit],
    parent_of: dict[str, str | None],
    on_progress: ProgressCallback | None,
) -> ImportResult:
    rows = {row.code: row for row in parsed.rows}
    new_codes = [code for code in rows if code not in existing]
    ids = {code: unit.id for code, unit in existing.items()}
    ids.update(zip(new_codes, await _allocate_ids(session, len(new_codes)), strict=True))

    # Parents before children: breadth-first from the roots of the final tree.
    children: dict[str | None, list[str]] = {}
    for code, parent in parent_of.items():
        children.setdefault(parent, []).append(code)
    paths: dict[str, str] = {}
    depths: dict[str, int] = {}
    order: list[str] = []
    queue = deque((code, "/", 0) for code in children.get(None, ()))
    while queue:
        code, parent_path, depth = queue.popleft()
        paths[code] = f"{parent_path}{ids[code]}/"
        depths[code] = depth
        order.append(code)
        queue.extend((child, paths[code], depth + 1) for child in children.get(code, ()))

    too_long = [code for code in order if len(paths[code]) > PATH_MAX]
    if too_long:
        raise UnitsImportError(
            [
                RowError(
                    parsed.lines.get(code, 0),
                    (f"the tree is too deep here: path {paths[code][:40]}… exceeds {PATH_MAX}",),
                    code,
                )
                for code in too_long
            ]
        )

    now = datetime.now(UTC)
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    updated = unchanged = paths_changed = 0
    for code in order:
        parent = parent_of[code]
        parent_id = ids[parent] if parent is not None else None
        row = rows.get(code)
        old = existing.get(code)
        if old is None:
            assert row is not None
            inserts.append(
                {
                    "id": ids[code],
                    "code": code,
                    "name": row.name,
                    "name_folded": fold_name(row.name)[:NAME_MAX],
                    "kind": row.kind,
                    "parent_id": parent_id,
                    "path": paths[code],
                    "depth": depths[code],
                    "created_at": now,
                }
            )
            continue
        name, kind = (row.name, row.kind) if row is not None else (old.name, old.kind)
        new = {
            "name": name,
            "name_folded": fold_name(name)[:NAME_MAX] if row is not None else old.name_folded,
            "kind": kind,
            "parent_id": parent_id,
            "path": paths[code],
            "depth": depths[code],
        }
        if row is not None:
            if (name, kind, parent_id) != (old.name, old.kind, old.parent_id):
                updated += 1
            else:
                unchanged += 1
        if old.path != paths[code]:
            paths_changed += 1
        if any(new[key] != getattr(old, key) for key in new):
            updates.append({"unit_id": old.id, **new})

    total = len(inserts) + len(updates)
    done = 0
    if on_progress is not None:
        on_progress(0, total)
    for start in range(0, len(inserts), CHUNK_SIZE):
        chunk = inserts[start : start + CHUNK_SIZE]
        await session.execute(insert(_UNITS), chunk)
        done += len(chunk)
        if on_progress is not None:
            on_progress(done, total)
    statement = update(_UNITS).where(_UNITS.c.id == bindparam("unit_id"))
    for start in range(0, len(updates), CHUNK_SIZE):
        chunk = updates[start : start + CHUNK_SIZE]
        await session.execute(statement, chunk)
        done += len(chunk)
        if on_progress is not None:
            on_progress(done, total)

    return ImportResult(
        rows=len(parsed.rows),
        added=len(inserts),
        updated=updated,
        unchanged=unchanged,
        paths_changed=paths_changed,
    )
