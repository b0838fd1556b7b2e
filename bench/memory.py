"""Memory: the bot's resident set idle after start, and with 10,000 idea forms in progress.

RSS is ``VmRSS`` from ``/proc/<pid>/status`` (``VmHWM``, the peak, is kept too, and at the end
``/proc/<pid>/smaps_rollup``: how much of it is anonymous memory, the heap, rather than mapped
files). "Idle" is read 2 s after the bot's first getUpdates (0.5 s in runs of fewer than 1,000
people); "with N forms in progress" once every answer is in and the bot has been quiet as long
again.

A form in progress is a person who joined with ``/start TOKEN``, opened ``/idea`` and typed part
of the idea: a ``conversations`` row at the body step. Every one of the N people's chats is also
handled by the measured bot process, so whatever the process keeps per chat (the framework's
per-chat state, the intake, the send limiter) is in the figure. Two ways to get there:

* **through the bot** (up to ``SEED_ABOVE`` people, so ``--quick`` and the tests): each person
  sends ``/start TOKEN``, ``/idea`` and two pieces of the idea, all to the measured process
  (4 updates a person);
* **seeded** (more people, so the full run's 10,000): the bot takes about 19 ms an update here,
  and 40,000 updates would take 13 minutes per framework. So a first bot process (not measured)
  takes ``SEED_TEMPLATES`` people through ``/start``, ``/idea`` and the first piece; their rows
  (``people``, ``identities``, ``roles``, ``conversations``) are then copied in the database for
  everyone else, with each copy's own ids, chat, nonce and text, and the invite's use count. The
  measured process starts on that database (idle is read there), and every one of the N people
  sends the second piece of the idea to it: an update that loads the person and the form the
  copy made, adds to it, saves it and answers. That the answer is the body step's "received,
  send more or press Done", with the form's buttons, for every person shows the copies are
  forms the bot recognises. The people's history (their earlier updates and the bot's answers,
  ``processed_updates`` and ``outbox`` rows) is not copied: the bot never loads it.

One person in ``FOREIGN_EVERY`` uses a Telegram app set to German and writes the idea in German:
such text is what makes the bot consult langdetect (Vietnamese and English it recognises by
itself), whose language profiles are then loaded for the rest of the process's life; a bot in
service meets such a message sooner or later, so the figure includes them.

The stand-in has no batch endpoint; its control API's ``/messages`` wraps
``standins.telegram.simulate.send``, which the load generator calls in process (no HTTP between
the generator and the stand-in). People run their steps one after another, up to
``CONCURRENCY`` people at a time, which keeps the bot busy without queueing every update at once.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import (
    FIRST_WORKER,
    RAISED_SEND_LIMITS,
    BenchResult,
    Options,
    Person,
    PhaseResult,
    Process,
    Row,
    Step,
    StepFailed,
    Template,
    WatchedWorld,
    add_people,
    bot_argv,
    bot_env,
    echo_argv,
    fresh_database,
    idea_text,
    log_problems,
    median,
    profiled,
    rounded,
    run_people,
    standin,
    summarise_problems,
    template,
    wait_ready,
    watched,
)

NAME = "memory"
TARGET_MB = 150.0
CONCURRENCY = 400
SETTLE_SECONDS = 2.0
CURVE_SECONDS = 5.0
SEED_ABOVE = 1_000  # more people than this are seeded (see the module's docstring)
SEED_TEMPLATES = 100  # people taken through the bot in the seeding run
FOREIGN_EVERY = 100  # one person in this many writes in German
CHANNEL = "telegram"
GERMAN_TEXTS = (
    "Wir sollten die Maschinen jeden Tag am Ende der Schicht gründlich reinigen",
    "Ein zweiter Notschalter am Ende der Förderlinie würde Unfälle vermeiden",
    "Die Schutzhandschuhe sollten in jeder Schicht gegen neue getauscht werden",
)
# Tables whose rows belong to one person and are copied for each seeded person; a table
# missing from the schema is skipped (the copy then fails the bot's answer, not silently).
PERSON_TABLES = ("identities", "roles")

StepsOf = Callable[[Person], list[Step]]


def foreign(user_id: int) -> bool:
    return (user_id - FIRST_WORKER) % FOREIGN_EVERY == FOREIGN_EVERY - 1


def form_text(user_id: int, part: int) -> str:
    """The ``part``-th piece (1 or 2) of the person's idea."""
    if foreign(user_id):
        text = GERMAN_TEXTS[(user_id + part) % len(GERMAN_TEXTS)]
        return f"{text} (Nr. {user_id}, Teil {part})"
    if part == 1:
        return idea_text(user_id)
    return f"Them: {idea_text(user_id + part).split(' (so ')[0].lower()} (phan {part})"


