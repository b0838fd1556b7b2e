"""Settings of the further Telegram bots of a deployment (``telegram.bots``, issue #22),
and the error every setting raises; ``bot.config`` reads them with the rest."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# What Telegram accepts as a webhook's secret_token.
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
BOT_NAME = re.compile(r"[a-z0-9]{1,7}")  # fits "telegram.<name>" in a 16-character channel


@dataclass(frozen=True)
class BotSettings:
    """One more Telegram bot of the deployment (``telegram.bots``): the route
    "telegram.<name>" (handlers.events.family_of)."""

    name: str = ""
    token: str = field(default="", repr=False)
    api_base: str = ""  # empty: telegram.api_base
    webhook_path: str = ""  # empty: telegram.webhook_path + "/" + name
    webhook_secret: str = ""
    units: str = ""  # unit codes, space separated: their invites and posters name this bot

    @property
    def route(self) -> str:
        return f"telegram.{self.name}"

    def check(self) -> None:
        problem = (
            "name must be 1-7 of a-z 0-9"
            if not BOT_NAME.fullmatch(self.name)
            else "it has no token"
            if not self.token.strip()
            else "webhook_secret is not valid"
            if self.webhook_secret and not WEBHOOK_SECRET.fullmatch(self.webhook_secret)
            else "webhook_path must start with /"
            if self.webhook_path[:1] not in ("", "/")
            else ""
        )
        if problem:
            raise ConfigError(f"telegram.bots: bot {self.name!r}: {problem}")


class ConfigError(ValueError):
    """The configuration cannot be used; the message says what to fix."""
