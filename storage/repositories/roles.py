"""Roles people hold on units."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from storage.models import Role, Unit
from storage.repositories.base import Repository
from storage.repositories.units import unit_ids_on_path


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
        query = (
            select(Role, Unit)
            .join(Unit, Unit.id == Role.unit_id)
            .where(Role.person_id == person_id, Role.revoked_at.is_(None))
            .order_by(Unit.depth, Unit.code)
        )
        return [(r, u) for r, u in (await self.session.execute(query))]

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
