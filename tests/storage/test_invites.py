from __future__ import annotations

import asyncio
import hashlib
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.invites import (
    MAX_USES,
    TOKEN_BYTES,
    InviteProblem,
    hash_token,
    new_token,
)
from storage.models import Invite, Person, RoleKind, Unit
from storage.repositories.invites import InviteRepository
from storage.units_import import SAMPLE_UNITS_CSV, import_units

Sessions = async_sessionmaker[AsyncSession]
NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]+$")


@pytest.fixture
async def unit_id(sessionmaker: Sessions) -> int:
    await import_units(sessionmaker, SAMPLE_UNITS_CSV)
    async with sessionmaker() as session:
        unit = await session.scalar(select(Unit).where(Unit.code == "HCM-Q7-CTYMAY"))
        assert unit is not None
        return unit.id


@pytest.fixture
async def person_id(sessionmaker: Sessions) -> int:
    return await add_person(sessionmaker, "Nguyễn Thị Lan")


async def add_person(sessionmaker: Sessions, name: str) -> int:
    async with sessionmaker() as session, session.begin():
        person = Person(display_name=name, unreachable=False, created_at=NOW)
        session.add(person)
        await session.flush()
        return person.id


async def make(
    sessionmaker: Sessions,
    unit_id: int,
    *,
    max_uses: int | None = None,
    expires_at: datetime | None = None,
    role: RoleKind = RoleKind.MEMBER,
) -> tuple[str, int]:
    async with sessionmaker() as session, session.begin():
        token, invite = await InviteRepository(session).create(
            unit_id=unit_id,
            role=role,
            max_uses=max_uses,
            expires_at=expires_at,
            note="  Tổ may 2  ",
        )
    return token, invite.id


def test_token_shape() -> None:
    tokens = {new_token() for _ in range(1000)}
    assert len(tokens) == 1000
    assert TOKEN_BYTES * 8 >= 128
    for token in tokens:
        assert TOKEN_RE.match(token), token
        assert len(token) <= 64  # Telegram deep-link start parameter
        assert len(token) * 6 >= 128


def test_hash_token() -> None:
    assert hash_token("abc") == hashlib.sha256(b"abc").hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", hash_token(new_token()))


async def test_only_the_hash_is_stored(sessionmaker: Sessions, unit_id: int) -> None:
    token, invite_id = await make(sessionmaker, unit_id, max_uses=3)
    async with sessionmaker() as session:
        row = (
            (await session.execute(text("SELECT * FROM invites WHERE id = :id"), {"id": invite_id}))
            .mappings()
            .one()
        )
    assert row["token_hash"] == hash_token(token)
    assert all(token not in str(value) for value in row.values())
    assert row["uses"] == 0
    assert row["note"] == "Tổ may 2"
    assert row["role"] == "member"


async def test_valid_token_finds_invite_without_counting(
    sessionmaker: Sessions, unit_id: int
) -> None:
    token, invite_id = await make(sessionmaker, unit_id, max_uses=1, role=RoleKind.SUPPORT)
    for _ in range(3):
        async with sessionmaker() as session:
            found = await InviteRepository(session).redeem_lookup(token, NOW)
            assert isinstance(found, Invite)
            assert (found.id, found.unit_id, found.role, found.uses) == (
                invite_id,
                unit_id,
                "support",
                0,
            )


@pytest.mark.parametrize(
    "token", ["", "short", "x" * 65, "has space in it at all", "ñññññññññññññññññ"]
)
async def test_malformed_tokens_are_unknown(sessionmaker: Sessions, token: str) -> None:
    async with sessionmaker() as session:
        assert await InviteRepository(session).redeem_lookup(token, NOW) is InviteProblem.UNKNOWN


async def test_unknown_token(sessionmaker: Sessions, unit_id: int) -> None:
    await make(sessionmaker, unit_id)
    async with sessionmaker() as session:
        assert (
            await InviteRepository(session).redeem_lookup(new_token(), NOW) is InviteProblem.UNKNOWN
        )


async def test_expiry(sessionmaker: Sessions, unit_id: int) -> None:
    token, _ = await make(sessionmaker, unit_id, expires_at=NOW + timedelta(hours=1))
    async with sessionmaker() as session:
        assert isinstance(await InviteRepository(session).redeem_lookup(token, NOW), Invite)
        later = NOW + timedelta(hours=1)
        assert await InviteRepository(session).redeem_lookup(token, later) is InviteProblem.EXPIRED
        # A non-UTC "now" means the same instant.
        hanoi = later.astimezone(timezone(timedelta(hours=7)))
        assert await InviteRepository(session).redeem_lookup(token, hanoi) is InviteProblem.EXPIRED


