"""Import quotas (targets per unit and campaign) from a CSV file.

The file has a header row naming the columns ``unit_code,campaign,target`` and,
optionally, ``measure`` (any order; other columns are ignored), read as every
import's (storage.csv_reader). ``unit_code`` names a unit and ``campaign`` a
campaign (its code) already in the database; ``target`` is a whole number, 0 or
more; ``measure`` says what it counts: ``submitted`` ideas (the default: an empty
cell, or a file without the column, as before issue #18) or initiatives
``recognised`` by the council (Vietnamese words too: "đã gửi", "công nhận"). A unit
may have one quota of each measure per campaign. An empty ``target`` removes the
unit's own quota of that measure (it then sums its children's).

The whole file is checked first; if any row is bad, :class:`QuotasImportError`
lists every bad row by line number and nothing is written. Otherwise everything is
written in one transaction, in bulk, and the targets that count
(``quota_totals``: a unit's own, else the sum of its children's) of every campaign
in the file are recomputed in the same transaction.
"""

from __future__ import annotations

import asyncio
import os
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import Table, bindparam, delete, insert, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.csv_reader import CsvImportError, Record, RowError, records
from storage.models import Campaign, Quota, QuotaMeasure, Unit
from storage.progress import recompute_quota_totals

__all__ = [
    "CSV_COLUMNS",
    "MEASURE_WORDS",
    "QuotasImportError",
    "QuotasImportResult",
    "import_quotas",
]

CSV_COLUMNS: Final = ("unit_code", "campaign", "target")
MEASURE_COLUMN: Final = "measure"
# How a measure may be written, compared without accents, case or extra spaces.
MEASURE_WORDS: Final[dict[str, QuotaMeasure]] = {
    "submitted": QuotaMeasure.SUBMITTED,
    "submissions": QuotaMeasure.SUBMITTED,
    "ideas": QuotaMeasure.SUBMITTED,
    "da gui": QuotaMeasure.SUBMITTED,
    "gui": QuotaMeasure.SUBMITTED,
    "sang kien gui": QuotaMeasure.SUBMITTED,
    "recognised": QuotaMeasure.RECOGNISED,
    "recognized": QuotaMeasure.RECOGNISED,
    "cong nhan": QuotaMeasure.RECOGNISED,
    "duoc cong nhan": QuotaMeasure.RECOGNISED,
    "da cong nhan": QuotaMeasure.RECOGNISED,
}
_QUOTAS: Final[Table] = Quota.__table__  # type: ignore[assignment]
TARGET_MAX: Final = 1_000_000_000
CHUNK_SIZE: Final = 5000

ProgressCallback = Callable[[int, int], None]


class QuotasImportError(CsvImportError):
    """The quotas file was rejected; nothing was written. ``errors`` lists every bad row."""

    what = "quotas"


@dataclass(frozen=True, slots=True)
class QuotasImportResult:
    rows: int
    added: int
    updated: int
    unchanged: int
    removed: int
    campaigns: tuple[str, ...] = ()
    totals: int = 0  # quota_totals rows written for those campaigns

    def __str__(self) -> str:
        return (
            f"{self.rows} rows: {self.added} added, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.removed} removed; "
            f"targets recomputed for {', '.join(self.campaigns) or 'no campaign'} "
            f"({self.totals} units)"
        )


@dataclass(slots=True)
class _Row:
    line: int
    unit_code: str
    campaign: str
    target: int | None  # None: remove the unit's own quota
    measure: str = QuotaMeasure.SUBMITTED.value


@dataclass(slots=True)
class _Parsed:
    rows: list[_Row] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    seen: dict[tuple[str, str, str], int] = field(default_factory=dict)
    # Rows already bad, still checked against the database so each line lists every reason.
    rejected: list[_Row] = field(default_factory=list)


# ------------------------------------------------------------------------ parsing


def _parse_target(raw: str, reasons: list[str]) -> int | None:
    value = unicodedata.normalize("NFKC", raw).strip().replace(" ", "")
    if not value:
        return None
    # "1.200" or "1,200" as a thousands separator (Excel, either locale); never decimals.
    digits = value.replace(".", "").replace(",", "") if _grouped(value) else value
    if not digits.isdigit():
        reasons.append(f"target {raw.strip()!r} is not a whole number of ideas (0 or more)")
        return None
    number = int(digits)
    if number > TARGET_MAX:
        reasons.append(f"target {number} is larger than {TARGET_MAX}")
        return None
    return number


