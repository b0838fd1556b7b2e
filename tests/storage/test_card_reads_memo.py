"""The serving team's members and group are read once a transaction (handlers.visibility
``members_with_role``, ``group_of``), and never answered stale: a role revoked or granted,
or a group bound or unbound, earlier in the same transaction decides who gets the card.
On SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers import visibility
from handlers.context import Scope
from handlers.events import OutMessage
from handlers.i18n import Catalogue
from handlers.team import send_card, team_for
from storage.models import (
    Idea,
    IdeaStatus,
    Identity,
    OutboxMessage,
    Person,
    Role,
    RoleKind,
    Unit,
    UnitKind,
)
from storage.uow import UnitOfWork

NOW = datetime(2026, 12, 7, 3, tzinfo=UTC)
SUPPORT = RoleKind.SUPPORT.value
SECRET = "SECRET-BODY-0912345678 lower the dryer to 160 degrees"
GROUP_CHAT = "-100555"


async def _world(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    """A district above a grassroots unit; two support members of the grassroots team
    (each with a private chat), a support member of the district's, a worker, and a
    confidential idea of the worker's waiting on the grassroots team."""
    ids: dict[str, int] = {}
    async with sessionmaker() as session:
        parent: Unit | None = None
        for code, kind in (("D", UnitKind.DISTRICT), ("G", UnitKind.GRASSROOTS)):
            unit = Unit(
                code=code,
                name=code,
                name_folded=code.lower(),
                kind=kind.value,
                parent_id=parent.id if parent else None,
                path="",
                depth=parent.depth + 1 if parent else 0,
                created_at=NOW,
            )
            session.add(unit)
            await session.flush()
            unit.path = f"{parent.path if parent else '/'}{unit.id}/"
            ids[code] = unit.id
            parent = unit
        for n, name in enumerate(("anh", "binh", "dung", "worker")):
            person = Person(display_name=name, unreachable=False, created_at=NOW, language="vi")
            session.add(person)
            await session.flush()
            ids[name] = person.id
            chat = str(7000 + n)
            session.add(
                Identity(
                    person_id=person.id, channel="telegram", external_id=chat, private_chat_id=chat
                )
            )
        for name, unit in (("anh", "G"), ("binh", "G"), ("dung", "D")):
            session.add(Role(person_id=ids[name], unit_id=ids[unit], role=SUPPORT, granted_at=NOW))
        idea = Idea(
            ref_code="SK-2026-000001",
            author_id=ids["worker"],
            unit_id=ids["G"],
            holder_unit_id=ids["G"],
            title="Dryer",
            title_given=False,
            body=SECRET,
            category="technical",
            benefit="cost",
            confidential=True,
            language="vi",
            status=IdeaStatus.SUBMITTED.value,
            created_at=NOW,
            updated_at=NOW,
            waiting_since=NOW,
        )
        session.add(idea)
        await session.flush()
        ids["idea"] = idea.id
        await session.commit()
    return ids


def _scope(uow: UnitOfWork) -> Scope:
    return Scope(uow=uow, catalogue=Catalogue.load(), now=NOW)


async def _card_rows(uow: UnitOfWork) -> list[OutboxMessage]:
    await uow.flush()
    rows = await uow.session.execute(select(OutboxMessage).order_by(OutboxMessage.id))
    return [r for r in rows.scalars() if (r.purpose or "").startswith(("card:", "cardr:"))]


def _text(row: OutboxMessage) -> str:
    return OutMessage.from_json(row.payload).text


async def _send(uow: UnitOfWork, ids: dict[str, int]) -> list[OutboxMessage]:
    scope = _scope(uow)
    idea = await uow.ideas.get_for_update(ids["idea"])
    unit = await uow.units.get(ids["G"])
    assert idea is not None and unit is not None
    team = await team_for(scope, unit)
    assert team is not None
    await send_card(scope, idea, team)
    return await _card_rows(uow)


