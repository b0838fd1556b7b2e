"""``python -m standins.zalo [--host 127.0.0.1] [--port 8082]``: the Zalo stand-in as a
process, until SIGINT/SIGTERM; its base URL is the first line it prints."""

from __future__ import annotations

import argparse
import asyncio
import signal

from standins.zalo.server import ZaloStandinServer


async def _main(host: str, port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with ZaloStandinServer(host, port) as server:
        print(server.base_url, flush=True)
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m standins.zalo")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8082)
    args = parser.parse_args()
    asyncio.run(_main(args.host, args.port))


if __name__ == "__main__":
    main()
