"""Flood: one user sends 1,000 messages at once while fifty others fill the idea form.

The others' answer time (an update made available → the bot's reaction reaches the
stand-in) is what a flood must not spoil. The bot runs with its real send limits (one
message a second per private chat), as in production. Each run counts, besides the
others' median and p99:

- whether every honest message was answered and kept: each of the others' forms ends with
  a reference, all distinct, and the support member got one card per idea;
- what the flooder got: messages from the bot, and how many of them were "slow down".

``--before DIR`` measures a second checkout (say ``git worktree add /work/before <commit>``)
side by side, interleaved round by round, from a database prepared by that checkout's
own CLI. A run stops waiting for an answer after ``--deadline`` seconds: code that keeps
the others waiting longer is reported as such ("answered" below 100 %, p99 over the
answered steps only, and "p99 ≥ deadline").

``python -m bench.flood [--quick] [--before DIR] [--rounds N] [--frameworks aiogram,ptb]``
(also ``python -m bench.run --only flood``, the current checkout alone).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import random
import re
import sqlite3
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import (
    BOT_USERNAME,
    FIRST_WORKER,
    FRAMEWORKS,
    RAISED_SEND_LIMITS,
    ROOT,
    SAMPLE_TREE,
    SUPPORT_USER,
    UNIT,
    BenchResult,
    Options,
    Person,
    PhaseResult,
    Process,
    Row,
    Step,
    StepFailed,
    Template,
    add_people,
    bot_argv,
    bot_env,
    default_workdir,
    fresh_database,
    link_token,
    log_problems,
    markdown_table,
    median,
    percentile,
    rounded,
    run_people,
    standin,
    summarise_problems,
    wait_ready,
    watched,
)
from bench.throughput import UPDATES_PER_FORM, form_steps
from handlers.i18n import Catalogue
from standins.telegram import simulate

NAME = "flood"
TARGET_P99_SECONDS = 1.0
FLOODER = FIRST_WORKER - 2
REF = re.compile(r"SK-\d{4}-\d{6}")
STOP_SECONDS = 10.0
THINK_SECONDS = 2.0
FLOODER_WAIT_SECONDS = 25.0
# The smoke test's input burst: above the form's nine updates, below its flood.
TINY_BURST = 10


class RootedProcess(Process):
    """A bot process started from another checkout (``root``)."""

    def __init__(self, argv: Sequence[str], env: dict[str, str], log_path: Path, root: Path):
        super().__init__(argv, env, log_path)
        self.root = root

    async def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.spawned_at = time.time()
            self.process = await asyncio.create_subprocess_exec(
                *self.argv, env=self.env, cwd=self.root, stdout=log, stderr=log
            )


async def _cli(root: Path, env: dict[str, str], *args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, env=env, cwd=root,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"bot {' '.join(args)} in {root} failed:\n{out.decode()}{err.decode()}")
    return out.decode()


async def prepared(root: Path, directory: Path) -> Template:
    """A database migrated and filled by ``root``'s own CLI, with its two invites."""
    db = directory / "template.db"
    await asyncio.to_thread(_clear, db)
    env = bot_env("http://127.0.0.1:9", db, "aiogram")
    await _cli(root, env, "migrate")
    await _cli(root, env, "units", "import", str(SAMPLE_TREE))
    invite = ("invite", "--unit", UNIT, "--bot-username", BOT_USERNAME, "--role")
    member = link_token(await _cli(root, env, *invite, "member"))
    support = link_token(await _cli(root, env, *invite, "support"))
    return Template(db, member, support)


def shareable_form(person: Person) -> list[Step]:
    """The throughput benchmark's form, every idea shareable (eight updates: the confidential
    path's title question came with issue 15; the flood is what is measured here)."""
    return form_steps(person, shareable=True)


