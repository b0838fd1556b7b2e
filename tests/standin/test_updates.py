"""getUpdates as Telegram runs it: confirmation by offset, long polling, conflicts, webhooks."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from standins.telegram import StandinClient, StandinServer
from standins.telegram.errors import GET_UPDATES_TERMINATED, GET_UPDATES_WITH_WEBHOOK
from tests.standin.conftest import RawCall


async def updates(api: RawCall, **params: object) -> list[dict[str, Any]]:
    status, body = await api("getUpdates", **params)
    assert status == 200, body
    result: list[dict[str, Any]] = body["result"]
    return result


async def test_updates_stay_until_an_offset_confirms_them(
    api: RawCall, client: StandinClient
) -> None:
    for text in ("một", "hai", "ba"):
        await client.send_text(1001, text)
    first = await updates(api)
    assert [u["message"]["text"] for u in first] == ["một", "hai", "ba"]
    assert await updates(api) == first  # nothing confirmed yet
    ids = [u["update_id"] for u in first]
    assert ids == sorted(ids) and ids[1] == ids[0] + 1
    assert [u["update_id"] for u in await updates(api, offset=ids[1])] == ids[1:]
    assert [u["update_id"] for u in await updates(api)] == ids[1:]  # ids[0] is gone for good
    assert await updates(api, offset=ids[-1] + 1) == []


async def test_negative_offset_and_limit(api: RawCall, client: StandinClient) -> None:
    for number in range(5):
        await client.send_text(1001, f"tin {number}")
    assert [u["message"]["text"] for u in await updates(api, limit=2)] == ["tin 0", "tin 1"]
    assert len(await updates(api, limit=0)) == 1  # limits are clamped to 1-100
    newest = await updates(api, offset=-2)
    assert [u["message"]["text"] for u in newest] == ["tin 3", "tin 4"]
    assert await updates(api) == newest  # the three before were forgotten


async def test_long_poll_returns_as_soon_as_an_update_arrives(
    api: RawCall, client: StandinClient, server: StandinServer
) -> None:
    started = time.monotonic()
    poll = asyncio.create_task(updates(api, timeout=20))
    await server.world.wait_until(lambda: server.world.calls, 5)
    await client.send_text(1001, "dậy đi")
    [update] = await poll
    assert update["message"]["text"] == "dậy đi"
    assert time.monotonic() - started < 5


async def test_long_poll_times_out_empty(api: RawCall) -> None:
    started = time.monotonic()
    assert await updates(api, timeout=1) == []
    assert 0.9 <= time.monotonic() - started < 5


async def test_a_second_getupdates_ends_the_first_with_409(
    api: RawCall, server: StandinServer
) -> None:
    first = asyncio.create_task(api("getUpdates", timeout=20))
    await server.world.wait_until(lambda: server.world.calls, 5)
    second = asyncio.create_task(api("getUpdates", timeout=1))
    assert await first == (
        409,
        {"ok": False, "error_code": 409, "description": f"Conflict: {GET_UPDATES_TERMINATED}"},
    )
    assert (await second)[0] == 200


async def test_allowed_updates_are_remembered(api: RawCall, client: StandinClient) -> None:
    await updates(api, allowed_updates=["callback_query"])
    sent = await client.send_text(1001, "not delivered")
    assert sent["update_id"] is None
    await updates(api, allowed_updates=[])  # back to the default set
    assert (await client.send_text(1001, "delivered"))["update_id"] is not None


async def test_webhook_blocks_getupdates_until_deleted(api: RawCall, client: StandinClient) -> None:
    await client.send_text(1001, "chờ")
    assert (await api("setWebhook", url="https://bot.example.org/hook"))[0] == 400
    assert (await api("setWebhook", url="http://127.0.0.1:8443/hook", secret_token="s"))[0] == 200
    _, info = await api("getWebhookInfo")
    assert info["result"]["url"] == "http://127.0.0.1:8443/hook"
    assert info["result"]["pending_update_count"] == 1
    assert await api("getUpdates") == (
        409,
        {"ok": False, "error_code": 409, "description": f"Conflict: {GET_UPDATES_WITH_WEBHOOK}"},
    )
    assert (await api("deleteWebhook", drop_pending_updates=True))[0] == 200
    assert await updates(api) == []
    assert (await api("setWebhook", url=""))[0] == 200  # an empty url removes it, too


async def test_update_ids_keep_growing_across_reset(api: RawCall, client: StandinClient) -> None:
    before = (await client.send_text(1001, "trước"))["update_id"]
    await client.reset()
    after = (await client.send_text(1001, "sau"))["update_id"]
    assert after > before
    assert [u["update_id"] for u in await updates(api, offset=before + 1)] == [after]
