"""Telegram's webhook settings: defaults, config.yaml, environment, validation, the CLI."""

from __future__ import annotations

import asyncio
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from bot import cli
from bot.config import (
    DEFAULT_CONFIG,
    ENV_OVERRIDES,
    ConfigError,
    Settings,
    TelegramSettings,
    load_settings,
)

WEBHOOK_ENV = {
    "TELEGRAM_WEBHOOK_URL": "https://bot.example.org/tg/hook",
    "TELEGRAM_WEBHOOK_SECRET": "Abc_def-123",
    "TELEGRAM_WEBHOOK_LISTEN": "0.0.0.0",
    "TELEGRAM_WEBHOOK_PORT": "9443",
    "TELEGRAM_WEBHOOK_PATH": "/tg/hook",
    "TELEGRAM_WEBHOOK_MAX_CONNECTIONS": "80",
}
WEBHOOK_FIELDS = [f.name for f in fields(TelegramSettings) if f.name.startswith("webhook_")]


def _load(tmp_path: Path, text: str = "", env: dict[str, str] | None = None) -> Settings:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return load_settings(path, env=env or {})


def test_the_defaults_are_polling_and_say_what_webhook_mode_lacks(tmp_path: Path) -> None:
    telegram = _load(tmp_path).telegram
    assert (telegram.webhook_url, telegram.webhook_secret) == ("", "")
    assert telegram.webhook_listen == "127.0.0.1"
    assert 1 <= telegram.webhook_max_connections <= 100
    problem = telegram.webhook_problem()
    assert problem is not None
    for name in ("telegram.token", "telegram.webhook_url", "telegram.webhook_secret"):
        assert name in problem
    assert "TELEGRAM_WEBHOOK_SECRET" in problem


def test_the_environment_sets_every_webhook_setting(tmp_path: Path) -> None:
    settings = _load(tmp_path, env={"TELEGRAM_BOT_TOKEN": "1:x", **WEBHOOK_ENV})
    telegram = settings.telegram
    assert telegram.webhook_url == "https://bot.example.org/tg/hook"
    assert telegram.webhook_secret == "Abc_def-123"
    assert telegram.webhook_listen == "0.0.0.0"
    assert telegram.webhook_port == 9443
    assert telegram.webhook_path == "/tg/hook"
    assert telegram.webhook_max_connections == 80
    assert telegram.webhook_problem() is None
    # One variable for each setting, and no other.
    named = {key for section, key in ENV_OVERRIDES.values() if section == "telegram"}
    assert set(WEBHOOK_FIELDS) <= named


def test_the_environment_wins_over_the_file(tmp_path: Path) -> None:
    text = "telegram:\n  webhook_port: 7000\n  webhook_secret: from_file\n"
    assert _load(tmp_path, text).telegram.webhook_port == 7000
    settings = _load(tmp_path, text, env={"TELEGRAM_WEBHOOK_PORT": "7001"})
    assert settings.telegram.webhook_port == 7001
    assert settings.telegram.webhook_secret == "from_file"


def test_url_and_secret_without_a_token_is_still_not_enough(tmp_path: Path) -> None:
    env = {k: v for k, v in WEBHOOK_ENV.items() if k != "TELEGRAM_WEBHOOK_SECRET"}
    problem = _load(tmp_path, env=env).telegram.webhook_problem()
    assert problem is not None
    assert "webhook_secret" in problem and "token" in problem and "webhook_url" not in problem


@pytest.mark.parametrize(
    "secret",
    ["a", "A-Z_a-z-0-9", "x" * 256, "0123456789_-ABCdef"],
)
def test_secrets_telegram_accepts(secret: str) -> None:
    assert TelegramSettings(webhook_secret=secret).webhook_secret == secret


@pytest.mark.parametrize(
    "secret",
    [
        "x" * 257,
        "has space",
        "mật-khẩu",
        "semi;colon",
        "slash/",
        "dot.ted",
        "plus+",
        "new\nline",
        "tab\t",
    ],
)
def test_secrets_telegram_refuses_are_refused_without_showing_them(
    secret: str, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match="webhook_secret") as refused:
        _load(tmp_path, env={"TELEGRAM_WEBHOOK_SECRET": secret})
    assert secret not in str(refused.value)
    assert "1-256" in str(refused.value)