async def fill_forms(people: Sequence[Person], deadline: float, think: float) -> PhaseResult:
    """Everyone fills the form as a person would: a pause to think before each step
    (``think`` seconds, starts spread over one such pause), so that neither a chat's own
    send limit nor the bot's global one is what the answer times show."""
    failures: list[str] = []

    async def one(person: Person) -> None:
        await asyncio.sleep(random.uniform(0, think))
        try:
            for step in shareable_form(person):
                await person.do(step, deadline)
                await asyncio.sleep(think)
        except StepFailed as failure:
            failures.append(str(failure))

    for person in people:
        person.timings.clear()
    started = time.perf_counter()
    await asyncio.gather(*(one(person) for person in people))
    answered = sum(len(p.timings) for p in people)
    result = PhaseResult(started, time.perf_counter(), answered, len(people), failures)
    for person in people:
        for waiting, in_bot in person.timings:
            result.waiting_ms.append(waiting * 1000)
            result.in_bot_ms.append(in_bot * 1000)
    return result


async def _flooder_settles(world: Any, chat_id: int, first: int, slow_down: str) -> None:
    """Until the flooder was told to slow down, or got nothing new for a few seconds
    (at most ``FLOODER_WAIT_SECONDS``)."""
    ends = time.monotonic() + FLOODER_WAIT_SECONDS
    seen, quiet_since = -1, time.monotonic()
    while time.monotonic() < ends:
        texts = _bot_texts(world, chat_id, first)
        if slow_down in texts:
            return
        if len(texts) != seen:
            seen, quiet_since = len(texts), time.monotonic()
        elif time.monotonic() - quiet_since > 3.0:
            return
        await asyncio.sleep(0.2)


def _ideas_stored(db: Path) -> int:
    with contextlib.closing(sqlite3.connect(db)) as connection:
        return int(connection.execute("SELECT count(*) FROM ideas").fetchone()[0])


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else rounded(1000 * seconds, 1)


def _clear(db: Path) -> None:
    db.parent.mkdir(parents=True, exist_ok=True)
    db.unlink(missing_ok=True)


def answer_seconds(people: Sequence[Person]) -> list[float]:
    return [waiting + in_bot for p in people for waiting, in_bot in p.timings]


