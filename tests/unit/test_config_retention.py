"""The retention window of handled update ids and inbox rows: config.yaml, environment,
validation, and ``python -m bot prune``."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select
from typer.testing import CliRunner

from bot import cli
from bot.config import (
    DEFAULT_CONFIG,
    ENV_OVERRIDES,
    ConfigError,
    RetentionSettings,
    Settings,
    load_settings,
)
from storage.db import create_engine, create_sessionmaker
from storage.models import ProcessedUpdate
from storage.schema import upgrade
from storage.uow import UnitOfWork


def _load(tmp_path: Path, text: str = "", env: dict[str, str] | None = None) -> Settings:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return load_settings(path, env=env or {})


def test_the_window_is_a_week_by_default_and_can_be_set(tmp_path: Path) -> None:
    assert _load(tmp_path).retention.days == 7
    assert _load(tmp_path, "retention:\n  days: 30\n").retention.days == 30
    over = _load(tmp_path, "retention:\n  days: 30\n", env={"RETENTION_DAYS": "3"})
    assert over.retention.days == 3
    minutes = _load(tmp_path, env={"RETENTION_CHECK_MINUTES": "15"})
    assert minutes.retention.check_minutes == 15


@pytest.mark.parametrize("days", ["1", "0", "-7"])
def test_a_window_inside_telegrams_redelivery_is_refused(days: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"retention\.days"):
        _load(tmp_path, env={"RETENTION_DAYS": days})


def test_a_pass_interval_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"retention\.check_minutes"):
        _load(tmp_path, env={"RETENTION_CHECK_MINUTES": "0"})


def test_config_yaml_documents_the_retention_settings() -> None:
    text = DEFAULT_CONFIG.read_text(encoding="utf-8")
    documented = yaml.safe_load(text)["retention"]
    assert documented == {"days": 7, "check_minutes": 60}
    for variable, (section, _) in ENV_OVERRIDES.items():
        if section == "retention":
            assert f"# {variable}" in text, variable
    assert load_settings(DEFAULT_CONFIG, env={}).retention == RetentionSettings()


def test_prune_command_deletes_what_is_past_the_window(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    now = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)

    async def seed() -> None:
        await upgrade(url)
        engine = create_engine(url)
        try:
            async with UnitOfWork(create_sessionmaker(engine)) as uow:
                for update_id, age in ((1, 9), (2, 8), (3, 1)):
                    await uow.updates.claim("telegram", update_id, now - timedelta(days=age))
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
    config = tmp_path / "config.yaml"
    config.write_text("zalo:\n  enabled: false\n", encoding="utf-8")
    for variable in ENV_OVERRIDES:
        monkeypatch.delenv(variable, raising=False)
    env = {"SANGKIEN_CONFIG": str(config), "DATABASE_URL": url}
    result = CliRunner().invoke(cli.app, ["prune", "--now", now.isoformat()], env=env)
    assert result.exit_code == 0, result.output
    assert "2 handled update ids" in result.output
    assert asyncio.run(left()) == 1
    # As of a moment long after: the remaining one goes too.
    later = (now + timedelta(days=30)).isoformat()
    result = CliRunner().invoke(cli.app, ["prune", "--now", later], env=env)
    assert result.exit_code == 0 and asyncio.run(left()) == 0
