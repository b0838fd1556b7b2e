"""A loopback stand-in for the Zalo Bot API (docs/ZALO.md), like ``standins.telegram`` for
Telegram: the documented wire format for the bot, a control API for tests.

    async with ZaloStandinServer() as server:
        env ZALO_API_BASE=server.base_url, ZALO_BOT_TOKEN=EXAMPLE_TOKEN
        async with server.client() as people:
            sent = await people.send_text("u1", "/idea")
            [reply] = await people.wait_reply(sent)
"""

from standins.zalo.client import ZaloStandinClient, ZaloStandinError, ZaloStandinTimeout
from standins.zalo.server import ZaloStandinServer
from standins.zalo.state import StandinConfig

EXAMPLE_TOKEN = "1459232241454765289:zaloStandinAccessToken_0123456789"

__all__ = [
    "EXAMPLE_TOKEN",
    "StandinConfig",
    "ZaloStandinClient",
    "ZaloStandinError",
    "ZaloStandinServer",
    "ZaloStandinTimeout",
]