def _parse_measure(raw: str, reasons: list[str]) -> str:
    words = " ".join(_without_accents(raw).split())
    if not words:
        return QuotaMeasure.SUBMITTED.value
    measure = MEASURE_WORDS.get(words)
    if measure is None:
        reasons.append(
            f"measure {raw.strip()!r} is neither submitted (đã gửi) nor recognised (công nhận)"
        )
        return QuotaMeasure.SUBMITTED.value
    return measure.value


def _without_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold().replace("đ", "d"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _grouped(value: str) -> bool:
    for sep in (".", ","):
        parts = value.split(sep)
        if (
            len(parts) > 1
            and parts[0].isdigit()
            and all(len(p) == 3 and p.isdigit() for p in parts[1:])
        ):
            return True
    return False


def _parse_row(parsed: _Parsed, record: Record) -> None:
    line = record.line
    reasons: list[str] = []
    if record.overflows:
        reasons.append(f"{len(record.cells)} fields where the header has {record.width}")
    unit_code = record["unit_code"].strip()
    campaign = record["campaign"].strip()
    raw_target = record["target"]
    if not unit_code:
        reasons.append("unit_code is missing")
    if not campaign:
        reasons.append("campaign is missing")
    before = len(reasons)
    target = _parse_target(raw_target, reasons)
    measure = _parse_measure(record[MEASURE_COLUMN], reasons)
    bad_value = len(reasons) > before
    if unit_code and campaign and not bad_value:
        key = (unit_code, campaign.upper(), measure)
        first = parsed.seen.get(key)
        if first is not None:
            reasons.append(
                f"{unit_code} has a {measure} quota for {campaign} on line {first} already"
            )
        else:
            parsed.seen[key] = line
    if reasons:
        parsed.errors.append(RowError(line, tuple(reasons), unit_code or None))
        parsed.rejected.append(_Row(line, unit_code, campaign, None))
    else:
        parsed.rows.append(_Row(line, unit_code, campaign, target, measure))


def _read_file(path: str | os.PathLike[str]) -> _Parsed:
    parsed = _Parsed()
    records_read = records(
        path, CSV_COLUMNS, QuotasImportError, parsed.errors, optional=(MEASURE_COLUMN,)
    )
    for record in records_read:
        _parse_row(parsed, record)
    return parsed


# ---------------------------------------------------------------------- writing


async def _lock(session: AsyncSession) -> None:
    if session.get_bind().dialect.name == "postgresql":
        # Another quota import waits; readers carry on.
        await session.execute(text("LOCK TABLE quotas IN SHARE ROW EXCLUSIVE MODE"))
        await session.execute(text("LOCK TABLE quota_totals IN EXCLUSIVE MODE"))


async def _unit_ids(session: AsyncSession, codes: set[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    ordered = sorted(codes)
    for start in range(0, len(ordered), CHUNK_SIZE):
        chunk = ordered[start : start + CHUNK_SIZE]
        result = await session.execute(select(Unit.code, Unit.id).where(Unit.code.in_(chunk)))
        found.update((code, int(unit_id)) for code, unit_id in result)
    return found


async def import_quotas(
    sessionmaker: async_sessionmaker[AsyncSession],
    path: str | os.PathLike[str],
    on_progress: ProgressCallback | None = None,
) -> QuotasImportResult:
    """Import (add, update or remove) the quotas listed in the CSV file at ``path``.

    Raises :class:`QuotasImportError` listing every bad row, in which case nothing
    was written. ``on_progress(done, total)`` is called as rows are written.
    """
    parsed = await asyncio.to_thread(_read_file, path)
    async with sessionmaker() as session, session.begin():
        await _lock(session)
        campaigns = {
            code.upper(): (int(cid), code)
            for cid, code in await session.execute(select(Campaign.id, Campaign.code))
        }
        every = [*parsed.rows, *parsed.rejected]
        units = await _unit_ids(session, {row.unit_code for row in every if row.unit_code})
        known = ", ".join(sorted(code for _, code in campaigns.values())) or "none yet"
        reasons: dict[int, list[str]] = {e.line: list(e.reasons) for e in parsed.errors}
        codes: dict[int, str | None] = {e.line: e.code for e in parsed.errors}
        for row in every:
            found = reasons.setdefault(row.line, [])
            codes.setdefault(row.line, row.unit_code)
            if row.unit_code and row.unit_code not in units:
                found.append(f"no unit with code {row.unit_code!r} (import the units first)")
            if row.campaign and row.campaign.upper() not in campaigns:
                found.append(
                    f"no campaign {row.campaign!r} (known: {known}; "
                    "add it with `python -m bot campaigns add`)"
                )
        errors = [RowError(line, tuple(r), codes.get(line)) for line, r in reasons.items() if r]
        if errors:
            raise QuotasImportError(errors)
        result = await _write(session, parsed.rows, units, campaigns, on_progress)
    return result


async def _write(
    session: AsyncSession,
    rows: list[_Row],
    units: dict[str, int],
    campaigns: dict[str, tuple[int, str]],
    on_progress: ProgressCallback | None,
) -> QuotasImportResult:
    wanted: dict[tuple[int, int, str], int | None] = {
        (units[row.unit_code], campaigns[row.campaign.upper()][0], row.measure): row.target
        for row in rows
    }
    campaign_ids = sorted({c for _, c, _ in wanted})
    existing: dict[tuple[int, int, str], int] = {}
    for campaign_id in campaign_ids:
        result = await session.execute(
            select(Quota.unit_id, Quota.measure, Quota.target).where(
                Quota.campaign_id == campaign_id
            )
        )
        existing.update(((int(u), campaign_id, m), int(t)) for u, m, t in result)

    now = datetime.now(UTC)
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    removals: list[tuple[int, int, str]] = []
    unchanged = 0
    for (unit_id, campaign_id, measure), target in wanted.items():
        old = existing.get((unit_id, campaign_id, measure))
        if target is None:
            if old is not None:
                removals.append((unit_id, campaign_id, measure))
            else:
                unchanged += 1
        elif old is None:
            key = {"unit_id": unit_id, "campaign_id": campaign_id, "measure": measure}
            inserts.append({**key, "target": target, "updated_at": now})
        elif old != target:
            updates.append(
                {"u": unit_id, "c": campaign_id, "m": measure, "target": target, "updated_at": now}
            )
        else:
            unchanged += 1

    total = len(inserts) + len(updates) + len(removals)
    done = 0
    if on_progress is not None:
        on_progress(0, total)

    def advance(count: int) -> None:
        nonlocal done
        done += count
        if on_progress is not None:
            on_progress(done, total)

    for start in range(0, len(inserts), CHUNK_SIZE):
        chunk = inserts[start : start + CHUNK_SIZE]
        await session.execute(insert(_QUOTAS), chunk)
        advance(len(chunk))
    q = _QUOTAS.c
    statement = (
        update(_QUOTAS)
        .where(
            q.unit_id == bindparam("u"),
            q.campaign_id == bindparam("c"),
            q.measure == bindparam("m"),
        )
        .values(target=bindparam("target"), updated_at=bindparam("updated_at"))
    )
    for start in range(0, len(updates), CHUNK_SIZE):
        chunk = updates[start : start + CHUNK_SIZE]
        await session.execute(statement, chunk)
        advance(len(chunk))
    for start in range(0, len(removals), 500):
        chunk_keys = removals[start : start + 500]
        await session.execute(
            delete(_QUOTAS).where(tuple_(q.unit_id, q.campaign_id, q.measure).in_(chunk_keys))
        )
        advance(len(chunk_keys))
    totals = await recompute_quota_totals(session, campaign_ids)
    codes = {cid: code for cid, code in campaigns.values()}
    return QuotasImportResult(
        rows=len(rows),
        added=len(inserts),
        updated=len(updates),
        unchanged=unchanged,
        removed=len(removals),
        campaigns=tuple(codes[c] for c in campaign_ids),
        totals=totals,
    )