async def one_run(
    code: str,
    root: Path,
    framework: str,
    source: Template,
    directory: Path,
    *,
    flood: int,
    others: int,
    deadline: float,
    options: Options,
    think: float = THINK_SECONDS,
    burst: int | None = None,
) -> dict[str, Any]:
    """One run: the flood, then at once the others' forms, each step waited for up to
    ``deadline`` seconds."""
    other_ids = list(range(FIRST_WORKER, FIRST_WORKER + others))
    slow_down = Catalogue.load().for_lang("vi")("common.slow_down")
    async with standin() as server:
        world = watched(server)
        add_people(world, [SUPPORT_USER, FLOODER, *other_ids])
        db = fresh_database(source, directory)
        # ``burst`` (the smoke test): a smaller one, and send limits that never bind, so
        # the flooder's few admitted messages are answered at once.
        extra = {**RAISED_SEND_LIMITS, "RUNTIME_INPUT_BURST": str(burst)} if burst else {}
        env = bot_env(server.base_url, db, framework, extra)
        process = RootedProcess(bot_argv(), env, directory / f"bot-{code}-{framework}.log", root)
        await process.start()
        try:
            await wait_ready(world, process)
            support = Person(world, SUPPORT_USER)
            await run_people([support], lambda p: [Step("text", f"/start {source.support_token}")])
            people = [Person(world, uid) for uid in other_ids]
            joined = await run_people(
                people, lambda p: [Step("text", f"/start {source.member_token}")]
            )
            flooder_first = world.chats[FLOODER].next_message_id if FLOODER in world.chats else 1
            world.reset_counts()
            started = time.perf_counter()
            for n in range(flood):
                simulate.send(world, FLOODER, None, {"text": f"tin nhắn số {n}"})
            form = await fill_forms(people, deadline, think)
            seconds = time.perf_counter() - started
            await _flooder_settles(world, FLOODER, flooder_first, slow_down)
            answers = answer_seconds(people)
            refs = [m.group() for p in people if (m := REF.search(p.current_text()))]
            cards = await _cards(world, len(refs))
            flooder_texts = _bot_texts(world, FLOODER, flooder_first)
        finally:
            exit_code = await process.stop(STOP_SECONDS)
        problems = log_problems(process.log())
    ideas = await asyncio.to_thread(_ideas_stored, db)
    expected = others * UPDATES_PER_FORM
    run: dict[str, Any] = {
        "code": code,
        "framework": framework,
        "flood": flood,
        "others": others,
        "deadline_seconds": deadline,
        "seconds": rounded(seconds),
        "answered_steps": len(answers),
        "expected_steps": expected,
        # None: nobody was answered within the deadline.
        "others_median_ms": _ms(median(answers)),
        "others_p99_ms": _ms(percentile(answers, 99)),
        "others_max_ms": _ms(max(answers, default=None)),
        "submitted": len(refs),
        "distinct_refs": len(set(refs)),
        "support_cards": cards,
        "ideas_stored": ideas,
        # Every form ended with its own reference and the database holds exactly those
        # ideas. (The cards all go to one support member's chat, one a second: they are
        # counted, not required, within the wait.)
        "honest_kept": len(refs) == others and len(set(refs)) == others and ideas == others,
        "flooder_messages": len(flooder_texts),
        "flooder_slow_downs": sum(t == slow_down for t in flooder_texts),
        **form.breakdown(),
        "failures": (form.failures + joined.failures)[:5],
        "failure_count": len(form.failures) + len(joined.failures),
        "exit_code": exit_code,
        "log_problems": summarise_problems(problems),
        "log_problem_count": len(problems),
    }
    options.log(
        f"{NAME} {code:6} {framework:7}: others' answers median {run['others_median_ms']} ms, "
        f"p99 {run['others_p99_ms']} ms ({len(answers)}/{expected} answered; p99 waiting for "
        f"getUpdates {run['waiting_for_getupdates_p99_ms']} ms, in the bot "
        f"{run['in_bot_p99_ms']} ms); honest kept "
        f"{run['honest_kept']}; flooder got {len(flooder_texts)} messages, "
        f"{run['flooder_slow_downs']} slow down"
    )
    return run


async def _cards(world: Any, ideas: int) -> int:
    """The support member's cards, once they stop coming (one per idea expected)."""
    deadline = time.monotonic() + 30
    cards = 0
    while time.monotonic() < deadline:
        cards = len(_bot_texts(world, SUPPORT_USER, 1)) - 1  # minus the welcome
        if cards >= ideas:
            break
        await asyncio.sleep(0.2)
    return cards


def _bot_texts(world: Any, chat_id: int, first: int) -> list[str]:
    chat = world.chats.get(chat_id)
    if chat is None:
        return []
    found = []
    for message_id in range(first, chat.next_message_id):
        message = world.messages.get((chat_id, message_id))
        if message is not None and message.from_bot:
            found.append(message.text or "")
    return found


