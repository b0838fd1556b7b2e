"""Invite links: tokens for Telegram deep links (``t.me/<bot>?start=<token>``).

Only the SHA-256 of a token is stored, so the plain token exists once: in the
return value of :func:`create_invite`. A token is 32 characters of the URL-safe
base64 alphabet (``A-Za-z0-9_-``, 192 random bits), which fits the 64-character
``start`` parameter of a Telegram deep link.

Redeeming is two steps in the caller's transaction: :func:`redeem_lookup` finds a
usable invite (and on PostgreSQL locks its row), then the caller joins the person
and counts the use, ideally with :func:`record_use`, whose conditional UPDATE
never lets ``uses`` pass ``max_uses`` even under concurrent redemptions, and which
records who redeemed it and when (:func:`redemptions`, for ``invites list``).
"""

from __future__ import annotations

import enum
import hashlib
import re
import secrets
from datetime import UTC, datetime
from typing import Final

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from storage.models import Invite, InviteRedemption, Person, RoleKind

__all__ = [
    "MAX_DAYS",
    "MAX_USES",
    "TOKEN_BYTES",
    "InviteProblem",
    "create_invite",
    "hash_token",
    "invite_problem",
    "is_token_shaped",
    "new_token",
    "record_use",
    "redeem_lookup",
    "redemptions",
    "revoke",
]

TOKEN_BYTES: Final = 24  # 192 bits -> 32 characters
_TOKEN_RE: Final = re.compile(r"[A-Za-z0-9_-]{16,64}")
NOTE_MAX: Final = 200
# The longest an invite may last and the most uses it may allow. A link meant to
# outlive a year, or a whole province, is better issued again: a forgotten one
# stops working by itself.
MAX_DAYS: Final = 365
MAX_USES: Final = 100_000
_IDS_PER_QUERY: Final = 1000  # well under both databases' limit on bound parameters


class InviteProblem(enum.StrEnum):
    """Why an invite cannot be redeemed."""

    UNKNOWN = "unknown"
    EXPIRED = "expired"
    REVOKED = "revoked"
    USED_UP = "used_up"


def new_token() -> str:
    """A fresh random token: 32 characters from ``A-Za-z0-9_-``."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    """The SHA-256 of ``token`` as 64 lower-case hex digits (what the database keeps)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def is_token_shaped(text: str) -> bool:
    """True if ``text`` could be a token (cheap check before touching the database)."""
    return _TOKEN_RE.fullmatch(text) is not None


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")


async def create_invite(
    session: AsyncSession,
    *,
    unit_id: int,
    role: RoleKind | str,
    max_uses: int | None,
    expires_at: datetime | None,
    note: str | None,
) -> tuple[str, Invite]:
    """Add an invite to ``session`` (flushed, not committed).

    Returns the plain token — shown to the admin once, never stored — and the
    invite. ``max_uses`` None means unlimited; ``expires_at`` None means never.
    """
    role = RoleKind(role)
    if max_uses is not None and not 1 <= max_uses <= MAX_USES:
        raise ValueError(f"max_uses must be 1-{MAX_USES} (or None for unlimited)")
    if expires_at is not None:
        _require_aware(expires_at, "expires_at")
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
    session.add(invite)
    await session.flush()
    return token, invite


def invite_problem(invite: Invite, now: datetime) -> InviteProblem | None:
    """Why ``invite`` cannot be used at ``now``, or None if it can."""
    if invite.revoked_at is not None:
        return InviteProblem.REVOKED
    if invite.expires_at is not None and invite.expires_at <= now:
        return InviteProblem.EXPIRED
    if invite.max_uses is not None and invite.uses >= invite.max_uses:
        return InviteProblem.USED_UP
    return None


async def redeem_lookup(session: AsyncSession, token: str, now: datetime) -> Invite | InviteProblem:
    """The usable invite for ``token``, or the reason there is none.

    Does not count the use: the caller does that in the same transaction when it
    redeems (see :func:`record_use`). On PostgreSQL the invite's row stays locked
    (``SELECT … FOR UPDATE``) until that transaction ends, so a concurrent
    redemption of the same token waits and then sees the new count; SQLite's
    ``BEGIN IMMEDIATE`` serialises writers anyway.
    """
    _require_aware(now, "now")
    token = token.strip()
    if not is_token_shaped(token):
        return InviteProblem.UNKNOWN
    invite = await session.scalar(
        select(Invite)
        .where(Invite.token_hash == hash_token(token))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if invite is None:
        return InviteProblem.UNKNOWN
    return invite_problem(invite, now) or invite


async def record_use(
    session: AsyncSession, invite: Invite, *, person_id: int, now: datetime
) -> bool:
    """Count one use of ``invite`` by the person; False (nothing changed) if it is used up.

    The UPDATE itself checks ``uses < max_uses``, so the limit holds even if two
    redemptions race past :func:`redeem_lookup`. A counted use is also recorded
    (who and when) for the operator's ``invites list``.
    """
    _require_aware(now, "now")
    uses = await session.scalar(
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
    await session.execute(
        insert(InviteRedemption).values(invite_id=invite.id, person_id=person_id, redeemed_at=now)
    )
    return True


async def redemptions(
    session: AsyncSession, invite_ids: list[int]
) -> dict[int, list[tuple[str, datetime]]]:
    """Who redeemed each invite and when, earliest first: ``{invite id: [(name, when)]}``.

    Names are for the operator's terminal only, never for a log.
    """
    found: dict[int, list[tuple[str, datetime]]] = {invite_id: [] for invite_id in invite_ids}
    ids = list(found)
    for start in range(0, len(ids), _IDS_PER_QUERY):
        rows = await session.execute(
            select(InviteRedemption.invite_id, Person.display_name, InviteRedemption.redeemed_at)
            .join(Person, Person.id == InviteRedemption.person_id)
            .where(InviteRedemption.invite_id.in_(ids[start : start + _IDS_PER_QUERY]))
            .order_by(InviteRedemption.redeemed_at, InviteRedemption.id)
        )
        for invite_id, name, when in rows:
            found[invite_id].append((name, when))
    return found


async def revoke(session: AsyncSession, invite_id: int, now: datetime) -> Invite | None:
    """Revoke the invite (flushed, not committed); None if there is no such invite.

    Revoking twice keeps the first time.
    """
    _require_aware(now, "now")
    invite = await session.get(Invite, invite_id, with_for_update=True)
    if invite is None:
        return None
    if invite.revoked_at is None:
        invite.revoked_at = now
        await session.flush()
    return invite
