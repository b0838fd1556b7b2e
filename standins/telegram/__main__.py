"""``python -m standins.telegram``: run the stand-in Bot API server until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from standins.telegram.config import DEFAULT_BOT_FIRST_NAME, DEFAULT_BOT_USERNAME, StandinConfig
from standins.telegram.limits import LimitsConfig
from standins.telegram.server import StandinServer


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m standins.telegram",
        description="A loopback stand-in for the Telegram Bot API server.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    parser.add_argument("--port", type=int, default=8081, help="port (0 picks a free one)")
    parser.add_argument("--bot-username", default=DEFAULT_BOT_USERNAME)
    parser.add_argument("--bot-first-name", default=DEFAULT_BOT_FIRST_NAME)
    parser.add_argument(
        "--bot-id", type=int, default=None, help="the bot's id (default: from its token)"
    )
    parser.add_argument(
        "--limits", action="store_true", help="enforce Telegram's flood limits (429)"
    )
    parser.add_argument(
        "--webhook-target",
        action="append",
        default=[],
        metavar="URL",
        help="deliver webhooks through a load balancer to this backend (repeat for several)",
    )
    parser.add_argument(
        "--webhook-timeout", type=float, default=60.0, help="seconds to wait for the webhook"
    )
    parser.add_argument(
        "--webhook-retry-delay",
        type=float,
        default=1.0,
        help="seconds before a failed update is retried (doubling, up to 60)",
    )
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    config = StandinConfig(
        bot_username=args.bot_username,
        bot_first_name=args.bot_first_name,
        bot_id=args.bot_id,
        limits=LimitsConfig(enabled=args.limits),
        webhook_targets=list(args.webhook_target),
        webhook_timeout=args.webhook_timeout,
        webhook_retry_delay=args.webhook_retry_delay,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with StandinServer(args.host, args.port, config=config) as server:
        print(server.base_url, flush=True)
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        asyncio.run(serve(args))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
