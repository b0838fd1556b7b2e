"""Webhook delivery as Telegram runs it: per-chat order, concurrency across chats,
max_connections, retries with backoff, getWebhookInfo's errors, and a load balancer spreading
deliveries over several bot instances. The receivers are small aiohttp apps on loopback."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import random
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import aiohttp
import pytest
from aiohttp import web

from standins.telegram import (
    EXAMPLE_TOKEN,
    StandinClient,
    StandinConfig,
    StandinError,
    StandinServer,
)
from standins.telegram.__main__ import parse_args
from standins.telegram.errors import GET_UPDATES_WITH_WEBHOOK
from tests.standin.conftest import RawCall

JSONDict = dict[str, Any]
Handler = Callable[[web.Request, JSONDict], Awaitable[web.StreamResponse | None]]

FAST = StandinConfig(
    webhook_timeout=1.0,
    webhook_retry_delay=0.05,
    webhook_retry_max_delay=0.4,
    webhook_target_cooldown=0.3,
)


def fast_config(**changes: Any) -> StandinConfig:
    return dataclasses.replace(FAST, **changes)


@pytest.fixture
async def server() -> AsyncIterator[StandinServer]:
    """The stand-in with short webhook timeouts and retry delays (overrides conftest's)."""
    async with StandinServer(config=fast_config()) as running:
        yield running


@dataclass
class Hit:
    update: JSONDict
    headers: dict[str, str]
    arrived: float
    answered: float | None = None

    @property
    def update_id(self) -> int:
        return int(self.update["update_id"])

    @property
    def chat_id(self) -> int:
        return int(self.update["message"]["chat"]["id"])


@dataclass
class Receiver:
    """A bot instance's webhook endpoint: records every request, answers via ``handler``
    (default: 200 at once)."""

    handler: Handler | None = None
    hits: list[Hit] = field(default_factory=list)
    in_flight: int = 0
    peak: int = 0
    chat_in_flight: dict[int, int] = field(default_factory=dict)
    chat_peak: dict[int, int] = field(default_factory=dict)
    port: int = 0
    stopped_at: float | None = None
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def start(self) -> Self:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        address = self._runner.addresses[0]
        self.port = int(address[1])
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            self.stopped_at = time.monotonic()  # from now on, nothing can reach it

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    def ids(self, chat_id: int | None = None) -> list[int]:
        return [h.update_id for h in self.hits if chat_id is None or h.chat_id == chat_id]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        update = await request.json()
        hit = Hit(update, dict(request.headers), time.monotonic())
        self.hits.append(hit)
        chat_id = hit.chat_id
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        self.chat_in_flight[chat_id] = self.chat_in_flight.get(chat_id, 0) + 1
        self.chat_peak[chat_id] = max(self.chat_peak.get(chat_id, 0), self.chat_in_flight[chat_id])
        try:
            response = None if self.handler is None else await self.handler(request, update)
            return web.Response(text="") if response is None else response
        finally:
            self.in_flight -= 1
            self.chat_in_flight[chat_id] -= 1
            hit.answered = time.monotonic()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def drained(server: StandinServer, timeout: float = 5.0) -> None:
    """Wait until the webhook has confirmed every update and no request is running."""
    world = server.world
    done = await world.wait_until(
        lambda: not world.updates.pending() and world.deliveries_in_flight == 0, timeout
    )
    assert done, f"still pending: {[u.update_id for u in world.updates.pending()]}"


async def webhook_info(api: RawCall) -> JSONDict:
    status, body = await api("getWebhookInfo")
    assert status == 200, body
    info: JSONDict = body["result"]
    return info


async def set_webhook(api: RawCall, url: str, **params: Any) -> None:
    status, body = await api("setWebhook", url=url, **params)
    assert (status, body["result"]) == (200, True), body


async def send(client: StandinClient, user_id: int, text: str) -> int:
    update_id = (await client.send_text(user_id, text))["update_id"]
    assert isinstance(update_id, int)
    return update_id


# The request ------------------------------------------------------------------------------


async def test_each_update_is_posted_as_json_with_the_secret_header(
    api: RawCall, client: StandinClient, server: StandinServer
) -> None:
    async with Receiver() as receiver:
        await set_webhook(api, receiver.url, secret_token="s3cr3t_T-1")
        update_id = await send(client, 1001, "xin chào")
        await drained(server)
        [hit] = receiver.hits
        assert hit.update["update_id"] == update_id
        assert hit.update["message"]["text"] == "xin chào"
        assert hit.update["message"]["chat"] == {
            "id": 1001,
            "type": "private",
            "first_name": "User1001",
        }
        assert set(hit.update) == {"update_id", "message"}
        assert hit.headers["X-Telegram-Bot-Api-Secret-Token"] == "s3cr3t_T-1"
        assert hit.headers["Content-Type"].startswith("application/json")

        [delivery] = await client.deliveries()
        assert delivery["update_id"] == update_id
        assert delivery["chat_id"] == 1001
        assert (delivery["target"], delivery["url"]) == (receiver.url, receiver.url)
        assert (delivery["status"], delivery["ok"], delivery["error"]) == (200, True, None)
        assert delivery["attempt"] == 1
        assert delivery["finished"] >= delivery["started"]
        info = await webhook_info(api)
        assert info["pending_update_count"] == 0
        assert "last_error_date" not in info

        await set_webhook(api, receiver.url)  # no secret: no header
        await send(client, 1001, "lần hai")
        await drained(server)
        assert "X-Telegram-Bot-Api-Secret-Token" not in receiver.hits[-1].headers


# Order and concurrency --------------------------------------------------------------------


async def test_a_chat_waits_for_its_previous_update_while_other_chats_go_on(
    api: RawCall, client: StandinClient, server: StandinServer
) -> None:
    b_arrived = asyncio.Event()
    held: list[int] = []

    async def hold_a_until_b(request: web.Request, update: JSONDict) -> None:
        chat_id = update["message"]["chat"]["id"]
        if chat_id == 2002:
            b_arrived.set()
        elif not held:
            held.append(update["update_id"])
            # Answered only once chat B's update has come in: B must not queue behind A.
            await asyncio.wait_for(b_arrived.wait(), 3)

    async with Receiver(hold_a_until_b) as receiver:
        await set_webhook(api, receiver.url)
        a1 = await send(client, 1001, "A1")
        a2 = await send(client, 1001, "A2")
        b1 = await send(client, 2002, "B1")
        await drained(server)
    assert held == [a1]
    assert receiver.ids() == [a1, b1, a2]
    first_a, b_hit, second_a = receiver.hits
    assert first_a.answered is not None
    assert b_hit.arrived < first_a.answered  # B went while A1 was still held
    assert second_a.arrived >= first_a.answered  # A2 waited for A1's answer
    assert receiver.peak == 2


async def test_many_chats_keep_their_order_and_run_concurrently(
    api: RawCall, client: StandinClient, server: StandinServer
) -> None:
    rng = random.Random(7)

    async def jitter(request: web.Request, update: JSONDict) -> None:
        await asyncio.sleep(rng.uniform(0, 0.01))

    chats = [1001, 1002, 1003, 1004, 1005]
    async with Receiver(jitter) as receiver:
        await set_webhook(api, receiver.url)
        sent: dict[int, list[int]] = {chat: [] for chat in chats}
        for number in range(6):
            for chat in chats:
                sent[chat].append(await send(client, chat, f"{chat}-{number}"))
        await drained(server)
    for chat in chats:
        assert receiver.ids(chat) == sent[chat]
        assert receiver.chat_peak[chat] == 1
    assert receiver.peak > 1


async def test_max_connections_bounds_the_requests_in_flight(
    api: RawCall, client: StandinClient, server: StandinServer
) -> None:
    gate = asyncio.Event()

    async def wait_for_gate(request: web.Request, update: JSONDict) -> None:
        await gate.wait()

    async with Receiver(wait_for_gate) as receiver:
        await set_webhook(api, receiver.url, max_connections=2)
        assert (await webhook_info(api))["max_connections"] == 2
        for chat in range(3001, 3007):
            await send(client, chat, "hello")
        assert await server.world.wait_until(lambda: receiver.in_flight == 2, 3)
        await asyncio.sleep(0.2)
        assert len(receiver.hits) == 2  # the other four wait for a free connection
        assert server.world.deliveries_in_flight == 2
        assert (await webhook_info(api))["pending_update_count"] == 6
        gate.set()
        await drained(server)
    assert len(receiver.hits) == 6
    assert receiver.peak == 2


# Failures and retries ---------------------------------------------------------------------


async def _answer_500(request: web.Request, update: JSONDict) -> web.StreamResponse:
    return web.Response(status=500, text="boom")


async def _close_connection(request: web.Request, update: JSONDict) -> web.StreamResponse:
    assert request.transport is not None
    request.transport.close()
    return web.Response()


async def _answer_late(request: web.Request, update: JSONDict) -> None:
    await asyncio.sleep(0.6)


@pytest.mark.parametrize(
    ("fail", "message"),
    [
        (_answer_500, "Wrong response from the webhook: 500 Internal Server Error"),
        (_close_connection, "Webhook connection closed"),
        (_answer_late, "Read timeout expired"),
    ],
    ids=["500", "closed", "timeout"],
)
async def test_a_failed_update_is_retried_and_its_chat_waits_behind_it(
    api: RawCall,
    client: StandinClient,
    server: StandinServer,
    fail: Handler,
    message: str,
) -> None:
    await client.set_webhook_timing(timeout=0.3)
    failed: list[int] = []

    async def first_attempt_fails(
        request: web.Request, update: JSONDict
    ) -> web.StreamResponse | None:
        if not failed:
            failed.append(update["update_id"])
            return await fail(request, update)
        return None

    async with Receiver(first_attempt_fails) as receiver:
        await set_webhook(api, receiver.url)
        x = await send(client, 1001, "X")
        y = await send(client, 1001, "Y")
        z = await send(client, 2002, "Z")
        await drained(server)

    assert failed == [x]
    assert receiver.ids(1001) == [x, x, y]
    assert receiver.ids(2002) == [z]
    chat_a = await client.deliveries(chat_id=1001)
    assert [(d["update_id"], d["attempt"], d["ok"]) for d in chat_a] == [
        (x, 1, False),
        (x, 2, True),
        (y, 1, True),
    ]
    assert chat_a[0]["error"] == message
    assert chat_a[2]["started"] >= chat_a[1]["finished"]  # Y only after X was confirmed
    info = await webhook_info(api)
    assert info["pending_update_count"] == 0
    assert info["last_error_message"] == message
    assert abs(info["last_error_date"] - time.time()) < 5


async def test_retries_back_off_and_getwebhookinfo_reports_the_failure(
    api: RawCall, client: StandinClient, server: StandinServer
) -> None:
    healthy = False

    async def broken_until_fixed(
        request: web.Request, update: JSONDict
    ) -> web.StreamResponse | None:
        return None if healthy else web.Response(status=500)

    async with Receiver(broken_until_fixed) as receiver:
        await set_webhook(api, receiver.url)
        x = await send(client, 1001, "X")
        y = await send(client, 1001, "Y")
        await client.wait_deliveries(4, update_id=x, timeout=5)
        info = await webhook_info(api)
        assert info["pending_update_count"] == 2
        assert info["last_error_message"] == (
            "Wrong response from the webhook: 500 Internal Server Error"
        )
        assert y not in receiver.ids()  # Y waits behind X
        tries = (await client.deliveries(update_id=x))[:4]
        pauses = [b["started"] - a["finished"] for a, b in itertools.pairwise(tries)]
        # retry_delay 0.05, doubling: the pauses are at least 0.05, 0.1, 0.2 s.
        for pause, least in zip(pauses, (0.045, 0.095, 0.195), strict=True):
            assert pause >= least, pauses
        healthy = True
        await drained(server)
    assert receiver.ids()[-2:] == [x, y]
    overview = await client.webhook()
    assert overview["pending_update_count"] == 0
    assert overview["webhook"]["last_error_message"].startswith("Wrong response")


async def test_a_refused_connection_keeps_the_update_for_later(
    api: RawCall, client: StandinClient, server: StandinServer
) -> None:
    await set_webhook(api, f"http://127.0.0.1:{closed_port()}/hook")
    update_id = await send(client, 1001, "có ai không")
    [delivery] = await client.wait_deliveries(1, ok=False)
    assert (delivery["status"], delivery["error"]) == (None, "Connection refused")
    info = await webhook_info(api)
    assert info["pending_update_count"] == 1
    assert info["last_error_message"] == "Connection refused"
    status, body = await api("deleteWebhook")
    assert status == 200
    status, body = await api("getUpdates")
    assert [u["update_id"] for u in body["result"]] == [update_id]


# Stopping ---------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["deleteWebhook", "empty url"])
async def test_removing_the_webhook_stops_delivery(
    api: RawCall, client: StandinClient, server: StandinServer, how: str
) -> None:
    async with Receiver() as receiver:
        await set_webhook(api, receiver.url)
        assert await api("getUpdates") == (
            409,
            {
                "ok": False,
                "error_code": 409,
                "description": f"Conflict: {GET_UPDATES_WITH_WEBHOOK}",
            },
        )
        await send(client, 1001, "một")
        await drained(server)
        assert len(receiver.hits) == 1
        if how == "deleteWebhook":
            assert (await api("deleteWebhook"))[0] == 200
        else:
            await set_webhook(api, "")
        later = [await send(client, 1001, "hai"), await send(client, 2002, "ba")]
        await asyncio.sleep(0.3)
        assert len(receiver.hits) == 1
        assert len(await client.deliveries()) == 1
        info = await webhook_info(api)
        assert (info["url"], info["pending_update_count"]) == ("", 2)
        status, body = await api("getUpdates")
        assert status == 200
        assert [u["update_id"] for u in body["result"]] == later  # kept for getUpdates
        assert (await api("deleteWebhook", drop_pending_updates=True))[0] == 200
        assert (await api("getUpdates"))[1]["result"] == []


# Through a load balancer ------------------------------------------------------------------


async def test_a_load_balancer_spreads_deliveries_over_three_targets() -> None:
    async with Receiver() as one, Receiver() as two, Receiver() as three:
        receivers = [one, two, three]
        config = fast_config(webhook_targets=[r.url for r in receivers])
        async with StandinServer(config=config) as server, server.client() as client:
            public = f"http://127.0.0.1:{closed_port()}/public"  # nobody listens there
            async with aiohttp.ClientSession() as http:
                hook_url = f"{server.base_url}/bot{EXAMPLE_TOKEN}/setWebhook"
                async with http.post(hook_url, json={"url": public}) as response:
                    assert response.status == 200
            chats = [4001, 4002, 4003, 4004, 4005, 4006]
            sent = {
                chat: [await send(client, chat, f"{chat}-{n}") for n in range(5)] for chat in chats
            }
            await drained(server)
            deliveries = await client.deliveries()
    assert [len(r.hits) for r in receivers] == [10, 10, 10]  # round-robin
    assert {d["target"] for d in deliveries} == {r.url for r in receivers}
    assert {d["url"] for d in deliveries} == {public}
    for chat in chats:
        merged = sorted((h for r in receivers for h in r.hits if h.chat_id == chat), key=_arrival)
        assert [h.update_id for h in merged] == sent[chat]


def _arrival(hit: Hit) -> float:
    return hit.arrived


async def test_a_stopped_target_s_share_goes_to_the_others_in_order(
    api: RawCall, client: StandinClient, server: StandinServer
) -> None:
    rng = random.Random(11)

    async def jitter(request: web.Request, update: JSONDict) -> None:
        await asyncio.sleep(rng.uniform(0.002, 0.02))

    async with Receiver(jitter) as one, Receiver(jitter) as two, Receiver(jitter) as three:
        receivers = [one, two, three]
        overview = await client.set_webhook_targets([r.url for r in receivers])
        assert overview["targets"] == [r.url for r in receivers]
        await set_webhook(api, "http://localhost:8443/public", max_connections=6)
        chats = [5001, 5002, 5003, 5004, 5005, 5006]
        sent: dict[int, list[int]] = {chat: [] for chat in chats}
        for number in range(5):
            for chat in chats:
                sent[chat].append(await send(client, chat, f"{chat}-{number}"))
        # Stop the second instance while the first batch is being delivered.
        assert await server.world.wait_until(lambda: len(two.hits) >= 3, 3)
        await two.stop()
        assert two.stopped_at is not None
        seen_by_two = len(two.hits)
        await drained(server)
        for number in range(5, 10):
            for chat in chats:
                sent[chat].append(await send(client, chat, f"{chat}-{number}"))
        await drained(server)

        assert len(two.hits) == seen_by_two  # nothing reached it once stopped
        assert all(hit.arrived <= two.stopped_at for hit in two.hits)
        late = [h for r in (one, three) for h in r.hits if h.arrived > two.stopped_at]
        assert {h.chat_id for h in late} == set(chats)
        assert len([h for h in one.hits if h.arrived > two.stopped_at]) >= 10
        assert len([h for h in three.hits if h.arrived > two.stopped_at]) >= 10
        deliveries = await client.deliveries()
        refused = [d for d in deliveries if d["target"] == two.url and not d["ok"]]
        assert refused and refused[-1]["error"] == "Connection refused"
        # Nothing lost, nothing confirmed twice, and every chat in order.
        confirmed = [d["update_id"] for d in deliveries if d["ok"]]
        every = sorted(i for ids in sent.values() for i in ids)
        assert sorted(confirmed) == every
        for chat in chats:
            merged = sorted(
                (h for r in receivers for h in r.hits if h.chat_id == chat), key=_arrival
            )
            ids = [h.update_id for h in merged]
            assert ids == sorted(ids) and set(ids) == set(sent[chat])
            in_order = [d["update_id"] for d in deliveries if d["ok"] and d["chat_id"] == chat]
            assert in_order == sent[chat]
        assert (await webhook_info(api))["pending_update_count"] == 0


async def test_every_target_refusing_is_a_502_from_the_balancer(
    api: RawCall, client: StandinClient, server: StandinServer
) -> None:
    dead = [f"http://127.0.0.1:{closed_port()}/hook" for _ in range(2)]
    await client.set_webhook_targets(dead)
    await set_webhook(api, "http://127.0.0.1:8443/public")
    await send(client, 1001, "alo")
    attempts = await client.wait_deliveries(2, ok=False)
    assert {d["target"] for d in attempts} == set(dead)  # failover within one attempt
    assert {d["attempt"] for d in attempts} == {1}
    assert (await webhook_info(api))["last_error_message"] == (
        "Wrong response from the webhook: 502 Bad Gateway"
    )
    overview = await client.webhook()
    assert overview["pending_update_count"] == 1
    assert set(overview["targets_down"]) <= set(dead)
    async with Receiver() as alive:  # a backend comes up: the update gets through
        await client.set_webhook_targets([*dead, alive.url])
        await drained(server)
        assert len(alive.hits) == 1


# Control API, client helpers, command line --------------------------------------------------


async def test_waiting_for_the_bot_works_in_webhook_mode(
    api: RawCall, client: StandinClient, server: StandinServer, http: aiohttp.ClientSession
) -> None:
    failures = [2]

    async def echo_bot(request: web.Request, update: JSONDict) -> web.StreamResponse | None:
        if failures[0]:
            failures[0] -= 1
            return web.Response(status=503)
        message = update["message"]
        url = f"{server.base_url}/bot{EXAMPLE_TOKEN}/sendMessage"
        body = {"chat_id": message["chat"]["id"], "text": f"đã nhận: {message['text']}"}
        async with http.post(url, json=body) as response:
            assert response.status == 200
        return None

    async with Receiver(echo_bot) as receiver:
        await set_webhook(api, receiver.url)
        sent = await client.send_text(1001, "ý tưởng")
        [reply] = await client.wait_reply(sent, timeout=5)
        assert reply["text"] == "đã nhận: ý tưởng"
        await client.send_text(1001, "thêm")
        await client.wait_quiet(0.1, timeout=5)  # waits for the webhook to confirm it, too
        assert (await webhook_info(api))["pending_update_count"] == 0
        assert len(await client.messages(1001)) == 2
        assert len(receiver.hits) == 4


async def test_webhook_control_settings(client: StandinClient) -> None:
    overview = await client.set_webhook_timing(timeout=2, retry_delay=0.5, target_cooldown=1)
    assert overview["timing"] == {
        "timeout": 2.0,
        "retry_delay": 0.5,
        "retry_max_delay": 0.4,
        "target_cooldown": 1.0,
    }
    with pytest.raises(StandinError) as refused:
        await client.set_webhook_targets(["http://bot.example.org/hook"])
    assert refused.value.status == 400
    with pytest.raises(StandinError):
        await client.set_webhook_timing(timeout=-1)
    assert (await client.webhook())["targets"] == []
    await client.set_webhook_targets(["http://127.0.0.1:9001/hook"])
    await client.reset()  # back to the configured targets and timing
    overview = await client.webhook()
    assert overview["targets"] == []
    assert overview["timing"]["timeout"] == 1.0


async def test_targets_must_be_loopback_and_can_come_from_the_command_line() -> None:
    with pytest.raises(ValueError, match="loopback"):
        StandinServer(config=StandinConfig(webhook_targets=["http://10.0.0.1/hook"]))
    args = parse_args(
        [
            "--webhook-target",
            "http://127.0.0.1:8001/hook",
            "--webhook-target",
            "http://127.0.0.1:8002/hook",
            "--webhook-timeout",
            "5",
        ]
    )
    assert args.webhook_target == ["http://127.0.0.1:8001/hook", "http://127.0.0.1:8002/hook"]
    assert args.webhook_timeout == 5.0
