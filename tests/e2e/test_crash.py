"""Never lose an idea: workers fill the form while the bot is killed (SIGKILL) and restarted.

Shortened by default; ``pytest --full-size tests/e2e/test_crash.py`` runs 100 workers
and 12 kills.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from storage.db import create_engine, create_sessionmaker
from storage.models import Idea, Person
from tests.e2e.conftest import World
from tests.e2e.harness import button_data, link_token, text_of

REF = re.compile(r"SK-\d{4}-\d{6}")
STEP_TIMEOUT = 120.0
POLL = 0.4
JSON = dict[str, Any]


@dataclass
class Worker:
    user_id: int
    ref: str | None = None
    steps: list[str] = field(default_factory=list)


async def wait_until(world: World, chat: int, wanted: Callable[[list[JSON]], JSON | None]) -> JSON:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STEP_TIMEOUT
    while loop.time() < deadline:
        found = wanted(await world.client.messages(chat))
        if found is not None:
            return found
        await asyncio.sleep(POLL + random.random() * POLL)
    raise AssertionError(
        f"chat {chat}: the bot never got there: "
        f"{[text_of(m)[:30] for m in await world.client.messages(chat)]}"
    )


def message_with(needle: str, *, button: str | None = None) -> Callable[[list[JSON]], JSON | None]:
    def find(messages: list[JSON]) -> JSON | None:
        for message in reversed(messages):
            labels = " ".join(b["text"] for b in message.get("buttons") or [])
            if needle in text_of(message) and (button is None or button in labels):
                return message
        return None

    return find


async def press(world: World, worker: Worker, message: JSON, label: str) -> None:
    data = button_data(message, label)
    await world.client.press(worker.user_id, worker.user_id, message["message_id"], data=data)


async def fill_form(world: World, worker: Worker, token: str) -> None:
    c, me = world.client, worker.user_id
    await c.start(me, token)
    await wait_until(world, me, message_with("Chào mừng"))
    await c.send_text(me, "/idea")
    await wait_until(world, me, message_with("Sáng kiến của bạn là gì"))
    await c.send_text(me, f"Sang kien so {me}: lap cam bien de tat den kho khi khong co nguoi")
    steps = [
        ("Đã nhận", "Xong"),
        ("loại nào", "An toàn lao động"),
        ("lợi ích gì", "Tiết kiệm chi phí"),
        ("giá trị làm lợi", "Bỏ qua"),
        ("cần bảo mật", "Có thể chia sẻ"),
        ("Xem lại sáng kiến", "Gửi"),
    ]
    for needle, label in steps:
        message = await wait_until(world, me, message_with(needle, button=label))
        worker.steps.append(needle)
        await press(world, worker, message, label)
    done = await wait_until(world, me, message_with("Mã sáng kiến"))
    ref = REF.search(text_of(done))
    assert ref is not None
    worker.ref = ref.group()


async def kill_repeatedly(world: World, kills: int, stop: asyncio.Event) -> int:
    done = 0
    while done < kills and not stop.is_set():
        await asyncio.sleep(random.uniform(0.5, 2.5))
        await world.bot.kill()
        done += 1
        await world.bot.start(timeout=60)
    return done


async def test_killed_bot_loses_no_idea_and_confirms_once(world: World, full_size: bool) -> None:
    workers_count, kills = (100, 12) if full_size else (20, 3)
    random.seed(5)
    token = link_token(world.invite("HCM-Q7-CTYMAY"))
    workers = [Worker(9000 + i) for i in range(workers_count)]
    for w in workers:
        await world.client.upsert_user(w.user_id, f"Công nhân {w.user_id}", language_code="vi")
    stop = asyncio.Event()
    killer = asyncio.create_task(kill_repeatedly(world, kills, stop))
    results = await asyncio.gather(
        *(fill_form(world, w, token) for w in workers), return_exceptions=True
    )
    stop.set()
    killed = await killer
    failures = [r for r in results if isinstance(r, BaseException)]
    assert not failures, failures[:3]
    assert killed >= min(kills, 1)

    # Every reference code a worker was given is stored exactly once, with its author.
    engine = create_engine(world.env["DATABASE_URL"])
    try:
        async with create_sessionmaker(engine)() as session:
            rows = (
                await session.execute(
                    select(Idea.ref_code, Person.display_name).join(
                        Person, Person.id == Idea.author_id
                    )
                )
            ).all()
            total = (await session.execute(select(func.count(Idea.id)))).scalar_one()
    finally:
        await engine.dispose()
    stored = {ref: name for ref, name in rows}
    assert total == len(workers) == len(stored)
    for w in workers:
        assert w.ref in stored and stored[w.ref] == f"Công nhân {w.user_id}"
        confirmations = [
            m for m in await world.client.messages(w.user_id) if "Mã sáng kiến" in text_of(m)
        ]
        assert len(confirmations) == 1, f"worker {w.user_id} got {len(confirmations)} confirmations"
    print(f"\n{workers_count} workers, {killed} kills: {len(stored)} ideas stored once each")
