"""Fixtures for the stand-in's own tests: a running server, its control client, and raw
Bot API calls for checking exact wire behaviour."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import aiohttp
import pytest

from standins.telegram import EXAMPLE_TOKEN, StandinClient, StandinServer

RawCall = Callable[..., Coroutine[Any, Any, tuple[int, Any]]]


@pytest.fixture
async def server() -> AsyncIterator[StandinServer]:
    async with StandinServer() as running:
        yield running


@pytest.fixture
async def client(server: StandinServer) -> AsyncIterator[StandinClient]:
    async with server.client() as control:
        yield control


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def api(server: StandinServer, http: aiohttp.ClientSession) -> RawCall:
    """``await api("sendMessage", chat_id=1, text="hi")`` -> (HTTP status, decoded body).

    ``as_form=True`` sends the parameters as a urlencoded form, objects JSON-serialised, the
    way both bot libraries do; ``token=`` overrides the token.
    """

    async def call(
        method: str, *, token: str = EXAMPLE_TOKEN, as_form: bool = False, **params: Any
    ) -> tuple[int, Any]:
        url = f"{server.base_url}/bot{token}/{method}"
        if as_form:
            form = {
                key: value if isinstance(value, str) else json.dumps(value)
                for key, value in params.items()
            }
            request = http.post(url, data=form)
        else:
            request = http.post(url, json=params)
        async with request as response:
            text = await response.text()
            try:
                return response.status, json.loads(text)
            except ValueError:
                return response.status, text

    return call


@pytest.fixture
async def started_user(client: StandinClient, api: RawCall) -> int:
    """User 1001 has started the bot, and the bot has said getMe (so its id is known)."""
    await api("getMe")
    await client.upsert_user(1001, "Lan", last_name="Nguyễn", username="lan_cd")
    await client.start(1001)
    return 1001
