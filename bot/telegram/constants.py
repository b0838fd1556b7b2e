"""What this bot asks of Telegram: which updates, which webhook header, which default menu."""

from __future__ import annotations

from collections.abc import Sequence

from handlers import menus

CHANNEL = "telegram"
ALLOWED_UPDATES: Sequence[str] = ("message", "edited_message", "callback_query", "my_chat_member")

# The default command menu (the workers'), in the order Telegram shows it; a person with
# a role gets their chat's own menu (handlers/menus.py).
MENU_COMMANDS: Sequence[str] = menus.COMMANDS[menus.WORKER]
MENU_LANGUAGES: Sequence[str | None] = (None, "vi", "en")  # None: everyone else (Vietnamese)

# getUpdates must be allowed to take longer than its own long-polling timeout.
POLL_TIMEOUT_MARGIN = 10

# Webhook mode: the header Telegram carries setWebhook's secret_token in.
WEBHOOK_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
