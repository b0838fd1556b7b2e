"""Roles people hold on units, and what /team needs of a unit's support team."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

from sqlalchemy import bindparam, delete, func, select, update

from storage.models import Conversation, Idea, IdeaEvent, Person, Role, Unit
from storage.repositories.base import Repository, fixed_select
from storage.repositories.units import unit_ids_on_path

# Fixed statements, read straight through sqlite3 on the inline engine (Repository._read).
_ROLES_OF_PEOPLE: Final = fixed_select(
    lambda *what: (
        select(*what)
        .join(Unit, Unit.id == Role.unit_id)
        .where(Role.person_id.in_(bindparam("ids", expanding=True)), Role.revoked_at.is_(None))
        .order_by(Role.person_id, Unit.depth, Unit.code)
    ),
    (Role, Unit),
)
_HOLDERS: Final = (
    select(Role.person_id, Role.granted_at)
    .where(
        Role.unit_id == bindparam("unit_id"),
        Role.role == bindparam("role"),
        Role.revoked_at.is_(None),
    )
    .order_by(Role.person_id)
)


class RoleRepository(Repository):
    async def grant(self, *, person_id: int, unit_id: int, role: str, now: datetime) -> bool:
        """Give a role; False if the person already had it (a revoked one is restored)."""
        query = select(Role).where(
            Role.person_id == person_id, Role.unit_id == unit_id, Role.role == role
        )
        existing = (await self.session.execute(query)).scalar_one_or_none()
        if existing is not None:
            if existing.revoked_at is None:
                return False
            existing.revoked_at = None
            existing.granted_at = now
            return True
        self.session.add(Role(person_id=person_id, unit_id=unit_id, role=role, granted_at=now))
        return True

    async def roles_of(self, person_id: int) -> list[tuple[Role, Unit]]:
        return [(r, u) for r, u in await self._load(_ROLES_OF_PEOPLE, {"ids": [person_id]})]

    async def roles_of_people(
        self, person_ids: Sequence[int]
    ) -> dict[int, list[tuple[Role, Unit]]]:
        """:meth:`roles_of` of each of ``person_ids`` in one statement, by person id (people
        holding no role: absent), each person's in the same order."""
        if not person_ids:
            return {}
        held: dict[int, list[tuple[Role, Unit]]] = {}
        ids = {"ids": list(dict.fromkeys(person_ids))}
        for role, unit in await self._load(_ROLES_OF_PEOPLE, ids):
            held.setdefault(role.person_id, []).append((role, unit))
        return held
        query = (
            select(Role, Unit)
            .join(Unit, Unit.id == Role.unit_id)
            .where(Role.person_id.in_(list(person_ids)), Role.revoked_at.is_(None))
            .order_by(Role.person_id, Unit.depth, Unit.code)
        )
        held = {}
        for role, unit in await self.session.execute(query):
            held.setdefault(role.person_id, []).append((role, unit))
        return held

    async def holds(self, *, person_id: int, unit: Unit, role: str) -> bool:
        """Whether the person has the role on this unit or on one of its ancestors."""
        ids = unit_ids_on_path(unit.path)
        query = select(func.count(Role.id)).where(
            Role.person_id == person_id,
            Role.role == role,
            Role.revoked_at.is_(None),
            Role.unit_id.in_(ids),
        )
        return bool((await self.session.execute(query)).scalar_one())

    async def members_with_role(self, unit_id: int, role: str) -> list[int]:
        query = (
            select(Role.person_id)
            .where(Role.unit_id == unit_id, Role.role == role, Role.revoked_at.is_(None))
            .order_by(Role.person_id)
        )
        return list((await self.session.execute(query)).scalars())

    # ------------------------------------------------------------ the team (/team)

    async def team_of(self, unit_id: int, role: str) -> list[tuple[Role, Person]]:
        """Who holds ``role`` on the unit now, the lead first, then by when they joined."""
        query = (
            select(Role, Person)
            .join(Person, Person.id == Role.person_id)
            .where(Role.unit_id == unit_id, Role.role == role, Role.revoked_at.is_(None))
            .order_by(Role.lead.desc(), Role.granted_at, Role.id)
        )
        return [(r, p) for r, p in await self.session.execute(query)]

    async def held(self, *, person_id: int, unit_id: int, role: str) -> Role | None:
        """The person's role on exactly this unit, if they hold it now (row locked)."""
        query = (
            select(Role)
            .where(
                Role.person_id == person_id,
                Role.unit_id == unit_id,
                Role.role == role,
                Role.revoked_at.is_(None),
            )
            .with_for_update()
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def revoke(self, role: Role, now: datetime) -> None:
        """Take the role away (kept as a revoked row: who held it and until when)."""
        role.revoked_at = now
        role.lead = False
        await self.session.flush()

    async def hand_lead(self, *, unit_id: int, role: str, to: Role) -> None:
        """Make ``to`` the lead of its unit's team, and nobody else."""
        await self.session.execute(
            update(Role)
            .where(Role.unit_id == unit_id, Role.role == role, Role.id != to.id)
            .values(lead=False)
            .execution_options(synchronize_session=False)
        )
        to.lead = True
        await self.session.flush()

    async def last_actions(self, person_ids: Sequence[int]) -> dict[int, datetime]:
        """Each person's latest step on an idea as its actor (people without one: absent)."""
        if not person_ids:
            return {}
        query = (
            select(IdeaEvent.actor_id, func.max(IdeaEvent.at))
            .where(IdeaEvent.actor_id.in_(list(person_ids)))
            .group_by(IdeaEvent.actor_id)
        )
        return {pid: at for pid, at in await self.session.execute(query) if pid is not None}

    async def holders(self, unit_id: int, role: str) -> list[tuple[int, datetime]]:
        """(person id, granted at) of who holds ``role`` on exactly the unit now: the
        people of :meth:`members_with_role`, in its order, with when each joined."""
        rows = await self._load(_HOLDERS, {"unit_id": unit_id, "role": role})
        return [(person_id, granted) for person_id, granted in rows]

    async def team_acted_on_ideas_since(self, unit_id: int, role: str, since: datetime) -> bool:
        """Whether one of the unit's team (the holders of ``role``) acted since ``since`` on
        an idea the unit holds (the ideas' index by holder, then the events' by idea: a
        unit's own ideas, not the whole events table). With a member who joined since
        ``since`` (visibility._serving checks that first), the team is active too."""
        holding = (Role.unit_id == unit_id, Role.role == role, Role.revoked_at.is_(None))
        members = select(Role.person_id).where(*holding)
        acted = (
            select(IdeaEvent.id)
            .join(Idea, Idea.id == IdeaEvent.idea_id)
            .where(
                Idea.holder_unit_id == unit_id,
                IdeaEvent.at >= since,
                IdeaEvent.actor_id.in_(members),
            )
            .limit(1)
        )
        return (await self.session.execute(acted)).first() is not None

    async def team_last_active(self, unit_id: int, role: str) -> datetime | None:
        """When the unit's team last showed life: the latest of its members' joining and
        their steps on the unit's ideas; None when nobody holds the role."""
        holding = (Role.unit_id == unit_id, Role.role == role, Role.revoked_at.is_(None))
        joined = await self.session.scalar(select(func.max(Role.granted_at)).where(*holding))
        if joined is None:
            return None
        members = select(Role.person_id).where(*holding)
        acted = await self.session.scalar(
            select(func.max(IdeaEvent.at))
            .join(Idea, Idea.id == IdeaEvent.idea_id)
            .where(Idea.holder_unit_id == unit_id, IdeaEvent.actor_id.in_(members))
        )
        return max(joined, acted) if acted is not None else joined

    async def last_left(self, unit_id: int, role: str) -> datetime | None:
        """When the last holder of ``role`` on the unit lost it, for a caller that knows
        nobody holds it now (every row of it is then a revoked one); None if nobody ever
        held it."""
        rows = select(func.max(Role.revoked_at)).where(Role.unit_id == unit_id, Role.role == role)
        return await self.session.scalar(rows)

    async def drop_flows(self, person_id: int, flows: Sequence[str]) -> int:
        """End the person's unfinished conversations in ``flows`` (in any chat): a member
        taken off a team must not finish a question or a reason typed for it."""
        result = await self.session.execute(
            delete(Conversation).where(
                Conversation.person_id == person_id, Conversation.flow.in_(list(flows))
            )
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def units_with_teams(self, path: str, role: str, *, limit: int) -> list[Unit]:
        """The units at or below ``path`` whose team exists or existed (a role held there,
        now or before), nearest the top first."""
        had = select(Role.unit_id).where(Role.role == role).distinct()
        query = (
            select(Unit)
            .where(Unit.path.startswith(path, autoescape=True), Unit.id.in_(had))
            .order_by(Unit.depth, Unit.code)
            .limit(limit)
        )
        return list((await self.session.execute(query)).scalars())
