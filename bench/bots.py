"""Several bot tokens (issue #22): four tokens' 5,000-notification bursts, all at once.

One deployment serves four Telegram bots: the main token (``telegram.token``, the route
"telegram") and three more in ``telegram.bots`` (routes "telegram.north", "telegram.south",
"telegram.east"), written to a YAML file named by ``SANGKIEN_CONFIG``. Each bot has a stand-in
of its own enforcing Telegram's limits for one token (limits mode: 30 messages a second with a
burst of 30, one a second per private chat), so the stand-ins together are what Telegram is to
four tokens.

Before the bot starts, each route gets 5,000 people (a person and a Telegram identity whose
``bots`` names the route, as if each had written to that bot last) and one pending
notification for each of them (priority 5, as the support team's cards are queued), written
through the storage layer's ``OutboxRepository.add`` on the route's channel. The four bursts
therefore start together and run side by side.

Two set-ups, each on a fresh database:

* one process on SQLite (long polling), the template database of :mod:`bench.common`;
* three processes (distinct ``BOT_INSTANCE``) on PostgreSQL in webhook mode, as several
  instances are deployed (docs/DEPLOY.md): a database of its own created on the server and
  dropped afterwards. Every process serves all four bots.

Reported per token: successful sendMessage calls per second from its first to its last, as a
fraction of 30, the same over the middle 80 % of its burst, and the number of 429 answers.
Every chat must get exactly one message and the outbox must empty. Target: every token at
>= 0.93 of 30/s and no 429, in both set-ups.

    python -m bench.bots [--postgres URL] [--frameworks aiogram,ptb] [--size N] [--repeat N]

``--postgres``: the server to use (the URL's database only to connect); default
``BENCH_POSTGRES_URL`` or ``postgresql://postgres@127.0.0.1:5432/postgres``. ``--no-postgres``
measures SQLite alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator, Coroutine, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import asyncpg  # type: ignore[import-untyped]
import yaml
from sqlalchemy import func, insert, select
from sqlalchemy.engine import make_url

from bench.common import (
    FIRST_WORKER,
    FRAMEWORKS,
    JSON,
    READY_TIMEOUT,
    ROOT,
    TOKEN,
    BenchResult,
    Options,
    Process,
    Row,
    WatchedWorld,
    add_people,
    bot_argv,
    bot_env,
    cli,
    default_workdir,
    fresh_database,
    log_problems,
    machine_info,
    markdown_table,
    median,
    own_cpu_seconds,
    profiled,
    rounded,
    save_results,
    standin,
    summarise_problems,
    template,
    watched,
)
from bench.instances import machine_ticks
from handlers.events import Button, OutMessage
from standins.telegram.config import StandinConfig
from standins.telegram.models import CallRecord

NAME = "bots"
ALLOWED_PER_SECOND = 30.0
TARGET_FRACTION = 0.93
PRIORITY_NOTIFY = 5
MAIN = "telegram"
EXTRA = ("north", "south", "east")
ROUTES = (MAIN, *(f"{MAIN}.{name}" for name in EXTRA))
PG_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
WEBHOOK_PATH = "/telegram/webhook"
# The public address given to setWebhook (each bot its own path); the stand-ins' load
# balancers post to the processes' own listeners instead.
PUBLIC_ORIGIN = "http://127.0.0.1:8443"
SECRET = "bench-bots-secret_0123456789"
INSTANCE_NAMES = "abc"


@dataclass(frozen=True)
class Setup:
    key: str
    label: str
    database: Literal["sqlite", "postgres"]
    instances: int


SQLITE_1 = Setup("sqlite-1", "SQLite, 1 process", "sqlite", 1)
POSTGRES_1 = Setup("postgres-1", "PostgreSQL, 1 process", "postgres", 1)
POSTGRES_3 = Setup("postgres-3", "PostgreSQL, 3 processes", "postgres", 3)
SETUPS = {setup.key: setup for setup in (SQLITE_1, POSTGRES_1, POSTGRES_3)}


@dataclass(frozen=True)
class Bot:
    """One token of the deployment and the stand-in that plays Telegram for it."""

    route: str
    token: str
    username: str
    path: str  # its webhook path
    secret: str

    @property
    def name(self) -> str:
        return self.route.partition(".")[2]


def bots(tokens: int = len(ROUTES)) -> list[Bot]:
    """The main bot and ``tokens`` - 1 further ones."""
    found = [Bot(MAIN, TOKEN, "sangkien_bot", WEBHOOK_PATH, SECRET)]
    for number, name in enumerate(EXTRA, 1):
        token = f"{200_000_000 + number}:AAHbench{name}TokenForTheStandInServer01"
        found.append(
            Bot(
                f"{MAIN}.{name}",
                token,
                f"sangkien_{name}_bot",
                f"/telegram/{name}",
                f"{SECRET}{name}",
            )
        )
    return found[:tokens]


def chat_ids(index: int, count: int) -> list[int]:
    """The private chats of route number ``index``: people of their own on each bot."""
    first = FIRST_WORKER + index * 1_000_000
    return list(range(first, first + count))


def write_config(path: Path, found: Sequence[Bot], api_bases: dict[str, str]) -> Path:
    """config.yaml as shipped, plus ``telegram.bots``: the extra bots, each at its stand-in.

    The main bot's token, API base and webhook settings come from the environment."""
    raw = yaml.safe_load((ROOT / "config.yaml").read_text("utf-8")) or {}
    raw.setdefault("telegram", {})["bots"] = [
        {
            "name": bot.name,
            "token": bot.token,
            "api_base": api_bases[bot.route],
            "webhook_path": bot.path,
            "webhook_secret": bot.secret,
        }
        for bot in found
        if bot.route != MAIN
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), "utf-8")
    return path