async def measure(
    options: Options, before: Path | None = None, flood: int | None = None
) -> BenchResult:
    result = BenchResult(NAME)
    flood = options.pick(1000, 200) if flood is None else flood
    tiny = options.size is not None  # the smoke test: a few people, quick thinkers
    others = 3 if tiny else (10 if options.quick else 50)
    deadline = options.seconds or (20.0 if options.quick else 60.0)
    rounds = options.runs(3, 1)
    codes: dict[str, Path] = {"after": ROOT}
    if before is not None:
        codes = {"before": before, "after": ROOT}
    sources = {
        code: await prepared(root, options.workdir / NAME / f"template-{code}")
        for code, root in codes.items()
    }
    runs: list[dict[str, Any]] = []
    for round_no in range(rounds):
        for framework in options.frameworks:
            order = list(codes) if round_no % 2 == 0 else list(reversed(codes))
            for code in order:
                directory = options.workdir / NAME / f"{code}-{framework}-{round_no}"
                run = await one_run(
                    code, codes[code], framework, sources[code], directory,
                    flood=flood, others=others, deadline=deadline, options=options,
                    think=0.1 if tiny else THINK_SECONDS,
                    burst=TINY_BURST if tiny else None,
                )  # fmt: skip
                run["round"] = round_no
                runs.append(run)
    result.raw = {"flood": flood, "others": others, "rounds": rounds, "runs": runs}
    for framework in options.frameworks:
        for code in codes:
            mine = [r for r in runs if r["framework"] == framework and r["code"] == code]
            label = f"{code}: " if before is not None else ""
            p99s = [r["others_p99_ms"] / 1000 for r in mine if r["others_p99_ms"] is not None]
            p99 = median(p99s)
            complete = all(r["answered_steps"] == r["expected_steps"] for r in mine)
            answered = median([r["answered_steps"] / r["expected_steps"] for r in mine])
            result.rows += [
                Row(
                    NAME, framework,
                    f"{label}others' answer, median ({others} filling forms, {flood} flood)",
                    median([r["others_median_ms"] for r in mine if r["others_median_ms"]]),
                    "ms", len(mine),
                ),
                Row(
                    NAME, framework,
                    f"{label}others' answer, p99"
                    + ("" if complete else f" of those answered within {deadline:.0f} s"),
                    p99, "s", len(mine), f"< {TARGET_P99_SECONDS}",
                    None if p99 is None else complete and p99 < TARGET_P99_SECONDS,
                ),
                Row(
                    NAME, framework, f"{label}others' steps answered", answered, "share",
                    len(mine), "1.0", complete,
                ),
                Row(
                    NAME, framework, f"{label}every honest idea kept (runs)",
                    sum(r["honest_kept"] for r in mine), "runs", len(mine),
                    f"{len(mine)}", all(r["honest_kept"] for r in mine),
                ),
                Row(
                    NAME, framework, f"{label}flooder: messages from the bot, median",
                    median([r["flooder_messages"] for r in mine]), "", len(mine),
                ),
                Row(
                    NAME, framework, f"{label}flooder: slow-down messages, median",
                    median([r["flooder_slow_downs"] for r in mine]), "", len(mine),
                ),
            ]  # fmt: skip
            for r in mine:
                if r["failure_count"] and code == "after":
                    result.problems.append(
                        f"{framework} {code} round {r['round']}: {r['failure_count']} people "
                        f"did not finish: {r['failures'][:2]}"
                    )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.flood", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="200 messages, 10 others, 1 round")
    parser.add_argument("--before", type=Path, help="another checkout to measure side by side")
    parser.add_argument("--rounds", type=int, help="rounds (default 3, quick 1)")
    parser.add_argument("--deadline", type=float, help="seconds to wait for one answer")
    parser.add_argument("--frameworks", default=",".join(FRAMEWORKS))
    parser.add_argument("--flood", type=int, help="messages in the flood (0: a baseline)")
    args = parser.parse_args(argv)
    workdir = default_workdir()
    workdir.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(filename=workdir / "standin.log", level=logging.WARNING)
    options = Options(
        quick=args.quick,
        frameworks=tuple(f for f in args.frameworks.split(",") if f),
        repeat=args.rounds,
        workdir=workdir,
        seconds=args.deadline,
    )
    before = args.before.resolve() if args.before else None
    result = asyncio.run(measure(options, before, args.flood))
    (workdir / "flood.json").write_text(json.dumps(result.to_json(), indent=1), "utf-8")
    command = "python -m bench.flood " + " ".join(sys.argv[1:] if argv is None else argv)
    print(f"\n`{command.strip()}`\n")
    print(markdown_table(result.rows))
    if result.problems:
        print("\nProblems seen:\n" + "\n".join(f"- {p}" for p in result.problems))
    print(f"\nLogs and databases: {workdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
