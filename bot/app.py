"""The composition root: builds every piece once and runs the bot until a signal.

Telegram updates come by long polling (the default) or, with ``webhook=True``
(``python -m bot run --webhook``), by webhook: a :class:`~bot.runtime.webhook.WebhookServer`
takes each update through the same ordered intake and answers only once it committed.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import ConfigError, Settings
from bot.runtime import heap
from bot.runtime.errors import SendError
from bot.runtime.input_rate import InputRate
from bot.runtime.intake import OrderedIntake
from bot.runtime.limiter import Rate, SendLimiter, SharedSendLimiter
from bot.runtime.polling import Inboxed, RawUpdate, poll, sleep_unless
from bot.runtime.sender import OutboxSender
from bot.runtime.transport import Transport
from bot.runtime.worker import UpdateWorker
from bot.telegram.constants import MENU_COMMANDS, MENU_LANGUAGES, WEBHOOK_SECRET_HEADER
from handlers.context import BotInfo
from handlers.digest import DigestPolicy, run_digest
from handlers.dispatch import Dispatcher, utc_now
from handlers.events import Incoming
from handlers.i18n import Catalogue
from handlers.reminders import ReminderPolicy, run_reminders
from handlers.reports.jobs import ReportSettings, run_report_jobs
from storage.db import create_engine, create_sessionmaker
from storage.inbox import Inbox
from storage.retention import prune
from storage.schema import check_schema

if TYPE_CHECKING:  # imported when used: aiohttp's web server only in webhook mode
    from bot.runtime.webhook import WebhookServer

log = logging.getLogger(__name__)

SENDER_STOP_SECONDS = 10.0
# How long a reminder, report or digest pass in hand may take to finish at a stop.
PERIODIC_STOP_SECONDS = 10.0


class SchemaNotReady(RuntimeError):
    """The database is not at this version's schema; the message says what to run."""


class WebhookNotSet(RuntimeError):
    """Webhook mode could not start: the listener or Telegram's setWebhook failed."""


class TelegramAdapter(Transport, Protocol):
    async def start(self, on_incoming: Callable[[Incoming], Awaitable[None]]) -> str: ...

    async def fetch(
        self, offset: int | None, timeout: int, *, known_through: int | None = None
    ) -> list[RawUpdate]: ...

    async def process(self, raw: RawUpdate) -> None: ...

    def wrap(self, data: Any) -> RawUpdate | None: ...

    async def set_webhook(self, url: str, secret: str, *, max_connections: int) -> None: ...

    async def delete_webhook(self) -> None: ...

    async def close(self) -> None: ...


def make_telegram(settings: Settings) -> TelegramAdapter:
    telegram = settings.telegram
    if telegram.framework == "ptb":
        from bot.telegram.ptb_adapter import PtbTelegram

        return PtbTelegram(
            telegram.token, telegram.api_base, request_timeout=telegram.request_timeout
        )
    from bot.telegram.aiogram_adapter import AiogramTelegram

    return AiogramTelegram(
        telegram.token, telegram.api_base, request_timeout=telegram.request_timeout
    )


def make_limiter(settings: Settings, engine: AsyncEngine | None = None) -> SendLimiter:
    """The send limiter; on PostgreSQL (several instances may share the database) its
    slots are reserved in the database, so the limits hold for the bot as a whole."""
    limits = settings.send_limits
    global_rate = Rate(limits.global_per_second)
    private_rate = Rate(limits.private_per_second, burst=limits.private_burst)
    group_rate = Rate(limits.group_per_minute / 60.0, burst=limits.private_burst)
    if engine is not None and engine.dialect.name == "postgresql":
        return SharedSendLimiter(
            engine, global_rate=global_rate, private_rate=private_rate, group_rate=group_rate
        )
    return SendLimiter(global_rate=global_rate, private_rate=private_rate, group_rate=group_rate)


async def set_command_menus(transport: Transport, catalogue: Catalogue) -> None:
    """The "/" menu in Vietnamese for everyone, in English for English-language clients."""
    for language in MENU_LANGUAGES:
        tr = catalogue.for_lang(language or "vi")
        commands = [(name, tr(f"commands.{name}")) for name in MENU_COMMANDS]
        try:
            await transport.set_commands(commands, language)
        except Exception as exc:  # a menu is a convenience; never a reason not to start
            log.warning("could not set the command menu (%s)", type(exc).__name__)


def reminder_policy(settings: Settings) -> ReminderPolicy:
    return ReminderPolicy(
        working_days=settings.reminders.working_days,
        weekdays=settings.reminders.weekday_numbers,
        extra_days_off=settings.reminders.extra_day_dates,
    )


async def stop_periodic(tasks: Sequence[asyncio.Task[None]]) -> None:
    """Let the periodic passes see the stop and finish the pass in hand (a transaction
    cancelled half-way leaves its connection to be rolled back by nobody); cancel what
    still runs after ``PERIODIC_STOP_SECONDS``."""
    for task in tasks:
        try:
            await asyncio.wait_for(task, PERIODIC_STOP_SECONDS)
        except TimeoutError:
            log.warning("%s did not stop in time; its pass was cut short", task.get_name())
        except Exception:
            log.exception("%s failed while stopping", task.get_name())