def join_steps(token: str) -> StepsOf:
    def steps(person: Person) -> list[Step]:
        return [
            Step("text", f"/start {token}"),
            Step("text", "/idea"),
            Step("text", form_text(person.id, 1)),
        ]

    return steps


def more_steps(person: Person) -> list[Step]:
    return [Step("text", form_text(person.id, 2))]


def all_steps(token: str) -> StepsOf:
    join = join_steps(token)

    def steps(person: Person) -> list[Step]:
        return [*join(person), *more_steps(person)]

    return steps


# ---------------------------------------------------------------- seeding


@dataclass
class SeedReport:
    templates: int
    copied: int
    seconds: float
    run: PhaseResult


def copy_forms(db: Path, templates: Sequence[int], targets: Sequence[int]) -> int:
    """Copy the templates' person, identity, role and conversation rows for each target.

    A target copies a template of its own kind (German or not) and gets a fresh person id,
    its own external id and chat, a new form nonce and its own first piece of the idea.
    Returns the number of conversations written.
    """
    conn = sqlite3.connect(db)
    try:
        conn.row_factory = sqlite3.Row
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        columns = {
            table: [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
            for table in ("people", "conversations", *PERSON_TABLES)
            if table in tables
        }
        kinds = {kind: [uid for uid in templates if foreign(uid) is kind] for kind in (False, True)}
        sources: dict[int, tuple[sqlite3.Row, dict[str, list[sqlite3.Row]], sqlite3.Row]] = {}
        for uid in templates:
            identity = conn.execute(
                "SELECT person_id FROM identities WHERE channel = ? AND external_id = ?",
                (CHANNEL, str(uid)),
            ).fetchone()
            if identity is None:
                raise RuntimeError(f"template person {uid} is not in the database")
            person_id = identity[0]
            person = conn.execute("SELECT * FROM people WHERE id = ?", (person_id,)).fetchone()
            owned = {
                table: conn.execute(
                    f"SELECT * FROM {table} WHERE person_id = ?", (person_id,)
                ).fetchall()
                for table in PERSON_TABLES
                if table in columns
            }
            form = conn.execute(
                "SELECT * FROM conversations WHERE chat_key = ?", (f"{CHANNEL}:{uid}",)
            ).fetchone()
            if form is None or form["flow"] != "idea" or form["step"] != "body":
                raise RuntimeError(f"template person {uid} has no idea form at the body step")
            sources[uid] = (person, owned, form)
        next_id = {
            table: int(conn.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0])
            for table in ("people", *PERSON_TABLES)
            if table in columns and "id" in columns[table]
        }
        rows: dict[str, list[tuple[Any, ...]]] = {table: [] for table in columns}
        for number, uid in enumerate(targets):
            pool = kinds[foreign(uid)] or list(templates)
            template_uid = pool[number % len(pool)]
            person, owned, form = sources[template_uid]
            next_id["people"] += 1
            person_id = next_id["people"]
            changes = {"id": person_id, "display_name": f"Công nhân {uid}"}
            rows["people"].append(_changed(columns["people"], person, changes))
            for table, owned_rows in owned.items():
                for row in owned_rows:
                    changes = {"person_id": person_id}
                    if table in next_id:
                        next_id[table] += 1
                        changes["id"] = next_id[table]
                    for column in ("external_id", "private_chat_id"):
                        if column in columns[table] and row[column] is not None:
                            changes[column] = type(row[column])(uid)
                    rows[table].append(_changed(columns[table], row, changes))
            data = json.loads(form["data"])
            data.update(n=secrets.token_hex(3), body=[form_text(uid, 1)], files=[])
            changes = {
                "chat_key": f"{CHANNEL}:{uid}",
                "person_id": person_id,
                "data": json.dumps(data, ensure_ascii=False),
            }
            rows["conversations"].append(_changed(columns["conversations"], form, changes))
        with conn:
            for table, values in rows.items():
                if values:
                    marks = ", ".join("?" for _ in columns[table])
                    conn.executemany(f"INSERT INTO {table} VALUES ({marks})", values)
            # The invite was used once more per person, as if each had opened it.
            conn.execute(
                "UPDATE invites SET uses = uses + ? WHERE role = 'member'", (len(targets),)
            )
        return len(rows["conversations"])
    finally:
        conn.close()


