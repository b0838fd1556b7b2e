"""The Telegram channel as ``bot.app`` runs it: by long polling (the default) or, with
``webhook=True`` (``python -m bot run --webhook``), by webhook: a
:class:`~bot.runtime.webhook.WebhookServer` takes each update through the same ordered
intake and answers only once it committed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from bot.config import BotSettings, Settings
from bot.runtime.channel import Core
from bot.runtime.errors import SendError
from bot.runtime.intake import OrderedIntake
from bot.runtime.polling import Inboxed, RawUpdate, poll
from bot.runtime.transport import Transport
from bot.runtime.worker import UpdateWorker
from bot.telegram.constants import CHANNEL, MENU_COMMANDS, MENU_LANGUAGES, WEBHOOK_SECRET_HEADER
from handlers.context import mini_app_url
from handlers.events import Incoming
from handlers.i18n import Catalogue
from storage.inbox import Inbox

if TYPE_CHECKING:  # imported when used: aiohttp's web server only in webhook mode
    from bot.runtime.webhook import WebhookServer

log = logging.getLogger(__name__)


class WebhookNotSet(RuntimeError):
    """Webhook mode could not start: the listener or Telegram's setWebhook failed."""


class TelegramAdapter(Transport, Protocol):
    mini_app: str  # the dashboard's Mini App address for the menu buttons ("" for none)
    peers: dict[str, Any]  # the deployment's bots by route (adapter.TelegramAdapterBase)

    async def start(self, on_incoming: Callable[[Incoming], Awaitable[None]]) -> str: ...

    async def fetch(
        self, offset: int | None, timeout: int, *, known_through: int | None = None
    ) -> list[RawUpdate]: ...

    async def process(self, raw: RawUpdate) -> None: ...

    async def warm_up(self) -> None: ...

    def wrap(self, data: Any) -> RawUpdate | None: ...

    async def set_webhook(self, url: str, secret: str, *, max_connections: int) -> None: ...

    async def delete_webhook(self) -> None: ...

    async def close(self) -> None: ...


def make_telegram(settings: Settings, bot: BotSettings | None = None) -> TelegramAdapter:
    """The adapter of the configured framework for the main bot, or for ``bot`` (one of
    ``telegram.bots``); only that framework is imported (each costs memory and start-up
    time)."""
    telegram = settings.telegram
    token = bot.token if bot is not None else telegram.token
    api_base = (bot.api_base if bot is not None else "") or telegram.api_base
    adapter: TelegramAdapter
    if telegram.framework == "ptb":
        from bot.telegram.ptb_adapter import PtbTelegram

        adapter = PtbTelegram(token, api_base, request_timeout=telegram.request_timeout)
    else:
        from bot.telegram.aiogram_adapter import AiogramTelegram

        adapter = AiogramTelegram(token, api_base, request_timeout=telegram.request_timeout)
    adapter.channel = bot.route if bot is not None else CHANNEL
    return adapter


async def set_command_menus(transport: Transport, catalogue: Catalogue) -> None:
    """The "/" menu in Vietnamese for everyone, in English for English-language clients."""
    for language in MENU_LANGUAGES:
        tr = catalogue.for_lang(language or "vi")
        commands = [(name, tr(f"commands.{name}")) for name in MENU_COMMANDS]
        try:
            await transport.set_commands(commands, language)
        except Exception as exc:  # a menu is a convenience; never a reason not to start
            log.warning("could not set the command menu (%s)", type(exc).__name__)


def make_webhook_server(
    settings: Settings,
    telegram: TelegramAdapter,
    intake: OrderedIntake,
    bot: BotSettings | None = None,
) -> WebhookServer:
    # Imported here: aiohttp's web server is needed in webhook mode only.
    from bot.runtime.webhook import WebhookServer

    config = settings.telegram
    return WebhookServer(
        telegram.wrap,
        intake,
        telegram.process,
        secret=webhook_secret(settings, bot),
        secret_header=WEBHOOK_SECRET_HEADER,
        host=config.webhook_listen,
        port=config.webhook_port,
        path=webhook_path(settings, bot),
        name=telegram.channel,
    )


def webhook_path(settings: Settings, bot: BotSettings | None) -> str:
    """Where a bot's updates are posted: its own path on the one listener."""
    main = settings.telegram.webhook_path
    if bot is None:
        return main
    return bot.webhook_path or f"{main.rstrip('/')}/{bot.name}"


def webhook_secret(settings: Settings, bot: BotSettings | None) -> str:
    """The secret Telegram sends with each of a bot's updates: each bot has its own."""
    return bot.webhook_secret if bot is not None else settings.telegram.webhook_secret


def webhook_url(settings: Settings, bot: BotSettings | None) -> str:
    """The public address given to setWebhook: the main bot's, with the bot's path in place
    of the main path (a reverse proxy forwards each path as it is)."""
    url = settings.telegram.webhook_url
    if bot is None:
        return url
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=webhook_path(settings, bot), query=""))


