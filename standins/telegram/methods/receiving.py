"""How the bot receives updates: getUpdates, and the webhook settings."""

from __future__ import annotations

from typing import Any

from standins.core.server import is_loopback_url
from standins.telegram.errors import GET_UPDATES_WITH_WEBHOOK, bad_request, conflict
from standins.telegram.methods.base import Call, JSONDict, handles
from standins.telegram.state import WebhookSettings

DEFAULT_MAX_CONNECTIONS = 40
MAX_MAX_CONNECTIONS = 100


@handles("getUpdates")
async def get_updates(call: Call) -> list[JSONDict]:
    world = call.world
    if world.webhook is not None:
        raise conflict(GET_UPDATES_WITH_WEBHOOK)
    params = call.params
    timeout = min(float(params.integer("timeout") or 0), world.config.max_long_poll)
    allowed = params.items("allowed_updates")
    records = await world.updates.get_updates(
        offset=params.integer("offset"),
        limit=params.integer("limit"),
        timeout=timeout,
        allowed_updates=[str(kind) for kind in allowed] if allowed is not None else None,
    )
    return [record.to_json() for record in records]


@handles("setWebhook")
async def set_webhook(call: Call) -> bool:
    params = call.params
    url = params.string("url") or ""
    if params.flag("drop_pending_updates"):
        call.world.updates.clear()
    if not url:
        call.world.webhook = None
        return True
    if not is_loopback_url(url):
        raise bad_request(
            "bad webhook: the Telegram stand-in only delivers webhooks to http(s)://127.0.0.1"
        )
    allowed = params.items("allowed_updates")
    max_connections = params.integer("max_connections")
    previous = call.world.webhook
    settings = WebhookSettings(
        url=url,
        secret_token=params.string("secret_token"),
        # Telegram clamps it to 1-100.
        max_connections=DEFAULT_MAX_CONNECTIONS
        if max_connections is None
        else min(max(max_connections, 1), MAX_MAX_CONNECTIONS),
        allowed_updates=[str(kind) for kind in allowed] if allowed is not None else None,
        ip_address=params.string("ip_address"),
    )
    if previous is not None and previous.url == url:
        # The same webhook set again (every instance of a bot does at start): its last error
        # stays, and deliveries in flight go on.
        settings.last_error_date = previous.last_error_date
        settings.last_error_message = previous.last_error_message
    call.world.webhook = settings
    call.world.updates.set_allowed(allowed)
    return True


@handles("deleteWebhook")
async def delete_webhook(call: Call) -> bool:
    if call.params.flag("drop_pending_updates"):
        call.world.updates.clear()
    call.world.webhook = None
    return True


@handles("getWebhookInfo")
async def get_webhook_info(call: Call) -> JSONDict:
    world = call.world
    info: dict[str, Any] = {
        "url": world.webhook.url if world.webhook else "",
        "has_custom_certificate": False,
        "pending_update_count": len(world.updates.pending()),
    }
    if world.webhook is not None:
        info["max_connections"] = world.webhook.max_connections
        info["ip_address"] = world.webhook.ip_address or "127.0.0.1"
        if world.webhook.allowed_updates is not None:
            info["allowed_updates"] = world.webhook.allowed_updates
        if world.webhook.last_error_date is not None:
            info["last_error_date"] = world.webhook.last_error_date
            info["last_error_message"] = world.webhook.last_error_message or ""
    return info
