"""Throughput: updates per second through the whole idea form, against the bare echo bot.

N simulated workers join the unit first (not measured), then all at once each go through the
idea form one step after another: ``/idea``, the idea text, Done, a category, a benefit, an
amount typed (even ids) or Skip (odd ids), confidential (every third id, which then types the
title the bot asks for) or shareable, Submit. Each step waits for the bot's reaction (its
sendMessage, or the edit that turns the pressed message into the next question) before the
next. Updates answered per second of wall time are counted, from when the process has
settled after the joins (``bench.common.settled``: the bot's start-up work in background
threads, the holiday calendar's first load, done; the echo bots settle at once).

The ceiling is the bare echo bot of the same framework (``bench/echo_*.py``) driven by the same
load generator through the same stand-in: the same N people, the same updates each (eight,
nine for a confidential idea), each waiting for the echo. Echo and bot runs are interleaved, a
fresh stand-in and a fresh SQLite database each run. The stand-in's limits are off and the bot's
send limits raised, so no limiter binds.

A second, closer ceiling: the echo bot started with ``--form`` (``bench/echo_form.py``) goes
through the very same form steps, answering each with the calls the bot makes (a message with
buttons, or ``answerCallbackQuery`` and an edit), so "bot ÷ form-shaped echo" is the share of the
framework's own ceiling for this traffic that the database, the flows and the runtime leave.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import (
    FIRST_WORKER,
    RAISED_SEND_LIMITS,
    SUPPORT_USER,
    BenchResult,
    Options,
    Person,
    Process,
    Row,
    Step,
    Template,
    add_people,
    bot_argv,
    bot_env,
    echo_argv,
    fresh_database,
    idea_text,
    log_problems,
    median,
    own_cpu_seconds,
    profiled,
    rounded,
    run_people,
    settled,
    standin,
    summarise_problems,
    template,
    wait_ready,
    watched,
)
from bench.echo_form import BENEFITS, CATEGORIES, TITLE_PREFIX

NAME = "throughput"
TARGET_RATIO = 0.5
REF = re.compile(r"SK-\d{4}-\d{6}")
ECHO_TEXTS = ("/idea", "", "xong", "khac", "moi truong", "2 trieu", "chia se", "gui")


def confidential(uid: int) -> bool:
    """Every third worker keeps the idea confidential, and so types a title."""
    return uid % 3 == 0


def title_text(uid: int) -> str:
    return f"{TITLE_PREFIX} so {uid}"


def form_updates(uids: Sequence[int]) -> int:
    """The updates of these workers' forms: eight, nine for a confidential idea."""
    return sum(UPDATES_PER_FORM + confidential(uid) for uid in uids)


def form_steps(person: Person, *, shareable: bool = False) -> list[Step]:
    """The eight updates of one idea form (nine if confidential), varied by the worker's id;
    ``shareable``: every idea shareable, eight updates each."""
    uid = person.id
    amount = (
        Step("text", "2 trieu", expect="sendMessage")
        if uid % 2 == 0
        else Step("press", pick=":amount:skip", expect="editMessageText")
    )
    secret = confidential(uid) and not shareable
    return [
        Step("text", "/idea"),
        Step("text", idea_text(uid)),
        Step("press", pick=":body:done", expect="editMessageText"),
        Step("press", pick=f":category:pick:{CATEGORIES[uid % 6]}", expect="editMessageText"),
        Step("press", pick=f":benefit:pick:{BENEFITS[uid % 6]}", expect="editMessageText"),
        amount,
        Step(
            "press",
            pick=f":confidential:pick:{'yes' if secret else 'no'}",
            expect="editMessageText",
        ),
        *([Step("text", title_text(uid), expect="sendMessage")] if secret else []),
        Step("press", pick=":review:submit", expect="editMessageText"),
    ]


def echo_steps(person: Person) -> list[Step]:
    """As many updates as the form, each a text the echo bot answers."""
    titles = [title_text(person.id)] if confidential(person.id) else []
    return [Step("text", text or idea_text(person.id)) for text in [*ECHO_TEXTS, *titles]]


UPDATES_PER_FORM = len(ECHO_TEXTS)
# The full bot; the bare echo bot (the ceiling); the echo bot making the form's own
# Bot API calls (bench/echo_form.py), which shows what the framework and the calls alone cost.
KINDS = ("echo", "form-echo", "bot")