async def test_a_role_revoked_earlier_in_the_transaction_gets_no_card(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ids = await _world(sessionmaker)
    async with UnitOfWork(sessionmaker) as uow:
        # Bình also holds an official role above: as a person Bình may still see the
        # idea's summary, so only the team's membership keeps the card from Bình.
        official = RoleKind.OFFICIAL.value
        await uow.roles.grant(person_id=ids["binh"], unit_id=ids["D"], role=official, now=NOW)
        await uow.commit()
    async with UnitOfWork(sessionmaker) as uow:
        unit = await uow.units.get(ids["G"])
        assert unit is not None
        team = await team_for(_scope(uow), unit)  # the members and group, remembered
        assert team is not None and team.members == [ids["anh"], ids["binh"]]
        role = await uow.roles.held(person_id=ids["binh"], unit_id=ids["G"], role=SUPPORT)
        assert role is not None
        await uow.roles.revoke(role, NOW)
        rows = await _send(uow, ids)
        assert [r.person_id for r in rows] == [ids["anh"]], "Bình left the team: no card"
        assert SECRET in _text(rows[0])  # a member of the grassroots team, in full


async def test_a_role_revoked_and_not_yet_flushed_counts(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ids = await _world(sessionmaker)
    async with UnitOfWork(sessionmaker) as uow:
        unit = await uow.units.get(ids["G"])
        assert unit is not None
        members = await visibility.members_with_role(uow, ids["G"], SUPPORT)
        assert members == [ids["anh"], ids["binh"]]
        members.clear()  # a caller's change to its list never reaches the memo
        assert await visibility.members_with_role(uow, ids["G"], SUPPORT) == [
            ids["anh"],
            ids["binh"],
        ]
        for name in ("anh", "binh"):
            role = await uow.roles.held(person_id=ids[name], unit_id=ids["G"], role=SUPPORT)
            assert role is not None
            role.revoked_at = NOW  # changed in the session only
        assert await visibility.members_with_role(uow, ids["G"], SUPPORT) == []
        # The grassroots team is gone: the district's serves, and sees only the summary.
        serving = await visibility.serving_unit(uow, unit)
        assert serving is not None and serving.id == ids["D"]
        rows = await _send(uow, ids)
        assert [(r.person_id, r.purpose) for r in rows] == [(ids["dung"], f"cardr:{ids['D']}")]
        assert SECRET[:20] not in _text(rows[0])


async def test_a_role_granted_earlier_in_the_transaction_gets_the_card(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ids = await _world(sessionmaker)
    async with UnitOfWork(sessionmaker) as uow:
        assert await visibility.members_with_role(uow, ids["G"], SUPPORT) == [
            ids["anh"],
            ids["binh"],
        ]
        assert await uow.roles.grant(person_id=ids["dung"], unit_id=ids["G"], role=SUPPORT, now=NOW)
        rows = await _send(uow, ids)
        reached = sorted(r.person_id or 0 for r in rows)
        assert reached == sorted([ids["anh"], ids["binh"], ids["dung"]]), "Dũng just joined"


async def test_a_group_bound_earlier_in_the_transaction_gets_only_the_summary(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ids = await _world(sessionmaker)
    async with UnitOfWork(sessionmaker) as uow:
        unit = await uow.units.get(ids["G"])
        assert unit is not None
        team = await team_for(_scope(uow), unit)
        assert team is not None and team.group is None  # remembered: no group
        await uow.teams.bind(
            unit_id=ids["G"],
            channel="telegram",
            chat_id=GROUP_CHAT,
            title="Team",
            person_id=ids["anh"],
            now=NOW,
        )
        rows = await _send(uow, ids)
        # The group, not the members privately, and a confidential idea as its summary.
        assert [(r.chat_id, r.person_id, r.purpose) for r in rows] == [
            (GROUP_CHAT, None, f"cardr:{ids['G']}")
        ]
        assert SECRET[:20] not in _text(rows[0]) and "0912" not in _text(rows[0])


async def test_a_group_unbound_earlier_in_the_transaction_gets_nothing(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ids = await _world(sessionmaker)
    async with UnitOfWork(sessionmaker) as uow:
        await uow.teams.bind(
            unit_id=ids["G"],
            channel="telegram",
            chat_id=GROUP_CHAT,
            title="Team",
            person_id=ids["anh"],
            now=NOW,
        )
        await uow.commit()
    async with UnitOfWork(sessionmaker) as uow:
        group = await visibility.group_of(uow, ids["G"])
        assert group is not None and group.chat_id == GROUP_CHAT
        assert await uow.teams.unbind("telegram", GROUP_CHAT)  # deleted, not flushed
        assert await visibility.group_of(uow, ids["G"]) is None
        rows = await _send(uow, ids)
        assert GROUP_CHAT not in [r.chat_id for r in rows]
        assert sorted(r.person_id or 0 for r in rows) == [ids["anh"], ids["binh"]]
