"""Stand-ins for the messengers, beside the product and never imported by it.

``standins.telegram`` is a loopback Telegram Bot API server, ``standins.zalo`` a
Zalo Bot Platform one; tests, benchmarks and the try-it-out mode
(``standins.tryit``) run the real bot against them. The product finds the
try-it-out mode through the package's entry point (``sangkien_bot.modes``), so
``bot``, ``handlers`` and ``storage`` never import this package.
"""
