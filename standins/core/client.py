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
