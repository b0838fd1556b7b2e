"""Runs the real bot process against the in-process Bot API stand-in.

The tests talk to the bot only through the stand-in's control API (as users would
through Telegram) and read only what the bot sent back.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from standins.telegram.client import StandinClient

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_TREE = ROOT / "storage" / "sample" / "union_tree.csv"
TOKEN = "123456789:AAHe2eTestTokenForTheStandInServer01"
BOT_USERNAME = "sangkien_bot"
READY_LINE = "polling ("
DASHBOARD_LINE = re.compile(r"dashboard at (http\S+/app/)")

JSON = dict[str, Any]


def cli(env: dict[str, str], *args: str) -> str:
    """Run ``python -m bot ARGS`` (the real CLI) and return what it printed."""
    result = subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"bot {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


_TEMPLATES: dict[str, Path] = {}


def migrated_with_sample_tree(env: dict[str, str]) -> None:
    """The database of ``env`` migrated and holding the sample union tree.

    A SQLite database is a copy of one the real CLI (``migrate``, then ``units import``)
    made once per test session: two fewer interpreter start-ups for every test (about
    five seconds of CPU). Any other database gets the two commands themselves.
    """
    url = env["DATABASE_URL"]
    prefix = "sqlite+aiosqlite:///"
    if not url.startswith(prefix):
        cli(env, "migrate")
        cli(env, "units", "import", str(SAMPLE_TREE))
        return
    template = _TEMPLATES.get("sample")
    if template is None:
        folder = Path(tempfile.mkdtemp(prefix="e2e-template-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        made = base_env(folder, "http://127.0.0.1:9")  # the CLI never calls Telegram here
        cli(made, "migrate")
        cli(made, "units", "import", str(SAMPLE_TREE))
        template = _TEMPLATES["sample"] = folder / "bot.db"
        # The CLI's last connection closed: everything is in the file, no -wal beside it.
        assert not template.with_name("bot.db-wal").exists()
    target = Path(url.removeprefix(prefix))
    assert not target.exists(), target
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, target)


@dataclass
class BotProcess:
    """One run of ``python -m bot run``; its log goes to a file the test can read."""

    env: dict[str, str]
    log_path: Path
    process: asyncio.subprocess.Process | None = None
    _log_offset: int = field(default=0)
    args: tuple[str, ...] = ()  # after `python -m bot run`, e.g. ("--webhook",)
    ready_line: str = READY_LINE

    async def start(self, timeout: float = 30.0) -> None:
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = self.log_path.open("ab")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            *self.args,
            env=self.env,
            cwd=ROOT,
            stdout=log,
            stderr=log,
        )
        log.close()
        await self._wait_ready(timeout)

    async def _wait_ready(self, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if self.ready_line in self.new_log():
                return
            assert self.process is not None
            if self.process.returncode is not None:
                raise AssertionError(f"the bot exited at start:\n{self.new_log()}")
            await asyncio.sleep(0.05)
        raise AssertionError(f"the bot did not start within {timeout} s:\n{self.new_log()}")

    def new_log(self) -> str:
        if not self.log_path.exists():
            return ""
        with self.log_path.open("rb") as f:
            f.seek(self._log_offset)
            return f.read().decode("utf-8", "replace")

    def dashboard_url(self) -> str:
        """The dashboard's page this run listens on ("http://127.0.0.1:PORT/app/"): the
        harness gives it any free port (WEB_PORT=0) and the bot logs where it is."""
        found = DASHBOARD_LINE.findall(self.new_log())
        assert found, f"the bot logged no dashboard address:\n{self.new_log()}"
        return str(found[-1])

    def full_log(self) -> str:
        return self.log_path.read_text("utf-8", "replace") if self.log_path.exists() else ""

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        if self.process is None or self.process.returncode is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(sig)
        try:
            return await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            raise AssertionError(f"the bot did not stop within {timeout} s") from None

    async def kill(self) -> None:
        await self.stop(signal.SIGKILL)


class Person:
    """A Telegram user talking to the bot through the stand-in."""

    def __init__(self, client: StandinClient, user_id: int) -> None:
        self.client = client
        self.id = user_id

    async def start(self, payload: str | None = None, count: int = 1) -> list[JSON]:
        return await self.client.wait_reply(await self.client.start(self.id, payload), count)

    async def say(self, text: str, count: int = 1) -> list[JSON]:
        return await self.client.wait_reply(await self.client.send_text(self.id, text), count)

    async def send_photo(self, caption: str | None = None, count: int = 1) -> list[JSON]:
        sent = await self.client.send_photo(self.id, caption=caption)
        return await self.client.wait_reply(sent, count)

    async def press(self, message: JSON, label: str) -> JSON:
        """Press the button whose label contains ``label`` and wait for the bot to react."""
        data = button_data(message, label)
        calls_before = len(await self.client.calls())
        await self.client.press(self.id, self.id, message["message_id"], data=data)
        await self.client.wait_calls("answerCallbackQuery", since=calls_before)
        await self.client.wait_quiet(0.3)
        return await self.client.message(self.id, message["message_id"])

    async def last(self) -> JSON:
        messages = await self.client.messages(self.id)
        assert messages, "the bot sent nothing to this chat"
        return messages[-1]

    async def all(self) -> list[JSON]:
        return await self.client.messages(self.id)


def buttons(message: JSON) -> list[JSON]:
    markup = message.get("reply_markup") or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


def labels(message: JSON) -> list[str]:
    return [b["text"] for b in buttons(message)]


def button_data(message: JSON, label: str) -> str:
    for b in buttons(message):
        if label in b["text"]:
            return str(b["callback_data"])
    raise AssertionError(f"no button {label!r} in {labels(message)}")


def text_of(message: JSON) -> str:
    """The text as the user sees it (HTML markup stripped)."""
    for key in ("plain_text", "text", "caption"):
        if message.get(key):
            return str(message[key])
    return ""


def link_token(cli_output: str) -> str:
    match = re.search(r"\?start=([A-Za-z0-9_-]+)", cli_output)
    assert match, cli_output
    return match.group(1)


def base_env(tmp: Path, api_base: str, framework: str = "aiogram") -> dict[str, str]:
    prefixes = ("TELEGRAM_", "DATABASE_", "WEB_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE=api_base,
        TELEGRAM_FRAMEWORK=framework,
        TELEGRAM_POLLING_TIMEOUT="2",
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp / 'bot.db'}",
        # The dashboard on any free port (BotProcess.dashboard_url): bot processes of
        # tests running at once never fight over one.
        WEB_PORT="0",
        LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    return env
