"""python-telegram-bot's HTTP requests made with aiohttp instead of httpx.

PTB sends every Bot API call through a :class:`~telegram.request.BaseRequest`; its own,
``HTTPXRequest``, spent more of the bot's CPU than the bot's whole core under load
(docs/BENCHMARKS.md, "Cost per update (issue 22)"): httpcore's pool looks at every
connection, and asks each idle one's socket whether it is readable, each time a
request is queued or done, and without the optional ``sniffio`` it also searched
``sys.path`` for that module on each lock it took. PTB documents a ``BaseRequest`` of
one's own as the way to use another HTTP library; aiohttp is the one the bot already
runs (aiogram's session, the webhook listener).

Only the transport changes: PTB still builds the parameters, reads the answer and
raises its own errors (``RetryAfter``, ``BadRequest``, ...) from the status and body;
what goes wrong on the wire comes out as PTB's ``TimedOut`` or ``NetworkError``, as
``HTTPXRequest``'s does.
"""

from __future__ import annotations

import asyncio

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData


class AiohttpRequest(BaseRequest):
    """A PTB request object on one aiohttp session of at most ``pool_size`` connections;
    ``timeout`` (seconds) is the default for connecting, for waiting for a free
    connection, and between reads of the answer."""

    __slots__ = ("_pool_size", "_session", "_timeout")

    def __init__(self, pool_size: int, timeout: float) -> None:
        self._pool_size = pool_size
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            # trust_env=False: like aiogram's session, ignore HTTP(S)_PROXY and .netrc.
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                trust_env=False,
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        read = self._seconds(read_timeout)
        connect = self._seconds(connect_timeout)
        # aiohttp's ``connect`` covers waiting for a free connection and connecting.
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=_sum(self._seconds(pool_timeout), connect),
            sock_connect=connect,
            sock_read=read,
        )
        data: aiohttp.FormData | dict[str, str] | None = None
        if request_data is not None:
            files = request_data.multipart_data
            if files:
                form = aiohttp.FormData()
                for name, value in request_data.json_parameters.items():
                    form.add_field(name, value)
                for name, (filename, content, mimetype) in files.items():
                    form.add_field(name, content, filename=filename, content_type=mimetype)
                data = form
            else:
                data = request_data.json_parameters
        try:
            async with session.request(
                method,
                url,
                data=data,
                headers={"User-Agent": self.USER_AGENT},
                timeout=timeout,
            ) as response:
                return response.status, await response.read()
        except TimeoutError as err:
            raise TimedOut from err
        except asyncio.CancelledError:
            raise
        except aiohttp.ClientError as err:
            # The class only: an aiohttp error's text may carry the URL, and with it the token.
            raise NetworkError(f"aiohttp.{type(err).__name__}") from err

    def _seconds(self, value: ODVInput[float]) -> float | None:
        """A timeout given to one call; its default when not given (None: no limit)."""
        if isinstance(value, DefaultValue):
            return self._timeout
        return value


def _sum(first: float | None, second: float | None) -> float | None:
    return None if first is None or second is None else first + second


__all__ = ["AiohttpRequest"]
