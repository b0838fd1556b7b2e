"""At LOG_LEVEL=DEBUG the bot's log carries no idea text, name, phone number or token.

The real bot process, on both frameworks, against the stand-in: a worker with a
distinctive name joins by invite link, sends an idea with a phone number in it and
shares a contact. Everything the process wrote (stdout and stderr) is then searched
for those strings. The log must still say something useful: which updates came in.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from standins.telegram.server import StandinServer
from tests.e2e.conftest import FRAMEWORKS
from tests.e2e.harness import (
    TOKEN,
    BotProcess,
    Person,
    base_env,
    cli,
    link_token,
    migrated_with_sample_tree,
)

WORKER = 7_771_001
FIRST, LAST, USERNAME = "Xuyến", "Khổng Thị", "xuyen_det_may_77"
PHONE, CONTACT_PHONE = "0912 345 678", "+84987654321"
IDEA = f"Dời bàn ủi hơi sang cạnh cửa sổ thông gió, chị Xuyến gọi {PHONE} nếu cần"


@pytest.fixture(params=FRAMEWORKS)
def framework(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def log_of_a_conversation(tmp_path: Path, framework: str) -> AsyncIterator[tuple[str, str]]:
    """The whole log of a bot process at DEBUG that served one private conversation."""
    async with StandinServer(port=0) as server:
        env = base_env(tmp_path, server.base_url, framework) | {"LOG_LEVEL": "DEBUG"}
        migrated_with_sample_tree(env)
        token = link_token(
            cli(env, "invite", "--unit", "HCM-Q7-CTYMAY", "--bot-username", "sangkien_bot")
        )
        bot = BotProcess(env, tmp_path / "bot.log")
        client = server.client()
        try:
            await bot.start()
            await client.upsert_user(
                WORKER, FIRST, last_name=LAST, username=USERNAME, language_code="vi"
            )
            worker = Person(client, WORKER)
            await worker.start(token)
            await worker.say("/idea")
            await worker.say(IDEA)
            await client.send_contact(WORKER, CONTACT_PHONE, FIRST, last_name=LAST)
            await client.wait_quiet(0.5)
        finally:
            await bot.stop()
            await client.close()
        yield bot.full_log(), token


async def test_the_debug_log_names_nobody_and_quotes_nothing(
    log_of_a_conversation: tuple[str, str], framework: str
) -> None:
    log, invite_token = log_of_a_conversation
    secret, digits = TOKEN.split(":", 1)[1], re.sub(r"\D", "", PHONE)
    for private in (FIRST, LAST, USERNAME, PHONE, digits, CONTACT_PHONE, "987654321",
                    "bàn ủi hơi", "ban ui hoi", invite_token, secret):  # fmt: skip
        found = [line for line in log.splitlines() if private in line]
        assert not found, f"{private!r} is in the log:\n" + "\n".join(found[:5])
    assert "Traceback" not in log
    # Still useful: the updates that came in are named by id.
    assert re.search(r"update telegram:\d+ handled", log), log[-3000:]
    if framework == "aiogram":  # what every form needs, built once the bot was up
        assert re.search(r"\b9 aiogram models built ahead", log), log[-3000:]
    if framework == "ptb":  # python-telegram-bot's own lines keep their methods and ids
        assert "Bot API endpoint `getUpdates` answered: update ids 1" in log, log[-3000:]
