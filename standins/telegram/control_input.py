"""Reading a control request of the Telegram stand-in: its JSON body and parameters, each
refused with a 400 ControlError when malformed."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from standins.core.control import DEFAULT_WAIT, MAX_WAIT, ControlError
from standins.core.server import is_loopback_url
from standins.telegram.models import JSONDict


async def read_body(request: web.Request) -> JSONDict:
    if not request.body_exists:
        return {}
    try:
        body = await request.json()
    except ValueError as error:
        raise ControlError(400, "the request body must be JSON") from error
    if not isinstance(body, dict):
        raise ControlError(400, "the request body must be a JSON object")
    return body


def int_param(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise ControlError(400, f"{name} must be an integer")
    if isinstance(value, int):
        return value
    try:
        return int(str(value))
    except ValueError as error:
        raise ControlError(400, f"{name} must be an integer") from error


def wait_timeout(body: JSONDict) -> float:
    value = body.get("timeout", DEFAULT_WAIT)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ControlError(400, "timeout must be a number of seconds")
    return min(float(value), MAX_WAIT)


def loopback_targets(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(url, str) for url in value):
        raise ControlError(400, "urls must be a list of URLs")
    for url in value:
        if not is_loopback_url(url):
            raise ControlError(
                400, f"the stand-in only delivers webhooks to loopback URLs, not {url!r}"
            )
    return list(value)


def delivery_filters(source: JSONDict) -> dict[str, Any]:
    """since / update_id / chat_id / target / ok from a JSON body or a query string."""
    filters: dict[str, Any] = {"since": int_param(source.get("since", 0), "since")}
    for name in ("update_id", "chat_id"):
        if source.get(name) is not None:
            filters[name] = int_param(source[name], name)
    if source.get("target") is not None:
        filters["target"] = str(source["target"])
    ok = source.get("ok")
    if ok is not None:
        if isinstance(ok, str):
            ok = ok.lower() == "true"
        filters["ok"] = bool(ok)
    return filters
