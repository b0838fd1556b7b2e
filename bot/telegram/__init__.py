"""Telegram adapters: aiogram and python-telegram-bot, over the same neutral core."""
