"""Receiving by webhook: the generic server, the Telegram adapters' part, and run_bot.

The first part drives :class:`bot.runtime.webhook.WebhookServer` over real HTTP with a
``process`` that records when each update starts and ends and can hold one until the
test lets it go. The second runs both Telegram adapters against the Bot API stand-in
(``setWebhook`` on the wire; webhook bodies parsed into neutral events). The last runs
the whole bot in webhook mode, posting an update to it the way Telegram would (the test
posts itself: it does not rely on the stand-in delivering webhooks).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app import run_bot
from bot.config import DatabaseSettings, Settings, TelegramSettings, ZaloSettings
from bot.runtime.errors import PermanentSendError
from bot.runtime.intake import OrderedIntake
from bot.runtime.polling import RawUpdate
from bot.runtime.webhook import WebhookServer
from bot.telegram.aiogram_adapter import AiogramTelegram
from bot.telegram.constants import ALLOWED_UPDATES, WEBHOOK_SECRET_HEADER
from bot.telegram.ptb_adapter import PtbTelegram
from bot.zalo.webhook import ZaloWebhookServer
from handlers.events import Incoming
from standins.telegram import EXAMPLE_TOKEN, StandinClient, StandinServer
from storage.schema import upgrade

pytestmark = [
    pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning"),
]

HEADER = "X-Test-Secret"
SECRET = "s3cret_Token-42"
KINDS = ("aiogram", "ptb")


# ---------------------------------------------------------------- the generic server


class Work:
    """The ``process`` a server hands updates to; records starts and ends, holds on request."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.started: list[int] = []
        self.finished: list[int] = []
        self.failing: set[int] = set()
        self.wrapped = 0
        self._gates: dict[int, asyncio.Event] = {}
        self._started: dict[int, asyncio.Event] = {}

    def wrap(self, data: Any) -> RawUpdate | None:
        self.wrapped += 1
        if data.get("nothing"):
            return None
        return RawUpdate(int(data["id"]), f"test:{data['chat']}", data)

    def hold(self, update_id: int) -> asyncio.Event:
        """Update ``update_id`` waits, once started, until the returned event is set."""
        gate = self._gates[update_id] = asyncio.Event()
        return gate

    def release_all(self) -> None:
        for gate in self._gates.values():
            gate.set()

    async def wait_started(self, update_id: int, timeout: float = 5.0) -> None:
        started = self._started.setdefault(update_id, asyncio.Event())
        await asyncio.wait_for(started.wait(), timeout)

    async def __call__(self, raw: RawUpdate) -> None:
        self.started.append(raw.update_id)
        self.events.append(f"start {raw.update_id}")
        self._started.setdefault(raw.update_id, asyncio.Event()).set()
        gate = self._gates.get(raw.update_id)
        if gate is not None:
            await gate.wait()
        if raw.update_id in self.failing:
            self.events.append(f"fail {raw.update_id}")
            raise RuntimeError("the database is away")
        self.finished.append(raw.update_id)
        self.events.append(f"end {raw.update_id}")


@asynccontextmanager
async def serving(work: Work, **options: Any) -> AsyncIterator[WebhookServer]:
    server = WebhookServer(
        work.wrap,
        OrderedIntake(options.pop("max_in_flight", 16)),
        work,
        secret=SECRET,
        secret_header=HEADER,
        host="127.0.0.1",
        port=0,
        path="hook",
        name="test",
        **options,
    )
    await server.start()
    try:
        yield server
    finally:
        work.release_all()  # a failed test must not leave stop() waiting for held work
        await asyncio.wait_for(server.stop(), 10)


async def post(
    server: WebhookServer,
    body: Any = None,
    *,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
    session: aiohttp.ClientSession | None = None,
) -> int:
    """POST to the server; the answer's status."""
    headers = {HEADER: SECRET} if headers is None else headers
    own = session is None
    session = session or aiohttp.ClientSession()
    try:
        kwargs: dict[str, Any] = {"data": data} if data is not None else {"json": body}
        async with session.post(server.local_url, headers=headers, **kwargs) as response:
            await response.read()
            return response.status
    finally:
        if own:
            await session.close()


