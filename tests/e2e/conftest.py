from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from standins.telegram.client import StandinClient
from standins.telegram.server import StandinServer
from tests.e2e.harness import BotProcess, base_env, cli, migrated_with_sample_tree

FRAMEWORKS = ["aiogram", "ptb"]


@dataclass
class World:
    server: StandinServer
    client: StandinClient
    bot: BotProcess
    env: dict[str, str]
    tmp: Path

    def invite(self, unit: str, role: str = "member", *extra: str) -> str:
        return cli(
            self.env,
            "invite",
            "--unit",
            unit,
            "--role",
            role,
            "--bot-username",
            "sangkien_bot",
            *extra,
        )


@pytest.fixture(params=FRAMEWORKS)
def framework(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def world(tmp_path: Path, framework: str) -> AsyncIterator[World]:
    async with StandinServer(port=0) as server:
        env = base_env(tmp_path, server.base_url, framework)
        migrated_with_sample_tree(env)
        bot = BotProcess(env, tmp_path / "bot.log")
        client = server.client()
        try:
            await bot.start()
            yield World(server, client, bot, env, tmp_path)
        finally:
            await bot.stop()
            await client.close()
            log = bot.full_log()
            assert "Traceback" not in log, log
