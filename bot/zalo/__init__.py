"""The Zalo channel: Zalo Bot Platform's HTTP API under the messenger-neutral handlers.

``api`` is a thin aiohttp client of the Bot API; ``render``/``choices`` turn an
``OutMessage`` into Zalo text (no HTML, no buttons: numbered choices) and a reply back
into the button it means; ``updates`` reads Zalo's updates into ``Incoming``;
``transport`` sends, ``adapter`` receives (long polling), ``webhook`` receives by
webhook; ``files`` carries photos between Zalo and Telegram; ``channel`` is what
``bot.app`` runs. See docs/ZALO.md.
"""

CHANNEL = "zalo"