@pytest.mark.parametrize(
    "value, ok", [(0, False), (1, True), (40, True), (100, True), (101, False), (-5, False)]
)
def test_max_connections_is_1_to_100(value: int, ok: bool, tmp_path: Path) -> None:
    env = {"TELEGRAM_WEBHOOK_MAX_CONNECTIONS": str(value)}
    if ok:
        assert _load(tmp_path, env=env).telegram.webhook_max_connections == value
    else:
        with pytest.raises(ConfigError, match="webhook_max_connections"):
            _load(tmp_path, env=env)


def test_max_connections_must_be_a_number(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="webhook_max_connections"):
        _load(tmp_path, env={"TELEGRAM_WEBHOOK_MAX_CONNECTIONS": "many"})


@pytest.mark.parametrize("url", ["bot.example.org/hook", "ftp://bot.example.org/hook", "https://"])
def test_a_url_that_is_no_http_url_is_refused(url: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="webhook_url"):
        _load(tmp_path, env={"TELEGRAM_WEBHOOK_URL": url})


@pytest.mark.parametrize(
    "name, value",
    [
        ("TELEGRAM_WEBHOOK_PORT", "70000"),
        ("TELEGRAM_WEBHOOK_PORT", "-1"),
        ("TELEGRAM_WEBHOOK_PATH", "hook"),
    ],
)
def test_port_and_path_are_checked(name: str, value: str, tmp_path: Path) -> None:
    setting = name.removeprefix("TELEGRAM_").lower()
    with pytest.raises(ConfigError, match=setting):
        _load(tmp_path, env={name: value})


def test_config_yaml_documents_every_webhook_setting() -> None:
    text = DEFAULT_CONFIG.read_text(encoding="utf-8")
    documented = yaml.safe_load(text)["telegram"]
    for name in WEBHOOK_FIELDS:
        assert name in documented, name
        assert documented[name] == getattr(TelegramSettings(), name), name
    for variable in ENV_OVERRIDES:
        if variable.startswith("TELEGRAM_WEBHOOK_"):
            assert f"# {variable}" in text, variable
    # The shipped file loads as it is.
    assert load_settings(DEFAULT_CONFIG, env={}).telegram == TelegramSettings()


# ---------------------------------------------------------------- python -m bot run --webhook


@pytest.fixture
def run_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A config file of the test's own, no overrides from the real environment, and a
    run_bot that only records how it was called."""
    for variable in ENV_OVERRIDES:
        monkeypatch.delenv(variable, raising=False)
    config = tmp_path / "config.yaml"
    config.write_text("zalo:\n  enabled: false\n", encoding="utf-8")
    monkeypatch.setenv("SANGKIEN_CONFIG", str(config))
    monkeypatch.setattr(cli, "configure_logging", lambda level: None)
    calls: dict[str, Any] = {}

    async def fake_run_bot(settings: Settings, **kwargs: Any) -> None:
        calls["settings"] = settings
        calls.update(kwargs)
        await asyncio.sleep(0)

    monkeypatch.setattr("bot.app.run_bot", fake_run_bot)

    def tryit(settings: Settings) -> None:
        raise AssertionError("the try-it-out mode must not start")

    monkeypatch.setattr("standins.tryit.run_tryit", tryit)
    return calls


def _run(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(cli.app, ["run", *args], env=env)


def test_run_webhook_without_url_or_secret_says_what_is_missing(run_env: dict[str, Any]) -> None:
    result = _run("--webhook", env={"TELEGRAM_BOT_TOKEN": "1:x"})
    assert result.exit_code == 2
    assert "webhook_url" in result.output and "webhook_secret" in result.output
    assert run_env == {}  # the bot was never started


def test_run_webhook_without_a_token_does_not_fall_back_to_tryit(run_env: dict[str, Any]) -> None:
    result = _run("--webhook", env=WEBHOOK_ENV)
    assert result.exit_code == 2
    assert "TELEGRAM_BOT_TOKEN" in result.output
    assert run_env == {}


def test_run_webhook_runs_the_bot_in_webhook_mode(run_env: dict[str, Any]) -> None:
    result = _run("--webhook", env={"TELEGRAM_BOT_TOKEN": "1:x", **WEBHOOK_ENV})
    assert result.exit_code == 0, result.output
    assert run_env["webhook"] is True
    assert run_env["settings"].telegram.webhook_port == 9443


def test_run_without_the_flag_still_polls(run_env: dict[str, Any]) -> None:
    result = _run(env={"TELEGRAM_BOT_TOKEN": "1:x", **WEBHOOK_ENV})
    assert result.exit_code == 0, result.output
    assert run_env["webhook"] is False
