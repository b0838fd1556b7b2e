"""Scripted faults and Telegram's flood limits, as both bot libraries experience them."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from telegram import Bot as PtbBot
from telegram.error import NetworkError, RetryAfter

from standins.telegram import EXAMPLE_TOKEN, StandinClient, StandinError, StandinServer
from tests.standin.conftest import RawCall

USER = 1001
pytestmark = pytest.mark.usefixtures("started_user")


@pytest.fixture
async def bot(server: StandinServer) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(server.base_url))
    aiogram_bot = Bot(EXAMPLE_TOKEN, session=session)
    try:
        yield aiogram_bot
    finally:
        await aiogram_bot.session.close()


async def test_retry_after_has_telegrams_shape(api: RawCall, client: StandinClient) -> None:
    [rule] = await client.add_faults(
        {"kind": "retry_after", "method": "sendMessage", "retry_after": 7}
    )
    assert await api("sendMessage", chat_id=USER, text="x") == (
        429,
        {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 7",
            "parameters": {"retry_after": 7},
        },
    )
    assert (await api("sendMessage", chat_id=USER, text="x"))[0] == 200  # times defaults to 1
    [after] = await client.faults()
    assert after["id"] == rule["id"] and after["hits"] == 1
    [call, _] = await client.calls("sendMessage")
    assert call["status"] == 429 and call["fault"] == rule["id"]


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_both_libraries_see_retry_after(
    bot: Bot, server: StandinServer, client: StandinClient
) -> None:
    await client.add_faults({"kind": "retry_after", "retry_after": 3, "times": 2, "chat_id": USER})
    with pytest.raises(TelegramRetryAfter) as aiogram_error:
        await bot.send_message(USER, "x")
    assert aiogram_error.value.retry_after == 3
    async with PtbBot(EXAMPLE_TOKEN, base_url=f"{server.base_url}/bot") as ptb:
        with pytest.raises(RetryAfter, match="Retry in 3 seconds"):
            await ptb.send_message(USER, "x")


async def test_server_errors_json_and_nginx_html(
    bot: Bot, api: RawCall, client: StandinClient
) -> None:
    await client.add_faults(
        {"kind": "error", "status": 500, "method": "sendMessage"},
        {"kind": "error", "status": 502, "format": "html", "method": "sendMessage"},
    )
    assert await api("sendMessage", chat_id=USER, text="x") == (
        500,
        {"ok": False, "error_code": 500, "description": "Internal Server Error"},
    )
    status, body = await api("sendMessage", chat_id=USER, text="x")
    assert status == 502 and "502 Bad Gateway" in body
    await client.add_faults({"kind": "error", "status": 502, "method": "getMe"})
    with pytest.raises(TelegramServerError, match="Bad Gateway"):
        await bot.get_me()


async def test_dropped_connections_and_lost_answers(
    bot: Bot, server: StandinServer, client: StandinClient
) -> None:
    await client.add_faults({"kind": "drop", "method": "sendMessage"})
    with pytest.raises(TelegramNetworkError):
        await bot.send_message(USER, "lost on the way")
    assert await client.messages(USER) == []

    # phase "after": the message is sent, but the bot never hears so and may send it twice.
    await client.add_faults({"kind": "drop", "method": "sendMessage", "phase": "after"})
    async with PtbBot(EXAMPLE_TOKEN, base_url=f"{server.base_url}/bot") as ptb:
        with pytest.raises(NetworkError):
            await ptb.send_message(USER, "sent, answer lost")
    assert [m["text"] for m in await client.messages(USER)] == ["sent, answer lost"]


async def test_delay_and_seeded_rate(api: RawCall, client: StandinClient) -> None:
    await client.add_faults({"kind": "delay", "delay": 0.3, "method": "getMe"})
    started = time.monotonic()
    assert (await api("getMe"))[0] == 200
    assert time.monotonic() - started >= 0.3

    async def pattern() -> list[int]:
        await client.clear_faults()
        await client.add_faults(
            {
                "kind": "error",
                "status": 500,
                "method": "getChat",
                "rate": 0.5,
                "seed": 7,
                "times": None,
            }
        )
        return [(await api("getChat", chat_id=USER))[0] for _ in range(12)]

    first = await pattern()
    assert first == await pattern()  # the same seed gives the same faults
    assert 0 < first.count(500) < 12


async def test_bad_fault_rules_are_refused(client: StandinClient) -> None:
    with pytest.raises(StandinError, match="fault kind"):
        await client.add_faults({"kind": "meteor"})
    with pytest.raises(StandinError, match="rate"):
        await client.add_faults({"kind": "error", "rate": 2})


async def test_limits_mode_enforces_per_chat_and_group_limits(
    api: RawCall, client: StandinClient
) -> None:
    await client.set_limits(private_burst=2, group_per_minute=3, group_burst=3)
    statuses = [(await api("sendMessage", chat_id=USER, text=str(n)))[0] for n in range(3)]
    assert statuses == [200, 200, 429]
    _, refused = await api("sendMessage", chat_id=USER, text="again")
    assert refused["parameters"]["retry_after"] >= 1
    assert refused["description"].startswith("Too Many Requests: retry after ")

    group = await client.create_group("Nhóm", [USER])
    await client.startgroup(USER, group["id"])
    group_statuses = [
        (await api("sendMessage", chat_id=group["id"], text=str(n)))[0] for n in range(4)
    ]
    assert group_statuses == [200, 200, 200, 429]
    limits = await client.limits()
    assert limits["too_many_requests"] == 3
    assert limits["too_many_requests_by_chat"] == {str(USER): 2, str(group["id"]): 1}

    await client.set_limits(enabled=False)
    assert (await api("sendMessage", chat_id=USER, text="free again"))[0] == 200


async def test_limits_mode_global_rate(api: RawCall, client: StandinClient) -> None:
    await client.set_limits(global_per_second=2, global_burst=2, private_burst=50)
    statuses = [(await api("sendMessage", chat_id=USER, text=str(n)))[0] for n in range(3)]
    assert statuses == [200, 200, 429]
