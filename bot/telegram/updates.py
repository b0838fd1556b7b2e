"""Telegram's update JSON as the runtime's :class:`~bot.runtime.polling.RawUpdate`.

Each update is parsed on its own by the framework and keyed by its chat, so that one
the framework cannot read holds up neither the others nor its chat's later updates.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from bot.runtime.polling import RawUpdate
from bot.telegram.botapi import TgUpdate
from bot.telegram.constants import CHANNEL

log = logging.getLogger(__name__)


def chat_key(update: TgUpdate) -> str:
    """The key that orders an update behind the earlier ones of the same chat."""
    message = update.message or update.edited_message
    if message is not None:
        return f"{CHANNEL}:{message.chat.id}"
    query = update.callback_query
    if query is not None:
        if query.message is not None:
            return f"{CHANNEL}:{query.message.chat.id}"
        return f"{CHANNEL}:{query.from_user.id}"
    if update.my_chat_member is not None:
        return f"{CHANNEL}:{update.my_chat_member.chat.id}"
    return f"{CHANNEL}:update:{update.update_id}"


def parse_updates(
    results: object,
    parse: Callable[[dict[str, Any]], TgUpdate],
    *,
    known_through: int | None = None,
) -> list[RawUpdate]:
    """One getUpdates answer, each update parsed on its own by the framework's ``parse``.

    An update the framework cannot read (a field it requires is missing, or Telegram
    sends what the library does not know yet) must not hold up the ones after it: it is
    logged by id and exception class only (never its content: people's messages) and
    handed on without a payload, so that the polling loop still confirms its id.
    """
    if not isinstance(results, list):
        raise TypeError(f"getUpdates answered a {type(results).__name__}, not a list")
    batch: list[RawUpdate] = []
    for data in results:
        update_id = update_id_of(data)
        if update_id is None:
            # Without an id it cannot be confirmed on its own; the next one confirms it.
            log.warning("an update without an update_id skipped")
            continue
        if known_through is not None and update_id <= known_through:
            continue
        batch.append(parse_one(update_id, data, parse))
    return batch


def update_id_of(data: object) -> int | None:
    """The ``update_id`` of one update's JSON (None: there is none)."""
    update_id = data.get("update_id") if isinstance(data, dict) else None
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        return None
    return update_id


def parse_one(
    update_id: int, data: dict[str, Any], parse: Callable[[dict[str, Any]], TgUpdate]
) -> RawUpdate:
    """One update's JSON as the intake takes it; without a payload if it cannot be read."""
    try:
        update = parse(data)
        key = chat_key(update)
    except Exception as exc:
        log.warning("update %s skipped: it could not be parsed (%s)", update_id, type(exc).__name__)
        return RawUpdate(update_id, f"{CHANNEL}:update:{update_id}", None, data)
    return RawUpdate(update_id, key, update, data)
