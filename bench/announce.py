"""Announcements: a big announcement going out while workers fill forms (issue #19).

N people (default 10,000, each with a started private chat) are members of one grassroots
unit of the sample tree; an official's announcement to that unit's members, due now, is
written to a fresh database before the bot starts. The stand-in enforces Telegram's limits
(30 a second per bot, one a second per private chat); the bot runs with its default send
limits, so the announcement pass queues the rows and the sender drains them at the bot's
30 a second, behind every reply. Meanwhile 50 workers of another unit, each with the idea
form open, type parts of their idea on an open-loop schedule (``RATE`` updates a second
in all); each part is answered with one sendMessage. The same load runs again without the
announcement, for the workers' reference answer times.

Reported: 429 answers; the announcement's messages a second as a share of what the bot's
30 a second leaves after the workers' replies (the replies go first); the workers' p99
answer time with the announcement and without it.

    .venv/bin/python -m bench.announce [--size 10000] [--frameworks aiogram]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sqlite3
import time
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import (
    FIRST_WORKER,
    Options,
    Person,
    Process,
    Step,
    Template,
    add_people,
    bot_argv,
    bot_env,
    fresh_database,
    idea_text,
    log_problems,
    percentile,
    rounded,
    run_people,
    standin,
    summarise_problems,
    template,
    wait_ready,
    watched,
)
from standins.telegram import simulate
from standins.telegram.models import CallRecord

NAME = "announce"
ALLOWED_PER_SECOND = 30.0
TARGET_FRACTION = 0.93
TARGET_P99_RATIO = 1.2
WORKERS = 50
RATE = 5.0  # the workers' updates a second, all together (one every 10 s each)
FIRST_RECIPIENT = 1_000_000
SENDER = 999_998
ANNOUNCED_UNIT = "HCM-Q7-CKTT"  # the workers' invites are for another unit of the tree


def seed_announcement(db: Path, recipients: list[int]) -> None:
    """The recipients (members with a started chat), the official, the announcement due now."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    con = sqlite3.connect(db)
    try:
        unit = con.execute("SELECT id FROM units WHERE code = ?", (ANNOUNCED_UNIT,)).fetchone()[0]
        for user in [SENDER, *recipients]:
            person = con.execute(
                "INSERT INTO people (display_name, unit_id, unreachable, muted, created_at)"
                " VALUES ('Đoàn viên', ?, 0, 0, ?)",
                (None if user == SENDER else unit, stamp),
            ).lastrowid
            con.execute(
                "INSERT INTO identities (person_id, channel, external_id, private_chat_id)"
                " VALUES (?, 'telegram', ?, ?)",
                (person, str(user), str(user)),
            )
            if user == SENDER:
                sender = person
                con.execute(
                    "INSERT INTO roles (person_id, unit_id, role, granted_at, lead)"
                    " VALUES (?, ?, 'official', ?, 0)",
                    (person, unit, stamp),
                )
        con.execute(
            "INSERT INTO announcements (sender_id, sender_channel, sender_chat_id, unit_id,"
            " audience, text, file, status, scheduled_at, created_at, queued_through,"
            " recipients, muted) VALUES (?, 'telegram', ?, ?, 'members', ?, NULL, 'scheduled',"
            " ?, ?, 0, 0, 0)",
            (
                sender,
                str(SENDER),
                unit,
                "Đại hội công đoàn cơ sở họp lúc 8 giờ sáng thứ Hai tại hội trường lớn.",
                stamp,
                stamp,
            ),
        )
        con.commit()
    finally:
        con.close()


