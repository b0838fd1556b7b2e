"""Implementations of Bot API methods, one module per area, registered by method name."""

from __future__ import annotations

from standins.telegram.errors import bad_request
from standins.telegram.methods import chats, editing, profile, receiving, sending
from standins.telegram.methods.base import (
    EMPTY_ALLOWED,
    HANDLERS,
    LEGACY_FIELDS,
    Call,
    Handler,
    Params,
)

__all__ = [
    "EMPTY_ALLOWED",
    "HANDLERS",
    "LEGACY_FIELDS",
    "Call",
    "Handler",
    "Params",
    "chats",
    "editing",
    "handler_for",
    "profile",
    "receiving",
    "sending",
]


async def not_implemented(call: Call) -> bool:
    raise bad_request(f"method {call.method.name} is not implemented by the Telegram stand-in")


def handler_for(method_name: str) -> Handler:
    """The implementation of a method the official list has; a clear 400 if there is none."""
    return HANDLERS.get(method_name, not_implemented)
