"""Instances: updates per second through the idea form, one and three bot instances (issue #8).

The same load as ``bench/throughput.py`` (N simulated workers join first, not measured; then all
at once each fill the idea form, eight updates, each step waiting for the bot's reaction), in
webhook mode, for three set-ups:

1. one instance on SQLite;
2. one instance on PostgreSQL;
3. three instances on one PostgreSQL database, behind the stand-in's load balancer.

Every set-up gets a fresh database (a copy of the SQLite template, or a brand-new PostgreSQL
schema migrated and filled through the real CLI, dropped afterwards) and a fresh stand-in that
delivers updates by webhook through its load balancer (one target, or three). The set-ups run
interleaved, in a rotating order, ``--repeat`` rounds (3, quick 1); the ratios 3×PG ÷ 1×PG and
1×PG ÷ 1×SQLite are taken within each round and their medians reported.

No limiter binds: the stand-in's flood limits are off, the bots' send limits raised, and the
webhook's ``max_connections`` is Telegram's maximum (100), above the number of workers. Each
instance keeps the default pool of 10 PostgreSQL connections (docs/DEPLOY.md).

Besides the rates: every worker finished, every idea is in the database once (counted there),
the support member got one card per idea, no webhook request failed, and the CPU seconds of the
bot processes, of their PostgreSQL backends and of this process (stand-in and load generator),
and how many of the machine's cores were busy. Three instances on a two-core machine share its
cores with each other, with PostgreSQL and with the stand-in: the 3×PG figure measures that,
not three machines.

aiogram only: asked for another framework, the benchmark says so and measures nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bench.common import (
    BOT_USERNAME,
    FIRST_WORKER,
    JSON,
    RAISED_SEND_LIMITS,
    READY_TIMEOUT,
    SAMPLE_TREE,
    SUPPORT_USER,
    UNIT,
    BenchResult,
    Options,
    Person,
    Process,
    Row,
    Step,
    WatchedWorld,
    add_people,
    bot_argv,
    bot_env,
    cli,
    fresh_database,
    link_token,
    log_problems,
    median,
    own_cpu_seconds,
    percentile,
    profiled,
    rounded,
    run_people,
    standin,
    summarise_problems,
    template,
    watched,
)
from bench.throughput import REF, _check_bot, form_steps, form_updates
from standins.telegram.config import StandinConfig
from storage.db import create_engine, create_sessionmaker
from storage.models import Idea, OutboxMessage

NAME = "instances"
FRAMEWORK = "aiogram"
PG_URL = os.environ.get(
    "BENCH_POSTGRES_URL",
    os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
)
WEBHOOK_PATH = "/telegram/webhook"
# The public address given to setWebhook; the stand-in's load balancer posts to the
# instances' own listeners instead.
PUBLIC_URL = f"http://127.0.0.1:8443{WEBHOOK_PATH}"
SECRET = "bench-instances-secret_0123456789"
READY_LINE = "webhook on"
MAX_CONNECTIONS = 100  # Telegram's maximum: never fewer requests in flight than workers
INSTANCE_NAMES = "abcdefgh"


@dataclass(frozen=True)
class Setup:
    key: str
    label: str
    database: Literal["sqlite", "postgres"]
    instances: int


SQLITE_1 = Setup("sqlite-1", "1 instance, SQLite", "sqlite", 1)
POSTGRES_1 = Setup("postgres-1", "1 instance, PostgreSQL", "postgres", 1)
POSTGRES_3 = Setup("postgres-3", "3 instances, PostgreSQL", "postgres", 3)
SETUPS = (SQLITE_1, POSTGRES_1, POSTGRES_3)
# (numerator, denominator, label) of the ratios reported, each taken within one round.
RATIOS = (
    (POSTGRES_3, POSTGRES_1, "3×PG ÷ 1×PG"),
    (POSTGRES_1, SQLITE_1, "1×PG ÷ 1×SQLite"),
)


# ---------------------------------------------------------------- databases


@dataclass(frozen=True)
class Database:
    url: str
    member_token: str
    support_token: str
    application_name: str | None = None  # PostgreSQL: what the bots' connections are called


def plain_pg_dsn() -> str:
    """The server URL as asyncpg itself understands it (no SQLAlchemy driver name)."""
    return make_url(PG_URL).set(drivername="postgresql").render_as_string(hide_password=False)


def schema_url(schema: str, application_name: str | None = None) -> str:
    """A SQLAlchemy URL whose connections use ``schema`` (``search_path`` through libpq's
    ``options``, which storage.db turns into asyncpg server settings)."""
    url = make_url(PG_URL).set(drivername="postgresql+asyncpg")
    base = url.render_as_string(hide_password=False)
    separator = "&" if url.query else "?"
    found = f"{base}{separator}options={quote(f'-csearch_path={schema}', safe='')}"
    if application_name:
        found += f"&application_name={quote(application_name, safe='')}"
    return found


async def postgres_problem() -> str | None:
    """Why PostgreSQL cannot be used (None: it can)."""
    try:
        conn = await asyncpg.connect(plain_pg_dsn(), timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"PostgreSQL at {PG_URL} is unreachable ({type(exc).__name__}: {exc})"
    await conn.close()
    return None


async def pg_execute(sql: str) -> None:
    conn = await asyncpg.connect(plain_pg_dsn(), timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def database(setup: Setup, options: Options, directory: Path) -> AsyncIterator[Database]:
    """A fresh database for one run: a copy of the SQLite template, or a new PostgreSQL schema
    migrated, with the sample union tree and two invites, through the real CLI."""
    if setup.database == "sqlite":
        source = template(options.workdir)
        db = fresh_database(source, directory)
        yield Database(f"sqlite+aiosqlite:///{db}", source.member_token, source.support_token)
        return
    schema = f"bench_{uuid.uuid4().hex[:16]}"
    await pg_execute(f'CREATE SCHEMA "{schema}"')
    try:
        env = bot_env("http://127.0.0.1:9", directory / "unused.db", FRAMEWORK)
        env["DATABASE_URL"] = schema_url(schema)
        await asyncio.to_thread(cli, env, "migrate")
        await asyncio.to_thread(cli, env, "units", "import", str(SAMPLE_TREE))
        invite = ("invite", "--unit", UNIT, "--bot-username", BOT_USERNAME, "--role")
        member, support = await asyncio.gather(
            asyncio.to_thread(cli, env, *invite, "member"),
            asyncio.to_thread(cli, env, *invite, "support"),
        )
        yield Database(schema_url(schema, schema), link_token(member), link_token(support), schema)
    finally:
        await pg_execute(f'DROP SCHEMA "{schema}" CASCADE')


async def stored_ideas(url: str) -> tuple[list[str], int]:
    """The ideas' reference codes in the database, and the outbox rows not sent yet."""
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            refs = list((await session.execute(select(Idea.ref_code))).scalars())
            unsent = (
                await session.execute(
                    select(func.count(OutboxMessage.id)).where(OutboxMessage.status != "sent")
                )
            ).scalar_one()
    finally:
        await engine.dispose()
    return refs, int(unsent)