async def one_run(
    framework: str,
    recipients: int,
    seconds: float | None,
    source: Template,
    directory: Path,
    options: Options,
) -> dict[str, Any]:
    """One run; ``recipients`` 0: the workers alone for ``seconds``. With an announcement
    the workers type until it is out."""
    workers = list(range(FIRST_WORKER, FIRST_WORKER + WORKERS))
    targets = list(range(FIRST_RECIPIENT, FIRST_RECIPIENT + recipients))
    db = fresh_database(source, directory)
    if recipients:
        seed_announcement(db, targets)
    async with standin() as server:
        world = watched(server)
        add_people(world, [*workers, *targets, SENDER])
        for chat_id in [*targets, SENDER]:
            world.users[chat_id].started = True
        world.limiter.config.update({"enabled": True})
        measured, wanted = set(workers), set(targets)
        outstanding: dict[int, deque[float]] = {uid: deque() for uid in workers}
        answers: list[float] = []
        announced: list[float] = []
        announced_chats: set[int] = set()
        replies_at: list[float] = []
        report: list[str] = []
        done = asyncio.Event()

        def on_call(record: CallRecord) -> None:
            chat = record.chat_id
            if record.method != "sendMessage" or record.status != 200:
                return
            if chat in wanted:
                announced.append(record.time)
                announced_chats.add(chat)
            elif chat in measured and outstanding[chat]:
                answers.append(record.time - outstanding[chat].popleft())
                replies_at.append(record.time)
            elif chat == SENDER:
                report.append(str(record.params.get("text", "")))
                done.set()

        env = bot_env(server.base_url, db, framework)
        process = Process(bot_argv(), env, directory / f"bot-{framework}.log")
        await process.start()
        try:
            await wait_ready(world, process)
            people = [Person(world, uid) for uid in workers]
            await run_people(
                people,
                lambda p: [Step("text", f"/start {source.member_token}"), Step("text", "/idea")],
            )
            world.reset_counts()
            world.watchers.append(on_call)
            loop = asyncio.get_running_loop()
            t0, i = loop.time(), 0
            limit = (recipients / ALLOWED_PER_SECOND * 2 + 120) if recipients else seconds or 60
            while loop.time() - t0 < limit and not (recipients and done.is_set()):
                due = t0 + i / RATE
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(done.wait()), max(0, due - loop.time()))
                uid = workers[i % WORKERS]
                sent = simulate.send(world, uid, None, {"text": idea_text(uid + i)[:90]})
                assert sent.update is not None
                outstanding[uid].append(sent.update.created)
                i += 1
            await asyncio.sleep(2)
            too_many = world.limiter.refused
        finally:
            code = await process.stop()
        problems = log_problems(process.log())
    span = (announced[-1] - announced[0]) if len(announced) > 1 else 0.0
    rate = (len(announced) - 1) / span if span else 0.0
    in_span = [t for t in replies_at if announced and announced[0] <= t <= announced[-1]]
    reply_rate = len(in_span) / span if span else 0.0
    left_over = ALLOWED_PER_SECOND - reply_rate
    ms = [a * 1000 for a in answers]
    run = {
        "framework": framework,
        "recipients": recipients,
        "announced": len(announced),
        "distinct_chats": len(announced_chats),
        "announcement_seconds": rounded(span, 1),
        "announcement_rate": rounded(rate, 2),
        "replies_rate_meanwhile": rounded(reply_rate, 2),
        "share_of_what_replies_leave": rounded(rate / left_over if left_over else None),
        "share_of_30": rounded(rate / ALLOWED_PER_SECOND),
        "worker_updates": len(answers) + sum(len(q) for q in outstanding.values()),
        "worker_answers": len(answers),
        "worker_median_ms": rounded(percentile(ms, 50), 1),
        "worker_p99_ms": rounded(percentile(ms, 99), 1),
        "too_many_requests": too_many,
        "report": report[-1] if report else None,
        "exit_code": code,
        "log_problems": summarise_problems(problems),
    }
    options.log(json.dumps(run, ensure_ascii=False))
    return run


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--frameworks", nargs="+", default=["aiogram"])
    args = parser.parse_args()
    options = Options(frameworks=tuple(args.frameworks))
    source = template(options.workdir)
    results = []
    for framework in options.frameworks:
        base = options.workdir / NAME / framework
        started = time.monotonic()
        loaded = await one_run(framework, args.size, None, source, base / "with", options)
        quiet = await one_run(
            framework, 0, time.monotonic() - started, source, base / "without", options
        )
        ratio = loaded["worker_p99_ms"] / quiet["worker_p99_ms"] if quiet["worker_p99_ms"] else None
        results.append({"with": loaded, "without": quiet, "p99_ratio": rounded(ratio, 3)})
        print(
            f"{framework}: {loaded['announced']}/{args.size} announced at "
            f"{loaded['announcement_rate']}/s ({loaded['share_of_what_replies_leave']} of what "
            f"the replies leave of 30/s; {loaded['share_of_30']} of 30/s), "
            f"429s {loaded['too_many_requests']}; workers' p99 {loaded['worker_p99_ms']} ms "
            f"with, {quiet['worker_p99_ms']} ms without (ratio {rounded(ratio, 3)})"
        )
    out = options.workdir / NAME / "results.json"
    out.write_text(json.dumps(results, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    asyncio.run(main())
