"""Linking a person's accounts: one-time codes, and merging two people into one."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Index,
    PrimaryKeyConstraint,
    UniqueConstraint,
    delete,
    exists,
    func,
    select,
    update,
)
from sqlalchemy.orm import aliased

from storage.channel_models import LinkAttempt, LinkCode
from storage.models import Base, Identity, Person, Role
from storage.repositories.base import Repository


class LinkRepository(Repository):
    """One-time codes that link a person's accounts, and merging two people into one."""

    async def code_in_use(self, code_hash: str, now: datetime) -> bool:
        query = select(func.count(LinkCode.id)).where(
            LinkCode.code_hash == code_hash, LinkCode.used_at.is_(None), LinkCode.expires_at > now
        )
        return bool((await self.session.execute(query)).scalar_one())

    async def add_code(
        self, *, person_id: int, channel: str, code_hash: str, now: datetime, expires_at: datetime
    ) -> LinkCode:
        """A new code for the person; any earlier code of theirs stops working."""
        await self.session.execute(
            update(LinkCode)
            .where(
                LinkCode.person_id == person_id,
                LinkCode.used_at.is_(None),
                LinkCode.expires_at > now,
            )
            .values(expires_at=now)
            .execution_options(synchronize_session=False)
        )
        code = LinkCode(
            person_id=person_id,
            channel=channel,
            code_hash=code_hash,
            created_at=now,
            expires_at=expires_at,
        )
        self.session.add(code)
        await self.session.flush()
        return code

    async def usable_code(self, code_hash: str, now: datetime) -> LinkCode | None:
        """The unused, unexpired code with this hash, locked until the transaction ends."""
        query = (
            select(LinkCode)
            .where(
                LinkCode.code_hash == code_hash,
                LinkCode.used_at.is_(None),
                LinkCode.expires_at > now,
            )
            .order_by(LinkCode.id.desc())
            .limit(1)
            .with_for_update()
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    def record_attempt(self, person_id: int, now: datetime, *, ok: bool) -> None:
        self.session.add(LinkAttempt(person_id=person_id, at=now, ok=ok))

    async def failures_since(self, person_id: int, since: datetime) -> int:
        query = select(func.count(LinkAttempt.id)).where(
            LinkAttempt.person_id == person_id,
            LinkAttempt.ok.is_(False),
            LinkAttempt.at >= since,
        )
        return int((await self.session.execute(query)).scalar_one())

    async def channels_of(self, person_id: int) -> set[str]:
        query = select(Identity.channel).where(Identity.person_id == person_id)
        return set((await self.session.execute(query)).scalars())

    async def merge(self, keep: Person, gone: Person, *, delete_gone: bool) -> None:
        """Move everything of ``gone`` to ``keep``, in the caller's transaction.

        Every row that points at a person (found through the schema's foreign keys, so
        tables added later are covered too) moves to ``keep``; where ``keep`` already has
        the same row (a role on the same unit, a digest subscription) ``keep``'s stays.
        ``keep`` takes ``gone``'s unit and language where it has none. ``gone`` is deleted,
        unless the caller still writes rows for it in this transaction (the person whose
        update is being handled): then it is left without identities, an empty shell that
        :meth:`purge_shells` removes later.
        """
        if keep.id == gone.id:
            raise ValueError("a person cannot be merged into themselves")
        await self.purge_shells(except_ids=(keep.id, gone.id))
        await self._merge_roles(keep.id, gone.id)
        models = {mapper.local_table: mapper.class_ for mapper in Base.registry.mappers}
        people = Person.__table__
        for table in Base.metadata.sorted_tables:
            model = models.get(table)
            if model is None:
                continue
            for fk in table.foreign_keys:
                if fk.column is not people.c.id:
                    continue
                await self._move(model, table, fk.parent.key, keep.id, gone.id)
        if keep.unit_id is None:
            keep.unit_id = gone.unit_id
        if keep.language is None:
            keep.language = gone.language
        if keep.platform_language is None:
            keep.platform_language = gone.platform_language
        keep.unreachable = False  # an account that just typed a code is reachable
        await self.session.flush()
        if delete_gone:
            await self.session.delete(gone)
            await self.session.flush()

    async def _merge_roles(self, keep_id: int, gone_id: int) -> None:
        """Where both hold a role on a unit, ``keep``'s stays, restored if only ``gone``'s
        was still in force."""
        keep_roles = {
            (r.unit_id, r.role): r
            for r in (
                await self.session.execute(select(Role).where(Role.person_id == keep_id))
            ).scalars()
        }
        gone_roles = await self.session.execute(select(Role).where(Role.person_id == gone_id))
        for role in list(gone_roles.scalars()):
            twin = keep_roles.get((role.unit_id, role.role))
            if twin is None:
                continue
            if twin.revoked_at is not None and role.revoked_at is None:
                twin.revoked_at = None
                twin.granted_at = role.granted_at
            await self.session.delete(role)
        await self.session.flush()

    async def _move(self, model: Any, table: Any, key: str, keep_id: int, gone_id: int) -> None:
        column = getattr(model, key)
        for unique in _unique_column_sets(table, key):
            twin = aliased(model)
            same = [getattr(twin, key) == keep_id]
            same += [getattr(twin, other) == getattr(model, other) for other in unique - {key}]
            await self.session.execute(
                delete(model)
                .where(column == gone_id, exists().where(*same))
                .execution_options(synchronize_session="fetch")
            )
        await self.session.execute(
            update(model)
            .where(column == gone_id)
            .values({key: keep_id})
            .execution_options(synchronize_session="fetch")
        )

    async def purge_shells(self, *, except_ids: Sequence[int] = ()) -> int:
        """Delete people left without any identity by earlier merges; returns how many."""
        query = select(Person).where(
            ~exists().where(Identity.person_id == Person.id), Person.id.not_in(except_ids)
        )
        shells = list((await self.session.execute(query)).scalars())
        removed = 0
        models = {mapper.local_table: mapper.class_ for mapper in Base.registry.mappers}
        for shell in shells:
            blocking = False
            for table in Base.metadata.sorted_tables:
                model = models.get(table)
                for fk in table.foreign_keys:
                    if model is None or fk.column is not Person.__table__.c.id:
                        continue
                    column = getattr(model, fk.parent.key)
                    if fk.parent.nullable:
                        await self.session.execute(
                            update(model)
                            .where(column == shell.id)
                            .values({fk.parent.key: None})
                            .execution_options(synchronize_session="fetch")
                        )
                        continue
                    count = select(func.count()).select_from(model).where(column == shell.id)
                    if (await self.session.execute(count)).scalar_one():
                        blocking = True
            if not blocking:
                await self.session.delete(shell)
                removed += 1
        await self.session.flush()
        return removed


def _unique_column_sets(table: Any, key: str) -> list[set[str]]:
    """Every set of columns that is unique in ``table`` and includes the column ``key``."""

    sets: list[set[str]] = []
    for candidate in [*table.constraints, *table.indexes]:
        unique = isinstance(candidate, PrimaryKeyConstraint | UniqueConstraint) or (
            isinstance(candidate, Index) and bool(candidate.unique)
        )
        if not unique:
            continue
        columns = {c.key for c in candidate.columns}
        if key in columns and columns not in sets:
            sets.append(columns)
    return sets