async def remind_periodically(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    catalogue: Catalogue,
    sender: OutboxSender,
    stop: asyncio.Event,
) -> None:
    """Look for ideas left waiting every few minutes, until ``stop``; the sender delivers
    what is due."""
    policy = reminder_policy(settings)
    while not stop.is_set():
        try:
            result = await run_reminders(sessionmaker, catalogue, utc_now(), policy)
            if result.notifications:
                sender.wake()
        except Exception:
            log.exception("the reminder pass failed; trying again at the next one")
        if await sleep_unless(stop, settings.reminders.check_minutes * 60):
            return


def digest_policy(settings: Settings) -> DigestPolicy:
    return DigestPolicy(weekday=settings.digest.weekday_number, hour=settings.digest.hour)


def report_settings(settings: Settings) -> ReportSettings:
    return ReportSettings(
        directory=Path(settings.reports.directory),
        export_max_rows=settings.reports.export_max_rows,
    )


async def report_periodically(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    catalogue: Catalogue,
    sender: OutboxSender,
    stop: asyncio.Event,
) -> None:
    """Make the charts and spreadsheets asked for; send the weekly digest when it is due;
    until ``stop``."""
    reports, policy = report_settings(settings), digest_policy(settings)
    next_digest_check = 0.0
    while not stop.is_set():
        try:
            if await run_report_jobs(sessionmaker, catalogue, reports):
                sender.wake()
        except Exception:
            log.exception("the report pass failed; trying again at the next one")
        if time.monotonic() >= next_digest_check:
            next_digest_check = time.monotonic() + settings.digest.check_minutes * 60
            try:
                digest = await run_digest(sessionmaker, catalogue, utc_now(), policy)
                if digest.sent:
                    sender.wake()
            except Exception:
                log.exception("the digest pass failed; trying again at the next one")
        if await sleep_unless(stop, settings.reports.check_seconds):
            return


async def prune_periodically(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], stop: asyncio.Event
) -> None:
    """Delete handled update ids and inbox rows past ``retention.days`` every
    ``retention.check_minutes``, until ``stop`` (storage/retention.py). The first pass
    waits one interval, so that a restarted bot takes in its inbox before any of it can
    be judged too old."""
    keep = timedelta(days=settings.retention.days)
    while not await sleep_unless(stop, settings.retention.check_minutes * 60):
        try:
            result = await prune(
                sessionmaker, utc_now(), keep=keep, keep_going=lambda: not stop.is_set()
            )
        except Exception:
            log.exception("the retention pass failed; trying again at the next one")
            continue
        if result.never_handled:
            log.warning(
                "retention: %d inbox updates older than %d days were never handled; dropped",
                result.never_handled,
                settings.retention.days,
            )
        if result.processed or result.inbox:
            log.info(
                "retention: %d handled update ids and %d inbox rows deleted",
                result.processed,
                result.inbox,
            )


def make_worker(
    settings: Settings, dispatcher: Dispatcher, sender: OutboxSender, transport: Transport
) -> UpdateWorker:
    """The update worker of one channel, with its own people's input rates."""
    runtime = settings.runtime
    return UpdateWorker(
        dispatcher,
        sender,
        transport,
        max_attempts=runtime.update_max_attempts,
        input_rate=InputRate(burst=runtime.input_burst, per_second=runtime.input_per_second),
        button_grace=runtime.button_grace_seconds,
    )


def make_webhook_server(
    settings: Settings, telegram: TelegramAdapter, intake: OrderedIntake
) -> WebhookServer:
    from bot.runtime.webhook import WebhookServer

    config = settings.telegram
    return WebhookServer(
        telegram.wrap,
        intake,
        telegram.process,
        secret=config.webhook_secret,
        secret_header=WEBHOOK_SECRET_HEADER,
        host=config.webhook_listen,
        port=config.webhook_port,
        path=config.webhook_path,
        name="telegram",
    )