async def one_run(
    kind: str, framework: str, workers: int, source: Template, directory: Path, options: Options
) -> dict[str, Any]:
    """One measured run of the bot (``kind="bot"``), the echo bot (``"echo"``) or the
    form-shaped echo bot (``"form-echo"``)."""
    people_ids = list(range(FIRST_WORKER, FIRST_WORKER + workers))
    async with standin() as server:
        world = watched(server)
        add_people(world, [SUPPORT_USER, *people_ids])
        if kind == "bot":
            db = fresh_database(source, directory)
            env = bot_env(server.base_url, db, framework, RAISED_SEND_LIMITS)
            argv = bot_argv()
        else:
            env = bot_env(server.base_url, directory / "unused.db", framework)
            argv = echo_argv(framework, server.base_url)
            if kind == "form-echo":
                argv.append("--form")
        process = Process(argv, env, directory / f"{kind}-{framework}.log")
        await process.start()
        try:
            await wait_ready(world, process)
            people = [Person(world, uid) for uid in people_ids]
            if kind == "bot":
                support = Person(world, SUPPORT_USER)
                await run_people(
                    [support], lambda p: [Step("text", f"/start {source.support_token}")]
                )
            join = await run_people(
                people, lambda p: [Step("text", f"/start {source.member_token}")]
            )
            waited = await settled(process)
            world.reset_counts()
            delivered = world.updates.delivered_count
            bot_cpu, own_cpu = process.cpu_seconds(), own_cpu_seconds()
            steps = echo_steps if kind == "echo" else form_steps
            async with profiled(options, process, directory.name):
                form = await run_people(people, steps)
            bot_cpu = process.cpu_seconds() - bot_cpu
            own_cpu = own_cpu_seconds() - own_cpu
            finished = dict(world.finished)
            run: dict[str, Any] = {
                "kind": kind,
                "framework": framework,
                "workers": workers,
                "updates": form.updates,
                "expected_updates": form_updates(people_ids),
                "seconds": rounded(form.seconds),
                "updates_per_second": rounded(form.rate, 1),
                "deliveries_per_update": rounded(
                    (world.updates.delivered_count - delivered) / max(form.updates, 1), 2
                ),
                "process_cpu_seconds": rounded(bot_cpu),
                "process_cpu_share": rounded(bot_cpu / form.seconds if form.seconds else 0.0),
                "standin_cpu_share": rounded(own_cpu / form.seconds if form.seconds else 0.0),
                "join_failures": join.failures[:5],
                "failures": form.failures[:5],
                "failure_count": len(form.failures) + len(join.failures),
                "settle_seconds": rounded(waited, 1),
                **form.breakdown(),
            }
            if kind == "bot":
                run.update(await _check_bot(world, people, workers))
            run["calls"] = {f"{method} {status}": n for (method, status), n in finished.items()}
        finally:
            run_code = await process.stop()
        problems = log_problems(process.log())
        run["exit_code"] = run_code
        run["log_problems"] = summarise_problems(problems)
        run["log_problem_count"] = len(problems)
        options.log(
            f"{NAME} {kind:4} {framework:7} {workers} workers: {run['updates_per_second']} "
            f"updates/s ({run['updates']}/{run['expected_updates']}); per step "
            f"{run['waiting_for_getupdates_median_ms']} ms waiting for getUpdates + "
            f"{run['in_bot_median_ms']} ms in the bot (medians); bot CPU "
            f"{run['process_cpu_share']}, stand-in CPU {run['standin_cpu_share']}"
        )
        return run


async def _check_bot(world: Any, people: Sequence[Person], workers: int) -> dict[str, Any]:
    """Every form ended with a reference; the support member got one card per idea."""
    refs = [m.group() for p in people if (m := REF.search(p.current_text()))]
    deadline = time.monotonic() + 60
    cards = 0
    while time.monotonic() < deadline:
        cards = _bot_messages(world, SUPPORT_USER) - 1  # minus the welcome
        if cards >= len(refs):
            break
        await asyncio.sleep(0.2)
    extra = {k: v for k, v in world.unexpected.items() if k != "sendMessage" or v != cards}
    return {
        "submitted": len(refs),
        "distinct_refs": len(set(refs)),
        "support_cards": cards,
        "unexpected_calls": extra,
        "lost_or_duplicated": len(refs) != workers
        or len(set(refs)) != len(refs)
        or cards != len(refs),
    }


