"""Invites: issuing, redeeming, listing and revoking (tokens and rules: storage.invites).

Redeeming is two steps in the caller's transaction: :meth:`InviteRepository.redeem_lookup`
finds a usable invite (and on PostgreSQL locks its row), then the caller joins the person
and counts the use with :meth:`InviteRepository.record_use`, whose conditional UPDATE
never lets ``uses`` pass ``max_uses`` even under concurrent redemptions, and which
records who redeemed it and when (:meth:`InviteRepository.redemptions`, for
``invites list``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from sqlalchemy import insert, select, update
from sqlalchemy.orm.attributes import set_committed_value

from storage.invites import (
    MAX_USES,
    NOTE_MAX,
    InviteProblem,
    hash_token,
    invite_problem,
    is_token_shaped,
    new_token,
    require_aware,
)
from storage.models import Invite, InviteRedemption, Person, RoleKind, Unit
from storage.repositories.base import Repository

_IDS_PER_QUERY: Final = 1000  # well under both databases' limit on bound parameters


class InviteRepository(Repository):
    async def create(
        self,
        *,
        unit_id: int,
        role: RoleKind | str,
        max_uses: int | None,
        expires_at: datetime | None,
        note: str | None,
    ) -> tuple[str, Invite]:
        """Add an invite (flushed, not committed).

        Returns the plain token — shown to the admin once, never stored — and the
        invite. ``max_uses`` None means unlimited; ``expires_at`` None means never.
        """
        role = RoleKind(role)
        if max_uses is not None and not 1 <= max_uses <= MAX_USES:
            raise ValueError(f"max_uses must be 1-{MAX_USES} (or None for unlimited)")
        if expires_at is not None:
            require_aware(expires_at, "expires_at")
        if note is not None:
            note = note.strip()[:NOTE_MAX] or None
        token = new_token()
        invite = Invite(
            token_hash=hash_token(token),
            unit_id=unit_id,
            role=role.value,
            max_uses=max_uses,
            uses=0,
            expires_at=expires_at,
            revoked_at=None,
            created_at=datetime.now(UTC),
            note=note,
        )
        self.session.add(invite)
        await self.session.flush()
        return token, invite

    async def redeem_lookup(self, token: str, now: datetime) -> Invite | InviteProblem:
        """The usable invite for ``token``, or the reason there is none.

        Does not count the use: the caller does that in the same transaction when it
        redeems (see :meth:`record_use`). On PostgreSQL the invite's row stays locked
        (``SELECT … FOR UPDATE``) until that transaction ends, so a concurrent
        redemption of the same token waits and then sees the new count; SQLite's
        ``BEGIN IMMEDIATE`` serialises writers anyway.
        """
        require_aware(now, "now")
        token = token.strip()
        if not is_token_shaped(token):
            return InviteProblem.UNKNOWN
        invite = await self.session.scalar(
            select(Invite)
            .where(Invite.token_hash == hash_token(token))
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if invite is None:
            return InviteProblem.UNKNOWN
        return invite_problem(invite, now) or invite

    async def record_use(self, invite: Invite, *, person_id: int, now: datetime) -> bool:
        """Count one use of ``invite`` by the person; False (nothing changed) if it is used up.

        The UPDATE itself checks ``uses < max_uses``, so the limit holds even if two
        redemptions race past :meth:`redeem_lookup`. A counted use is also recorded
        (who and when) for the operator's ``invites list``.
        """
        require_aware(now, "now")
        uses = await self.session.scalar(
            update(Invite)
            .where(Invite.id == invite.id)
            .where(Invite.max_uses.is_(None) | (Invite.uses < Invite.max_uses))
            .values(uses=Invite.uses + 1)
            .returning(Invite.uses)
            .execution_options(synchronize_session=False)
        )
        if uses is None:
            return False
        set_committed_value(invite, "uses", uses)
        await self.session.execute(
            insert(InviteRedemption).values(
                invite_id=invite.id, person_id=person_id, redeemed_at=now
            )
        )
        return True

    async def with_units(self, unit_code: str | None = None) -> list[tuple[Invite, Unit]]:
        """Every invite with its unit (only ``unit_code``'s, if given), oldest first."""
        query = select(Invite, Unit).join(Unit, Unit.id == Invite.unit_id)
        if unit_code:
            query = query.where(Unit.code == unit_code)
        return [(i, u) for i, u in await self.session.execute(query.order_by(Invite.id))]

    async def redemptions(self, invite_ids: list[int]) -> dict[int, list[tuple[str, datetime]]]:
        """Who redeemed each invite and when, earliest first: ``{invite id: [(name, when)]}``.

        Names are for the operator's terminal only, never for a log.
        """
        found: dict[int, list[tuple[str, datetime]]] = {invite_id: [] for invite_id in invite_ids}
        ids = list(found)
        for start in range(0, len(ids), _IDS_PER_QUERY):
            rows = await self.session.execute(
                select(
                    InviteRedemption.invite_id, Person.display_name, InviteRedemption.redeemed_at
                )
                .join(Person, Person.id == InviteRedemption.person_id)
                .where(InviteRedemption.invite_id.in_(ids[start : start + _IDS_PER_QUERY]))
                .order_by(InviteRedemption.redeemed_at, InviteRedemption.id)
            )
            for invite_id, name, when in rows:
                found[invite_id].append((name, when))
        return found

    async def revoke(self, invite_id: int, now: datetime) -> Invite | None:
        """Revoke the invite (flushed, not committed); None if there is no such invite.

        Revoking twice keeps the first time.
        """
        require_aware(now, "now")
        invite = await self.session.get(Invite, invite_id, with_for_update=True)
        if invite is None:
            return None
        if invite.revoked_at is None:
            invite.revoked_at = now
            await self.session.flush()
        return invite
