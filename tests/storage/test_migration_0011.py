"""Migration 0011 (issue 18) carries a working database forward: nothing is lost.

A database is built at revision 0010 and filled the way the bot of that time filled
it: ideas in every status of then, their events, quotas, progress counters, a team's
group chat and report jobs. Upgraded to head, every idea keeps its status, every row
is still there, the new counters start at 0, quotas measure "submitted" and the group
is a support team's. Downgraded back to 0010, the old rows are still all there.
On SQLite and on PostgreSQL (the ``db_url`` fixture).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from alembic import command
from sqlalchemy import MetaData, Table, func, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import create_engine
from storage.schema import alembic_config, current_revision, head_revision, upgrade

OLD_STATUSES = ("submitted", "info_requested", "forwarded", "approved", "declined")
KEPT_TABLES = (
    "units",
    "people",
    "campaigns",
    "ideas",
    "idea_events",
    "quotas",
    "quota_totals",
    "progress_totals",
    "progress_daily",
    "team_chats",
    "report_jobs",
    "counters",
)
T0 = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)


def _tables(sync_conn: Connection) -> dict[str, Table]:
    meta = MetaData()
    meta.reflect(sync_conn)
    return dict(meta.tables)


def _fill_at_0010(sync_conn: Connection) -> None:
    """Rows as the bot at revision 0010 wrote them (the models of today do not fit)."""
    t = _tables(sync_conn)
    run = sync_conn.execute
    run(
        insert(t["campaigns"]),
        [
            {
                "id": 1,
                "code": "2026-P2",
                "name": "Đợt 2",
                "starts_on": date(2026, 9, 1),
                "ends_on": date(2026, 12, 31),
                "created_at": T0,
            }
        ],
    )
    units = [
        (1, "VN", "Tổng Liên đoàn", "national", None, "/1/", 0),
        (2, "HCM-Q7", "LĐLĐ Quận 7", "district", 1, "/1/2/", 1),
        (3, "HCM-Q7-MAY", "CĐCS Công ty May Phú Mỹ", "grassroots", 2, "/1/2/3/", 2),
    ]
    run(
        insert(t["units"]),
        [
            {
                "id": uid,
                "code": code,
                "name": name,
                "name_folded": name.lower(),
                "kind": kind,
                "parent_id": parent,
                "path": path,
                "depth": depth,
                "created_at": T0,
            }
            for uid, code, name, kind, parent, path, depth in units
        ],
    )
    run(
        insert(t["people"]),
        [
            {
                "id": pid,
                "display_name": name,
                "unit_id": 3,
                "language": "vi",
                "unreachable": False,
                "created_at": T0,
            }
            for pid, name in ((1, "Nguyễn Văn An"), (2, "Trần Thị Bình"))
        ],
    )
    ideas = []
    events = []
    for n, status in enumerate(OLD_STATUSES, start=1):
        at = T0 + timedelta(days=n)
        ideas.append(
            {
                "id": n,
                "ref_code": f"SK-2026-{n:06d}",
                "author_id": 1,
                "unit_id": 3,
                "holder_unit_id": 2 if status == "forwarded" else 3,
                "title": f"Ý tưởng {n}",
                "body": f"Nội dung ý tưởng số {n}",
                "category": "technical",
                "benefit": "cost",
                "benefit_amount": 1000 * n,
                "confidential": n % 2 == 0,
                "language": "vi",
                "status": status,
                "version": n,
                "created_at": at,
                "updated_at": at,
                "waiting_since": at if status in ("submitted", "forwarded", "approved") else None,
                "reminded_at": None,
                "escalated_at": None,
                "campaign_id": 1,
                "title_given": n == 3,
            }
        )
        events.append({"idea_id": n, "kind": "submitted", "actor_id": 1, "at": at})
        if status != "submitted":
            events.append(
                {
                    "idea_id": n,
                    "kind": status,
                    "actor_id": 2,
                    "at": at + timedelta(hours=1),
                    "note": "Ghi chú của tổ",
                    "data": {"n": n},
                }
            )
    run(insert(t["ideas"]), ideas)
    run(insert(t["idea_events"]), events)
    run(
        insert(t["quotas"]),
        [{"unit_id": u, "campaign_id": 1, "target": 10 * u, "updated_at": T0} for u in (2, 3)],
    )
    run(
        insert(t["quota_totals"]),
        [{"unit_id": u, "campaign_id": 1, "target": 30, "summed": u != 3} for u in (1, 2, 3)],
    )
    run(
        insert(t["progress_totals"]),
        [{"unit_id": u, "campaign_id": 1, "submitted": 5, "approved": 1} for u in (1, 2, 3)],
    )
    run(
        insert(t["progress_daily"]),
        [
            {
                "unit_id": 3,
                "campaign_id": 1,
                "day": date(2026, 10, d),
                "submitted": 1,
                "approved": a,
            }
            for d, a in ((2, 0), (3, 0), (4, 1), (5, 0), (6, 0))
        ],
    )
    run(
        insert(t["team_chats"]),
        [
            {
                "id": 1,
                "unit_id": 3,
                "channel": "telegram",
                "chat_id": "-100500",
                "title": "Tổ hỗ trợ SK",
                "bound_by": 2,
                "bound_at": T0,
                "language": "en",
            }
        ],
    )
    run(
        insert(t["report_jobs"]),
        [
            {
                "id": j,
                "kind": kind,
                "person_id": 2,
                "channel": "telegram",
                "chat_id": "2",
                "unit_id": 3,
                "campaign_id": 1,
                "lang": "vi",
                "status": status,
                "created_at": T0,
                "finished_at": T0 if status == "done" else None,
            }
            for j, kind, status in ((1, "chart", "done"), (2, "xlsx", "pending"))
        ],
    )
    counters = t["counters"]
    run(insert(counters), [{"name": "ref:2026", "value": 5}])


def _rows(result: Any) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in result]


def _snapshot(sync_conn: Connection) -> dict[str, Any]:
    """What must survive: every kept table's row count, and the rows that matter."""
    t = _tables(sync_conn)
    run = sync_conn.execute
    counts = {
        name: run(select(func.count()).select_from(t[name])).scalar_one() for name in KEPT_TABLES
    }
    ideas = t["ideas"]
    statuses = dict(_rows(run(select(ideas.c.id, ideas.c.status))))
    events = sorted(_rows(run(select(t["idea_events"].c.idea_id, t["idea_events"].c.kind))))
    totals = t["progress_totals"]
    daily = t["progress_daily"]
    return {
        "counts": counts,
        "statuses": statuses,
        "events": events,
        "totals": sorted(
            _rows(run(select(totals.c.unit_id, totals.c.submitted, totals.c.approved)))
        ),
        "daily": sorted(_rows(run(select(daily.c.day, daily.c.submitted, daily.c.approved)))),
        "quotas": sorted(_rows(run(select(t["quotas"].c.unit_id, t["quotas"].c.target)))),
        "team_chat": _rows(run(select(t["team_chats"].c.chat_id, t["team_chats"].c.language))),
        "counter": run(select(t["counters"].c.value)).scalar_one(),
    }


