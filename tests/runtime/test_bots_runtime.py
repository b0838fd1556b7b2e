"""Several Telegram bots in one deployment (issue #22), in the runtime: each bot's webhook
path on the one listener with its own secret, a send limiter per token, the config, and
which bot serves a unit."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import channels_for
from bot.config import ConfigError, load_settings
from bot.runtime.errors import PermanentSendError
from bot.runtime.intake import OrderedIntake
from bot.runtime.limiter import Rate, SendLimiter
from bot.runtime.sender import OutboxSender
from bot.runtime.webhook import WebhookServer
from handlers.bots import serving_route
from handlers.events import OutMessage
from storage.db import create_engine, create_sessionmaker
from storage.schema import upgrade
from storage.uow import UnitOfWork
from tests.runtime.test_sender import FakeMessenger, drain
from tests.runtime.test_webhook import HEADER, SECRET, Work
from tests.storage.conftest import _postgres_checked, fresh_schema  # noqa: F401 - fixture

NORTH_SECRET = "north_Secret-7"


def update(update_id: int, chat: int) -> dict[str, Any]:
    return {"id": update_id, "chat": chat}


async def test_each_bots_path_on_one_listener_takes_only_its_own_secret() -> None:
    main_work, north_work = Work(), Work()
    main = WebhookServer(
        main_work.wrap, OrderedIntake(8), main_work, secret=SECRET, secret_header=HEADER,
        host="127.0.0.1", port=0, path="/telegram/webhook", name="telegram",
    )  # fmt: skip
    north = WebhookServer(
        north_work.wrap, OrderedIntake(8), north_work, secret=NORTH_SECRET,
        secret_header=HEADER, host="127.0.0.1", port=0, path="/telegram/webhook/north",
        name="telegram.north",
    )  # fmt: skip
    await main.start()
    main.mount(north)  # mounted while the listener runs, as the channels start in turn
    try:
        assert north.local_url == f"http://127.0.0.1:{main.port}/telegram/webhook/north"
        async with aiohttp.ClientSession() as session:

            async def post(url: str, secret: str, body: dict[str, Any]) -> int:
                async with session.post(url, json=body, headers={HEADER: secret}) as answer:
                    return answer.status

            # The main bot's secret opens no other bot's path, nor the other way round.
            assert await post(north.local_url, SECRET, update(1, 7)) == 401
            assert await post(main.local_url, NORTH_SECRET, update(2, 7)) == 401
            assert await post(north.local_url, NORTH_SECRET, update(3, 7)) == 200
            assert await post(main.local_url, SECRET, update(4, 7)) == 200
            unknown = f"http://127.0.0.1:{main.port}/telegram/webhook/south"
            assert await post(unknown, NORTH_SECRET, update(5, 7)) == 404
        assert north_work.finished == [3] and main_work.finished == [4]
        with pytest.raises(ValueError, match="two webhooks on one path"):
            main.mount(north)
    finally:
        await asyncio.wait_for(main.stop(), 10)
        await asyncio.wait_for(north.stop(), 10)
    assert north.refused == 1 and main.refused == 1


class CountingLimiter(SendLimiter):
    def __init__(self) -> None:
        fast = Rate(10_000.0, burst=100)
        super().__init__(global_rate=fast, private_rate=fast, group_rate=fast)
        self.chats: list[str] = []

    async def acquire(self, chat_id: str, **kwargs: Any) -> None:
        self.chats.append(chat_id)
        await super().acquire(chat_id, **kwargs)


async def test_each_bot_sends_through_its_own_limiter(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    main_messenger, north_messenger = FakeMessenger(), FakeMessenger()
    north_messenger.channel = "telegram.north"
    shared, north_limits = CountingLimiter(), CountingLimiter()
    sender = OutboxSender(
        sessionmaker,
        {"telegram": main_messenger, "telegram.north": north_messenger},
        shared,
        max_attempts=3,
        instance="one",
        limiters={"telegram.north": north_limits},
    )
    async with UnitOfWork(sessionmaker) as uow:
        for channel, chat in [("telegram", "11"), ("telegram.north", "11"), ("telegram", "12")]:
            await uow.outbox.add(
                channel=channel,
                chat_id=chat,
                payload=OutMessage(text=f"{channel}/{chat}").to_json(),
                priority=5,
                now=datetime.now(UTC),
            )
        await uow.commit()
    await drain(sender, sessionmaker)
    # The same user id on two bots: two chats, each message through its own bot.
    assert sorted(main_messenger.sent) == [("11", "telegram/11"), ("12", "telegram/12")]
    assert north_messenger.sent == [("11", "telegram.north/11")]
    assert sorted(shared.chats) == ["telegram:11", "telegram:12"]
    assert north_limits.chats == ["telegram.north:11"]
    await north_limits.close()
    await shared.close()


def write(tmp_path: Path, bots: str, token: str = '"1:main"') -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(f"telegram:\n  token: {token}\n  bots:\n{bots}", encoding="utf-8")
    return path


def test_config_reads_the_further_bots_and_refuses_what_cannot_work(tmp_path: Path) -> None:
    good = (
        "    - {name: hn, token: '2:hn', units: [LDLD-HN, CD-DK]}\n"
        "    - {name: hcm, token: '3:x'}\n"
    )
    settings = load_settings(write(tmp_path, good), env={})
    hn, hcm = settings.telegram.bots
    assert (hn.route, hcm.route) == ("telegram.hn", "telegram.hcm")
    assert settings.telegram.unit_routes == {"LDLD-HN": "telegram.hn", "CD-DK": "telegram.hn"}
    assert "2:hn" not in repr(settings)  # a token never shows in a repr (a log line)
    names = [c.name for c in channels_for(settings)]
    assert names == ["telegram", "telegram.hn", "telegram.hcm"]
    bad = {
        "    - {name: HaNoi, token: '2:x'}\n": "1-7 of a-z 0-9",
        "    - {name: hanoi12, token: '2:x'}\n    - {name: hanoi12, token: '3:x'}\n": "same name",
        "    - {name: hn, token: '1:main'}\n": "must differ",
        "    - {name: hn, token: ''}\n": "no token",
        "    - {name: hn, token: '2:x', webhook_path: 'x'}\n": "start with /",
        "    - hn\n": "list of mappings",
    }
    for text, problem in bad.items():
        with pytest.raises(ConfigError, match=problem):
            load_settings(write(tmp_path, text), env={})
    # Webhook mode needs each bot's own secret.
    webhook = load_settings(
        write(tmp_path, "    - {name: hn, token: '2:x'}\n"),
        env={"TELEGRAM_WEBHOOK_URL": "https://x.vn/t", "TELEGRAM_WEBHOOK_SECRET": "abc"},
    )
    assert "telegram.bots hn: webhook_secret" in (webhook.telegram.webhook_problem() or "")


class Tree:
    """Units by code, each with its parent: what ``serving_route`` reads."""

    def __init__(self, parents: dict[str, str | None]) -> None:
        self.parents = parents

    def unit(self, code: str) -> Any:
        return SimpleNamespace(code=code)

    async def ancestors(self, unit: Any) -> list[Any]:
        chain, code = [], self.parents[unit.code]
        while code is not None:
            chain.append(self.unit(code))
            code = self.parents[code]
        return chain


async def test_the_nearest_unit_named_in_the_config_picks_the_bot() -> None:
    tree = Tree({"VN": None, "HN": "VN", "HN-Q1": "HN", "HN-Q1-MAY": "HN-Q1", "HCM": "VN"})
    routes = {"HN": "telegram.hn", "HN-Q1": "telegram.q1"}
    seen: Sequence[tuple[str, str]] = [
        (code, await serving_route(tree, routes, tree.unit(code)))
        for code in ("VN", "HN", "HN-Q1", "HN-Q1-MAY", "HCM")
    ]
    assert dict(seen) == {
        "VN": "telegram",
        "HN": "telegram.hn",
        "HN-Q1": "telegram.q1",
        "HN-Q1-MAY": "telegram.q1",
        "HCM": "telegram",
    }
    assert await serving_route(tree, {}, tree.unit("HN-Q1-MAY")) == "telegram"


class BlockedMessenger(FakeMessenger):
    """A bot the person blocked: every message to them is refused for good."""

    async def send(self, chat_id: str, message: OutMessage) -> str:
        raise PermanentSendError("blocked", "Forbidden: bot was blocked by the user")


async def person_on(
    sessionmaker: async_sessionmaker[AsyncSession], user: str, routes: Sequence[str]
) -> int:
    """A Telegram user who wrote privately to these bots, the last one last."""
    for route in routes:
        async with UnitOfWork(sessionmaker) as uow:
            person, _ = await uow.people.resolve(
                channel="telegram",
                external_id=user,
                display_name="An",
                platform_language="vi",
                private_chat_id=user,
                now=datetime.now(UTC),
                conversation_key=f"{route}:{user}",
                route=route,
            )
            await uow.commit()
    return person.id


async def test_a_person_who_blocked_one_bot_hears_through_another_they_started(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    both = await person_on(sessionmaker, "31", ["telegram", "telegram.north"])
    north_only = await person_on(sessionmaker, "32", ["telegram.north"])
    main, north = FakeMessenger(), BlockedMessenger()
    north.channel = "telegram.north"
    sender = OutboxSender(
        sessionmaker,
        {"telegram": main, "telegram.north": north},
        CountingLimiter(),
        max_attempts=3,
        instance="one",
    )
    async with UnitOfWork(sessionmaker) as uow:
        chats = await uow.people.private_chats([both, north_only])
        assert chats == [(both, "telegram.north", "31"), (north_only, "telegram.north", "32")]
        for person, route, chat in chats:
            await uow.outbox.add(
                channel=route,
                chat_id=chat,
                payload=OutMessage(text=f"SK-{chat} approved").to_json(),
                priority=5,
                now=datetime.now(UTC),
                person_id=person,
            )
        await uow.commit()
    await drain(sender, sessionmaker)
    # The first started the main bot too: the message goes there, north is forgotten.
    assert main.sent == [("31", "SK-31 approved")]
    async with UnitOfWork(sessionmaker) as uow:
        assert await uow.people.private_chats([both]) == [(both, "telegram", "31")]
        # The second has no other bot: unreachable, as with one bot.
        assert await uow.people.private_chats([north_only]) == []
        still = await uow.people.get(both)
        gone = await uow.people.get(north_only)
        assert still is not None and not still.unreachable
        assert gone is not None and gone.unreachable
    # Writing to a bot privately again makes a person reachable again.
    await person_on(sessionmaker, "32", ["telegram.north"])
    async with UnitOfWork(sessionmaker) as uow:
        assert await uow.people.private_chats([north_only]) == [
            (north_only, "telegram.north", "32")
        ]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def any_database(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    _postgres_checked: None,  # noqa: F811 - the fixture imported above
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A migrated database: a SQLite file, or a fresh PostgreSQL schema."""
    async with contextlib.AsyncExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
        else:
            url = await stack.enter_async_context(fresh_schema())
        await upgrade(url)
        engine = create_engine(url)
        stack.push_async_callback(engine.dispose)
        yield create_sessionmaker(engine)