# ---------------------------------------------------------------- databases


def plain_dsn(url: str, database: str | None = None) -> str:
    """The URL as asyncpg understands it (no SQLAlchemy driver name)."""
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


@contextlib.asynccontextmanager
async def postgres_database(server: str) -> AsyncIterator[str]:
    """A brand-new database on the server (SQLAlchemy URL), dropped afterwards."""
    name = f"bench_bots_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(plain_dsn(server), timeout=10)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        url = make_url(server).set(drivername="postgresql+asyncpg", database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        conn = await asyncpg.connect(plain_dsn(server), timeout=10)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


async def postgres_problem(server: str) -> str | None:
    """Why the PostgreSQL server cannot be used (None: it can)."""
    try:
        conn = await asyncpg.connect(plain_dsn(server), timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"PostgreSQL at {server} is unreachable ({type(exc).__name__}: {exc})"
    await conn.close()
    return None


@contextlib.asynccontextmanager
async def database(
    setup: Setup, options: Options, directory: Path, server: str
) -> AsyncIterator[str]:
    """A fresh database (SQLAlchemy URL), migrated through the real CLI."""
    if setup.database == "sqlite":
        db = fresh_database(template(options.workdir), directory)
        yield f"sqlite+aiosqlite:///{db}"
        return
    async with postgres_database(server) as url:
        env = bot_env("http://127.0.0.1:9", directory / "unused.db", "aiogram")
        env["DATABASE_URL"] = url
        await asyncio.to_thread(cli, env, "migrate")
        yield url


async def fill(url: str, found: Sequence[Bot], count: int, *, together: bool = True) -> None:
    """Each route's people (identities naming the route) and one notification each.

    ``together``: the notifications queued in turn, one of each route after another (as a
    busy hour's cards and announcements of several bots come); otherwise each route's
    whole burst before the next route's (one bot's backlog ahead of the others').
    """
    from storage.db import create_engine, create_sessionmaker
    from storage.models import Identity, Person
    from storage.uow import UnitOfWork

    engine = create_engine(url)
    try:
        now = datetime.now(UTC)
        queued: list[list[tuple[str, int, int]]] = []  # per route: (route, person, chat)
        async with UnitOfWork(create_sessionmaker(engine)) as uow:
            for index, bot in enumerate(found):
                chats = chat_ids(index, count)
                people = [
                    {
                        "display_name": f"Công nhân {chat}",
                        "platform_language": "vi",
                        "unreachable": False,
                        "created_at": now,
                    }
                    for chat in chats
                ]
                statement = insert(Person).returning(Person.id, sort_by_parameter_order=True)
                ids = list((await uow.session.execute(statement, people)).scalars())
                accounts = [
                    {
                        "person_id": person_id,
                        "channel": MAIN,
                        "external_id": str(chat),
                        "private_chat_id": str(chat),
                        "bots": None if bot.route == MAIN else bot.route,
                    }
                    for person_id, chat in zip(ids, chats, strict=True)
                ]
                await uow.session.execute(insert(Identity), accounts)
                queued.append([(bot.route, p, c) for p, c in zip(ids, chats, strict=True)])
            order = (
                [row for rows in zip(*queued, strict=True) for row in rows]
                if together
                else [row for rows in queued for row in rows]
            )
            for number, (route, person_id, chat) in enumerate(order, 1):
                message = OutMessage(
                    text=(
                        f"<b>Sáng kiến mới SK-2026-{number:06d}</b>\n"
                        "Đề xuất lắp mái che nắng ở bãi xe để xe máy công nhân không bị nóng."
                    ),
                    buttons=((Button("Xem", f"bench:{number}"),),),
                )
                await uow.outbox.add(
                    channel=route,
                    chat_id=str(chat),
                    payload=message.to_json(),
                    priority=PRIORITY_NOTIFY,
                    now=now,
                    person_id=person_id,
                    purpose="bench",
                )
            await uow.commit()
    finally:
        await engine.dispose()


async def unsent_by_route(url: str) -> dict[str, int]:
    from storage.db import create_engine, create_sessionmaker
    from storage.models import OutboxMessage

    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            rows = await session.execute(
                select(OutboxMessage.channel, func.count(OutboxMessage.id))
                .where(OutboxMessage.status != "sent")
                .group_by(OutboxMessage.channel)
            )
            return {str(channel): int(n) for channel, n in rows}
    finally:
        await engine.dispose()


async def settled(url: str, seconds: float = 15.0) -> dict[str, int]:
    """The outbox rows not sent yet, by route, once none are left or ``seconds`` passed
    (the last sends are recorded a moment after the stand-in saw them)."""
    deadline = time.monotonic() + seconds
    unsent = await unsent_by_route(url)
    while unsent and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        unsent = await unsent_by_route(url)
    return unsent


# ---------------------------------------------------------------- processes


def processes(
    setup: Setup,
    framework: str,
    url: str,
    config: Path,
    main_api: str,
    ports: Sequence[int],
    directory: Path,
) -> list[Process]:
    base = bot_env(main_api, directory / "unused.db", framework)
    base.update(DATABASE_URL=url, SANGKIEN_CONFIG=str(config))
    if setup.instances == 1 and setup.database == "sqlite":
        return [Process(bot_argv(), base, directory / f"bot-{framework}.log")]
    base.update(
        TELEGRAM_WEBHOOK_URL=f"{PUBLIC_ORIGIN}{WEBHOOK_PATH}",
        TELEGRAM_WEBHOOK_SECRET=SECRET,
        TELEGRAM_WEBHOOK_LISTEN="127.0.0.1",
        TELEGRAM_WEBHOOK_PATH=WEBHOOK_PATH,
    )
    found = []
    for name, port in zip(INSTANCE_NAMES, ports, strict=False):
        env = {**base, "BOT_INSTANCE": f"bench-{name}", "TELEGRAM_WEBHOOK_PORT": str(port)}
        log = directory / f"bot-{framework}-{name}.log"
        found.append(Process([*bot_argv(), "--webhook"], env, log))
    return found


async def wait_ready(
    worlds: Sequence[WatchedWorld], running: Sequence[Process], webhook: bool
) -> None:
    """Until every bot is served: each stand-in polled, or its webhook set by every process."""

    def ready(world: WatchedWorld) -> bool:
        if webhook:
            return world.finished[("setWebhook", 200)] >= len(running)
        return world.first_poll.is_set()

    deadline = time.monotonic() + READY_TIMEOUT
    while not all(ready(world) for world in worlds):
        for process in running:
            if not process.running:
                raise RuntimeError(f"{process.argv} exited at start:\n{process.log()[-3000:]}")
        if time.monotonic() > deadline:
            tails = "\n".join(process.log()[-1500:] for process in running)
            raise RuntimeError(f"the bots were not all served within {READY_TIMEOUT} s:\n{tails}")
        await asyncio.sleep(0.1)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---------------------------------------------------------------- one run


def burst(sent: list[CallRecord], count: int, epoch: float) -> JSON:
    times = sorted(record.time for record in sent)
    rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
    low, high = int(len(times) * 0.1), int(len(times) * 0.9)
    middle = (high - low) / (times[high] - times[low]) if high > low + 1 else rate
    chats = {record.chat_id for record in sent}
    return {
        "notifications": count,
        "sent": len(sent),
        "distinct_chats": len(chats),
        "duplicates": len(sent) - len(chats),
        "first_send_s": rounded(times[0] - epoch if times else None, 2),
        "last_send_s": rounded(times[-1] - epoch if times else None, 2),
        "rate_per_second": rounded(rate, 2),
        "fraction_of_allowed": rounded(rate / ALLOWED_PER_SECOND),
        "middle_80_rate_per_second": rounded(middle, 2),
        "middle_80_fraction": rounded(middle / ALLOWED_PER_SECOND),
    }


async def one_run(
    setup: Setup,
    framework: str,
    count: int,
    round_no: int,
    options: Options,
    server: str,
    together: bool = True,
    tokens: int = len(ROUTES),
) -> JSON:
    directory = options.workdir / NAME / f"{setup.key}-{framework}-{round_no}"
    found = bots(tokens)
    ports = [free_port() for _ in range(setup.instances)]
    webhook = setup.database == "postgres"
    queued = "together" if together else "apart"
    run: JSON = {"setup": setup.key, "framework": framework, "round": round_no, "queued": queued}
    async with contextlib.AsyncExitStack() as stack:
        url = await stack.enter_async_context(database(setup, options, directory, server))
        run["database"] = make_url(url).database if webhook else "sqlite"
        servers = []
        for bot in found:
            targets = [f"http://127.0.0.1:{port}{bot.path}" for port in ports] if webhook else []
            config = StandinConfig(bot_username=bot.username, webhook_targets=targets)
            servers.append(await stack.enter_async_context(standin(config)))
        worlds = [watched(s) for s in servers]
        api_bases = {bot.route: s.base_url for bot, s in zip(found, servers, strict=True)}
        config_path = write_config(directory / "config.yaml", found, api_bases)
        await fill(url, found, count, together=together)
        sent: dict[str, list[CallRecord]] = {bot.route: [] for bot in found}
        done = asyncio.Event()
        for index, (bot, world) in enumerate(zip(found, worlds, strict=True)):
            add_people(world, chat_ids(index, count))
            for chat in chat_ids(index, count):
                world.users[chat].started = True
            world.limiter.config.update({"enabled": True})

            def on_call(record: CallRecord, mine: list[CallRecord] = sent[bot.route]) -> None:
                if record.method == "sendMessage" and record.status == 200:
                    mine.append(record)
                    if all(len(s) >= count for s in sent.values()):
                        done.set()

            world.watchers.append(on_call)
        limits = worlds[0].limiter.to_json()
        running = processes(
            setup, framework, url, config_path, servers[0].base_url, ports, directory
        )
        started = time.time()
        own_before = own_cpu_seconds()
        machine_before = machine_ticks()
        try:
            await asyncio.gather(*(process.start() for process in running))
            await wait_ready(worlds, running, webhook)
            run["ready_after_s"] = rounded(time.time() - started, 2)
            async with profiled(options, running[0], directory.name):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(done.wait(), count / ALLOWED_PER_SECOND * 1.5 + 60)
            run["bot_cpu_seconds"] = rounded(sum(p.cpu_seconds() for p in running), 1)
            run["standins_cpu_seconds"] = rounded(own_cpu_seconds() - own_before, 1)
            machine_after = machine_ticks()
            busy = machine_after[0] - machine_before[0]
            ticks = machine_after[1] - machine_before[1]
            cores = os.cpu_count() or 1
            run["machine_cores_busy"] = rounded(cores * busy / ticks if ticks else 0.0, 2)
            run["outbox_unsent"] = await settled(url)
        finally:
            codes = await asyncio.gather(*(process.stop() for process in running))
    epoch = min((r.time for s in sent.values() for r in s), default=started)
    run["tokens"] = {}
    for bot, world in zip(found, worlds, strict=True):
        figures = burst(sent[bot.route], count, epoch)
        figures["too_many_requests"] = world.limiter.refused
        figures["other_errors"] = {
            f"{method} {status}": n
            for (method, status), n in world.finished.items()
            if status not in (200, 429)
        }
        run["tokens"][bot.route] = figures
    problems: list[str] = []
    secret_logged = False
    for process in running:
        text = process.log()
        problems += log_problems(text)
        secret_logged = secret_logged or any(bot.token in text for bot in found)
    run.update(
        standin_limits=limits,
        exit_codes=list(codes),
        log_problem_count=len(problems),
        log_problems=summarise_problems(problems),
        token_in_log=secret_logged,
    )
    shares = ", ".join(
        f"{route}: {t['fraction_of_allowed']} ({t['middle_80_fraction']}) "
        f"429×{t['too_many_requests']}"
        for route, t in run["tokens"].items()
    )
    options.log(f"{NAME} {setup.label} {framework} round {round_no}: {shares}")
    return run


# ---------------------------------------------------------------- the benchmark


def setups(postgres: bool) -> tuple[Setup, ...]:
    return (SQLITE_1, POSTGRES_3) if postgres else (SQLITE_1,)


async def measure(
    options: Options,
    *,
    server: str | None = PG_URL,
    setups_wanted: Sequence[Setup] | None = None,
    together: bool = True,
    tokens: int = len(ROUTES),
) -> BenchResult:
    result = BenchResult(NAME)
    count = options.pick(5_000, 300)
    rounds = options.runs(1, 1)
    chosen = tuple(setups_wanted or setups(server is not None))
    if any(s.database == "postgres" for s in chosen):
        assert server is not None
        problem = await postgres_problem(server)
        if problem is not None:
            raise RuntimeError(problem)
    runs: list[JSON] = []
    started = time.monotonic()
    for round_no in range(rounds):
        for framework in options.frameworks:
            for setup in chosen:
                runs.append(
                    await one_run(
                        setup,
                        framework,
                        count,
                        round_no,
                        options,
                        server or "",
                        together,
                        tokens,
                    )
                )
    result.raw = {
        "notifications_per_token": count,
        "routes": list(ROUTES[:tokens]),
        "queued": "together" if together else "apart",
        "runs": runs,
        "seconds": rounded(time.monotonic() - started, 1),
    }
    for framework in options.frameworks:
        for setup in chosen:
            mine = [r for r in runs if r["framework"] == framework and r["setup"] == setup.key]
            for route in ROUTES[:tokens]:
                figures = [r["tokens"][route] for r in mine]
                share = median([f["fraction_of_allowed"] for f in figures])
                middle = median([f["middle_80_fraction"] for f in figures])
                refused = median([f["too_many_requests"] for f in figures])
                where = f"{setup.label}, {route}"
                result.rows += [
                    Row(NAME, framework, f"{where}: {count:,}-notification burst, share of 30/s",
                        None if share is None else share * 100, "%", len(figures),
                        f"≥ {TARGET_FRACTION:.0%}",
                        None if share is None else share >= TARGET_FRACTION),
                    Row(NAME, framework, f"{where}: same, middle 80 %",
                        None if middle is None else middle * 100, "%", len(figures)),
                    Row(NAME, framework, f"{where}: 429 answers", refused, "count",
                        len(figures), "0", None if refused is None else refused == 0),
                ]  # fmt: skip
    for r in runs:
        where = f"{r['setup']} {r['framework']} round {r['round']}"
        for route, t in r["tokens"].items():
            if t["sent"] != count or t["duplicates"] or t["distinct_chats"] != count:
                result.problems.append(
                    f"{where} {route}: sent {t['sent']} of {count} to {t['distinct_chats']} "
                    f"chats, duplicates {t['duplicates']}"
                )
            if t["other_errors"]:
                result.problems.append(f"{where} {route}: other errors {t['other_errors']}")
        if r["outbox_unsent"]:
            result.problems.append(f"{where}: outbox rows unsent {r['outbox_unsent']}")
        if r["log_problem_count"]:
            result.problems.append(f"{where}: log {r['log_problems'][:3]}")
        if r["token_in_log"]:
            result.problems.append(f"{where}: a bot token appears in a bot log")
        if any(code not in (0, None) for code in r["exit_codes"]):
            result.problems.append(f"{where}: exit codes {r['exit_codes']}")
    return result


def table(result: BenchResult) -> str:
    """Per set-up and token: whole burst, middle 80 %, 429s (the medians over rounds)."""
    lines = [
        "| set-up | framework | token | share of 30/s | middle 80 % | 429 | one message a chat |",
        "| --- | --- | --- | ---: | ---: | ---: | --- |",
    ]
    for r in result.raw["runs"]:
        for route, t in r["tokens"].items():
            label = SETUPS[r["setup"]].label
            once = t["sent"] == t["distinct_chats"] == t["notifications"]
            lines.append(
                f"| {label} | {r['framework']} | {route} | {t['fraction_of_allowed']:.3f} | "
                f"{t['middle_80_fraction']:.3f} | {t['too_many_requests']} | "
                f"{'yes' if once else '**no**'} |"
            )
    return "\n".join(lines)


async def until_stopped(work: Coroutine[Any, Any, BenchResult]) -> BenchResult:
    """``work``, cancelled by SIGTERM as asyncio.run cancels it on Ctrl-C (SIGINT), so that
    the bot processes and stand-ins it started are stopped on the way out (one_run's
    ``finally``) rather than left running."""
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        return await work
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bots", description=__doc__)
    parser.add_argument("--postgres", metavar="URL", default=PG_URL, help="PostgreSQL server")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument(
        "--setups",
        help=f"comma-separated, of {', '.join(SETUPS)} (default: sqlite-1,postgres-3)",
    )
    parser.add_argument("--frameworks", default="aiogram", help="comma-separated: aiogram,ptb")
    parser.add_argument("--size", type=int, help="notifications per token (default 5,000)")
    parser.add_argument("--repeat", type=int, help="rounds (default 1)")
    parser.add_argument("--quick", action="store_true", help="300 notifications per token")
    parser.add_argument(
        "--tokens",
        type=int,
        default=len(ROUTES),
        choices=range(1, len(ROUTES) + 1),
        help="bot tokens (default 4; 1: the main bot alone, for comparison)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="sample the (first) bot process with py-spy"
    )
    parser.add_argument(
        "--apart",
        action="store_true",
        help="queue each token's whole burst before the next's (default: in turn)",
    )
    args = parser.parse_args(argv)
    frameworks = tuple(f.strip() for f in args.frameworks.split(",") if f.strip())
    if not frameworks or any(f not in FRAMEWORKS for f in frameworks):
        parser.error(f"--frameworks takes {', '.join(FRAMEWORKS)}")
    workdir = default_workdir()
    workdir.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(filename=workdir / "standin.log", level=logging.WARNING)
    options = Options(
        quick=args.quick, frameworks=frameworks, repeat=args.repeat, workdir=workdir,
        size=args.size, profile=args.profile,
    )  # fmt: skip
    info = machine_info()
    server = None if args.no_postgres else args.postgres
    wanted = [SETUPS[key.strip()] for key in args.setups.split(",")] if args.setups else None
    work = measure(
        replace(options),
        server=server,
        setups_wanted=wanted,
        together=not args.apart,
        tokens=args.tokens,
    )
    try:
        result = asyncio.run(until_stopped(work))
    except (KeyboardInterrupt, asyncio.CancelledError):
        # one_run's finally has stopped the bot processes, its exit stack the stand-ins
        # (and dropped the PostgreSQL database) before this.
        print(f"\nStopped; logs and databases so far: {workdir}", file=sys.stderr)
        return 130
    command = "python -m bench.bots " + " ".join(sys.argv[1:] if argv is None else argv)
    path = save_results([result], command.strip(), info)
    print(f"\n`{command.strip()}` on {info['nproc']} × {info['cpu']}")
    print(table(result))
    print()
    print(markdown_table(result.rows))
    if result.problems:
        print("\nProblems seen:\n" + "\n".join(f"- {p}" for p in result.problems))
    print(f"\nResults: {path}\nLogs and databases: {workdir}")
    return 1 if result.problems else 0


if __name__ == "__main__":
    sys.exit(main())
