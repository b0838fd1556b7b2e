"""The command line's ``--now`` (a time without a zone is Vietnam time) and its answer on
a database that was never migrated (issue 16): it names ``python -m bot migrate`` and
exits 2, with no traceback."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner, Result

from bot import cli
from bot.cli.common import moment_of
from bot.config import ENV_OVERRIDES
from storage.db import create_engine, create_sessionmaker
from storage.models import ProcessedUpdate
from storage.schema import FIX_COMMAND, upgrade
from storage.uow import UnitOfWork


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for variable in ENV_OVERRIDES:
        monkeypatch.delenv(variable, raising=False)
    config = tmp_path / "config.yaml"
    config.write_text("zalo:\n  enabled: false\nretention:\n  days: 7\n", encoding="utf-8")
    monkeypatch.setenv("COLUMNS", "200")  # rich wraps long lines to the terminal
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    return {"SANGKIEN_CONFIG": str(config), "DATABASE_URL": url}


def invoke(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli.app, list(args), env=env)


def test_a_now_without_a_zone_is_vietnam_time(env: dict[str, str]) -> None:
    url = env["DATABASE_URL"]
    handled = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)  # 10:00 on 06/12 in Vietnam

    async def seed() -> None:
        await upgrade(url)
        engine = create_engine(url)
        try:
            async with UnitOfWork(create_sessionmaker(engine)) as uow:
                await uow.updates.claim("telegram", 1, handled)
                await uow.commit()
        finally:
            await engine.dispose()

    async def left() -> int:
        engine = create_engine(url)
        try:
            async with UnitOfWork(create_sessionmaker(engine)) as uow:
                count = select(func.count()).select_from(ProcessedUpdate)
                return int(await uow.session.scalar(count) or 0)
        finally:
            await engine.dispose()

    asyncio.run(seed())
    # 09:30 on 13/12 in Vietnam is half an hour short of the 7-day window (read as UTC,
    # it would be 16:30 in Vietnam, past it).
    result = invoke(env, "prune", "--now", "2026-12-13T09:30")
    assert result.exit_code == 0, result.output
    assert asyncio.run(left()) == 1
    result = invoke(env, "prune", "--now", "2026-12-13T10:30")
    assert result.exit_code == 0, result.output
    assert asyncio.run(left()) == 0
    # A time with its zone is taken as it is.
    assert moment_of("2026-12-13T10:30+00:00") == datetime(2026, 12, 13, 10, 30, tzinfo=UTC)
    assert moment_of("2026-12-13T10:30") == datetime(2026, 12, 13, 3, 30, tzinfo=UTC)


@pytest.mark.parametrize("command", ["reminders", "digest", "prune", "nudges"])
def test_the_help_says_a_now_without_a_zone_is_vietnam_time(
    env: dict[str, str], command: str
) -> None:
    result = invoke(env, command, "--help")
    assert result.exit_code == 0
    assert "Vietnam time" in " ".join(result.output.split())


def _csv(tmp: Path) -> str:
    path = tmp / "rows.csv"
    path.write_text("code,name,kind,parent_code\n", encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    "args",
    [
        ["reminders"],
        ["digest"],
        ["prune"],
        ["nudges"],
        ["invite", "--unit", "X", "--bot-username", "b"],
        ["invites", "list"],
        ["invites", "revoke", "1"],
        ["campaigns", "list"],
        ["campaigns", "add", "C1", "--name", "n", "--start", "2026-01-01", "--end", "2026-02-01"],
        ["units", "import", "CSV"],
        ["quotas", "import", "CSV"],
        ["progress", "rebuild"],
    ],
    ids=lambda args: "-".join(a for a in args if not a.startswith("-"))[:30],
)
def test_a_database_never_migrated_gets_the_command_to_run(
    env: dict[str, str], tmp_path: Path, args: list[str]
) -> None:
    args = [_csv(tmp_path) if a == "CSV" else a for a in args]
    result = invoke(env, *args)
    assert result.exit_code == 2, result.output
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), result.exception
    assert FIX_COMMAND in " ".join(result.output.split())
    assert "Traceback" not in result.output
