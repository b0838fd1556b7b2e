"""The dashboard's core (issue #20, docs/DASHBOARD.md): what the web page shows and does.

Messenger- and web-neutral like the rest of ``handlers/``: ``bot/web/`` turns HTTP
requests into calls of :class:`handlers.dashboard.service.Dashboard` and its answers
into JSON. Every answer is decided by the visibility policy (handlers.visibility),
exactly as in the chat; every action goes through the chat's own code path.
"""
