"""The bare echo bot on aiogram 3: the ceiling the full bot is compared against.

The simplest idiomatic long-polling bot: one handler that answers every text message with
the same text, aiogram's own polling loop (updates handled as concurrent tasks, aiogram's
default). ``python -m bench.echo_aiogram [BASE_URL]``; the Bot API base URL comes from the
argument or ``TELEGRAM_API_BASE``, the token from ``TELEGRAM_BOT_TOKEN``. With ``--form`` after
the URL it answers with the idea form's calls instead (:mod:`bench.echo_form`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys

from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bench import echo_form

dispatcher = Dispatcher()


@dispatcher.message(F.text)
async def echo(message: Message) -> None:
    await message.answer(message.text or "")


def markup(keyboard: echo_form.Keyboard) -> InlineKeyboardMarkup | None:
    if not keyboard:
        return None
    rows = [[InlineKeyboardButton(text=t, callback_data=d) for t, d in row] for row in keyboard]
    return InlineKeyboardMarkup(inline_keyboard=rows)


form = Dispatcher()


@form.message(F.text)
async def form_text(message: Message) -> None:
    text, keyboard = echo_form.answer_text(message.text or "")
    await message.answer(text, reply_markup=markup(keyboard))


@form.callback_query()
async def form_press(query: CallbackQuery) -> None:
    text, keyboard = echo_form.answer_press(query.data or "")
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_text(text, reply_markup=markup(keyboard))


async def main(base_url: str, token: str, shape: str) -> None:
    session = AiohttpSession(api=TelegramAPIServer.from_base(base_url.rstrip("/")))
    bot = Bot(token=token, session=session)
    await (form if shape == "--form" else dispatcher).start_polling(bot, polling_timeout=10)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    base = sys.argv[1] if len(sys.argv) > 1 else os.environ["TELEGRAM_API_BASE"]
    shape = sys.argv[2] if len(sys.argv) > 2 else ""
    asyncio.run(main(base, os.environ["TELEGRAM_BOT_TOKEN"], shape))
