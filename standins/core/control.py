"""What both control APIs (``/_control``) share: a refusal, and turning handlers' results
into JSON answers. A refusal is ``{"error": "…", …}`` with its HTTP status."""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

PREFIX = "/_control"
# A wait request waits this long unless it says, and never longer than MAX_WAIT.
DEFAULT_WAIT = 10.0
MAX_WAIT = 300.0

_DUMPS = functools.partial(json.dumps, ensure_ascii=False)

Handler = Callable[[web.Request], Awaitable[Any]]
RouteHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ControlError(Exception):
    """A control request that cannot be carried out; ``status`` is the HTTP status to answer,
    ``extra`` more fields of the answer (what a wait saw before it ran out)."""

    def __init__(self, status: int, message: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra or {}


def json_answer(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=_DUMPS)


def guarded(handler: Handler) -> RouteHandler:
    """Turn a handler's result into JSON (a response passes as it is) and a ControlError
    into its answer."""

    async def route(request: web.Request) -> web.StreamResponse:
        try:
            result = await handler(request)
        except ControlError as error:
            return json_answer({"error": error.message, **error.extra}, error.status)
        if isinstance(result, web.StreamResponse):
            return result
        return json_answer(result)

    return route


def control_routes(table: list[tuple[str, str, Handler]]) -> list[web.RouteDef]:
    """(verb, path under ``/_control``, handler) rows as aiohttp routes."""
    return [web.route(verb, PREFIX + path, guarded(handler)) for verb, path, handler in table]
