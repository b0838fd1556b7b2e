"""``python -m standins.telegram`` as a process: prints its base URL, serves, stops on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sys

import aiohttp

from standins.telegram import EXAMPLE_TOKEN


async def test_runs_until_sigterm() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "standins.telegram",
        "--port",
        "0",
        "--bot-username",
        "thu_bot",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 30)
        base_url = line.decode().strip()
        assert base_url.startswith("http://127.0.0.1:")
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{base_url}/bot{EXAMPLE_TOKEN}/getMe") as response,
        ):
            me = await response.json()
        assert me["result"]["username"] == "thu_bot"
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0


async def test_refuses_to_listen_beyond_loopback() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "standins.telegram",
        "--host",
        "0.0.0.0",
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    assert b"only listens on loopback" in stderr