async def test_a_wrong_or_missing_secret_is_refused_and_the_body_never_read() -> None:
    work = Work()
    async with serving(work) as server:
        assert server.path == "/hook"
        refused = [
            {HEADER: "wrong"},
            {HEADER: SECRET + "x"},
            {HEADER: SECRET[:-1]},
            {HEADER: SECRET.upper()},
            {HEADER: ""},
            {},
            {"X-Telegram-Bot-Api-Secret-Token": SECRET},  # another header's name
        ]
        for headers in refused:
            assert await post(server, {"id": 1, "chat": "a"}, headers=headers) == 401
            # Not JSON either: still 401, not 400, because the body is never read.
            assert await post(server, data=b"{not json", headers=headers) == 401
        assert server.refused == 2 * len(refused)
        assert server.received == 0 and work.wrapped == 0 and work.started == []
        assert await post(server, {"id": 1, "chat": "a"}) == 200
        assert work.finished == [1]


def test_a_server_without_a_secret_cannot_be_made() -> None:
    work = Work()
    with pytest.raises(ValueError):
        WebhookServer(
            work.wrap,
            OrderedIntake(1),
            work,
            secret="",
            secret_header=HEADER,
            host="127.0.0.1",
            port=0,
            path="/",
        )


async def test_a_body_that_is_not_json_is_400_and_not_processed() -> None:
    work = Work()
    async with serving(work) as server:
        for body in (b"{not json", b"", b"\xff\xfe\x00", b'{"id": 1,'):
            assert await post(server, data=body) == 400
        assert work.wrapped == 0 and work.started == []


async def test_a_body_that_is_no_update_is_answered_without_work() -> None:
    work = Work()
    async with serving(work) as server:
        assert await post(server, {"nothing": True}) == 200
        assert work.wrapped == 1 and work.started == []


async def test_the_answer_comes_only_once_the_work_is_done() -> None:
    work = Work()
    async with serving(work) as server:
        gate = work.hold(1)
        request = asyncio.create_task(post(server, {"id": 1, "chat": "a"}))
        await work.wait_started(1)
        await asyncio.sleep(0.3)
        assert not request.done(), "answered before the work was done"
        gate.set()
        assert await request == 200
        work.events.append("answered 1")
        assert work.events == ["start 1", "end 1", "answered 1"]


async def test_work_that_fails_is_answered_500_so_it_comes_again() -> None:
    work = Work()
    work.failing.add(7)
    async with serving(work) as server:
        assert await post(server, {"id": 7, "chat": "a"}) == 500
        assert work.started == [7] and work.finished == []  # not retried in process
        # The messenger delivers it again; this time the work succeeds.
        work.failing.clear()
        assert await post(server, {"id": 7, "chat": "a"}) == 200
        assert work.finished == [7]
        # The chat is not stuck behind the failure.
        assert await post(server, {"id": 8, "chat": "a"}) == 200
        assert work.finished == [7, 8]


async def test_work_that_takes_too_long_is_answered_500_and_still_finishes() -> None:
    work = Work()
    async with serving(work, answer_within=0.2) as server:
        gate = work.hold(3)
        assert await post(server, {"id": 3, "chat": "a"}) == 500
        assert work.finished == []
        gate.set()
        for _ in range(100):
            if work.finished:
                break
            await asyncio.sleep(0.01)
        assert work.finished == [3]