async def test_revocation(sessionmaker: Sessions, unit_id: int) -> None:
    token, invite_id = await make(sessionmaker, unit_id)
    async with sessionmaker() as session, session.begin():
        revoked = await InviteRepository(session).revoke(invite_id, NOW)
        assert revoked is not None
        assert revoked.revoked_at == NOW
    async with sessionmaker() as session, session.begin():
        again = await InviteRepository(session).revoke(invite_id, NOW + timedelta(days=1))
        assert again is not None
        assert again.revoked_at == NOW  # the first revocation stands
        assert await InviteRepository(session).revoke(999_999, NOW) is None
    async with sessionmaker() as session:
        assert await InviteRepository(session).redeem_lookup(token, NOW) is InviteProblem.REVOKED


async def test_use_limit(sessionmaker: Sessions, unit_id: int, person_id: int) -> None:
    token, _ = await make(sessionmaker, unit_id, max_uses=2)
    for expected_uses in (1, 2):
        async with sessionmaker() as session, session.begin():
            invite = await InviteRepository(session).redeem_lookup(token, NOW)
            assert isinstance(invite, Invite)
            assert await InviteRepository(session).record_use(invite, person_id=person_id, now=NOW)
            assert invite.uses == expected_uses
    async with sessionmaker() as session, session.begin():
        assert await InviteRepository(session).redeem_lookup(token, NOW) is InviteProblem.USED_UP
        stale = await session.scalar(select(Invite).where(Invite.token_hash == hash_token(token)))
        assert stale is not None
        # the UPDATE itself refuses
        assert not await InviteRepository(session).record_use(stale, person_id=person_id, now=NOW)


async def test_unlimited_invite(sessionmaker: Sessions, unit_id: int, person_id: int) -> None:
    token, _ = await make(sessionmaker, unit_id, max_uses=None)
    async with sessionmaker() as session, session.begin():
        invite = await InviteRepository(session).redeem_lookup(token, NOW)
        assert isinstance(invite, Invite)
        for _ in range(50):
            assert await InviteRepository(session).record_use(invite, person_id=person_id, now=NOW)
        assert invite.uses == 50
        assert await InviteRepository(session).redeem_lookup(token, NOW) is invite


async def test_concurrent_redemptions_respect_the_limit(
    sessionmaker: Sessions, unit_id: int, person_id: int
) -> None:
    token, invite_id = await make(sessionmaker, unit_id, max_uses=1)

    async def redeem() -> bool:
        async with sessionmaker() as session, session.begin():
            invite = await InviteRepository(session).redeem_lookup(token, NOW)
            if not isinstance(invite, Invite):
                return False
            await asyncio.sleep(0.05)  # the join takes a moment
            return await InviteRepository(session).record_use(invite, person_id=person_id, now=NOW)

    outcomes = await asyncio.gather(*(redeem() for _ in range(5)))
    assert outcomes.count(True) == 1
    async with sessionmaker() as session:
        invite = await session.get(Invite, invite_id)
        assert invite is not None
        assert invite.uses == 1
        assert [
            len(found)
            for found in (await InviteRepository(session).redemptions([invite_id])).values()
        ] == [1]


async def test_create_invite_validation(sessionmaker: Sessions, unit_id: int) -> None:
    async with sessionmaker() as session:
        with pytest.raises(ValueError):
            await InviteRepository(session).create(
                unit_id=unit_id, role="boss", max_uses=None, expires_at=None, note=None
            )
        with pytest.raises(ValueError):
            await InviteRepository(session).create(
                unit_id=unit_id, role="member", max_uses=0, expires_at=None, note=None
            )
        with pytest.raises(ValueError, match="100000"):
            await InviteRepository(session).create(
                unit_id=unit_id,
                role="member",
                max_uses=MAX_USES + 1,
                expires_at=None,
                note=None,
            )
        with pytest.raises(ValueError):
            await InviteRepository(session).create(
                unit_id=unit_id,
                role="member",
                max_uses=None,
                expires_at=datetime(2026, 1, 1),  # naive on purpose
                note=None,
            )
        with pytest.raises(ValueError):
            await InviteRepository(session).redeem_lookup(new_token(), datetime(2026, 1, 1))


async def test_each_use_records_who_joined_and_when(
    sessionmaker: Sessions, unit_id: int, person_id: int
) -> None:
    """``invites list`` shows the operator who joined through each invite."""
    token, invite_id = await make(sessionmaker, unit_id, max_uses=2)
    _, other_id = await make(sessionmaker, unit_id)
    second = await add_person(sessionmaker, "Trần Văn Bình")
    third = await add_person(sessionmaker, "Lê Hoa")
    for who, minutes in ((person_id, 0), (second, 5), (third, 9)):
        async with sessionmaker() as session, session.begin():
            invite = await InviteRepository(session).redeem_lookup(token, NOW)
            if isinstance(invite, Invite):
                await InviteRepository(session).record_use(
                    invite, person_id=who, now=NOW + timedelta(minutes=minutes)
                )
    async with sessionmaker() as session:
        found = await InviteRepository(session).redemptions([invite_id, other_id])
    assert found == {
        invite_id: [
            ("Nguyễn Thị Lan", NOW),
            ("Trần Văn Bình", NOW + timedelta(minutes=5)),
        ],
        other_id: [],
    }
