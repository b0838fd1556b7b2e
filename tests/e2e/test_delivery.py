"""Notifications that were due arrive once, through Telegram's faults and flood limits."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from handlers.events import OutMessage
from storage.db import create_engine, create_sessionmaker
from storage.uow import UnitOfWork
from tests.e2e.conftest import World
from tests.e2e.harness import Person, link_token, text_of
from tests.e2e.test_crash import Worker, fill_form

ANH, BINH = 8101, 8102
FIRST_WORKER = 8200


async def test_ten_percent_of_calls_fail_and_every_notification_arrives_once(world: World) -> None:
    c = world.client
    for user, name in ((ANH, "Anh"), (BINH, "Bình")):
        await c.upsert_user(user, name, language_code="vi")
        await Person(c, user).start(link_token(world.invite("HCM-Q7-CTYMAY", "support")))
    # 10 % of every Bot API call the bot makes fails, in each of Telegram's ways.
    await c.add_faults(
        {"kind": "error", "status": 502, "format": "json", "rate": 0.03, "times": None, "seed": 1},
        {"kind": "error", "status": 500, "format": "json", "rate": 0.02, "times": None, "seed": 2},
        {"kind": "retry_after", "retry_after": 1, "rate": 0.02, "times": None, "seed": 3},
        {"kind": "drop", "rate": 0.02, "times": None, "seed": 4},
        {"kind": "delay", "delay": 0.5, "rate": 0.01, "times": None, "seed": 5},
    )
    token = link_token(world.invite("HCM-Q7-CTYMAY"))
    workers = [Worker(FIRST_WORKER + i) for i in range(8)]
    for w in workers:
        await c.upsert_user(w.user_id, f"Công nhân {w.user_id}", language_code="vi")
    await asyncio.gather(*(fill_form(world, w, token) for w in workers))
    faulted = [call for call in await c.calls() if call.get("fault")]
    assert len(faulted) >= 5, "the faults really happened"
    refs = {w.ref for w in workers}
    assert len(refs) == len(workers)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    for member in (ANH, BINH):
        while True:
            cards = [
                text_of(m)
                for m in await c.messages(member)
                if any(r and r in text_of(m) for r in refs) and m.get("buttons")
            ]
            if len(cards) >= len(refs) or loop.time() > deadline:
                break
            await asyncio.sleep(0.5)
        for ref in refs:
            assert ref is not None
            # Its own card once (the ideas are alike: other cards may name it as similar).
            own = [card for card in cards if ref in card.splitlines()[0]]
            assert len(own) == 1, f"{ref} in chat {member}: {cards}"
    for w in workers:
        confirmations = [m for m in await c.messages(w.user_id) if "Mã sáng kiến" in text_of(m)]
        assert len(confirmations) == 1


async def test_burst_keeps_telegram_limits_and_a_worker_is_answered_at_once(
    world: World, full_size: bool
) -> None:
    count = 2000 if full_size else 300
    c = world.client
    worker = Person(c, 8300)
    await c.upsert_user(worker.id, "Lan", language_code="vi")
    await worker.start(link_token(world.invite("HCM-Q7-CTYMAY")))
    recipients = list(range(100_000, 100_000 + count))
    for user in recipients:
        await c.upsert_user(user, f"Đoàn viên {user}", language_code="vi")
        # They talked to the bot before (Telegram refuses to let a bot write first).
        world.server.world.users[user].started = True
    await c.set_limits(True)
    calls_before = len(await c.calls())

    # The burst: one notification to each of `count` people, queued as flows queue them.
    engine = create_engine(world.env["DATABASE_URL"])
    try:
        async with UnitOfWork(create_sessionmaker(engine)) as uow:
            now = datetime.now(UTC)
            for user in recipients:
                message = OutMessage(text=f"📣 Thông báo số {user}")
                await uow.outbox.add(
                    channel="telegram",
                    chat_id=str(user),
                    payload=message.to_json(),
                    priority=9,
                    now=now,
                )
            await uow.commit()
    finally:
        await engine.dispose()

    # A worker types while the burst is under way and is answered within a second.
    await c.wait_calls("sendMessage", count=calls_before + 20, since=0, timeout=30)
    sent_at = time.monotonic()
    [answer] = await worker.say("/help")
    waited = time.monotonic() - sent_at
    assert "Gửi sáng kiến trong 1 phút" in text_of(answer)
    assert waited < 1.0, f"the worker waited {waited:.2f} s behind the burst"

    loop = asyncio.get_running_loop()
    deadline = loop.time() + count / 20 + 60
    while loop.time() < deadline:
        burst = [
            call
            for call in await c.calls("sendMessage")
            if call["params"].get("text", "").startswith("📣") and call["status"] == 200
        ]
        if len(burst) >= count:
            break
        await asyncio.sleep(1)
    assert len(burst) == count
    limits = await c.limits()
    assert limits["too_many_requests"] == 0
    times = sorted(call["time"] for call in burst)
    rate = (count - 1) / (times[-1] - times[0])
    print(f"\nburst of {count}: {rate:.1f} messages/s, worker answered in {waited * 1000:.0f} ms")
    assert rate > 30 * 0.8, f"only {rate:.1f} messages a second"
