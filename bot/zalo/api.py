"""A thin client of the Zalo Bot API (bot.zaloplatforms.com/docs).

``POST {api_base}/bot<TOKEN>/<method>`` with a JSON body; every answer is
``{"ok": bool, "result": …, "error_code": int, "description": str}``. The token is
part of every URL, so no error raised here ever carries a URL or the request.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import aiohttp

log = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://bot-api.zaloplatforms.com"
MAX_TEXT_CHARS = 2000  # sendMessage text and sendPhoto caption: 1-2000 characters
POLL_TIMEOUT_MARGIN = 10  # getUpdates may take this much longer than its own timeout
NO_UPDATE = 408  # getUpdates' answer when its long poll ends without an update


class ZaloNetworkError(Exception):
    """The request did not get a Bot API answer (connection, timeout, not JSON)."""


class ZaloApiError(Exception):
    """The Bot API answered ``ok: false``."""

    def __init__(
        self,
        method: str,
        status: int,
        error_code: int | None,
        description: str,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{method}: {error_code or status} {description}".strip())
        self.method = method
        self.status = status
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after

    @property
    def code(self) -> int:
        """The error code, else the HTTP status."""
        return self.error_code or self.status


class ZaloApi:
    def __init__(
        self,
        token: str,
        api_base: str = DEFAULT_API_BASE,
        *,
        request_timeout: float = 40.0,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        if not token:
            raise ValueError("a Zalo bot token is needed")
        self._token = token
        self.api_base = api_base.rstrip("/")
        self.request_timeout = request_timeout
        self._session = session
        self._owns_session = session is None

    @property
    def bot_id(self) -> str:
        """The bot's id, the part of the token before the colon."""
        return self._token.partition(":")[0]

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
            self._owns_session = True
        return self._session

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def call(
        self, method: str, params: dict[str, Any] | None = None, *, timeout: float | None = None
    ) -> Any:
        """One Bot API call; its ``result``. Raises :class:`ZaloApiError` or
        :class:`ZaloNetworkError` (never with the URL, which holds the token)."""
        url = f"{self.api_base}/bot{self._token}/{method}"
        body = {k: v for k, v in (params or {}).items() if v is not None}
        limit = aiohttp.ClientTimeout(total=timeout or self.request_timeout)
        try:
            async with self._http().post(url, json=body, timeout=limit) as response:
                status = response.status
                raw = await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ZaloNetworkError(f"{method}: {type(exc).__name__}") from None
        try:
            data = json.loads(raw.decode("utf-8", "replace"))
        except ValueError:
            raise ZaloNetworkError(f"{method}: HTTP {status}, not JSON") from None
        if not isinstance(data, dict):
            raise ZaloNetworkError(f"{method}: HTTP {status}, not a Bot API answer")
        if data.get("ok") is True:
            return data.get("result")
        code = data.get("error_code")
        parameters = data.get("parameters")
        wait = parameters.get("retry_after") if isinstance(parameters, dict) else None
        raise ZaloApiError(
            method,
            status,
            code if isinstance(code, int) and not isinstance(code, bool) else None,
            str(data.get("description") or ""),
            float(wait) if isinstance(wait, int | float) and not isinstance(wait, bool) else None,
        )

    # ------------------------------------------------------------ methods

    async def get_me(self) -> dict[str, Any]:
        result = await self.call("getMe")
        return result if isinstance(result, dict) else {}

    async def get_updates(self, timeout: int) -> list[dict[str, Any]]:
        """Long poll. Zalo answers one update per call (an object, not a list) and has no
        offset: an update is taken off Zalo's queue as it is delivered. An empty list when
        the poll ran out (error 408)."""
        try:
            result = await self.call(
                "getUpdates",
                {"timeout": str(timeout)},
                timeout=timeout + POLL_TIMEOUT_MARGIN,
            )
        except ZaloApiError as exc:
            if exc.code == NO_UPDATE:
                return []
            raise
        if isinstance(result, list):
            return [u for u in result if isinstance(u, dict)]
        if isinstance(result, dict) and result:
            return [result]
        return []

    async def send_message(self, chat_id: str, text: str) -> dict[str, Any]:
        result = await self.call("sendMessage", {"chat_id": chat_id, "text": text})
        return result if isinstance(result, dict) else {}

    async def send_photo(self, chat_id: str, photo: str, caption: str | None) -> dict[str, Any]:
        params = {"chat_id": chat_id, "photo": photo, "caption": caption or None}
        result = await self.call("sendPhoto", params)
        return result if isinstance(result, dict) else {}

    async def send_chat_action(self, chat_id: str, action: str = "typing") -> None:
        await self.call("sendChatAction", {"chat_id": chat_id, "action": action})

    async def set_webhook(self, url: str, secret_token: str) -> dict[str, Any]:
        result = await self.call("setWebhook", {"url": url, "secret_token": secret_token})
        return result if isinstance(result, dict) else {}

    async def delete_webhook(self) -> dict[str, Any]:
        result = await self.call("deleteWebhook")
        return result if isinstance(result, dict) else {}

    async def get_webhook_info(self) -> dict[str, Any]:
        result = await self.call("getWebhookInfo")
        return result if isinstance(result, dict) else {}

    async def download(self, url: str, *, max_bytes: int) -> tuple[bytes, str | None]:
        """A file Zalo handed over as a URL (a user's photo): its bytes and content type."""
        limit = aiohttp.ClientTimeout(total=self.request_timeout)
        try:
            async with self._http().get(url, timeout=limit) as response:
                if response.status >= 400:
                    raise ZaloApiError("download", response.status, None, "file not available")
                data = await response.content.read(max_bytes + 1)
                kind = response.headers.get("Content-Type")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ZaloNetworkError(f"download: {type(exc).__name__}") from None
        if len(data) > max_bytes:
            raise ZaloApiError("download", 413, None, f"file larger than {max_bytes} bytes")
        return data, kind.split(";")[0].strip() if kind else None