async def start_webhook(
    settings: Settings, telegram: TelegramAdapter, intake: OrderedIntake
) -> WebhookServer:
    """Listen, then have Telegram post to us; raises :class:`WebhookNotSet` if either fails.

    setWebhook is called by every instance at start (the same settings again change
    nothing); no instance removes the webhook when it stops, the others keep serving.
    """
    config = settings.telegram
    server = make_webhook_server(settings, telegram, intake)
    try:
        await server.start()
    except OSError as exc:
        where = f"{config.webhook_listen}:{config.webhook_port}"
        raise WebhookNotSet(f"cannot listen on {where} ({exc.strerror or exc})") from exc
    try:
        await telegram.set_webhook(
            config.webhook_url,
            config.webhook_secret,
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


async def run_bot(
    settings: Settings,
    *,
    webhook: bool = False,
    started_at: float | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Run until SIGINT or SIGTERM (or ``stop``), then finish the updates in hand and stop.

    ``webhook``: receive Telegram's updates by webhook (``telegram.webhook_*``) instead of
    long polling.
    """
    started_at = time.monotonic() if started_at is None else started_at
    if webhook:
        problem = settings.telegram.webhook_problem()
        if problem is not None:
            raise ConfigError(problem)
    if not settings.telegram.token and settings.zalo.active:  # Zalo alone (issue #9)
        from bot.zalo.runner import run_zalo_only

        await run_zalo_only(settings, started_at=started_at, stop=stop)
        return
    # Updates and sending: many short transactions, run on the event loop's thread on
    # SQLite. Reminders, digests and reports read much more at a time: their own
    # engine keeps aiosqlite's worker thread, so that they never hold up the loop.
    engine = create_engine(settings.database.url, sqlite_inline=True)
    background = create_engine(settings.database.url) if engine.dialect.name == "sqlite" else engine
    try:
        status = await check_schema(engine)
        if not status.ok:
            raise SchemaNotReady(status.message)
        sessionmaker = create_sessionmaker(engine)
        background_sessionmaker = create_sessionmaker(background)
        catalogue = Catalogue.load()
        telegram = make_telegram(settings)
        limiter = make_limiter(settings, engine)
        transports: dict[str, Transport] = {telegram.channel: telegram}
        instance = settings.runtime.instance_name
        sender = OutboxSender(
            sessionmaker,
            transports,
            limiter,
            max_attempts=settings.runtime.send_max_attempts,
            catalogue=catalogue,
            instance=instance,
        )
        holder: dict[str, UpdateWorker] = {}
        server: WebhookServer | None = None

        async def on_incoming(incoming: Incoming) -> None:
            await holder["worker"](incoming)

        try:
            username = await telegram.start(on_incoming)
            dispatcher = Dispatcher(
                sessionmaker, catalogue, BotInfo(username=username), instance=instance
            )
            holder["worker"] = make_worker(settings, dispatcher, sender, telegram)
            await set_command_menus(telegram, catalogue)
            intake = OrderedIntake(settings.runtime.max_in_flight)
            if webhook:
                server = await start_webhook(settings, telegram, intake)
            else:
                await clear_webhook(telegram)
            if stop is None:
                stop = asyncio.Event()
                loop = asyncio.get_running_loop()
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.add_signal_handler(sig, stop.set)
            zalo = None
            if settings.zalo.active:  # Zalo beside Telegram (issue #9)
                from bot.zalo.runner import start_zalo

                zalo = await start_zalo(
                    settings,
                    sessionmaker=sessionmaker,
                    catalogue=catalogue,
                    sender=sender,
                    transports=transports,
                    stop=stop,
                    dispatcher=dispatcher,
                )
            sender_task = asyncio.create_task(sender.run(), name="outbox-sender")
            reminder_task = asyncio.create_task(
                remind_periodically(settings, background_sessionmaker, catalogue, sender, stop),
                name="reminders",
            )
            report_task = asyncio.create_task(
                report_periodically(settings, background_sessionmaker, catalogue, sender, stop),
                name="reports",
            )
            retention_task = asyncio.create_task(
                prune_periodically(settings, background_sessionmaker, stop), name="retention"
            )

            heap.settle()  # the start-up heap out of every later full collection

            def first_fetch() -> None:
                log.info(
                    "bot @%s polling (%s), started in %.2f s",
                    username,
                    settings.telegram.framework,
                    time.monotonic() - started_at,
                )

            if server is not None:
                log.info(
                    "bot @%s webhook on %s:%d %s (%s), started in %.2f s",
                    username,
                    server.host,
                    server.port,
                    server.path,
                    settings.telegram.framework,
                    time.monotonic() - started_at,
                )
                await stop.wait()
                # Stop accepting, let the updates taken in finish; the webhook stays set.
                await server.stop()
            else:
                await poll(
                    telegram,
                    intake,
                    telegram.process,
                    stop,
                    timeout=settings.telegram.polling_timeout,
                    on_first_fetch=first_fetch,
                    inbox=Inboxed(Inbox(sessionmaker, telegram.channel), telegram.wrap),
                )
            if zalo is not None:
                await zalo.stop()
            log.info("stopping: %d updates handled", holder["worker"].handled)
            stop.set()  # (already set, unless polling ended on its own)
            # The sender ends its round between two messages while the passes finish
            # theirs: what either leaves queued goes at the next start (issue 16).
            sender.stop()
            await stop_periodic([reminder_task, report_task, retention_task])
            try:
                await asyncio.wait_for(sender_task, SENDER_STOP_SECONDS)
            except TimeoutError:
                log.warning("the outbox sender did not stop in time; unsent messages stay queued")
        finally:
            if server is not None:
                await server.stop()  # a no-op unless starting failed after it listened
            await limiter.close()
            await telegram.close()
    finally:
        await engine.dispose()
        if background is not engine:
            await background.dispose()