async def start_webhook(
    settings: Settings,
    telegram: TelegramAdapter,
    intake: OrderedIntake,
    bot: BotSettings | None = None,
    host: WebhookServer | None = None,
) -> WebhookServer:
    """Listen (or, for a further bot, take a path on ``host``'s listener), then have
    Telegram post to us; raises :class:`WebhookNotSet` if either fails.

    setWebhook is called by every instance at start (the same settings again change
    nothing); no instance removes the webhook when it stops, the others keep serving.
    """
    config = settings.telegram
    server = make_webhook_server(settings, telegram, intake, bot)
    try:
        if host is not None:
            host.mount(server)
        else:
            await server.start()
    except OSError as exc:
        where = f"{config.webhook_listen}:{config.webhook_port}"
        raise WebhookNotSet(f"cannot listen on {where} ({exc.strerror or exc})") from exc
    try:
        await telegram.set_webhook(
            webhook_url(settings, bot),
            webhook_secret(settings, bot),
            max_connections=config.webhook_max_connections,
        )
    except BaseException as exc:
        await server.stop()
        if isinstance(exc, SendError):
            raise WebhookNotSet(f"Telegram did not take the webhook: {exc}") from exc
        raise
    return server


async def clear_webhook(telegram: TelegramAdapter) -> None:
    """Long polling: getUpdates answers only 409 while a webhook is set (say, from an
    earlier ``--webhook`` run), so remove it; pending updates stay."""
    try:
        await telegram.delete_webhook()
    except Exception as exc:
        log.warning("could not remove the webhook (%s)", type(exc).__name__)


class TelegramChannel:
    """One Telegram bot, by long polling or (``webhook``) by webhook; a
    :class:`~bot.runtime.channel.Channel`. The main bot (``telegram.token``), or ``bot``,
    one of ``telegram.bots``: a route of its own (handlers.events.family_of) whose webhook
    takes a path on the main bot's listener (``host``)."""

    def __init__(
        self,
        settings: Settings,
        *,
        webhook: bool = False,
        bot: BotSettings | None = None,
        host: TelegramChannel | None = None,
    ) -> None:
        self.settings = settings
        self.webhook = webhook
        self.bot = bot
        self.host = host
        self.name = bot.route if bot is not None else CHANNEL
        self.username = ""
        self.telegram: TelegramAdapter | None = None
        self.server: WebhookServer | None = None
        self._core: Core | None = None
        self._worker: UpdateWorker | None = None
        self._intake = OrderedIntake(settings.runtime.max_in_flight)
        self._warming: asyncio.Task[None] | None = None

    async def _on_incoming(self, incoming: Incoming) -> None:
        assert self._worker is not None  # updates come only once start() made it
        await self._worker(incoming)

    async def start(self, core: Core) -> None:
        self._core = core
        telegram = self.telegram = make_telegram(self.settings, self.bot)
        # One table of the deployment's bots, shared: files go from one bot to another.
        telegram.peers = self.host.telegram.peers if self.host and self.host.telegram else {}
        telegram.peers[telegram.channel] = telegram
        core.transports[telegram.channel] = telegram
        telegram.mini_app = mini_app_url(core.dashboard_url)
        self.username = await telegram.start(self._on_incoming)
        self._worker = core.worker(self.username, telegram)
        await set_command_menus(telegram, core.catalogue)
        if self.webhook:
            host = self.host.server if self.host is not None else None
            self.server = await start_webhook(self.settings, telegram, self._intake, self.bot, host)
        else:
            await clear_webhook(telegram)

    async def run(self) -> None:
        core, telegram = self._core, self.telegram
        assert core is not None and telegram is not None, "run() after start()"
        framework = self.settings.telegram.framework
        if self.server is not None:
            log.info(
                "bot @%s (%s) webhook on %s:%d %s (%s), started in %.2f s",
                self.username,
                self.name,
                self.server.host,
                self.server.port,
                self.server.path,
                framework,
                time.monotonic() - core.started_at,
            )
            self._warm_up(telegram)
            await core.stop.wait()
            # Stop accepting, let the updates taken in finish; the webhook stays set.
            await self.server.stop()
            return

        def first_fetch() -> None:
            log.info(
                "bot @%s (%s) polling (%s), started in %.2f s",
                self.username,
                self.name,
                framework,
                time.monotonic() - core.started_at,
            )
            self._warm_up(telegram)

        await poll(
            telegram,
            self._intake,
            telegram.process,
            core.stop,
            timeout=self.settings.telegram.polling_timeout,
            on_first_fetch=first_fetch,
            inbox=Inboxed(Inbox(core.sessionmaker, telegram.channel), telegram.wrap),
        )

    def _warm_up(self, telegram: TelegramAdapter) -> None:
        """The framework's one-off work, now that the bot is up (counted in no start-up)."""
        self._warming = asyncio.create_task(telegram.warm_up(), name=f"warm-up {self.name}")

    async def close(self) -> None:
        if self._warming is not None and not self._warming.done():
            self._warming.cancel()
        if self.server is not None:
            await self.server.stop()  # a no-op unless starting failed after it listened
        if self.telegram is not None:
            await self.telegram.close()
