"""The plumbing of a control-API client: one aiohttp session, JSON requests under
``/_control``, refusals raised as errors. Each stand-in's client adds its own requests."""

from __future__ import annotations

from types import TracebackType
from typing import Any, ClassVar, Self

import aiohttp

JSONDict = dict[str, Any]


class ControlClientError(Exception):
    """The control API refused a request (``body``: its JSON answer)."""

    def __init__(self, status: int, message: str, body: JSONDict | None = None) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message
        self.body = body or {}


class ControlClient:
    """A refusal raises ``error``; a wait that runs out (408) raises ``timeout_error``."""

    error: ClassVar[type[ControlClientError]]
    timeout_error: ClassVar[type[ControlClientError]]

    def __init__(self, base_url: str, *, session: aiohttp.ClientSession | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._session = session
        self._owns_session = session is None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    # What both control APIs answer alike --------------------------------------------------

    async def health(self) -> JSONDict:
        return await self._request("GET", "/health")

    async def reset(self) -> None:
        await self._request("POST", "/reset")

    async def state(self) -> JSONDict:
        return await self._request("GET", "/state")

    async def wait_calls(
        self,
        method: str | None = None,
        *,
        chat_id: int | str | None = None,
        count: int = 1,
        since: int = 0,
        status: int | None = None,
        timeout: float = 10.0,
    ) -> list[JSONDict]:
        """Wait until the call log holds ``count`` finished calls of ``method`` to ``chat_id``."""
        body: JSONDict = {"count": count, "since": since, "timeout": timeout}
        if method is not None:
            body["method"] = method
        if chat_id is not None:
            body["chat_id"] = chat_id
        if status is not None:
            body["status"] = status
        result = await self._request("POST", "/wait/calls", body, timeout=timeout)
        return list(result["calls"])

    async def wait_quiet(self, quiet: float = 0.3, timeout: float = 10.0) -> None:
        """Wait until the bot has made no Bot API call but the long poll for ``quiet`` seconds."""
        body = {"quiet": quiet, "timeout": timeout}
        await self._request("POST", "/wait/quiet", body, timeout=timeout)

    async def add_faults(self, *rules: JSONDict) -> list[JSONDict]:
        """Script faults; each rule is a dict as described in docs/STANDIN.md."""
        return list((await self._request("POST", "/faults", {"rules": list(rules)}))["rules"])

    async def faults(self) -> list[JSONDict]:
        return list((await self._request("GET", "/faults"))["rules"])

    async def clear_faults(self) -> None:
        await self._request("DELETE", "/faults")

    # Plumbing -----------------------------------------------------------------------------

    @property
    def _control(self) -> str:
        return f"{self.base_url}/_control"

    def _client_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    async def _request(
        self,
        verb: str,
        path: str,
        body: JSONDict | None = None,
        *,
        params: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> JSONDict:
        """``timeout``: how long the server may wait (a wait request); the client allows
        30 s more."""
        session = self._client_session()
        client_timeout = aiohttp.ClientTimeout(total=(timeout or 0) + 30)
        async with session.request(
            verb, self._control + path, json=body, params=params, timeout=client_timeout
        ) as response:
            data: Any = await response.json()
        if response.status == 408:
            raise self.timeout_error(response.status, data.get("error", ""), data)
        if response.status >= 400:
            raise self.error(response.status, data.get("error", str(data)), data)
        if not isinstance(data, dict):
            raise self.error(response.status, f"unexpected answer {data!r}")
        return data
