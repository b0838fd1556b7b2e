"""Quotas on what they count (issue #18): ideas submitted, or initiatives recognised.

The ``measure`` column is optional: files written before it load as quotas on
submitted ideas. A unit may hold one quota of each measure per campaign, and a
parent without its own sums its children's of the same measure only.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import Quota, Unit
from storage.quotas_import import QuotasImportError, import_quotas
from storage.uow import UnitOfWork
from tests.storage.test_quotas_import import loaded, targets, write

__all__ = ["loaded"]  # the fixture: the tree and two campaigns


async def quotas(sm: async_sessionmaker[AsyncSession]) -> set[tuple[str, str, int]]:
    async with sm() as session:
        rows = await session.execute(
            select(Unit.code, Quota.measure, Quota.target).join(Unit, Unit.id == Quota.unit_id)
        )
        return {(code, measure, int(target)) for code, measure, target in rows}


async def test_an_old_file_without_the_column_loads_as_submitted(
    loaded: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    await import_quotas(loaded, write(tmp_path, "unit_code,campaign,target\nQ7-A,2026-P2,10\n"))
    assert await quotas(loaded) == {("Q7-A", "submitted", 10)}
    assert await targets(loaded, "2026-P2", "recognised") == {}


async def test_both_measures_side_by_side_each_summed_on_its_own(
    loaded: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "unit_code;campaign;target;measure\n"
        "Q7-A;2026-P2;10;\n"  # empty: submitted
        "Q7-A;2026-P2;3;Công nhận\n"
        "Q7-B;2026-P2;8;đã gửi\n"
        "Q7-B-T1;2026-P2;2;CONG NHAN\n"  # unaccented, any case
        "HN-C;2026-P2;5;recognised\n",
    )
    result = await import_quotas(loaded, path)
    assert (result.rows, result.added) == (5, 5)
    assert await targets(loaded, "2026-P2") == {
        "Q7-A": (10, False),
        "Q7-B": (8, False),
        "Q7": (18, True),
        "HCM": (18, True),
        "VN": (18, True),
    }
    # Q7-B has no recognised quota of its own: it sums its team's, not its submitted 8.
    assert await targets(loaded, "2026-P2", "recognised") == {
        "Q7-A": (3, False),
        "Q7-B-T1": (2, False),
        "Q7-B": (2, True),
        "Q7": (5, True),
        "HCM": (5, True),
        "HN-C": (5, False),
        "HN": (5, True),
        "VN": (10, True),
    }
    # The view's reading: both measures of a unit in one lookup.
    async with UnitOfWork(loaded) as uow:
        campaign = await uow.progress.campaign_by_code("2026-P2")
        q7a = await uow.units.by_code("Q7-A")
        assert campaign is not None and q7a is not None
        found = await uow.progress.targets(campaign.id, [q7a.id])
    assert {m.value: (t.target, t.summed) for m, t in found[q7a.id].items()} == {
        "submitted": (10, False),
        "recognised": (3, False),
    }

    # A later file changes one measure and removes another, leaving the rest.
    again = write(
        tmp_path,
        "unit_code,campaign,target,measure\nQ7-A,2026-P2,4,recognised\nHN-C,2026-P2,,recognised\n",
        name="again.csv",
    )
    result = await import_quotas(loaded, again)
    assert (result.updated, result.removed) == (1, 1)
    assert ("Q7-A", "submitted", 10) in await quotas(loaded)
    assert ("Q7-A", "recognised", 4) in await quotas(loaded)
    assert "HN" not in await targets(loaded, "2026-P2", "recognised")


async def test_bad_measures_and_duplicates_are_reported_per_line(
    loaded: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "unit_code,campaign,target,measure\n"
        "Q7-A,2026-P2,10,approved\n"  # not a measure a quota can count
        "Q7-A,2026-P2,3,recognised\n"
        "Q7-A,2026-P2,4,công nhận\n"  # the same measure again
        "Q7-A,2026-P2,9,submitted\n",  # fine: the first submitted one (line 2 was bad)
    )
    with pytest.raises(QuotasImportError) as raised:
        await import_quotas(loaded, path)
    lines = {e.line: " ".join(e.reasons) for e in raised.value.errors}
    assert set(lines) == {2, 4}
    assert "measure 'approved' is neither submitted" in lines[2]
    assert "recognised quota for 2026-P2 on line 3 already" in lines[4]
    assert await quotas(loaded) == set()  # nothing written
