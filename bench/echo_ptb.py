"""The bare echo bot on python-telegram-bot 22: the ceiling the full bot is compared against.

The simplest idiomatic long-polling bot: one handler that answers every text message with
the same text and PTB's ``run_polling``. ``concurrent_updates(True)`` is PTB's documented
switch for handling updates at once (the full bot handles chats concurrently too; without
it PTB answers one update at a time, which would not be a ceiling).
``python -m bench.echo_ptb [BASE_URL]``; the Bot API base URL comes from the argument or
``TELEGRAM_API_BASE``, the token from ``TELEGRAM_BOT_TOKEN``. With ``--form`` after the URL it
answers with the idea form's calls instead (:mod:`bench.echo_form`).
"""

from __future__ import annotations

import logging
import os
import sys

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bench import echo_form


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.message is not None and update.message.text is not None:
        await update.message.reply_text(update.message.text)


def markup(keyboard: echo_form.Keyboard) -> InlineKeyboardMarkup | None:
    if not keyboard:
        return None
    rows = [[InlineKeyboardButton(t, callback_data=d) for t, d in row] for row in keyboard]
    return InlineKeyboardMarkup(rows)


async def form_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.message is not None and update.message.text is not None:
        text, keyboard = echo_form.answer_text(update.message.text)
        await update.message.reply_text(text, reply_markup=markup(keyboard))


async def form_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query is None:
        return
    text, keyboard = echo_form.answer_press(query.data or "")
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_text(text, reply_markup=markup(keyboard))


def main(base_url: str, token: str, shape: str = "") -> None:
    base = base_url.rstrip("/")
    application = (
        Application.builder()
        .token(token)
        .base_url(f"{base}/bot")
        .base_file_url(f"{base}/file/bot")
        .concurrent_updates(True)
        .build()
    )
    if shape == "--form":
        application.add_handler(MessageHandler(filters.TEXT, form_text))
        application.add_handler(CallbackQueryHandler(form_press))
    else:
        application.add_handler(MessageHandler(filters.TEXT, echo))
    application.run_polling(poll_interval=0.0, timeout=10, allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    base = sys.argv[1] if len(sys.argv) > 1 else os.environ["TELEGRAM_API_BASE"]
    main(base, os.environ["TELEGRAM_BOT_TOKEN"], sys.argv[2] if len(sys.argv) > 2 else "")
