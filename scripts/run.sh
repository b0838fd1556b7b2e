#!/usr/bin/env bash
# Runs the bot. With TELEGRAM_BOT_TOKEN set it talks to Telegram (or to the Bot API
# server named by TELEGRAM_API_BASE); without it, it starts the try-it-out mode.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
if [ -n "${TELEGRAM_BOT_TOKEN:-}" ]; then
  .venv/bin/python -m bot migrate
fi
exec .venv/bin/python -m bot run "$@"
