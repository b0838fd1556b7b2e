"""Quotas from CSV, campaigns, derived targets and exact counters: SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import Campaign, ProgressDaily, ProgressTotal, Quota, QuotaTotal, Unit
from storage.progress import CampaignError, add_campaign, effective_targets
from storage.quotas_import import QuotasImportError, import_quotas
from storage.repositories.progress import Counts
from storage.repositories.units import unit_ids_on_path
from storage.units_import import import_units
from storage.uow import UnitOfWork

TREE = """code,name,kind,parent_code
VN,Tổng Liên đoàn,national,
HCM,LĐLĐ TP. Hồ Chí Minh,province,VN
HN,LĐLĐ Hà Nội,province,VN
Q7,LĐLĐ Quận 7,district,HCM
Q7-A,CĐCS A,grassroots,Q7
Q7-B,CĐCS B,grassroots,Q7
Q7-B-T1,Tổ 1,team,Q7-B
HN-C,CĐCS C,grassroots,HN
"""


@pytest.fixture
async def loaded(
    sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> async_sessionmaker[AsyncSession]:
    tree = tmp_path / "tree.csv"
    tree.write_text(TREE, encoding="utf-8")
    await import_units(sessionmaker, tree)
    for code, start, end in (
        ("2026-P1", (2026, 2, 1), (2026, 5, 31)),
        ("2026-P2", (2026, 9, 1), (2026, 12, 31)),
    ):
        await add_campaign(
            sessionmaker, code=code, name=f"Đợt {code}", starts_on=date(*start), ends_on=date(*end)
        )
    return sessionmaker


def write(tmp_path: Path, text: str, name: str = "quotas.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


async def targets(
    sm: async_sessionmaker[AsyncSession], campaign: str, measure: str = "submitted"
) -> dict[str, tuple[int, bool]]:
    async with sm() as session:
        rows = await session.execute(
            select(Unit.code, QuotaTotal.target, QuotaTotal.summed)
            .join(Unit, Unit.id == QuotaTotal.unit_id)
            .join(Campaign, Campaign.id == QuotaTotal.campaign_id)
            .where(Campaign.code == campaign, QuotaTotal.measure == measure)
        )
        return {code: (int(t), bool(s)) for code, t, s in rows}


async def count(sm: async_sessionmaker[AsyncSession], model: type) -> int:
    async with sm() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_import_derives_targets_up_the_tree(
    loaded: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "\ufeffunit_code;campaign;target;note\n"
        "Q7-A;2026-P2;10;\n"
        "Q7-B-T1;2026-p2;4;team\n"  # campaign codes are not case-sensitive
        "HN;2026-P2;1.200;Excel thousands\n"
        "Q7-A;2026-P1;3;\n",
    )
    result = await import_quotas(loaded, path)
    assert (result.rows, result.added, result.updated, result.unchanged) == (4, 4, 0, 0)
    assert result.campaigns == ("2026-P1", "2026-P2")
    assert await targets(loaded, "2026-P2") == {
        "Q7-A": (10, False),
        "Q7-B-T1": (4, False),
        "Q7-B": (4, True),
        "Q7": (14, True),
        "HCM": (14, True),
        "HN": (1200, False),
        "VN": (1214, True),
    }
    assert await targets(loaded, "2026-P1") == {
        "Q7-A": (3, False),
        "Q7": (3, True),
        "HCM": (3, True),
        "VN": (3, True),
    }
    # An own target wins over the sum below; an empty target removes the own one.
    path = write(
        tmp_path, "unit_code,campaign,target\nQ7,2026-P2,50\nQ7-A,2026-P2,10\nHN,2026-P2,\n"
    )
    result = await import_quotas(loaded, path)
    assert (result.added, result.updated, result.unchanged, result.removed) == (1, 0, 1, 1)
    assert await targets(loaded, "2026-P2") == {
        "Q7-A": (10, False),
        "Q7-B-T1": (4, False),
        "Q7-B": (4, True),
        "Q7": (50, False),
        "HCM": (50, True),
        "VN": (50, True),
    }
    result = await import_quotas(
        loaded, write(tmp_path, "unit_code,campaign,target\nQ7,2026-P2,60\n")
    )
    assert result.updated == 1 and (await targets(loaded, "2026-P2"))["VN"] == (60, True)


async def test_any_bad_row_loads_nothing(
    loaded: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "unit_code,campaign,target\n"
        "Q7-A,2026-P2,10\n"  # good
        "NOPE,2026-P2,5\n"  # 3: unknown unit
        "Q7-B,2027-P9,5\n"  # 4: unknown campaign
        "Q7-B,2026-P2,-3\n"  # 5: negative
        "Q7-B-T1,2026-P2,2.5\n"  # 6: not whole
        "Q7-A,2026-P2,11\n"  # 7: duplicate of line 2
        ",2026-P2,1\n"  # 8: no unit
        "HN-C,2026-P2,1,extra\n"  # 9: a field too many
        "HN,2026-P2,abc\n",  # 10
    )
    with pytest.raises(QuotasImportError) as caught:
        await import_quotas(loaded, path)
    errors = {e.line: e.message for e in caught.value.errors}
    assert sorted(errors) == [3, 4, 5, 6, 7, 8, 9, 10]
    assert "no unit with code 'NOPE'" in errors[3]
    assert "no campaign '2027-P9'" in errors[4] and "2026-P1, 2026-P2" in errors[4]
    assert "whole number" in errors[5] and "whole number" in errors[6]
    assert "line 2" in errors[7]
    assert "unit_code is missing" in errors[8]
    assert "4 fields" in errors[9]
    assert "8 problems" in str(caught.value)
    assert await count(loaded, Quota) == 0 and await count(loaded, QuotaTotal) == 0


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (b"unit,campaign,target\nQ7,2026-P2,1\n", "missing: unit_code"),
        ("unit_code,campaign,target\nQ7,2026-P2,1\n".encode("utf-16"), "not UTF-8"),
    ],
)
async def test_unreadable_files(
    loaded: async_sessionmaker[AsyncSession], tmp_path: Path, content: bytes, reason: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(QuotasImportError) as caught:
        await import_quotas(loaded, path)
    assert reason in str(caught.value)


def test_effective_targets_own_wins_and_sums_skip_gaps() -> None:
    # 1 → 2 → 4, 1 → 3 → 5, 3 → 6; 2 has its own target and so does 4 below it.
    own = {2: 7, 4: 100, 5: 3, 6: 4}
    paths = {2: [1, 2], 4: [1, 2, 4], 5: [1, 3, 5], 6: [1, 3, 6]}
    assert effective_targets(own, paths) == {
        4: (100, False),
        5: (3, False),
        6: (4, False),
        2: (7, False),
        3: (7, True),
        1: (14, True),
    }


async def test_campaigns_do_not_overlap(loaded: async_sessionmaker[AsyncSession]) -> None:
    with pytest.raises(CampaignError, match="overlap with 2026-P2"):
        await add_campaign(
            loaded, code="X", name="X", starts_on=date(2026, 12, 1), ends_on=date(2027, 1, 31)
        )
    with pytest.raises(CampaignError, match="exists already"):
        await add_campaign(
            loaded, code="2026-p1", name="X", starts_on=date(2027, 2, 1), ends_on=date(2027, 3, 1)
        )
    with pytest.raises(CampaignError, match="before the start"):
        await add_campaign(
            loaded, code="Y", name="Y", starts_on=date(2027, 3, 1), ends_on=date(2027, 2, 1)
        )
    async with UnitOfWork(loaded) as uow:
        assert (await uow.progress.campaign_on(date(2026, 5, 31))).code == "2026-P1"  # type: ignore[union-attr]
        assert await uow.progress.campaign_on(date(2026, 6, 1)) is None


async def test_counters_stay_exact_under_concurrent_writers(
    loaded: async_sessionmaker[AsyncSession],
) -> None:
    """Many transactions at once add to the same rows (all ancestors): none is lost."""
    async with UnitOfWork(loaded) as uow:
        team = await uow.units.by_code("Q7-B-T1")
        other = await uow.units.by_code("HN-C")
        campaign = await uow.progress.campaign_on(date(2026, 11, 20))
    assert team is not None and other is not None and campaign is not None
    day = date(2026, 11, 20)

    async def one(unit: Unit, approved: int) -> None:
        for _ in range(5):
            try:
                async with UnitOfWork(loaded) as uow:
                    await uow.progress.bump(
                        unit_ids_on_path(unit.path),
                        campaign.id,
                        day,
                        submitted=1,
                        approved=approved,
                    )
                    await asyncio.sleep(0)
                    await uow.commit()
                return
            except Exception as exc:  # SQLite: a writer may find the lock busy past 5 s
                if "locked" not in str(exc):
                    raise
        raise AssertionError("could not write")

    await asyncio.gather(*(one(team if n % 3 else other, n % 2) for n in range(40)))
    async with UnitOfWork(loaded) as uow:
        ids = [team.id, other.id, *unit_ids_on_path(team.path)]
        totals = await uow.progress.totals(campaign.id, ids)
        week = await uow.progress.since(campaign.id, ids, day)
    n_team = sum(1 for n in range(40) if n % 3)
    approved_team = sum(1 for n in range(40) if n % 3 and n % 2)
    root = unit_ids_on_path(team.path)[0]
    assert totals[team.id] == Counts(n_team, approved_team)
    assert totals[other.id] == Counts(40 - n_team, 20 - approved_team)
    assert totals[root] == Counts(40, 20) == week[root]
    assert await count(loaded, ProgressTotal) == 7  # VN, HCM, Q7, Q7-B, T1, HN, HN-C
    assert await count(loaded, ProgressDaily) == 7


async def test_a_later_campaign_takes_in_earlier_ideas(
    loaded: async_sessionmaker[AsyncSession],
) -> None:
    from storage.models import Idea, Person

    async with loaded() as session:
        unit = (await session.execute(select(Unit).where(Unit.code == "Q7-A"))).scalar_one()
        person = Person(display_name="A", unreachable=False, created_at=datetime.now(UTC))
        session.add(person)
        await session.flush()
        for n, (day, status) in enumerate(
            (((2027, 1, 1, 16, 59), "approved"), ((2027, 1, 1, 17, 0), "submitted"))
        ):
            moment = datetime(*day, tzinfo=UTC)  # 23:59 on 1/1 and 00:00 on 2/1, Vietnam
            session.add(
                Idea(
                    ref_code=f"SK-2027-{n:06d}",
                    author_id=person.id,
                    unit_id=unit.id,
                    holder_unit_id=unit.id,
                    title="t",
                    body="b",
                    category="technical",
                    benefit="cost",
                    confidential=False,
                    language="vi",
                    status=status,
                    created_at=moment,
                    updated_at=moment,
                )
            )
        await session.commit()
    campaign, adopted = await add_campaign(
        loaded, code="2027-P0", name="x", starts_on=date(2027, 1, 2), ends_on=date(2027, 1, 31)
    )
    assert adopted == 1  # only the one sent on 2/1 in Vietnam
    async with UnitOfWork(loaded) as uow:
        totals = await uow.progress.totals(campaign.id, unit_ids_on_path(unit.path))
    assert set(totals.values()) == {Counts(1, 0)} and len(totals) == 4
