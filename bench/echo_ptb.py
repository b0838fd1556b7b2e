"""The bare echo bot on python-telegram-bot 22: the ceiling the full bot is compared against.

The simplest idiomatic long-polling bot: one handler that answers every text message with
the same text and PTB's ``run_polling``. ``concurrent_updates(True)`` is PTB's documented
switch for handling updates at once (the full bot handles chats concurrently too; without
it PTB answers one update at a time, which would not be a ceiling).
``python -m bench.echo_ptb [BASE_URL]``; the Bot API base URL comes from the argument or
``TELEGRAM_API_BASE``, the token from ``TELEGRAM_BOT_TOKEN``.
"""

from __future__ import annotations

import logging
import os
import sys

from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.message is not None and update.message.text is not None:
        await update.message.reply_text(update.message.text)


def main(base_url: str, token: str) -> None:
    base = base_url.rstrip("/")
    application = (
        Application.builder()
        .token(token)
        .base_url(f"{base}/bot")
        .base_file_url(f"{base}/file/bot")
        .concurrent_updates(True)
        .build()
    )
    application.add_handler(MessageHandler(filters.TEXT, echo))
    application.run_polling(poll_interval=0.0, timeout=10, allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    base = sys.argv[1] if len(sys.argv) > 1 else os.environ["TELEGRAM_API_BASE"]
    main(base, os.environ["TELEGRAM_BOT_TOKEN"])
