"""Fixtures for the adapter tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest

# FakeBotApi is imported in the fixture: importing the adapters while this file loads
# would spend their module-level warning filters before the test modules are collected.
if TYPE_CHECKING:
    from tests.telegram.fakeapi import FakeBotApi


@pytest.fixture
async def fake_api() -> AsyncIterator[FakeBotApi]:
    from tests.telegram.fakeapi import FakeBotApi

    api = FakeBotApi()
    await api.start()
    try:
        yield api
    finally:
        await api.close()
