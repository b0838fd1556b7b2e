"""A fake Bot API on loopback: just enough to drive both adapters over real HTTP."""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.telegram import aiogram_adapter as aio
from bot.telegram import ptb_adapter as ptb
from handlers.events import Incoming

BOT_USERNAME = "SangKienBot"
TOKEN = "123456:TEST-token"
KINDS = ("aiogram", "ptb")
# The PTB adapter fetches with do_api_request("getUpdates") on purpose; its module-level
# filter for the warning that says so is undone by pytest's own warning capture.
GET_UPDATES_WARNING = r"ignore:Please use 'Bot\.getUpdates':telegram.warnings.PTBUserWarning"
ME = {
    "id": 42,
    "is_bot": True,
    "first_name": "Sáng kiến",
    "username": BOT_USERNAME,
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


def make_adapter(kind: str, api_base: str = "http://127.0.0.1:9", timeout: float = 5.0) -> Any:
    if kind == "aiogram":
        return aio.AiogramTelegram(TOKEN, api_base, request_timeout=timeout)
    return ptb.PtbTelegram(TOKEN, api_base, request_timeout=timeout)


class FakeBotApi:
    """Just enough Bot API to drive both adapters over real HTTP, recording every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.updates: list[dict[str, Any]] = []
        self._failures: dict[str, tuple[int, bytes]] = {}
        self._delays: dict[str, float] = {}
        self._next_message_id = 500
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._server = TestServer(app, host="127.0.0.1")

    @property
    def api_base(self) -> str:
        return str(self._server.make_url("")).rstrip("/")

    async def start(self) -> None:
        await self._server.start_server()

    async def close(self) -> None:
        await self._server.close()

    def fail_next(
        self,
        method: str,
        status: int,
        description: str,
        parameters: dict[str, Any] | None = None,
    ) -> None:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if parameters:
            body["parameters"] = parameters
        self._failures[method] = (status, json.dumps(body).encode())

    def fail_next_raw(self, method: str, status: int, body: bytes) -> None:
        self._failures[method] = (status, body)

    def delay(self, method: str, seconds: float) -> None:
        self._delays[method] = seconds

    def reset(self) -> None:
        self.calls.clear()
        self._next_message_id = 500

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == method]

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await _read_params(request)
        self.calls.append((method, params))
        if request.match_info["token"] != TOKEN:
            return _reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        if method in self._delays:
            await asyncio.sleep(self._delays.pop(method))
        if method in self._failures:
            status, body = self._failures.pop(method)
            return web.Response(status=status, body=body, content_type="application/json")
        return _reply(200, {"ok": True, "result": self._result(method, params)})

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return ME
        if method == "getUpdates":
            offset = params.get("offset")
            if offset is not None:
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
            return copy.deepcopy(self.updates)
        if method in ("answerCallbackQuery", "setMyCommands"):
            return True
        if method == "editMessageText":
            message_id = params["message_id"]
        else:
            self._next_message_id += 1
            message_id = self._next_message_id
        chat_id = params["chat_id"]
        return {
            "message_id": message_id,
            "date": 1_700_000_000,
            "chat": {
                "id": chat_id,
                "type": "private" if chat_id > 0 else "supergroup",
                "title": None if chat_id > 0 else "Nhóm",
            },
            "from": ME,
            "text": params.get("text", ""),
        }


async def _read_params(request: web.Request) -> dict[str, Any]:
    values: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        values.update(await request.json())
    elif request.body_exists:
        form = await request.post()
        files: dict[str, str] = {}
        for key, value in form.items():
            if isinstance(value, str):
                values[key] = value
            else:  # an upload: shown by name and size, however the library attached it
                files[key] = f"<file {value.filename}: {len(value.file.read())} bytes>"
        for key, shown in files.items():
            attached = [k for k, v in values.items() if v == f"attach://{key}"]
            for field in attached or [key]:
                values[field] = shown
    return {key: _decode(value) for key, value in values.items()}


def _decode(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _reply(status: int, body: dict[str, Any]) -> web.Response:
    # drop None titles etc., as Telegram never sends nulls
    return web.json_response(_strip_none(body), status=status)


def _strip_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_none(v) for v in value]
    return value


class Running:
    """One adapter, started against the fake API, collecting what it hands the runtime."""

    def __init__(self, kind: str, api: FakeBotApi, timeout: float = 5.0) -> None:
        self.adapter = make_adapter(kind, api.api_base, timeout)
        self.seen: list[Incoming] = []
        self.fail_with: Exception | None = None

    async def __aenter__(self) -> Running:
        username = await self.adapter.start(self._on_incoming)
        assert username == BOT_USERNAME
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.adapter.close()

    async def _on_incoming(self, incoming: Incoming) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.seen.append(incoming)
