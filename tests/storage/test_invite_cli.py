"""``python -m bot invite`` and ``invites list``: limits, default expiry, who joined.

On SQLite and PostgreSQL (the ``db_url`` fixture). The CLI runs its own event loop, so
these tests are synchronous and set the database up with ``asyncio.run``.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from bot import cli
from bot.config import ENV_OVERRIDES
from storage.db import create_engine, create_sessionmaker
from storage.models import Invite, Person
from storage.repositories.invites import InviteRepository
from storage.schema import upgrade
from storage.units_import import SAMPLE_UNITS_CSV, import_units

UNIT = "HCM-Q7-CTYMAY"


@pytest.fixture
def database(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A migrated database with the sample units, and a config file that names it."""
    for variable in ENV_OVERRIDES:
        monkeypatch.delenv(variable, raising=False)
    config = tmp_path / "config.yaml"
    config.write_text(f"database:\n  url: {db_url!r}\nzalo:\n  enabled: false\n", "utf-8")
    monkeypatch.setenv("SANGKIEN_CONFIG", str(config))
    monkeypatch.setenv("COLUMNS", "200")  # rich wraps the table to the terminal

    async def prepare() -> None:
        await upgrade(db_url)
        engine = create_engine(db_url)
        try:
            await import_units(create_sessionmaker(engine), SAMPLE_UNITS_CSV)
        finally:
            await engine.dispose()

    asyncio.run(prepare())
    return db_url


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli.app, list(args), env=env)


def invites(db_url: str) -> list[Invite]:
    async def read() -> list[Invite]:
        engine = create_engine(db_url)
        try:
            async with create_sessionmaker(engine)() as session:
                return list(await session.scalars(select(Invite).order_by(Invite.id)))
        finally:
            await engine.dispose()

    return asyncio.run(read())


def issue(*args: str, env: dict[str, str] | None = None) -> tuple[str, Result]:
    result = invoke("invite", "--unit", UNIT, *args, env=env)
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()[0].rsplit("=", 1)[1], result


def no_traceback(result: Result) -> None:
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--days", "0"], "365"),
        (["--days", "-1"], "365"),
        (["--days", "366"], "365"),
        (["--days", "100000000"], "365"),
        (["--uses", "0"], "100,000"),
        (["--uses", "-3"], "100,000"),
        (["--uses", "100001"], "100,000"),
        (["--never-expires", "--days", "30"], "--never-expires"),
    ],
)
def test_an_invalid_limit_is_refused_politely_and_nothing_is_written(
    database: str, args: list[str], says: str
) -> None:
    result = invoke("invite", "--unit", UNIT, "--role", "support", *args)
    assert result.exit_code == 2, result.output
    no_traceback(result)
    assert says in result.output
    assert "?start=" not in result.output
    assert invites(database) == []


def test_the_help_states_the_limits() -> None:
    result = invoke("invite", "--help", env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for words in ("365", "100,000", "--never-expires", "role_days"):
        assert words in result.output


@pytest.mark.parametrize("role", ["support", "official", "admin"])
def test_a_role_invite_expires_after_the_configured_days(database: str, role: str) -> None:
    before = datetime.now(UTC)
    issue("--role", role)
    issue("--role", role, env={"INVITES_ROLE_DAYS": "2"})
    default, overridden = invites(database)
    assert default.expires_at is not None and overridden.expires_at is not None
    assert before + timedelta(days=7) <= default.expires_at <= datetime.now(UTC) + timedelta(days=7)
    assert overridden.expires_at - default.expires_at < timedelta(days=-4, hours=-23)


def test_never_expiring_takes_the_explicit_flag_and_members_keep_theirs(database: str) -> None:
    issue("--role", "admin", "--never-expires")
    issue("--role", "member")
    issue("--role", "member", "--days", "30", "--uses", "100000")
    admin, poster, limited = invites(database)
    assert admin.expires_at is None
    assert poster.expires_at is None and poster.max_uses is None
    assert limited.expires_at is not None and limited.max_uses == 100_000
    result = invoke("invites", "list")
    assert result.exit_code == 0
    assert result.output.count("never") == 2


def test_invites_list_shows_who_joined_and_when(database: str) -> None:
    token, _ = issue("--role", "member", "--uses", "5")
    issue("--role", "support")
    joined_at = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)  # 08:30 in Vietnam

    async def join(name: str) -> None:
        engine = create_engine(database)
        try:
            async with create_sessionmaker(engine)() as session, session.begin():
                person = Person(display_name=name, unreachable=False, created_at=joined_at)
                session.add(person)
                await session.flush()
                found: Any = await InviteRepository(session).redeem_lookup(token, joined_at)
                assert await InviteRepository(session).record_use(
                    found, person_id=person.id, now=joined_at
                )
        finally:
            await engine.dispose()

    asyncio.run(join("Nguyễn Thị Lan"))
    asyncio.run(join("Trần Văn Bình"))
    result = invoke("invites", "list")
    assert result.exit_code == 0, result.output
    assert "Nguyễn Thị Lan" in result.output and "Trần Văn Bình" in result.output
    assert "02/03/2026 08:30" in result.output
    assert "2/5" in result.output
