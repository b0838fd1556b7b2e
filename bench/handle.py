"""The core's own cost: CPU per update of ``Dispatcher.handle`` through the idea form.

No HTTP, no framework, no sender: the messenger-neutral dispatcher on the bot's own SQLite
engine (inline statements, as ``python -m bot run`` uses), fed the same eight form updates
as the throughput benchmark by N workers who joined first (not measured). It tells how much of
the full bot's cost per update is the core's (the rest is the framework and the sending) and
how many SQL statements and transactions each update takes.

    python -m bench.handle [--workers 200] [--rounds 3] [--concurrent] [--profile FILE]

``--concurrent`` runs the workers at once (each waits for its previous update), as the bot
does with many chats in flight; otherwise one update at a time. ``--profile`` writes a cProfile
of the measured rounds (read it with ``python -m pstats FILE``). A second table splits the
figures by the form's step (``/idea``, the text, each button, Submit): one at a time only.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import itertools
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import event, func, select
from sqlalchemy.pool import ConnectionPoolEntry

from bench.common import Template, default_workdir, fresh_database, idea_text, template
from bench.echo_form import BENEFITS, CATEGORIES
from bench.throughput import confidential, form_updates, title_text
from handlers.context import BotInfo
from handlers.dispatch import Dispatcher
from handlers.events import ChatRef, Incoming, OutMessage, Sender
from handlers.i18n import Catalogue
from storage.db import create_engine, create_sessionmaker
from storage.models import Idea

BOT = "sangkien_bot"
FIRST = 5_000_000


@dataclass
class Worker:
    """One simulated worker: the bot's last message to them, as the form's buttons."""

    id: int
    buttons: list[str] = field(default_factory=list)
    message_id: int = 0

    def pick(self, part: str) -> str:
        for data in self.buttons:
            if part in data:
                return data
        raise RuntimeError(f"worker {self.id}: no button {part!r} in {self.buttons}")


@dataclass
class StepCost:
    """What one kind of form step cost over a round: updates, CPU seconds, statements."""

    updates: int = 0
    cpu: float = 0.0
    statements: int = 0


def step_name(text: str | None, button: str | None) -> str:
    """The form step an update is: a command, "text", or a button without its draft id
    (``idea:<id>:review:submit`` is ``review:submit``)."""
    if button is not None:
        parts = button.split(":")
        return ":".join(parts[2:4]) if len(parts) >= 4 else button
    if text is not None and text.startswith("/"):
        return text.split()[0]
    return "text"


class Feeder:
    def __init__(self, dispatcher: Dispatcher, counts: dict[str, int] | None = None) -> None:
        self.dispatcher = dispatcher
        self.update_ids = itertools.count(1)
        self.message_ids = itertools.count(1000)
        # Filled only while ``steps`` is on: a concurrent round mixes the steps' CPU.
        self.counts = counts if counts is not None else {"statements": 0}
        self.steps: dict[str, StepCost] | None = None

    async def send(
        self, worker: Worker, text: str | None = None, button: str | None = None
    ) -> None:
        command, args = None, ""
        name_text = text
        if text and text.startswith("/"):
            command, _, args = text[1:].partition(" ")
            text = None
        incoming = Incoming(
            update_id=next(self.update_ids),
            sender=Sender("telegram", str(worker.id), f"Công nhân {worker.id}", "vi"),
            chat=ChatRef("telegram", str(worker.id), "private"),
            text=text,
            command=command,
            command_args=args,
            button=button,
            callback_id="cb" if button else None,
            message_id=str(worker.message_id if button else next(self.message_ids)),
        )
        if self.steps is None:
            outcome = await self.dispatcher.handle(incoming)
        else:
            cpu, statements = time.process_time(), self.counts["statements"]
            outcome = await self.dispatcher.handle(incoming)
            cost = self.steps.setdefault(step_name(name_text, button), StepCost())
            cost.updates += 1
            cost.cpu += time.process_time() - cpu
            cost.statements += self.counts["statements"] - statements
        for row in outcome.replies:
            message = OutMessage.from_json(row.payload)
            if message.edit_message_id is None:
                worker.message_id = next(self.message_ids)
            worker.buttons = [b.data for line in message.buttons for b in line]

    async def form(self, worker: Worker) -> None:
        uid = worker.id
        await self.send(worker, "/idea")
        await self.send(worker, idea_text(uid))
        for part in (":body:done", f":category:pick:{CATEGORIES[uid % 6]}"):
            await self.send(worker, button=worker.pick(part))
        await self.send(worker, button=worker.pick(f":benefit:pick:{BENEFITS[uid % 6]}"))
        if uid % 2 == 0:
            await self.send(worker, "2 trieu")
        else:
            await self.send(worker, button=worker.pick(":amount:skip"))
        choice = "yes" if confidential(uid) else "no"
        await self.send(worker, button=worker.pick(f":confidential:pick:{choice}"))
        if confidential(uid):  # the bot asks a confidential idea's title
            await self.send(worker, title_text(uid))
        await self.send(worker, button=worker.pick(":review:submit"))


@dataclass
class RoundResult:
    cpu_ms_per_update: float
    wall_ms_per_update: float
    statements_per_update: float
    commits_per_update: float
    ideas: int  # ideas stored by the round: one per worker when every form went through
    steps: dict[str, StepCost] = field(default_factory=dict)


async def one_round(
    source: Template,
    directory: Path,
    workers: int,
    concurrent: bool,
    profile: cProfile.Profile | None,
) -> RoundResult:
    db = fresh_database(source, directory)
    engine = create_engine(f"sqlite+aiosqlite:///{db}", sqlite_inline=True)
    counts = {"statements": 0, "commits": 0}

    last = [""]

    def on_statement(sql: str) -> None:
        # A trigger's program is reported again under its statement's text, and its own
        # statements as "-- …": neither is a statement of the bot's.
        if sql.startswith("COMMIT"):
            counts["commits"] += 1
        elif not sql.startswith(("ROLLBACK", "--")) and sql != last[0]:
            counts["statements"] += 1
        last[0] = sql if not sql.startswith("--") else last[0]

    # Counted as SQLite runs them: some statements (BEGIN, the INSERTs of every update)
    # go to sqlite3 without SQLAlchemy's execution and its events (storage.repositories.base).
    @event.listens_for(engine.sync_engine, "connect")
    def _trace(_: object, record: ConnectionPoolEntry) -> None:
        record.driver_connection._conn.set_trace_callback(on_statement)  # type: ignore[union-attr]

    try:
        feeder = Feeder(
            Dispatcher(create_sessionmaker(engine), Catalogue.load(), BotInfo(BOT)), counts
        )
        # The unit's support member first, as in the throughput benchmark: each
        # submitted idea queues a card for them.
        await feeder.send(Worker(FIRST - 1), f"/start {source.support_token}")
        people = [Worker(FIRST + n) for n in range(workers)]
        await asyncio.gather(*(feeder.send(w, f"/start {source.member_token}") for w in people))
        counts.update(statements=0, commits=0)
        feeder.steps = None if concurrent else {}
        updates = form_updates([w.id for w in people])
        if profile is not None:
            profile.enable()
        cpu, wall = time.process_time(), time.perf_counter()
        if concurrent:
            await asyncio.gather(*(feeder.form(w) for w in people))
        else:
            for worker in people:
                await feeder.form(worker)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        if profile is not None:
            profile.disable()
        async with engine.connect() as conn:
            ideas = int((await conn.execute(select(func.count()).select_from(Idea))).scalar_one())
        return RoundResult(
            cpu_ms_per_update=cpu * 1000 / updates,
            wall_ms_per_update=wall * 1000 / updates,
            statements_per_update=counts["statements"] / updates,
            commits_per_update=counts["commits"] / updates,
            ideas=ideas,
            steps=feeder.steps or {},
        )
    finally:
        await engine.dispose()


async def measure(
    workers: int,
    rounds: int,
    concurrent: bool,
    profile_file: Path | None = None,
    workdir: Path | None = None,
) -> list[RoundResult]:
    workdir = workdir or default_workdir()
    source = template(workdir)
    profile = cProfile.Profile() if profile_file else None
    results = []
    for n in range(rounds):
        directory = Path(tempfile.mkdtemp(prefix=f"handle-{n}-", dir=workdir))
        results.append(await one_round(source, directory, workers, concurrent, profile))
    if profile is not None and profile_file is not None:
        profile.dump_stats(profile_file)
    return results


def report(results: Sequence[RoundResult]) -> str:
    def med(values: Sequence[float]) -> str:
        return f"{statistics.median(values):.2f}"

    rows = [
        ("CPU ms per update", [r.cpu_ms_per_update for r in results]),
        ("wall ms per update", [r.wall_ms_per_update for r in results]),
        ("SQL statements per update", [r.statements_per_update for r in results]),
        ("commits per update", [r.commits_per_update for r in results]),
    ]
    lines = ["| Dispatcher.handle, idea form | median | rounds |", "| --- | ---: | --- |"]
    for label, values in rows:
        lines.append(f"| {label} | {med(values)} | {', '.join(f'{v:.2f}' for v in values)} |")
    names = sorted({name for r in results for name in r.steps})
    if names:
        total = [sum(c.cpu for c in r.steps.values()) for r in results]
        lines += [
            "",
            "| step | updates a round | CPU ms per update | SQL statements | share of the CPU |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        for name in sorted(
            names, key=lambda n: -sum(r.steps[n].cpu for r in results if n in r.steps)
        ):
            costs = [
                (r.steps[name], t) for r, t in zip(results, total, strict=True) if name in r.steps
            ]
            lines.append(
                f"| {name} | {costs[0][0].updates} "
                f"| {med([c.cpu * 1000 / c.updates for c, _ in costs])} "
                f"| {med([c.statements / c.updates for c, _ in costs])} "
                f"| {med([100 * c.cpu / t for c, t in costs])} % |"
            )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrent", action="store_true")
    parser.add_argument("--profile", type=Path, default=None, metavar="FILE")
    args = parser.parse_args(argv)
    results = asyncio.run(measure(args.workers, args.rounds, args.concurrent, args.profile))
    print(report(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