async def backend_pids(application_name: str) -> list[int]:
    """The PostgreSQL server processes serving the bots' connections."""
    conn = await asyncpg.connect(plain_pg_dsn(), timeout=10)
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE application_name = $1", application_name
        )
    finally:
        await conn.close()
    return [int(row["pid"]) for row in rows]


# ---------------------------------------------------------------- CPU from /proc


def pid_cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time of any process (None: gone, or /proc not readable)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def backends_cpu(application_name: str | None) -> dict[int, float]:
    if application_name is None:
        return {}
    found = {}
    for pid in await backend_pids(application_name):
        seconds = pid_cpu_seconds(pid)
        if seconds is not None:
            found[pid] = seconds
    return found


def machine_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of all cores together, from /proc/stat."""
    values = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    total = sum(values[:8])  # user nice system idle iowait irq softirq steal
    return total - values[3] - values[4], total


# ---------------------------------------------------------------- one run


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_webhook(process: Process, timeout: float = READY_TIMEOUT) -> None:
    """Until the instance says it listens and the webhook is set."""
    deadline = time.monotonic() + timeout
    while READY_LINE not in process.log():
        if not process.running:
            raise RuntimeError(f"{process.argv} exited at start:\n{process.log()[-3000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{process.argv} did not set its webhook within {timeout} s")
        await asyncio.sleep(0.1)


def instance_processes(
    setup: Setup, api_base: str, db: Database, ports: Sequence[int], directory: Path
) -> list[Process]:
    base = bot_env(api_base, directory / "unused.db", FRAMEWORK, RAISED_SEND_LIMITS)
    base.update(
        DATABASE_URL=db.url,
        TELEGRAM_WEBHOOK_URL=PUBLIC_URL,
        TELEGRAM_WEBHOOK_SECRET=SECRET,
        TELEGRAM_WEBHOOK_LISTEN="127.0.0.1",
        TELEGRAM_WEBHOOK_PATH=WEBHOOK_PATH,
        TELEGRAM_WEBHOOK_MAX_CONNECTIONS=str(MAX_CONNECTIONS),
    )
    processes = []
    for name, port in zip(INSTANCE_NAMES, ports, strict=False):
        env = {**base, "BOT_INSTANCE": f"bench-{name}", "TELEGRAM_WEBHOOK_PORT": str(port)}
        processes.append(Process([*bot_argv(), "--webhook"], env, directory / f"bot-{name}.log"))
    return processes


async def one_run(setup: Setup, workers: int, round_no: int, options: Options) -> dict[str, Any]:
    directory = options.workdir / NAME / f"{setup.key}-{round_no}"
    people_ids = list(range(FIRST_WORKER, FIRST_WORKER + workers))
    ports = [free_port() for _ in range(setup.instances)]
    targets = [f"http://127.0.0.1:{port}{WEBHOOK_PATH}" for port in ports]
    config = StandinConfig(
        webhook_targets=targets,
        webhook_timeout=60.0,
        webhook_retry_delay=0.2,
        webhook_retry_max_delay=2.0,
        webhook_target_cooldown=1.0,
    )
    run: dict[str, Any] = {"setup": setup.key, "round": round_no, "workers": workers}
    async with database(setup, options, directory) as db, standin(config) as server:
        world = watched(server)
        add_people(world, [SUPPORT_USER, *people_ids])
        processes = instance_processes(setup, server.base_url, db, ports, directory)
        try:
            await asyncio.gather(*(process.start() for process in processes))
            await asyncio.gather(*(wait_webhook(process) for process in processes))
            people = [Person(world, uid) for uid in people_ids]
            support = Person(world, SUPPORT_USER)
            await run_people([support], lambda p: [Step("text", f"/start {db.support_token}")])
            join = await run_people(people, lambda p: [Step("text", f"/start {db.member_token}")])
            world.reset_counts()
            first_seq = world.deliveries[-1].seq if world.deliveries else 0
            bots_before = [process.cpu_seconds() for process in processes]
            own_before = own_cpu_seconds()
            pg_before = await backends_cpu(db.application_name)
            machine_before = machine_ticks()
            async with profiled(options, processes[0], directory.name):
                form = await run_people(people, form_steps)
            machine_after = machine_ticks()
            pg_after = await backends_cpu(db.application_name)
            own_cpu = own_cpu_seconds() - own_before
            bots_cpu = [
                process.cpu_seconds() - before
                for process, before in zip(processes, bots_before, strict=True)
            ]
            seconds = form.seconds
            busy = machine_after[0] - machine_before[0]
            ticks = machine_after[1] - machine_before[1]
            pg_cpu = (
                sum(cpu - pg_before.get(pid, 0.0) for pid, cpu in pg_after.items())
                if db.application_name
                else None
            )
            run.update(
                updates=form.updates,
                expected_updates=form_updates(people_ids),
                seconds=rounded(seconds),
                updates_per_second=rounded(form.rate, 1),
                bot_cpu_seconds=rounded(sum(bots_cpu)),
                bot_cpu_seconds_each=[rounded(cpu) for cpu in bots_cpu],
                bot_cpu_ms_per_update=rounded(1000 * sum(bots_cpu) / max(form.updates, 1), 2),
                postgres_backend_cpu_seconds=rounded(pg_cpu),
                postgres_cpu_ms_per_update=(
                    None if pg_cpu is None else rounded(1000 * pg_cpu / max(form.updates, 1), 2)
                ),
                postgres_backends=len(pg_after),
                standin_cpu_seconds=rounded(own_cpu),
                machine_cores_busy=rounded((os.cpu_count() or 1) * busy / ticks if ticks else 0.0),
                join_failures=join.failures[:5],
                failures=form.failures[:5],
                failure_count=len(form.failures) + len(join.failures),
            )
            run.update(await _check_bot(world, people, workers))
            run.update(await _check_database(db, people, workers))
            run.update(_deliveries(world, first_seq, targets, form.updates))
            run["pending_updates_after"] = len(world.updates.pending())
            finished = world.finished.items()
            run["calls"] = {f"{method} {status}": n for (method, status), n in finished}
        finally:
            codes = await asyncio.gather(*(process.stop() for process in processes))
    problems: list[str] = []
    secret_logged = False
    for process in processes:
        text = process.log()
        problems += log_problems(text)
        secret_logged = secret_logged or SECRET in text
    run["exit_codes"] = list(codes)
    run["log_problems"] = summarise_problems(problems)
    run["log_problem_count"] = len(problems)
    run["secret_in_log"] = secret_logged
    options.log(
        f"{NAME} {setup.label:24} round {round_no}: {run['updates_per_second']} updates/s "
        f"({run['updates']}/{run['expected_updates']}); webhook answered in "
        f"{run['delivery_median_ms']} ms median; bot CPU {run['bot_cpu_seconds']} s "
        f"{run['bot_cpu_seconds_each']}, PostgreSQL {run['postgres_backend_cpu_seconds']} s, "
        f"stand-in {run['standin_cpu_seconds']} s, cores busy {run['machine_cores_busy']}"
    )
    return run


async def _check_database(db: Database, people: Sequence[Person], workers: int) -> JSON:
    """Every idea the workers were told about is in the database, once; nothing else is; and
    the outbox empties (the cards are sent and recorded so)."""
    told = {m.group() for p in people if (m := REF.search(p.current_text()))}
    deadline = time.monotonic() + 15
    while True:
        stored, unsent = await stored_ideas(db.url)
        if unsent == 0 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    return {
        "ideas_in_database": len(stored),
        "ideas_missing_from_database": len(told - set(stored)),
        "outbox_unsent": unsent,
        "database_mismatch": len(stored) != workers or set(stored) != told,
    }


def _deliveries(world: WatchedWorld, first_seq: int, targets: Sequence[str], updates: int) -> JSON:
    """The webhook requests of the measured phase: how long the bot took to answer, how they
    were spread over the instances, and any that failed (and were retried)."""
    mine = [d for d in world.deliveries if d.seq > first_seq and d.finished is not None]
    answered = [d for d in mine if d.ok]
    durations = [1000 * (d.finished - d.started) for d in answered if d.finished is not None]
    by_target = Counter(d.target for d in answered)
    return {
        "deliveries": len(mine),
        "deliveries_per_update": rounded(len(mine) / max(updates, 1), 2),
        "deliveries_failed": len(mine) - len(answered),
        "delivery_errors": dict(Counter(d.error or "" for d in mine if not d.ok)),
        "deliveries_per_instance": [by_target.get(target, 0) for target in targets],
        "delivery_median_ms": rounded(median(durations), 1),
        "delivery_p99_ms": rounded(percentile(durations, 99), 1),
    }


# ---------------------------------------------------------------- the benchmark


async def measure(options: Options) -> BenchResult:
    result = BenchResult(NAME)
    if FRAMEWORK not in options.frameworks:
        options.log(f"{NAME}: measured with {FRAMEWORK} only, not {', '.join(options.frameworks)}")
        result.raw = {"skipped": f"measured with {FRAMEWORK} only"}
        return result
    problem = await postgres_problem()
    if problem is not None:
        raise RuntimeError(problem)
    workers = options.pick(60, 20)
    rounds = options.runs(3, 1)
    cores = os.cpu_count() or 1
    note = f"{cores} cores shared by the instances, PostgreSQL and the stand-in"
    options.log(f"{NAME}: {workers} workers, {rounds} rounds; {note}")
    runs: list[dict[str, Any]] = []
    for round_no in range(rounds):
        shift = round_no % len(SETUPS)
        for setup in SETUPS[shift:] + SETUPS[:shift]:
            runs.append(await one_run(setup, workers, round_no, options))
    ratios: dict[str, list[float]] = {}
    for top, bottom, label in RATIOS:
        found = ratios.setdefault(label, [])
        for round_no in range(rounds):
            pair = {
                r["setup"]: r["updates_per_second"]
                for r in runs
                if r["round"] == round_no and r["setup"] in (top.key, bottom.key)
            }
            if pair.get(bottom.key) and pair.get(top.key) is not None:
                found.append(pair[top.key] / pair[bottom.key])
    result.raw = {
        "workers": workers,
        "rounds": rounds,
        "cores": cores,
        "note": note,
        "max_connections": MAX_CONNECTIONS,
        "ratios": {label: [rounded(x) for x in values] for label, values in ratios.items()},
        "runs": runs,
    }
    for setup in SETUPS:
        mine = [r for r in runs if r["setup"] == setup.key]
        rates = [r["updates_per_second"] for r in mine]
        cpu = [r["bot_cpu_ms_per_update"] for r in mine]
        shared = note if setup.instances > 1 else ""
        result.rows += [
            Row(
                NAME,
                FRAMEWORK,
                f"{setup.label}, webhook, idea form, {workers} workers",
                median(rates),
                "updates/s",
                len(rates),
                note=shared,
            ),
            Row(
                NAME,
                FRAMEWORK,
                f"{setup.label}: bot CPU per update (all instances)",
                median(cpu),
                "ms",
                len(cpu),
            ),
        ]
    for _, _, label in RATIOS:
        values = ratios[label]
        result.rows.append(
            Row(
                NAME,
                FRAMEWORK,
                f"{label} (median of per-round ratios)",
                median(values),
                "×",
                len(values),
                note=note if label.startswith("3×") else "",
            )
        )
    for r in runs:
        where = f"{r['setup']} round {r['round']}"
        if r["failure_count"]:
            result.problems.append(
                f"{where}: {r['failure_count']} people did not finish: {r['failures'][:2]}"
                f"{r['join_failures'][:1]}"
            )
        if r.get("lost_or_duplicated"):
            result.problems.append(
                f"{where}: submitted {r['submitted']}, distinct {r['distinct_refs']}, "
                f"cards {r['support_cards']}"
            )
        if r.get("database_mismatch") or r.get("outbox_unsent"):
            result.problems.append(
                f"{where}: {r['ideas_in_database']} ideas in the database for {r['workers']} "
                f"workers, {r['ideas_missing_from_database']} confirmed but missing; "
                f"{r['outbox_unsent']} outbox rows unsent"
            )
        if r.get("deliveries_failed"):
            result.problems.append(
                f"{where}: {r['deliveries_failed']} webhook requests failed: {r['delivery_errors']}"
            )
        if r["log_problem_count"]:
            result.problems.append(
                f"{where}: {r['log_problem_count']} warning/error log lines: "
                f"{r['log_problems'][:3]}"
            )
        if r["pending_updates_after"]:
            result.problems.append(f"{where}: {r['pending_updates_after']} updates never answered")
        if r["secret_in_log"]:
            result.problems.append(f"{where}: the webhook secret appears in a bot log")
        if any(code not in (0, None) for code in r["exit_codes"]):
            result.problems.append(f"{where}: exit codes {r['exit_codes']}")
    return result
