"""What the Telegram and the Zalo stand-in share: the loopback server's lifetime
(``server``), the control API's client plumbing (``client``) and its request helpers
(``control``), waiting for the state to change (``state``), and made-up images (``media``).
Each stand-in keeps its own wire format and control API on top.
"""