def _changed(columns: Sequence[str], row: sqlite3.Row, changes: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(changes.get(column, row[column]) for column in columns)


async def seed(
    world: WatchedWorld,
    env: dict[str, str],
    db: Path,
    source: Template,
    ids: Sequence[int],
    log: Path,
) -> SeedReport:
    """Take the first ``SEED_TEMPLATES`` people through the bot, then copy their forms."""
    templates = _template_ids(ids)
    process = Process(bot_argv(), env, log)
    await process.start()
    try:
        await wait_ready(world, process)
        people = [Person(world, uid) for uid in templates]
        run = await run_people(
            people, join_steps(source.member_token), concurrency=CONCURRENCY, step_timeout=120
        )
    finally:
        await process.stop()
        world.reset_first_poll()  # the measured process's first getUpdates is the next one
    if run.failures:
        raise RuntimeError(f"seeding: {len(run.failures)} failures: {run.failures[:3]}")
    chosen = set(templates)
    targets = [uid for uid in ids if uid not in chosen]
    loop = asyncio.get_running_loop()
    started = loop.time()
    copied = await asyncio.to_thread(copy_forms, db, templates, targets)
    return SeedReport(len(templates), copied, loop.time() - started, run)


def _template_ids(ids: Sequence[int]) -> list[int]:
    """The first ``SEED_TEMPLATES`` people (a quarter of a small crowd), and at least one
    German writer if there is any."""
    chosen = list(ids[: max(1, min(SEED_TEMPLATES, len(ids) // 4))])
    if not any(foreign(uid) for uid in chosen):
        german = next((uid for uid in ids if foreign(uid)), None)
        if german is not None:
            chosen[-1] = german
    return chosen


# ---------------------------------------------------------------- one run


async def one_run(
    framework: str,
    people_count: int,
    source: Template,
    directory: Path,
    options: Options,
    *,
    seeded: bool,
) -> dict[str, Any]:
    people_ids = list(range(FIRST_WORKER, FIRST_WORKER + people_count))
    seeding: SeedReport | None = None
    async with standin() as server:
        world = watched(server)
        add_people(world, [uid for uid in people_ids if not foreign(uid)])
        add_people(world, [uid for uid in people_ids if foreign(uid)], language="de")
        db = fresh_database(source, directory)
        env = bot_env(server.base_url, db, framework, RAISED_SEND_LIMITS)
        if seeded:
            seed_log = directory / f"seed-{framework}.log"
            seeding = await seed(world, env, db, source, people_ids, seed_log)
            options.log(
                f"{NAME} {framework:7} seeded {seeding.copied:,} forms from "
                f"{seeding.templates} taken through the bot in {seeding.run.seconds:.0f} s "
                f"(copying took {seeding.seconds:.1f} s)"
            )
        process = Process(bot_argv(), env, directory / f"bot-{framework}.log")
        await process.start()
        try:
            await wait_ready(world, process)
            settle = SETTLE_SECONDS if people_count >= 1000 else 0.5
            await asyncio.sleep(settle)
            idle = process.memory_kb()
            idle_breakdown = process.memory_breakdown_kb()
            idle_threads = process.threads()
            people = [Person(world, uid) for uid in people_ids]
            steps = more_steps if seeded else all_steps(source.member_token)

            finished = 0
            curve: list[tuple[int, float]] = []  # (people done, RSS MB) while filling

            def one_more(_: Person) -> None:
                nonlocal finished
                finished += 1

            async def sample() -> None:
                while True:
                    await asyncio.sleep(CURVE_SECONDS)
                    curve.append((finished, round(process.memory_kb()["VmRSS"] / 1024, 1)))

            cpu = process.cpu_seconds()
            sampler = asyncio.create_task(sample())
            try:
                async with profiled(options, process, directory.name):
                    fill = await run_people(
                        people, steps, concurrency=CONCURRENCY, step_timeout=120, after=one_more
                    )
            finally:
                sampler.cancel()
            cpu = process.cpu_seconds() - cpu
            open_forms = sum(1 for p in people if _has_button(p, ":body:done"))
            await asyncio.sleep(settle)
            loaded = process.memory_kb()
            loaded_breakdown = process.memory_breakdown_kb()
            loaded_threads = process.threads()
        finally:
            code = await process.stop()
        problems = log_problems(process.log())
    run: dict[str, Any] = {
        "framework": framework,
        "people": people_count,
        "seeded": seeded,
        "german_writers": sum(1 for uid in people_ids if foreign(uid)),
        "idle_rss_mb": rounded(idle["VmRSS"] / 1024, 1),
        "loaded_rss_mb": rounded(loaded["VmRSS"] / 1024, 1),
        "peak_rss_mb": rounded(loaded["VmHWM"] / 1024, 1),
        "kb_per_open_form": rounded((loaded["VmRSS"] - idle["VmRSS"]) / max(people_count, 1), 2),
        "idle_smaps_mb": _mb(idle_breakdown),
        "loaded_smaps_mb": _mb(loaded_breakdown),
        "threads_idle_loaded": [idle_threads, loaded_threads],
        "updates": fill.updates,
        "expected_updates": people_count * (1 if seeded else 4),
        "fill_seconds": rounded(fill.seconds, 1),
        "fill_updates_per_second": rounded(fill.rate, 1),
        "fill_bot_cpu_share": rounded(cpu / fill.seconds if fill.seconds else 0.0),
        **fill.breakdown(),
        "open_forms": open_forms,
        "rss_curve_people_mb": curve,
        "failures": fill.failures[:5],
        "failure_count": len(fill.failures),
        "exit_code": code,
        "log_problem_count": len(problems),
        "log_problems": summarise_problems(problems),
    }
    if seeding is not None:
        run["seeding"] = {
            "templates": seeding.templates,
            "copied": seeding.copied,
            "template_updates": seeding.run.updates,
            "template_seconds": rounded(seeding.run.seconds, 1),
            "copy_seconds": rounded(seeding.seconds, 2),
        }
    options.log(
        f"{NAME} {framework:7} idle {run['idle_rss_mb']} MB, {open_forms} forms open "
        f"{run['loaded_rss_mb']} MB (peak {run['peak_rss_mb']} MB); "
        f"{fill.updates} updates at {run['fill_updates_per_second']} updates/s"
    )
    return run


def _mb(kb: dict[str, int]) -> dict[str, float]:
    return {key: round(value / 1024, 1) for key, value in kb.items()}


def _has_button(person: Person, pick: str) -> bool:
    try:
        person.button(pick)
    except StepFailed:
        return False
    return True


async def echo_idle(framework: str, directory: Path) -> float:
    """The bare echo bot's RSS 2 s after its first getUpdates, in MB: the framework's floor."""
    async with standin() as server:
        world = watched(server)
        env = bot_env(server.base_url, directory / "unused.db", framework)
        process = Process(echo_argv(framework, server.base_url), env, directory / "echo.log")
        await process.start()
        try:
            await wait_ready(world, process)
            await asyncio.sleep(SETTLE_SECONDS)
            return round(process.memory_kb()["VmRSS"] / 1024, 1)
        finally:
            await process.stop()


async def measure(options: Options) -> BenchResult:
    result = BenchResult(NAME)
    people = options.pick(10_000, 300)
    seeded = options.memory_seed if options.memory_seed is not None else people > SEED_ABOVE
    rounds = options.runs(1, 1)
    source = template(options.workdir)
    runs: list[dict[str, Any]] = []
    for round_no in range(rounds):
        for framework in options.frameworks:
            directory = options.workdir / NAME / f"memory-{framework}-{round_no}"
            runs.append(await one_run(framework, people, source, directory, options, seeded=seeded))
            if options.echo_reference:
                runs[-1]["echo_idle_rss_mb"] = await echo_idle(framework, directory)
    result.raw = {"people": people, "seeded": seeded, "runs": runs}
    how = "seeded, 1 update each" if seeded else "4 updates each"
    for framework in options.frameworks:
        mine = [r for r in runs if r["framework"] == framework]
        loaded = median([r["loaded_rss_mb"] for r in mine])
        result.rows += [
            Row(NAME, framework, "RSS idle after start", median([r["idle_rss_mb"] for r in mine]),
                "MB", len(mine)),
            Row(NAME, framework, f"RSS with {people:,} forms in progress", loaded, "MB",
                len(mine), f"< {TARGET_MB:.0f} MB",
                None if loaded is None else loaded < TARGET_MB, how),
            Row(NAME, framework, "peak RSS (VmHWM)", median([r["peak_rss_mb"] for r in mine]),
                "MB", len(mine)),
        ]  # fmt: skip
        echo = [r["echo_idle_rss_mb"] for r in mine if "echo_idle_rss_mb" in r]
        if echo:
            result.rows.append(
                Row(NAME, framework, "bare echo bot, RSS idle", median(echo), "MB", len(echo))
            )
        for r in mine:
            if r["failure_count"] or r["open_forms"] != people:
                result.problems.append(
                    f"{framework}: {r['open_forms']} of {people} forms open, "
                    f"{r['failure_count']} failures: {r['failures'][:2]}"
                )
            if r["updates"] != r["expected_updates"]:
                result.problems.append(
                    f"{framework}: {r['updates']} of {r['expected_updates']} updates answered"
                )
            if r["log_problem_count"]:
                result.problems.append(f"{framework}: log {r['log_problems'][:3]}")
    return result