async def test_one_chat_in_order_other_chats_at_once() -> None:
    work = Work()
    async with serving(work) as server:
        first = work.hold(1)
        answers: list[int] = []

        async def send(update_id: int, chat: str) -> int:
            status = await post(server, {"id": update_id, "chat": chat})
            answers.append(update_id)
            return status

        one = asyncio.create_task(send(1, "a"))
        await work.wait_started(1)
        two = asyncio.create_task(send(2, "a"))  # same chat, while 1 is being handled
        three = asyncio.create_task(send(3, "b"))  # another chat
        assert await three == 200  # not held up by chat a
        for _ in range(200):
            if server.received == 3:
                break
            await asyncio.sleep(0.01)
        assert server.received == 3  # 2 has been taken in ...
        await asyncio.sleep(0.2)
        assert 2 not in work.started  # ... but waits behind 1
        assert not two.done()
        first.set()
        assert await one == 200 and await two == 200
        assert work.finished == [3, 1, 2]
        assert work.events.index("end 1") < work.events.index("start 2")
        assert answers[0] == 3


async def test_concurrent_bursts_of_one_chat_stay_in_order() -> None:
    work = Work()
    async with serving(work) as server:
        gate = work.hold(0)
        first = asyncio.create_task(post(server, {"id": 0, "chat": "a"}))
        await work.wait_started(0)
        # Sent one after another (Telegram sends a chat's next update once the last was
        # answered; a redelivery or a second instance may overlap), answered in order.
        rest = []
        for update_id in range(1, 6):
            rest.append(asyncio.create_task(post(server, {"id": update_id, "chat": "a"})))
            for _ in range(200):
                if server.received == update_id + 1:
                    break
                await asyncio.sleep(0.005)
        others = [
            asyncio.create_task(post(server, {"id": 100 + n, "chat": f"c{n}"})) for n in range(5)
        ]
        assert await asyncio.gather(*others) == [200] * 5  # other chats: not held up
        assert sorted(work.started) == [0, 100, 101, 102, 103, 104]
        gate.set()
        assert await first == 200
        assert await asyncio.gather(*rest) == [200] * 5
        ours = [n for n in work.finished if n < 100]
        assert ours == [0, 1, 2, 3, 4, 5]


async def test_stop_lets_the_updates_taken_in_finish_and_takes_no_new_ones() -> None:
    work = Work()
    async with serving(work) as server:
        # A connection kept alive from an earlier request, and one busy with update 2.
        kept = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1))
        try:
            assert await post(server, {"id": 1, "chat": "a"}, session=kept) == 200
            gate = work.hold(2)
            busy = asyncio.create_task(post(server, {"id": 2, "chat": "b"}))
            await work.wait_started(2)
            stopping = asyncio.create_task(server.stop())
            await asyncio.sleep(0.2)
            assert not stopping.done(), "stopped before the update in hand was done"
            # No new connections; a request on a kept-alive one is turned away (503):
            # the messenger delivers it again, to another instance or after the restart.
            with pytest.raises(aiohttp.ClientConnectionError):
                await post(server, {"id": 3, "chat": "c"})
            assert await post(server, {"id": 4, "chat": "d"}, session=kept) == 503
            gate.set()
            assert await busy == 200
            await asyncio.wait_for(stopping, 5)
            assert work.finished == [1, 2]
        finally:
            work.release_all()
            await kept.close()


async def test_zalo_uses_the_generic_server_with_its_own_header() -> None:
    work = Work()
    server = ZaloWebhookServer(
        work.wrap, OrderedIntake(4), work, secret=SECRET, host="127.0.0.1", port=0, path="zh"
    )
    await server.start()
    try:
        headers = {"X-Bot-Api-Secret-Token": SECRET}
        assert await post(server, {"id": 1, "chat": "a"}, headers=headers) == 200
        assert await post(server, {"id": 2, "chat": "a"}) == 401  # HEADER is not Zalo's
        assert work.finished == [1]
    finally:
        await server.stop()


# ---------------------------------------------------------------- the Telegram adapters

AN: dict[str, Any] = {"id": 1001, "is_bot": False, "first_name": "An", "language_code": "vi"}
CHAT = {"id": 1001, "type": "private", "first_name": "An"}
PRIVATE_TEXT = "Mật khẩu kho là 4321"  # a person's message: must never reach a log line


