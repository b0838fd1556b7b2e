"""The dashboard's web server as a :class:`~bot.runtime.channel.Channel`.

Started by ``bot.app`` before the messengers when ``web.enabled``: it listens on
``web.listen:web.port`` (0: any free port) and tells the core where the page is, so
that the flows' /dashboard links and Mini App buttons point at it. The page reads on
the background engine and decides on the updates' engine; after a decision the outbox
sender is woken, so the worker and the cards hear of it at once.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.runtime.channel import Core
from bot.web.auth import Auth
from bot.web.server import RUNNER_OPTIONS, DashboardServer, create_app, origin_of
from handlers.dashboard.service import Dashboard
from handlers.team_policy import TeamPolicy

log = logging.getLogger(__name__)

#: The log line tests and tools read the page's address from (the port may be any).
ADDRESS_LINE = "dashboard at %s"


class WebChannel:
    name = "web"

    def __init__(
        self, settings: Settings, reader: async_sessionmaker[AsyncSession] | None = None
    ) -> None:
        self.settings = settings
        self.reader = reader
        self.runner: web.AppRunner | None = None
        self.port = 0
        self.url = ""  # the page's address once listening, "<base>/app/"
        self.auth: Auth | None = None  # the credentials, once started (try-it-out links)
        self._core: Core | None = None

    async def start(self, core: Core) -> None:
        self._core = core
        web_settings, settings = self.settings.web, self.settings
        reader = self.reader or core.sessionmaker
        dashboard = Dashboard(
            sessionmaker=core.sessionmaker,
            reader=reader,
            catalogue=core.catalogue,
            council=settings.council.policy,
            team=TeamPolicy(
                inactive_days=settings.team.inactive_days,
                invite_hours=settings.team.invite_hours,
                files=Path(settings.reports.directory),
            ),
            reports_dir=Path(settings.reports.directory),
            export_max_rows=settings.reports.export_max_rows,
        )
        auth = Auth(
            sessionmaker=core.sessionmaker,
            reader=reader,
            bot_token=settings.telegram.token,
            other_bot_tokens=[bot.token for bot in settings.telegram.bots],
            init_data_max_age=timedelta(minutes=web_settings.init_data_max_age_minutes),
            session_lifetime=timedelta(hours=web_settings.session_hours),
        )
        server = DashboardServer(
            dashboard=dashboard,
            auth=auth,
            catalogue=core.catalogue,
            reports_dir=Path(settings.reports.directory),
            on_change=core.sender.wake,
            secure_cookie=web_settings.base_url.startswith("https://"),
            public_origin=origin_of(web_settings.base_url),
        )
        self.auth = auth
        runner = web.AppRunner(create_app(server), **RUNNER_OPTIONS)
        await runner.setup()
        site = web.TCPSite(runner, web_settings.listen, web_settings.port)
        try:
            await site.start()
        except OSError as exc:
            # The chats matter more than the page: the bot runs on without it.
            log.error(
                "the dashboard cannot listen on %s:%d (%s); running without it",
                web_settings.listen,
                web_settings.port,
                exc.strerror or type(exc).__name__,
            )
            await runner.cleanup()
            return
        self.runner = runner
        self.port = _bound_port(runner, web_settings.port)
        base = web_settings.public_url.rstrip("/") or f"http://{web_settings.listen}:{self.port}"
        self.url = core.dashboard_url = f"{base}/app/"
        log.info(ADDRESS_LINE, self.url)

    async def run(self) -> None:
        assert self._core is not None, "run() after start()"
        await self._core.stop.wait()

    async def close(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None


def _bound_port(runner: web.AppRunner, configured: int) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return configured
