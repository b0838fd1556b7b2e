"""What a messenger channel is to the bot: the :class:`Channel` interface, and the
:class:`Core` every channel shares.

``bot.app`` builds the core once (database, catalogue, outbox sender, stop event) and
runs a list of channels: each starts (connects, registers its transport with the
sender, makes its update worker), then receives until the stop event and lets the
updates in hand finish. Adding a messenger is a class with these four members and a
line in ``bot.app.channels_for``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.runtime.input_rate import InputRate
from bot.runtime.sender import OutboxSender
from bot.runtime.transport import Transport
from bot.runtime.worker import UpdateWorker
from handlers.context import BotInfo
from handlers.dispatch import Dispatcher
from handlers.i18n import Catalogue
from handlers.team_policy import TeamPolicy


@dataclass
class Core:
    """What the channels share, built once by ``bot.app.run_bot``."""

    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    catalogue: Catalogue
    sender: OutboxSender
    # The sender's transports by channel: a channel adds its own when it starts.
    transports: dict[str, Transport]
    stop: asyncio.Event
    started_at: float  # time.monotonic() when the command began, for "started in X s"
    dispatcher: Dispatcher | None = None
    # The dashboard's page, once its web server listens (bot.web.channel; empty: none).
    dashboard_url: str = ""
    workers: list[UpdateWorker] = field(default_factory=list)
    # Each channel's (route's) bot name, as its channel starts.
    usernames: dict[str, str] = field(default_factory=dict)

    def dispatcher_for(self, bot_name: str) -> Dispatcher:
        """The one dispatcher; the first channel to start gives the bot's name (invite
        links carry it), the others share it."""
        if self.dispatcher is None:
            self.dispatcher = Dispatcher(
                self.sessionmaker,
                self.catalogue,
                BotInfo(
                    username=bot_name,
                    dashboard_url=self.dashboard_url,
                    sign_in_minutes=self.settings.web.sign_in_minutes,
                    usernames=self.usernames,
                    unit_routes=self.settings.telegram.unit_routes,
                ),
                instance=self.sender.instance,
                council=self.settings.council.policy,
                team=TeamPolicy(
                    inactive_days=self.settings.team.inactive_days,
                    invite_hours=self.settings.team.invite_hours,
                    files=Path(self.settings.reports.directory),
                ),
            )
        return self.dispatcher

    def worker(self, bot_name: str, transport: Transport) -> UpdateWorker:
        """The update worker of one channel, with its own people's input rates."""
        self.usernames[transport.channel] = bot_name
        runtime = self.settings.runtime
        worker = UpdateWorker(
            self.dispatcher_for(bot_name),
            self.sender,
            transport,
            max_attempts=runtime.update_max_attempts,
            input_rate=InputRate(burst=runtime.input_burst, per_second=runtime.input_per_second),
            button_grace=runtime.button_grace_seconds,
        )
        self.workers.append(worker)
        return worker


class Channel(Protocol):
    """One messenger, as ``bot.app`` runs it."""

    name: str  # its transport's key in the sender's table: "telegram", "zalo"

    async def start(self, core: Core) -> None:
        """Connect, add its transport to ``core.transports``, make its worker with
        ``core.worker``, and get ready to receive (a webhook listens from here on);
        raises if the channel cannot start."""
        ...

    async def run(self) -> None:
        """Receive until ``core.stop`` is set, then let the updates in hand finish."""
        ...

    async def close(self) -> None:
        """Release connections, once the sender has stopped (also after a failed start)."""
        ...
