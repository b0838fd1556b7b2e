"""The bare echo bot on aiogram 3: the ceiling the full bot is compared against.

The simplest idiomatic long-polling bot: one handler that answers every text message with
the same text, aiogram's own polling loop (updates handled as concurrent tasks, aiogram's
default). ``python -m bench.echo_aiogram [BASE_URL]``; the Bot API base URL comes from the
argument or ``TELEGRAM_API_BASE``, the token from ``TELEGRAM_BOT_TOKEN``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys

from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message

dispatcher = Dispatcher()


@dispatcher.message(F.text)
async def echo(message: Message) -> None:
    await message.answer(message.text or "")


async def main(base_url: str, token: str) -> None:
    session = AiohttpSession(api=TelegramAPIServer.from_base(base_url.rstrip("/")))
    bot = Bot(token=token, session=session)
    await dispatcher.start_polling(bot, polling_timeout=10)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    base = sys.argv[1] if len(sys.argv) > 1 else os.environ["TELEGRAM_API_BASE"]
    asyncio.run(main(base, os.environ["TELEGRAM_BOT_TOKEN"]))
