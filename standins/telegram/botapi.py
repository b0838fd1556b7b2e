"""The Bot API side: ``/bot<token>/<method>`` and ``/file/bot<token>/<path>``.

Each call goes through the same steps: read the parameters off the wire, check the token, look
the method up in the official list, apply any scripted fault, bind the parameters to their
declared types, run the method, check the result against the official types, and log it all.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import re
import time
from typing import Any

from aiohttp import web

from standins.telegram.errors import (
    BotApiError,
    bad_request,
    missing_parameter,
    not_found,
    server_error,
    too_many_requests,
    unauthorized,
)
from standins.telegram.faults import NGINX_502, FaultRule
from standins.telegram.methods import EMPTY_ALLOWED, LEGACY_FIELDS, Call, Params, handler_for
from standins.telegram.models import CallRecord
from standins.telegram.spec import BadParameter, BotApiSpec, MethodSpec, MissingParameter
from standins.telegram.state import World
from standins.telegram.wire import WireCall, read_call

LOGGER = logging.getLogger(__name__)
TOKEN = re.compile(r"(\d{1,20}):[A-Za-z0-9_-]{30,50}")
_DUMPS = functools.partial(json.dumps, ensure_ascii=False)
# How Telegram names a parameter in "can't parse … JSON object".
_JSON_NAMES = {"reply_markup": "reply keyboard markup"}


class _Dropped(Exception):
    """The connection was closed on purpose; there is no response to send."""


class BotApi:
    def __init__(self, world: World, spec: BotApiSpec) -> None:
        self.world = world
        self.spec = spec

    def routes(self) -> list[web.RouteDef]:
        return [
            web.route("*", "/bot{token}/{method:[^/]*}", self.handle_method),
            web.get("/file/bot{token}/{path:.+}", self.download),
        ]

    async def handle_method(self, request: web.Request) -> web.StreamResponse:
        started = time.monotonic()
        method = self.spec.method(request.match_info["method"])
        record = self.world.record_call(
            method.name if method else request.match_info["method"], {}, None
        )
        polling = record.method == "getUpdates"
        if not polling:
            self.world.calls_in_flight += 1
        try:
            response = await self._respond(request, method, record)
        except _Dropped:
            record.status, record.response = 0, "connection dropped"
            response = web.Response(status=500)  # never reaches the bot
        finally:
            if not polling:
                self.world.calls_in_flight -= 1
                self.world.last_call_activity = time.monotonic()
        record.duration = time.monotonic() - started
        self.world.changed()
        return response

    async def _respond(
        self, request: web.Request, method: MethodSpec | None, record: CallRecord
    ) -> web.StreamResponse:
        try:
            wire = await read_call(request)
            record.params = wire.loggable()
            record.chat_id = _chat_hint(wire)
            self._authenticate(request.match_info["token"])
            if method is None:
                raise not_found()
        except BotApiError as error:
            return self._json(record, error.status, error.body())
        before = self.world.faults.pick(method.name, record.chat_id, "before")
        if before is not None:
            early = await self._apply_fault(before, request, record)
            if early is not None:
                return early
        try:
            status, body = 200, {"ok": True, "result": await self._run(method, wire)}
        except BotApiError as error:
            status, body = error.status, error.body()
        except Exception:  # a stand-in bug: answer as Telegram would, and say so in the log
            LOGGER.exception("the Telegram stand-in failed on %s", method.name)
            failure = server_error(500)
            status, body = failure.status, failure.body()
        after = self.world.faults.pick(method.name, record.chat_id, "after")
        if after is not None:
            late = await self._apply_fault(after, request, record)
            if late is not None:
                return late
        return self._json(record, status, body)

    async def _run(self, method: MethodSpec, wire: WireCall) -> Any:
        try:
            values = self.spec.bind(
                method,
                wire,
                EMPTY_ALLOWED.get(method.name, frozenset()),
                LEGACY_FIELDS.get(method.name, ()),
            )
        except MissingParameter as missing:
            raise missing_parameter(method.name, missing.name) from missing
        except BadParameter as bad:
            raise _bad_parameter(bad) from bad
        result = await handler_for(method.name)(Call(self.world, method, Params(values)))
        if self.world.config.validate_results:
            problems = self.spec.check_result(method, result)
            if problems:
                raise server_error(
                    500, f"Internal Server Error: the Telegram stand-in built {problems[0]}"
                )
        return result

    async def _apply_fault(
        self, rule: FaultRule, request: web.Request, record: CallRecord
    ) -> web.StreamResponse | None:
        """The response a fault gives, or None when the call should go on (a delay)."""
        record.fault = rule.id
        if rule.delay:
            await asyncio.sleep(rule.delay)
        if rule.kind == "delay":
            return None
        if rule.kind == "drop":
            if request.transport is not None:
                request.transport.close()
            raise _Dropped
        if rule.kind == "retry_after":
            error = too_many_requests(rule.retry_after)
            return self._json(record, error.status, error.body())
        if rule.format == "html":
            record.status, record.response = rule.status, NGINX_502
            return web.Response(status=rule.status, text=NGINX_502, content_type="text/html")
        failure = server_error(rule.status, rule.description)
        return self._json(record, failure.status, failure.body())

    def _authenticate(self, token: str) -> None:
        match = TOKEN.fullmatch(token)
        if match is None:
            raise unauthorized()
        bot_id = int(match.group(1))
        if self.world.bot.id is None:
            self.world.bot.id = bot_id
        elif self.world.bot.id != bot_id:
            raise unauthorized()

    def _json(self, record: CallRecord, status: int, body: dict[str, Any]) -> web.Response:
        record.status, record.response = status, body
        return web.json_response(body, status=status, dumps=_DUMPS)

    async def download(self, request: web.Request) -> web.StreamResponse:
        try:
            self._authenticate(request.match_info["token"])
        except BotApiError as error:
            return web.json_response(error.body(), status=error.status)
        stored = self.world.files.by_path(request.match_info["path"])
        if stored is None or stored.data is None:
            return web.json_response(not_found().body(), status=404)
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )


def _chat_hint(wire: WireCall) -> int | str | None:
    """The chat a call is about, for the call log and fault matching."""
    value = wire.values.get("chat_id")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value:
        return int(value) if re.fullmatch(r"-?\d+", value) else value
    return None


def _bad_parameter(bad: BadParameter) -> BotApiError:
    mismatch = bad.mismatch
    if mismatch.not_json:
        return bad_request(f"can't parse {_JSON_NAMES.get(bad.name, bad.name)} JSON object")
    if mismatch.path == bad.name:
        return bad_request(f'parameter "{bad.name}" {mismatch.problem}')
    return bad_request(f"can't parse {bad.name}: {mismatch.path}: {mismatch.problem}")