def _new_columns(sync_conn: Connection) -> dict[str, Any]:
    t = _tables(sync_conn)
    run = sync_conn.execute
    new: dict[str, Any] = {}
    for name in ("progress_totals", "progress_daily"):
        table = t[name]
        new[name] = set(_rows(run(select(table.c.recognised, table.c.applied, table.c.benefit))))
    for name in ("quotas", "quota_totals"):
        new[name] = set(run(select(t[name].c.measure)).scalars().all())
    new["team_chats"] = set(run(select(t["team_chats"].c.body)).scalars().all())
    new["report_ideas"] = set(run(select(t["report_jobs"].c.idea_id)).scalars().all())
    new["results"] = run(select(func.count()).select_from(t["idea_results"])).scalar_one()
    new["scores"] = run(select(func.count()).select_from(t["council_scores"])).scalar_one()
    return new


def _bind_a_council_group(sync_conn: Connection) -> None:
    """A council's group, bound after the upgrade: at 0010 there is no such thing."""
    row = {"id": 2, "unit_id": 2, "channel": "telegram", "chat_id": "-100900"}
    row |= {"title": "Hội đồng SK", "bound_by": 2, "bound_at": T0, "body": "council"}
    sync_conn.execute(insert(_tables(sync_conn)["team_chats"]), [row])


async def _sync(engine: AsyncEngine, work: Any, *, commit: bool = False) -> Any:
    async with engine.connect() as conn:
        result = await conn.run_sync(work)
        if commit:
            await conn.commit()
        return result


async def _downgrade(db_url: str, revision: str) -> None:
    # Like upgrade(): SQLite foreign keys off while tables are rebuilt.
    migrator = create_engine(db_url, pooled=False, sqlite_foreign_keys=False)
    try:
        async with migrator.connect() as conn:

            def down(sync_conn: Connection) -> None:
                cfg = alembic_config()
                cfg.attributes["connection"] = sync_conn
                command.downgrade(cfg, revision)

            await conn.run_sync(down)
            await conn.commit()
    finally:
        await migrator.dispose()


def _waits(sync_conn: Connection) -> dict[str, bool]:
    ideas = _tables(sync_conn)["ideas"]
    rows = sync_conn.execute(select(ideas.c.status, ideas.c.waiting_since))
    return {status: since is not None for status, since in rows}


async def test_0011_keeps_every_idea_and_row_and_goes_back(
    db_url: str, engine: AsyncEngine
) -> None:
    await upgrade(db_url, "0010")
    assert await current_revision(engine) == "0010"
    await _sync(engine, _fill_at_0010, commit=True)
    before = await _sync(engine, _snapshot)
    assert before["counts"]["ideas"] == len(OLD_STATUSES)
    assert set(before["statuses"].values()) == set(OLD_STATUSES)

    await upgrade(db_url)
    assert await current_revision(engine) == head_revision()
    after = await _sync(engine, _snapshot)
    assert after == before, "an idea changed status or a row was lost"
    new = await _sync(engine, _new_columns)
    assert new["progress_totals"] == {(0, 0, 0)}
    assert new["progress_daily"] == {(0, 0, 0)}
    assert new["quotas"] == new["quota_totals"] == {"submitted"}
    assert new["team_chats"] == {"team"}
    assert new["report_ideas"] == {None}
    assert (new["results"], new["scores"]) == (0, 0)
    # Approved before the council existed: not in the council's wait, so the first
    # reminder pass does not remind (or tell officials) about every such idea at once.
    waits = await _sync(engine, _waits)
    assert waits == {"submitted": True, "forwarded": True, "approved": False} | {
        s: False for s in OLD_STATUSES if s not in ("submitted", "forwarded", "approved")
    }

    await _sync(engine, _bind_a_council_group, commit=True)
    await _downgrade(db_url, "0010")
    assert await current_revision(engine) == "0010"
    assert await _sync(engine, _snapshot) == before, "going back lost a row"
    # At 0010 every bound group is a support team's: a council's must not become one
    # (it would get the team's cards, confidential summaries and decision buttons).
    await upgrade(db_url)
    assert await _sync(engine, _snapshot) == before