async def test_one_bots_backlog_never_holds_up_another_bots_messages(
    any_database: async_sessionmaker[AsyncSession],
) -> None:
    """An announcement of thousands on one bot, queued before a card on another: the
    card goes at once, not after the announcement (each bot is drained on its own, on
    SQLite and on PostgreSQL, where the claim filters by channel with = ANY)."""
    sessionmaker = any_database
    main, north = FakeMessenger(), FakeMessenger()
    north.channel = "telegram.north"
    slow = SendLimiter(  # north at 100 a second: its 250 messages take some 2.5 s
        global_rate=Rate(100.0), private_rate=Rate(1000.0, 10), group_rate=Rate(1000.0, 10)
    )
    sender = OutboxSender(
        sessionmaker,
        {"telegram": main, "telegram.north": north},
        CountingLimiter(),
        max_attempts=3,
        instance="one",
        limiters={"telegram.north": slow},
    )
    async with UnitOfWork(sessionmaker) as uow:
        for chat in range(250):
            await uow.outbox.add(
                channel="telegram.north",
                chat_id=str(5000 + chat),
                payload=OutMessage(text="announcement").to_json(),
                priority=9,
                now=datetime.now(UTC),
            )
        await uow.outbox.add(
            channel="telegram",
            chat_id="41",
            payload=OutMessage(text="SK-41 card").to_json(),
            priority=9,
            now=datetime.now(UTC),
        )
        await uow.commit()
    task = asyncio.create_task(sender.run())
    try:
        async with asyncio.timeout(10):
            while not main.sent:  # noqa: ASYNC110 - the fake messenger is polled
                await asyncio.sleep(0.01)
        assert main.sent == [("41", "SK-41 card")]
        assert len(north.sent) < 150  # the card did not wait for north's backlog
        async with asyncio.timeout(20):
            while len(north.sent) < 250:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
    finally:
        sender.stop()
        await task
        await slow.close()