def _bot_messages(world: Any, chat_id: int) -> int:
    chat = world.chats.get(chat_id)
    if chat is None:
        return 0
    return sum(
        1
        for message_id in range(1, chat.next_message_id)
        if (m := world.messages.get((chat_id, message_id))) is not None and m.from_bot
    )


async def measure(options: Options) -> BenchResult:
    result = BenchResult(NAME)
    workers = options.pick(200, 30)
    rounds = options.runs(5, 2)
    source = template(options.workdir)
    runs: list[dict[str, Any]] = []
    kinds = tuple(k for k in KINDS if options.kinds is None or k in options.kinds)
    for round_no in range(rounds):
        for framework in options.frameworks:
            order = kinds if round_no % 2 == 0 else tuple(reversed(kinds))
            pair: dict[str, dict[str, Any]] = {}
            for kind in order:
                directory = options.workdir / NAME / f"throughput-{framework}-{kind}-{round_no}"
                pair[kind] = await one_run(kind, framework, workers, source, directory, options)
            bot_rate = pair["bot"]["updates_per_second"] if "bot" in pair else None
            echo_rate = pair["echo"]["updates_per_second"] if "echo" in pair else None
            form_rate = pair["form-echo"]["updates_per_second"] if "form-echo" in pair else None
            runs.append(
                {
                    "round": round_no,
                    "framework": framework,
                    "ratio": rounded(bot_rate / echo_rate if bot_rate and echo_rate else None),
                    "form_ratio": rounded(bot_rate / form_rate if bot_rate and form_rate else None),
                    **pair,
                }
            )
    result.raw = {"workers": workers, "rounds": rounds, "runs": runs}
    for framework in options.frameworks:
        mine = [r for r in runs if r["framework"] == framework]
        bot = [r["bot"]["updates_per_second"] for r in mine if "bot" in r]
        echo = [r["echo"]["updates_per_second"] for r in mine if "echo" in r]
        form_echo = [r["form-echo"]["updates_per_second"] for r in mine if "form-echo" in r]
        ratios = [r["ratio"] for r in mine if r["ratio"] is not None]
        ratio = median(ratios)
        form_ratios = [r["form_ratio"] for r in mine if r["form_ratio"] is not None]
        result.rows += [
            Row(
                NAME,
                framework,
                f"full bot, idea form, {workers} workers",
                median(bot),
                "updates/s",
                len(bot),
            ),
            Row(
                NAME,
                framework,
                f"bare echo bot, {workers} workers",
                median(echo),
                "updates/s",
                len(echo),
            ),
            Row(
                NAME,
                framework,
                "bot ÷ echo (median of per-round ratios)",
                ratio,
                "×",
                len(ratios),
                f"≥ {TARGET_RATIO}",
                None if ratio is None else ratio >= TARGET_RATIO,
            ),
            Row(
                NAME,
                framework,
                f"form-shaped echo bot (the form's Bot API calls, nothing else), {workers} workers",
                median(form_echo),
                "updates/s",
                len(form_echo),
            ),
            Row(
                NAME,
                framework,
                "bot ÷ form-shaped echo (median of per-round ratios)",
                median(form_ratios),
                "×",
                len(form_ratios),
            ),
        ]
        for r in mine:
            for kind in kinds:
                if r[kind]["failure_count"]:
                    result.problems.append(
                        f"{framework} {kind} round {r['round']}: {r[kind]['failure_count']} "
                        f"people did not finish: {r[kind]['failures'][:2]}"
                    )
            if "bot" not in r:
                continue
            if r["bot"].get("lost_or_duplicated"):
                result.problems.append(
                    f"{framework} round {r['round']}: submitted {r['bot']['submitted']}, "
                    f"distinct {r['bot']['distinct_refs']}, cards {r['bot']['support_cards']}"
                )
            if r["bot"]["log_problem_count"]:
                result.problems.append(
                    f"{framework} round {r['round']}: {r['bot']['log_problem_count']} warning/"
                    f"error log lines: {r['bot']['log_problems'][:3]}"
                )
    return result
