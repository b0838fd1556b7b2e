"""Receiving from Zalo by webhook: the generic server with Zalo's secret header.

Zalo POSTs each update (the update object itself, or wrapped as getUpdates' answer)
to the URL given to ``setWebhook``, with the secret in ``X-Bot-Api-Secret-Token``.
Everything else (401 without the secret, the ordered intake, 200 only once the work
has committed) is :class:`bot.runtime.webhook.WebhookServer`'s.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bot.runtime.intake import OrderedIntake
from bot.runtime.polling import RawUpdate
from bot.runtime.webhook import ANSWER_WITHIN_SECONDS, MAX_BODY_BYTES, WebhookServer

SECRET_HEADER = "X-Bot-Api-Secret-Token"


class ZaloWebhookServer(WebhookServer):
    def __init__(
        self,
        wrap: Callable[[Any], RawUpdate | None],
        intake: OrderedIntake,
        process: Callable[[RawUpdate], Awaitable[None]],
        *,
        secret: str,
        host: str,
        port: int,
        path: str,
    ) -> None:
        super().__init__(
            wrap,
            intake,
            process,
            secret=secret,
            secret_header=SECRET_HEADER,
            host=host,
            port=port,
            path=path,
            name="zalo",
        )


__all__ = ["ANSWER_WITHIN_SECONDS", "MAX_BODY_BYTES", "SECRET_HEADER", "ZaloWebhookServer"]
