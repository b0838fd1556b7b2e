"""One chat cannot hold up the others: the intake's turns, the input rate, slow buttons.

The intake is driven with plain work functions; the worker with the real dispatcher on
SQLite and a fake messenger that records what reached each chat.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.runtime.input_rate import InputRate
from bot.runtime.intake import OrderedIntake
from bot.runtime.limiter import Rate, SendLimiter
from bot.runtime.sender import OutboxSender
from bot.runtime.worker import UpdateWorker
from handlers.context import BotInfo
from handlers.dispatch import Dispatcher
from handlers.events import ChatRef, Incoming, Outcome, OutMessage, Sender
from handlers.i18n import Catalogue
from storage.models import ProcessedUpdate

# Long enough for any test machine, so that a test that fails waits for no deadline.
NEVER = 10.0


async def submit_all(
    intake: OrderedIntake, updates: Sequence[tuple[int, str, Callable[[], Awaitable[None]]]]
) -> None:
    """Hand updates to the intake as the polling loop does (an intake that makes the
    loop wait for one chat's backlog fails here instead of hanging the test)."""
    for update_id, chat, work in updates:
        await asyncio.wait_for(intake.submit(update_id, chat, work), NEVER)


async def test_a_flooding_chat_delays_another_chat_by_a_few_handlings_at_most() -> None:
    intake = OrderedIntake(max_in_flight=4)
    go = asyncio.Event()  # the updates arrive faster than they are handled
    handled: list[str] = []

    def work(chat: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            await go.wait()
            handled.append(chat)

        return run

    flood = [(i, "telegram:flooder", work("flooder")) for i in range(1, 201)]
    await submit_all(intake, [*flood, (201, "telegram:other", work("other"))])
    go.set()
    await intake.drain()
    assert handled.count("flooder") == 200
    # Behind the flooder's update in hand, and perhaps one more: not behind its backlog.
    assert handled.index("other") <= 2


async def test_a_chats_backlog_holds_one_slot_and_leaves_the_rest_to_others() -> None:
    intake = OrderedIntake(max_in_flight=3)
    release = asyncio.Event()
    started: list[str] = []

    def held(chat: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            started.append(chat)
            await release.wait()

        return run

    flood = [(i, "telegram:flooder", held("flooder")) for i in range(1, 51)]
    others = [(100 + i, f"telegram:other{i}", held(f"other{i}")) for i in range(2)]
    await submit_all(intake, [*flood, *others])
    for _ in range(20):
        await asyncio.sleep(0)
    # The flooder's first update is in hand; both others run beside it.
    assert sorted(started) == ["flooder", "other0", "other1"]
    assert intake.waiting("telegram:flooder") == 49
    release.set()
    await intake.drain()
    assert started.count("flooder") == 50
    assert intake.offset == 102  # everything done and confirmable


# ---------------------------------------------------------------- the worker


class Messenger:
    """A fake Telegram: what each chat received, and how each press was answered."""

    channel = "telegram"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.answers: list[tuple[str, str, bool]] = []
        self._ids = iter(range(1, 1_000_000))

    async def send(self, chat_id: str, message: OutMessage) -> str:
        self.sent.append((chat_id, message.text))
        return str(next(self._ids))

    async def answer_callback(self, callback_id: str, text: str, alert: bool) -> None:
        self.answers.append((callback_id, text, alert))

    async def set_commands(self, commands: Sequence[tuple[str, str]], language: str | None) -> None:
        return None

    def texts(self, chat: str) -> list[str]:
        return [text for to, text in self.sent if to == chat]


@dataclass(slots=True)
class HeldDispatcher(Dispatcher):
    """The real dispatcher, whose handling waits for ``gate`` (a locked database)."""

    gate: asyncio.Event = field(default_factory=asyncio.Event)
    waiting: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, incoming: Incoming) -> Outcome:
        self.waiting.set()
        await self.gate.wait()
        return await Dispatcher.handle(self, incoming)


@dataclass
class Bot:
    worker: UpdateWorker
    messenger: Messenger
    intake: OrderedIntake
    catalogue: Catalogue
    sessionmaker: async_sessionmaker[AsyncSession]
    next_id: int = 1

    async def send(
        self,
        user: int,
        text: str = "",
        *,
        lang: str = "vi",
        button: str | None = None,
        group: str | None = None,
    ) -> int:
        update_id = self.next_id
        self.next_id += 1
        incoming = Incoming(
            update_id=update_id,
            sender=Sender("telegram", str(user), f"Người {user}", lang),
            chat=ChatRef("telegram", group, "group")
            if group
            else ChatRef("telegram", str(user), "private"),
            text=None if text.startswith("/") or button else text,
            command=text[1:] if text.startswith("/") else None,
            button=button,
            callback_id=f"cb{update_id}" if button else None,
            message_id=str(1000 + update_id),
        )

        async def work() -> None:
            await self.worker(incoming)

        await self.intake.submit(update_id, incoming.chat.key, work)
        return update_id

    async def processed(self) -> int:
        async with self.sessionmaker() as session:
            count = await session.scalar(select(func.count()).select_from(ProcessedUpdate))
            return int(count or 0)


async def pressed_answered(bot: Bot) -> None:
    while not bot.messenger.answers:  # noqa: ASYNC110 - a fake's list, nothing to wait on
        await asyncio.sleep(0.01)


def make_bot(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    input_rate: InputRate | None = None,
    dispatcher: Dispatcher | None = None,
) -> Bot:
    catalogue = Catalogue.load()
    messenger = Messenger()
    fast = Rate(10_000.0, burst=100)
    limiter = SendLimiter(global_rate=fast, private_rate=fast, group_rate=fast)
    sender = OutboxSender(
        sessionmaker, {"telegram": messenger}, limiter, max_attempts=3, instance="one"
    )
    dispatcher = dispatcher or Dispatcher(sessionmaker, catalogue, BotInfo("sangkien_bot"))
    worker = UpdateWorker(
        dispatcher, sender, messenger, max_attempts=2, input_rate=input_rate, button_grace=0.05
    )
    return Bot(worker, messenger, OrderedIntake(8), catalogue, sessionmaker)


# No refill during a test: what is allowed is the burst, whatever the machine's speed.
def burst_of(n: int) -> InputRate:
    return InputRate(burst=n, per_second=1e-6)


async def test_a_sender_above_the_rate_is_told_once_in_their_language_and_the_rest_dropped(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    bot = make_bot(sessionmaker, input_rate=burst_of(5))
    for _ in range(30):
        await bot.send(1, "/help")
    for _ in range(3):
        await bot.send(2, "/help", lang="en")
    await bot.intake.drain()
    slow_vi = bot.catalogue.for_lang("vi")("common.slow_down")
    flooder = bot.messenger.texts("1")
    assert len(flooder) == 6 and flooder[-1] == slow_vi  # five answers, one "slow down"
    assert flooder.count(slow_vi) == 1
    honest = bot.messenger.texts("2")
    assert len(honest) == 3 and slow_vi not in honest
    # Every update is recorded as handled: a redelivery of a dropped one stays dropped.
    assert await bot.processed() == 33


async def test_the_slow_down_is_in_english_for_an_english_speaker(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    bot = make_bot(sessionmaker, input_rate=burst_of(2))
    for _ in range(5):
        await bot.send(3, "/help", lang="en")
    await bot.intake.drain()
    assert bot.messenger.texts("3")[-1] == bot.catalogue.for_lang("en")("common.slow_down")


async def test_dropped_updates_run_no_flow(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """The flood lands in the middle of the idea form: nothing of it reaches the form."""
    bot = make_bot(sessionmaker, input_rate=burst_of(2))
    for user, flood in ((4, 10), (44, 0)):  # the same two messages, with and without a flood
        await bot.send(user, "/idea")
        await bot.send(user, "Ý tưởng thật của tôi về máy may")
        for n in range(flood):
            await bot.send(user, f"rác {n}")
    await bot.intake.drain()
    slow = bot.catalogue.for_lang("vi")("common.slow_down")
    assert bot.messenger.texts("4") == [*bot.messenger.texts("44"), slow]


async def test_a_slow_button_press_is_answered_at_once_and_its_text_said_as_a_message(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    dispatcher = HeldDispatcher(sessionmaker, Catalogue.load(), BotInfo("sangkien_bot"))
    bot = make_bot(sessionmaker, dispatcher=dispatcher)
    await bot.send(5, button="idea:0000:body:done")  # a button from a form long gone
    await asyncio.wait_for(dispatcher.waiting.wait(), NEVER)
    await asyncio.wait_for(pressed_answered(bot), NEVER)  # while the handling is held
    assert bot.messenger.answers == [("cb1", "", False)]  # answered before it was handled
    assert bot.messenger.sent == []
    dispatcher.gate.set()
    await bot.intake.drain()
    stale = bot.catalogue.for_lang("vi")("common.stale_button")
    assert stale in bot.messenger.texts("5")  # what the answer would have said
    assert len(bot.messenger.answers) == 1  # never answered twice


async def test_a_quick_button_press_is_answered_with_its_own_text(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    bot = make_bot(sessionmaker)
    await bot.send(6, button="idea:0000:body:done")
    await bot.intake.drain()
    stale = bot.catalogue.for_lang("vi")("common.stale_button")
    assert bot.messenger.answers == [("cb1", stale, False)]
    assert stale not in bot.messenger.texts("6")


async def test_a_slow_press_in_a_group_says_its_text_in_the_pressers_private_chat(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    dispatcher = HeldDispatcher(sessionmaker, Catalogue.load(), BotInfo("sangkien_bot"))
    dispatcher.gate.set()
    bot = make_bot(sessionmaker, dispatcher=dispatcher)
    await bot.send(7, "/help")  # the bot knows the presser's private chat
    await bot.intake.drain()
    dispatcher.gate.clear()
    bot.intake = OrderedIntake(8)
    await bot.send(7, button="idea:0000:body:done", group="-1007")
    await asyncio.wait_for(pressed_answered(bot), NEVER)  # while the handling is held
    dispatcher.gate.set()
    await bot.intake.drain()
    private_only = bot.catalogue.for_lang("vi")("group.private_only")  # the press's answer
    assert bot.messenger.answers == [("cb2", "", False)]
    assert bot.messenger.texts("7")[-1] == private_only  # said to the presser alone
    assert bot.messenger.texts("-1007") == []
