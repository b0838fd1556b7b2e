"""Two bot tokens in one deployment (issue #22): real bot process, a stand-in for each bot.

Workers on the main bot and on "north" (which serves the province HN) join one unit tree by
invites that name the bot serving their unit; their ideas reach one support team, whose
member uses the main bot; every reply goes out through the bot the person wrote to, and a
SIGKILL of the bot mid-form loses and doubles nothing on either bot.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from standins.telegram.client import StandinClient
from tests.e2e.bots_world import (
    MAIN_USERNAME,
    NORTH_USERNAME,
    BotsWorld,
    Worker,
    bots_world,
    message_with,
    own_cards,
    sent_to,
    wait_until,
)
from tests.e2e.harness import JSON, button_data, labels, link_token, text_of

pytestmark = pytest.mark.e2e

SUPPORT, ON_MAIN, ON_NORTH, OUTSIDER = 8101, 8102, 8103, 8104
TOP, UNIT_MAIN, UNIT_NORTH = "TLD", "HCM-Q7-CTYMAY", "HN-DTTL"
APPROVED = "đã được tổ hỗ trợ duyệt"


@pytest.fixture
async def world(tmp_path: Path, framework: str) -> AsyncIterator[BotsWorld]:
    async with bots_world(tmp_path, framework) as found:
        yield found


async def everyone(world: BotsWorld, *users: int) -> None:
    """A Telegram user exists on every bot (Telegram's ids are global); each starts only
    the bot their invite names."""
    for user in users:
        for client in (world.main, world.north):
            await client.upsert_user(user, f"Người {user}", language_code="vi")


def invite_link(output: str, username: str) -> str:
    assert f"https://t.me/{username}?start=" in output, output
    return link_token(output)


async def card_for(client: StandinClient, chat: int, ref: str) -> JSON:
    return await wait_until(
        client,
        chat,
        lambda messages: next(
            (m for m in reversed(own_cards(messages, ref)) if "Duyệt" in " ".join(labels(m))),
            None,
        ),
    )


async def press(client: StandinClient, user: int, message: JSON, label: str) -> JSON:
    """Press a button in the user's private chat; the callback answer the bot gave."""
    before = len(await client.calls("answerCallbackQuery"))
    await client.press(user, user, message["message_id"], data=button_data(message, label))
    answers = await client.wait_calls("answerCallbackQuery", count=before + 1)
    await client.wait_quiet(0.3)
    return dict(answers[-1]["params"])


async def forge(client: StandinClient, user: int, message_id: int, data: str) -> JSON:
    before = len(await client.calls("answerCallbackQuery"))
    await client.press(user, user, message_id, data=data, forge=True)
    answers = await client.wait_calls("answerCallbackQuery", count=before + 1)
    await client.wait_quiet(0.3)
    return dict(answers[-1]["params"])


async def test_two_bots_one_team_each_reply_through_its_own_bot(world: BotsWorld) -> None:
    main, north = world.main, world.north
    await everyone(world, SUPPORT, ON_MAIN, ON_NORTH, OUTSIDER)
    # Invites name the bot that serves their unit: HN's units north, the rest the main bot.
    support = invite_link(await world.invite(TOP, "support"), MAIN_USERNAME)
    on_main = invite_link(await world.invite(UNIT_MAIN), MAIN_USERNAME)
    on_north = invite_link(await world.invite(UNIT_NORTH), NORTH_USERNAME)

    await main.start(SUPPORT, support)
    await wait_until(main, SUPPORT, message_with("tổ hỗ trợ"))
    lan, minh = Worker(ON_MAIN, main), Worker(ON_NORTH, north)
    ref_main, ref_north = await asyncio.gather(
        lan.fill_form(on_main, "Lap cam bien tat den kho khi khong co nguoi o phan xuong cat"),
        minh.fill_form(on_north, "Dat bien bao an toan o loi di xe nang trong kho linh kien"),
    )
    assert ref_main != ref_north

    # Both ideas reach the one team; its member uses the main bot, so both cards come there.
    card_main = await card_for(main, SUPPORT, ref_main)
    card_north = await card_for(main, SUPPORT, ref_north)
    assert not await sent_to(north, SUPPORT)
    assert not await sent_to(main, ON_NORTH), "the main bot wrote to north's worker"
    assert not await sent_to(north, ON_MAIN), "north wrote to the main bot's worker"

    # Minh, on north, forges the approval of Lan's idea (a unit he is not in) there.
    await press(main, SUPPORT, card_main, "Duyệt")
    confirm = await main.message(SUPPORT, card_main["message_id"])
    [minh_last] = (await north.messages(ON_NORTH))[-1:]
    calls_to_minh = len(await north.calls(chat_id=ON_NORTH))
    for data in (button_data(card_main, "Duyệt"), button_data(confirm, "Đúng")):
        await forge(north, ON_NORTH, minh_last["message_id"], data)
    assert await world.idea_status(ref_main) == "submitted"
    assert not [m for m in await main.messages(ON_MAIN) if APPROVED in text_of(m)]
    assert len(await north.calls(chat_id=ON_NORTH)) == calls_to_minh, "north wrote to Minh"
    assert await north.message(ON_NORTH, minh_last["message_id"]) == minh_last
    # Someone who started north without any invite forges both ideas' approval there.
    await north.start(OUTSIDER)
    [stranger_last] = await north.wait_messages(OUTSIDER)
    for data in (button_data(card_north, "Duyệt"), button_data(confirm, "Đúng")):
        await forge(north, OUTSIDER, stranger_last["message_id"], data)
    assert await world.idea_status(ref_north) == await world.idea_status(ref_main) == "submitted"
    assert not [m for m in await north.messages(ON_NORTH) if APPROVED in text_of(m)]
    assert not await sent_to(main, OUTSIDER)

    # The member approves both; each worker is told through the bot they wrote to.
    await press(main, SUPPORT, confirm, "Đúng")
    await press(main, SUPPORT, card_north, "Duyệt")
    confirm = await main.message(SUPPORT, card_north["message_id"])
    await press(main, SUPPORT, confirm, "Đúng")
    await wait_until(main, ON_MAIN, message_with(APPROVED))
    await wait_until(north, ON_NORTH, message_with(APPROVED))
    assert await world.idea_status(ref_main) == await world.idea_status(ref_north) == "approved"
    assert not await sent_to(main, ON_NORTH), "the main bot wrote to north's worker"
    assert not await sent_to(north, ON_MAIN)
    assert not await sent_to(north, SUPPORT)
    assert len(await lan.confirmations()) == len(await minh.confirmations()) == 1

    # The member now writes to north: the next card goes through north, the bot used last.
    await north.start(SUPPORT)
    await wait_until(north, SUPPORT, lambda messages: messages[-1] if messages else None)
    cards_on_main = len(await main.messages(SUPPORT))
    ref_second = await Worker(ON_NORTH, north).fill_form(
        None, "Sap xep lai ke dung cu de lay nhanh hon khi doi ca"
    )
    await card_for(north, SUPPORT, ref_second)
    assert len(await main.messages(SUPPORT)) == cards_on_main
    assert not own_cards(await main.messages(SUPPORT), ref_second)


async def kill_mid_run(world: BotsWorld, workers: list[Worker], kills: int) -> int:
    """SIGKILL the bot each time the workers together are a little further into their forms,
    then start it again."""
    total = 7 * len(workers)  # joined + six form steps each
    done = 0
    for n in range(1, kills + 1):
        while sum(len(w.steps) for w in workers) < total * n // (kills + 1):  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        await world.bot.kill()
        done += 1
        await world.restart()
    return done


async def test_killed_bot_loses_and_doubles_nothing_on_either_bot(
    world: BotsWorld, full_size: bool
) -> None:
    main, north = world.main, world.north
    per_bot, kills = (10, 4) if full_size else (3, 2)
    workers = [Worker(9100 + i, main) for i in range(per_bot)]
    workers += [Worker(9200 + i, north) for i in range(per_bot)]
    await everyone(world, SUPPORT, *(w.user_id for w in workers))
    support = invite_link(await world.invite(TOP, "support"), MAIN_USERNAME)
    await main.start(SUPPORT, support)
    await wait_until(main, SUPPORT, message_with("tổ hỗ trợ"))
    tokens = {
        main: invite_link(await world.invite(UNIT_MAIN), MAIN_USERNAME),
        north: invite_link(await world.invite(UNIT_NORTH), NORTH_USERNAME),
    }
    killer = asyncio.create_task(kill_mid_run(world, workers, kills))
    results = await asyncio.gather(
        *(
            w.fill_form(tokens[w.client], f"Sang kien so {w.user_id}: them quat thong gio kho")
            for w in workers
        ),
        return_exceptions=True,
    )
    killed = await killer
    failures = [r for r in results if isinstance(r, BaseException)]
    assert not failures, failures[:3]
    assert killed == kills

    # Every idea stored once, with its author; each worker told its code once, by its bot.
    stored = await world.ideas()
    assert len(stored) == len(workers)
    for w in workers:
        assert w.ref is not None and stored[w.ref] == [f"Người {w.user_id}"], (w.ref, stored)
        assert len(await w.confirmations()) == 1, (w.user_id, await w.confirmations())
        other = north if w.client is main else main
        assert not await sent_to(other, w.user_id), f"the other bot wrote to {w.user_id}"
    # The team's member got every card through the main bot, none through north.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while True:
        messages = await main.messages(SUPPORT)
        missing = [w.ref for w in workers if w.ref and not own_cards(messages, w.ref)]
        if not missing or loop.time() > deadline:
            break
        await asyncio.sleep(0.5)
    assert not missing, f"no card for {missing}"
    for w in workers:
        assert w.ref is not None
        assert len(own_cards(messages, w.ref)) == 1, (
            f"{w.ref}: cards {len(own_cards(messages, w.ref))}"
        )
    assert not await sent_to(north, SUPPORT)
