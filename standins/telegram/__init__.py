"""A loopback stand-in for the Telegram Bot API server.

Real bots (aiogram, python-telegram-bot) talk to it as to a self-hosted Bot API server; tests
and the terminal chat act as the people in the chats through its control API. See
docs/STANDIN.md.
"""

from standins.telegram.client import StandinClient, StandinError, StandinTimeout
from standins.telegram.config import StandinConfig
from standins.telegram.limits import LimitsConfig
from standins.telegram.server import StandinServer

# A well-formed token for tests: any token of this shape is accepted.
EXAMPLE_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"

__all__ = [
    "EXAMPLE_TOKEN",
    "LimitsConfig",
    "StandinClient",
    "StandinConfig",
    "StandinError",
    "StandinServer",
    "StandinTimeout",
]