def text_update(update_id: int, text: str) -> dict[str, Any]:
    message = {"message_id": update_id, "date": 1_700_000_000, "chat": CHAT, "from": AN}
    return {"update_id": update_id, "message": {**message, "text": text}}


def make_adapter(kind: str, api_base: str) -> AiogramTelegram | PtbTelegram:
    if kind == "aiogram":
        return AiogramTelegram(EXAMPLE_TOKEN, api_base, request_timeout=5.0)
    return PtbTelegram(EXAMPLE_TOKEN, api_base, request_timeout=5.0)


@asynccontextmanager
async def adapter_on_standin(
    kind: str,
) -> AsyncIterator[tuple[AiogramTelegram | PtbTelegram, StandinServer, StandinClient]]:
    async with StandinServer(port=0) as server, server.client() as standin:
        adapter = make_adapter(kind, server.base_url)
        try:
            yield adapter, server, standin
        finally:
            await adapter.close()


async def webhook_info(server: StandinServer) -> dict[str, Any]:
    """getWebhookInfo on the wire, as any client of the Bot API would ask it."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{server.base_url}/bot{EXAMPLE_TOKEN}/getWebhookInfo") as response,
    ):
        answer = await response.json()
    assert answer["ok"], answer
    return dict(answer["result"])


@pytest.mark.parametrize("kind", KINDS)
async def test_set_webhook_reaches_the_bot_api(kind: str) -> None:
    async with adapter_on_standin(kind) as (adapter, server, standin):

        async def ignore(_: Incoming) -> None:
            return None

        await adapter.start(ignore)
        url = "http://127.0.0.1:9/telegram/webhook"  # nothing is delivered in this test
        await adapter.set_webhook(url, SECRET, max_connections=7)
        info = await webhook_info(server)
        assert info["url"] == url
        assert info["max_connections"] == 7
        assert info["allowed_updates"] == list(ALLOWED_UPDATES)
        [call] = await standin.calls("setWebhook")
        assert call["status"] == 200
        assert call["params"]["secret_token"] == SECRET
        assert str(call["params"].get("drop_pending_updates", False)).lower() in ("false", "0")
        # Every instance sets it at start: again is fine, and changes nothing.
        await adapter.set_webhook(url, SECRET, max_connections=7)
        assert await webhook_info(server) == info
        assert len(await standin.calls("setWebhook")) == 2
        await adapter.delete_webhook()
        assert (await webhook_info(server))["url"] == ""


@pytest.mark.parametrize("kind", KINDS)
async def test_set_webhook_waits_out_flood_control(kind: str) -> None:
    async with adapter_on_standin(kind) as (adapter, server, standin):

        async def ignore(_: Incoming) -> None:
            return None

        await adapter.start(ignore)
        await standin.add_faults({"kind": "retry_after", "method": "setWebhook", "retry_after": 1})
        url = "http://127.0.0.1:9/hook"
        await adapter.set_webhook(url, SECRET, max_connections=40)
        calls = await standin.calls("setWebhook")
        assert [c["status"] for c in calls] == [429, 200]
        assert calls[1]["time"] - calls[0]["time"] >= 0.9
        assert (await webhook_info(server))["url"] == url


@pytest.mark.parametrize("kind", KINDS)
async def test_a_webhook_url_telegram_refuses_raises_at_once(kind: str) -> None:
    async with adapter_on_standin(kind) as (adapter, server, standin):

        async def ignore(_: Incoming) -> None:
            return None

        await adapter.start(ignore)
        with pytest.raises(PermanentSendError) as refused:
            await adapter.set_webhook("https://example.com/hook", SECRET, max_connections=40)
        assert "bad webhook" in refused.value.description.lower()
        assert SECRET not in str(refused.value)
        assert len(await standin.calls("setWebhook")) == 1  # not retried
        assert (await webhook_info(server))["url"] == ""


@pytest.mark.parametrize("kind", KINDS)
async def test_webhook_bodies_become_neutral_events(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with adapter_on_standin(kind) as (adapter, _, _):
        seen: list[Incoming] = []

        async def on_incoming(incoming: Incoming) -> None:
            seen.append(incoming)

        await adapter.start(on_incoming)
        server = WebhookServer(
            adapter.wrap,
            OrderedIntake(8),
            adapter.process,
            secret=SECRET,
            secret_header=WEBHOOK_SECRET_HEADER,
            host="127.0.0.1",
            port=0,
            path="/telegram/webhook",
            name="telegram",
        )
        await server.start()
        try:
            headers = {WEBHOOK_SECRET_HEADER: SECRET}
            assert await post(server, text_update(501, "/help"), headers=headers) == 200
            assert [(i.update_id, i.command, i.chat.key) for i in seen] == [
                (501, "help", "telegram:1001")
            ]
            assert await post(server, text_update(502, PRIVATE_TEXT), headers=headers) == 200
            assert seen[-1].text == PRIVATE_TEXT
            # A required field missing: the library cannot read it. Answered 200 (else
            # Telegram would send it forever), logged by id only.
            broken = text_update(503, PRIVATE_TEXT)
            del broken["message"]["date"]
            assert await post(server, broken, headers=headers) == 200
            # Not an update at all.
            assert await post(server, {"message": "x"}, headers=headers) == 200
            assert [i.update_id for i in seen] == [501, 502]
            assert any("update 503 skipped" in r.getMessage() for r in caplog.records)
            # Zalo's header is not Telegram's.
            zalo = {"X-Bot-Api-Secret-Token": SECRET}
            assert await post(server, text_update(504, "/help"), headers=zalo) == 401
            assert len(seen) == 2
        finally:
            await server.stop()
    for record in caplog.records:
        text = record.getMessage()
        assert PRIVATE_TEXT not in text and SECRET not in text, record.name
        assert record.exc_info is None or PRIVATE_TEXT not in str(record.exc_info[1])


# ---------------------------------------------------------------- the bot in webhook mode


def bot_settings(base_url: str, database: str, port: int, **telegram: Any) -> Settings:
    return Settings(
        telegram=TelegramSettings(
            token=EXAMPLE_TOKEN,
            api_base=base_url,
            request_timeout=5.0,
            webhook_url=f"http://127.0.0.1:{port}/telegram/webhook",
            webhook_secret=SECRET,
            webhook_listen="127.0.0.1",
            webhook_port=port,
            webhook_max_connections=12,
            **telegram,
        ),
        database=DatabaseSettings(url=database),
        zalo=ZaloSettings(enabled=False),
    )


@pytest.mark.parametrize("kind", KINDS)
async def test_the_bot_in_webhook_mode(
    kind: str, tmp_path: Path, unused_tcp_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    database = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    await upgrade(database)
    async with StandinServer(port=0) as standin_server, standin_server.client() as people:
        # Before the bot runs: An starts the bot and asks for help. The test takes the
        # update and confirms both at the stand-in (so nothing is left for it to deliver),
        # then posts the update to the bot itself, as Telegram would.
        await people.start(AN["id"])
        sent = await people.send_text(AN["id"], "/help")
        [help_update] = [
            u for u in await people.pending_updates() if u["update_id"] == sent["update_id"]
        ]
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                f"{standin_server.base_url}/bot{EXAMPLE_TOKEN}/getUpdates",
                params={"offset": str(sent["update_id"] + 1), "timeout": "0"},
            ) as confirmed,
        ):
            assert confirmed.status == 200
        assert await people.pending_updates() == []
        settings = bot_settings(standin_server.base_url, database, unused_tcp_port, framework=kind)
        stop = asyncio.Event()
        bot = asyncio.create_task(run_bot(settings, webhook=True, stop=stop))
        try:
            await people.wait_calls("setWebhook", status=200, timeout=15)
            info = await webhook_info(standin_server)
            assert info["url"] == settings.telegram.webhook_url
            assert info["max_connections"] == 12
            assert info["allowed_updates"] == list(ALLOWED_UPDATES)
            [call] = await people.calls("setWebhook")
            assert call["params"]["secret_token"] == SECRET
            assert len(await people.calls("getUpdates")) == 1  # the test's own: not polling
            url = settings.telegram.webhook_url
            async with aiohttp.ClientSession() as session:
                async with session.post(url, json=help_update) as refused:
                    assert refused.status == 401
                headers = {WEBHOOK_SECRET_HEADER: SECRET}
                async with session.post(url, json=help_update, headers=headers) as answer:
                    assert answer.status == 200
                # Answered after the commit and the reply: it is at the stand-in already.
                replies = await people.messages(AN["id"])
                after = [m for m in replies if m["message_id"] > sent["message"]["message_id"]]
                assert any("Gửi sáng kiến" in (m.get("text") or "") for m in after)
                count = len(after)
                # Telegram delivering it again: answered 200, handled once.
                async with session.post(url, json=help_update, headers=headers) as again:
                    assert again.status == 200
                after = [
                    m
                    for m in await people.messages(AN["id"])
                    if m["message_id"] > sent["message"]["message_id"]
                ]
                assert len(after) == count
        finally:
            stop.set()
            await asyncio.wait_for(bot, 20)
        # Stopping leaves the webhook for the other instances.
        assert await people.calls("deleteWebhook") == []
        assert (await webhook_info(standin_server))["url"] == settings.telegram.webhook_url
    started = [r.getMessage() for r in caplog.records if "webhook on" in r.getMessage()]
    assert len(started) == 1
    assert f"webhook on 127.0.0.1:{unused_tcp_port} /telegram/webhook ({kind})" in started[0]
    for record in caplog.records:
        assert SECRET not in record.getMessage(), record.name
        if record.name.startswith("bot."):  # libraries' URLs: redacted by bot.logs' filter
            assert EXAMPLE_TOKEN not in record.getMessage(), record.name


async def test_webhook_mode_without_its_settings_does_not_start(tmp_path: Path) -> None:
    from bot.config import ConfigError

    settings = Settings(
        telegram=TelegramSettings(token=EXAMPLE_TOKEN, webhook_url="https://bot.example/hook"),
        database=DatabaseSettings(url=f"sqlite+aiosqlite:///{tmp_path / 'never.db'}"),
    )
    with pytest.raises(ConfigError, match="webhook_secret"):
        await run_bot(settings, webhook=True, stop=asyncio.Event())
    assert not (tmp_path / "never.db").exists()


async def test_a_refused_webhook_stops_the_start_cleanly(
    tmp_path: Path, unused_tcp_port: int
) -> None:
    from bot.telegram.channel import WebhookNotSet

    database = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    await upgrade(database)
    async with StandinServer(port=0) as standin_server:
        settings = bot_settings(standin_server.base_url, database, unused_tcp_port)
        settings = replace(
            settings,
            telegram=replace(settings.telegram, webhook_url="https://bot.example/hook"),
        )
        with pytest.raises(WebhookNotSet, match=r"(?i)bad webhook"):
            await asyncio.wait_for(run_bot(settings, webhook=True, stop=asyncio.Event()), 20)
    # The listener was closed again: the port is free.
    with contextlib.closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", unused_tcp_port))


async def test_a_port_in_use_stops_the_start_before_telegram_is_told(tmp_path: Path) -> None:
    from bot.telegram.channel import WebhookNotSet

    database = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    await upgrade(database)
    with contextlib.closing(socket.socket()) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        async with StandinServer(port=0) as standin_server, standin_server.client() as people:
            settings = bot_settings(standin_server.base_url, database, port)
            with pytest.raises(WebhookNotSet, match=f"cannot listen on 127.0.0.1:{port}"):
                await asyncio.wait_for(run_bot(settings, webhook=True, stop=asyncio.Event()), 20)
            assert await people.calls("setWebhook") == []
