"""The Zalo stand-in speaks the documented wire format, and its control API."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp import web

from bot.zalo.api import ZaloApi, ZaloApiError
from standins.core.media import image_size
from standins.zalo import EXAMPLE_TOKEN, ZaloStandinClient, ZaloStandinServer

USER = "5d1c0a2b3e4f"


async def raw(server: ZaloStandinServer, path: str, body: object) -> tuple[int, dict[str, object]]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{server.base_url}{path}", json=body) as response,
    ):
        return response.status, await response.json()


async def test_get_me(api: ZaloApi) -> None:
    me = await api.get_me()
    assert me["id"] == EXAMPLE_TOKEN.split(":")[0]
    assert me["account_type"] == "BASIC" and me["can_join_groups"] is False


async def test_answers_have_the_documented_envelope(server: ZaloStandinServer) -> None:
    token = EXAMPLE_TOKEN
    status, body = await raw(server, f"/bot{token}/getMe", {})
    assert status == 200 and body["ok"] is True and "result" in body
    status, body = await raw(server, f"/bot{token}/sendMessage", {"text": "hi"})
    assert status == 400 and body == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: chat_id is required",
    }


async def test_bad_tokens_and_unknown_methods(server: ZaloStandinServer) -> None:
    status, body = await raw(server, "/botnot-a-token/getMe", {})
    assert status == 401 and body["error_code"] == 401
    status, body = await raw(server, f"/bot{EXAMPLE_TOKEN}/editMessageText", {})
    assert status == 404 and body["ok"] is False
    status, _ = await raw(server, f"/bot{EXAMPLE_TOKEN}/getMe", {})
    other = "99:" + EXAMPLE_TOKEN.split(":")[1]
    status, _ = await raw(server, f"/bot{other}/getMe", {})
    assert status == 401  # another bot's token, once the stand-in knows its bot


async def test_get_updates_gives_one_update_then_times_out(
    api: ZaloApi, people: ZaloStandinClient
) -> None:
    await people.send_text(USER, "xin chào")
    await people.send_text(USER, "lần hai")
    first = await api.get_updates(timeout=1)
    second = await api.get_updates(timeout=1)
    assert [u[0]["message"]["text"] for u in (first, second)] == ["xin chào", "lần hai"]
    assert first[0]["event_name"] == "message.text.received"
    assert first[0]["message"]["chat"] == {"id": USER, "chat_type": "PRIVATE"}
    assert await api.get_updates(timeout=0) == []  # 408: no update


async def test_long_poll_returns_as_soon_as_someone_writes(
    api: ZaloApi, people: ZaloStandinClient
) -> None:
    poll = asyncio.create_task(api.get_updates(timeout=10))
    await asyncio.sleep(0.1)
    await people.send_text(USER, "đây")
    [update] = await asyncio.wait_for(poll, 5)
    assert update["message"]["text"] == "đây"


async def test_send_message_limits(api: ZaloApi, people: ZaloStandinClient) -> None:
    await people.send_text(USER, "hi")
    sent = await api.send_message(USER, "x" * 2000)
    assert len(sent["message_id"]) == 20 and sent["date"] > 0
    with pytest.raises(ZaloApiError) as too_long:
        await api.send_message(USER, "x" * 2001)
    assert too_long.value.code == 400 and "2000" in too_long.value.description
    with pytest.raises(ZaloApiError):
        await api.send_message(USER, "😀" * 1001)  # 2,002 UTF-16 units
    with pytest.raises(ZaloApiError):
        await api.send_message(USER, "")
    with pytest.raises(ZaloApiError) as unknown:
        await api.send_message("nobody", "hi")
    assert "chat not found" in unknown.value.description
    [message] = await people.messages(USER)
    assert message["text"] == "x" * 2000 and message["from_bot"] is True


async def test_blocked_users_answer_403(api: ZaloApi, people: ZaloStandinClient) -> None:
    await people.send_text(USER, "hi")
    await people.set_blocked(USER)
    with pytest.raises(ZaloApiError) as blocked:
        await api.send_message(USER, "hello")
    assert blocked.value.code == 403


async def test_photos_come_as_urls_the_bot_can_download(
    api: ZaloApi, people: ZaloStandinClient
) -> None:
    await people.send_photo(USER, caption="kệ số 4", width=320, height=200)
    [update] = await api.get_updates(timeout=1)
    message = update["message"]
    assert update["event_name"] == "message.image.received"
    assert message["caption"] == "kệ số 4" and message["message_type"] == "CHAT_PHOTO"
    data, kind = await api.download(message["photo_url"], max_bytes=1_000_000)
    assert kind == "image/jpeg" and image_size(data) == (320, 200)
    sent = await api.send_photo(USER, message["photo_url"], "đã nhận")
    assert sent["message_id"]
    with pytest.raises(ZaloApiError):
        await api.send_photo(USER, "not-a-url", None)


async def test_stickers_and_unsupported(api: ZaloApi, people: ZaloStandinClient) -> None:
    await people.send_sticker(USER)
    await people.send_unsupported(USER)
    [sticker] = await api.get_updates(timeout=1)
    [other] = await api.get_updates(timeout=1)
    assert sticker["event_name"] == "message.sticker.received"
    assert other["event_name"] == "message.unsupported.received"


async def test_waiting_for_the_bot(api: ZaloApi, people: ZaloStandinClient) -> None:
    sent = await people.send_text(USER, "hi")

    async def answer() -> None:
        await asyncio.sleep(0.1)
        await api.send_message(USER, "một")
        await api.send_message(USER, "hai")

    task = asyncio.create_task(answer())
    replies = await people.wait_reply(sent, count=2, timeout=5)
    await task
    assert [r["text"] for r in replies] == ["một", "hai"]
    calls = await people.wait_calls("sendMessage", count=2)
    assert [c["params"]["text"] for c in calls] == ["một", "hai"]
    await people.wait_quiet(0.1)


async def test_faults(api: ZaloApi, people: ZaloStandinClient) -> None:
    await people.send_text(USER, "hi")
    await people.add_faults(
        {"method": "sendMessage", "error_code": 429, "description": "Too Many", "retry_after": 3}
    )
    with pytest.raises(ZaloApiError) as limited:
        await api.send_message(USER, "x")
    assert limited.value.code == 429 and limited.value.retry_after == 3
    await api.send_message(USER, "x")  # once only


async def test_webhook_delivery_with_the_secret_header(
    server: ZaloStandinServer, api: ZaloApi, people: ZaloStandinClient
) -> None:
    received: list[tuple[str | None, dict[str, object]]] = []
    failures = [1]

    async def hook(request: web.Request) -> web.Response:
        if failures:
            failures.pop()
            return web.Response(status=500)
        received.append((request.headers.get("X-Bot-Api-Secret-Token"), await request.json()))
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        with pytest.raises(ZaloApiError):
            await api.set_webhook("https://example.com/hook", "secret-123")  # not loopback
        with pytest.raises(ZaloApiError):
            await api.set_webhook(f"http://127.0.0.1:{port}/hook", "short")
        info = await api.set_webhook(f"http://127.0.0.1:{port}/hook", "secret-123")
        assert info["url"].endswith("/hook")
        assert (await api.get_webhook_info())["url"] == info["url"]
        with pytest.raises(ZaloApiError) as conflict:
            await api.get_updates(timeout=0)
        assert conflict.value.code == 409
        await people.send_text(USER, "qua webhook")
        for _ in range(100):
            if received:
                break
            await asyncio.sleep(0.05)
        [(secret, body)] = received
        assert secret == "secret-123"
        assert body["event_name"] == "message.text.received"
        deliveries = (await people.updates())["deliveries"]
        assert [d["status"] for d in deliveries] == [500, 200]
        await api.delete_webhook()
        assert (await api.get_webhook_info())["url"] == ""
    finally:
        await runner.cleanup()


async def test_reset_forgets_people_and_messages(api: ZaloApi, people: ZaloStandinClient) -> None:
    await people.send_text(USER, "hi")
    await people.reset()
    assert (await people.state())["users"] == []
    assert (await people.updates())["pending"] == []
