"""Similar ideas (issue #21) end to end: the real bot process, the stand-in Bot API.

One bot process serves the whole module (its tests run in order and build on each
other's ideas): a worker's review names the idea like theirs already sent in their unit,
the team's group card says "Có thể trùng với SK-…" and declines the idea as a duplicate
in three taps, a forged press is refused, and a confidential idea is listed to nobody
but its author (and never named on a group's card).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from standins.telegram.client import StandinClient
from standins.telegram.server import StandinServer
from tests.e2e.harness import (
    BotProcess,
    Person,
    base_env,
    button_data,
    cli,
    labels,
    link_token,
    migrated_with_sample_tree,
    text_of,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

JSON = dict[str, Any]
REF = re.compile(r"SK-\d{4}-\d{6}")
UNIT, SIBLING = "HCM-Q7-CTYMAY", "HCM-Q7-CKTT"  # two grassroots units of District 7
GROUP = -100921

# People: the unit's team (Anh, in the group with an outsider), the unit's workers, the
# sibling unit's team member and workers.
ANH, OUTSIDER, LAN, HAI, MAI = 9101, 9102, 9103, 9104, 9105
SIB_SUPPORT, SIB_AUTHOR, SIB_WORKER = 9111, 9112, 9113
HAI_NAME = "Quang Hải"
NAMES = {
    ANH: "Anh",
    OUTSIDER: "Khách",
    LAN: "Lan",
    HAI: HAI_NAME,
    MAI: "Mai",
    SIB_SUPPORT: "Sơn",
    SIB_AUTHOR: "Tùng",
    SIB_WORKER: "Vy",
}

FIRST = "Lắp cảm biến để máy ép số 3 tự động dừng khi bị kẹt phôi"
# The same idea as a worker types it: no diacritics, chat abbreviations ("ko", "cn").
TYPED = "may ep so 3 hay bi ket phoi, nen lap cam bien de may tu dung, ko can cn canh"

# The confidential ideas of scenario 3: another topic than the press's.
CONF_TEXT = "Gắn rơ-le hẹn giờ tắt máy nén khí khi chuyền may nghỉ trưa để tiết kiệm điện"
CONF_TITLE = "Rơ-le giờ nghỉ trưa cho máy nén"
SIB_TEXT = "Gắn rơ-le hẹn giờ tự tắt máy nén khí lúc công nhân nghỉ trưa cho đỡ tốn điện"
SIB_TITLE = "Tủ điện hẹn giờ ca Tân Thuận"
CONF_TYPED = "gan ro le hen gio tat may nen khi luc chuyen nghi trua de tiet kiem dien"

HEADING = "Ý tưởng giống của bạn đã được gửi ở đơn vị bạn"
LIKELY = "Có thể trùng với"


@dataclass
class World:
    client: StandinClient
    bot: BotProcess
    env: dict[str, str]
    people: dict[int, Person] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)  # what earlier tests sent


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    tmp: Path = tmp_path_factory.mktemp("similar")
    async with StandinServer(port=0) as server:
        env = base_env(tmp, server.base_url, "aiogram")
        migrated_with_sample_tree(env)
        bot = BotProcess(env, tmp / "bot.log")
        client = server.client()
        try:
            await bot.start()
            w = World(client, bot, env)
            await _join(w)
            yield w
        finally:
            await bot.stop()
            await client.close()
            log = bot.full_log()
            assert "Traceback" not in log, log
            for words in (FIRST, TYPED, CONF_TEXT, CONF_TITLE, SIB_TITLE):
                assert words not in log, "an idea's words must not reach the logs"


def _invite(env: dict[str, str], unit: str, role: str = "member") -> str:
    out = cli(env, "invite", "--unit", unit, "--role", role, "--bot-username", "sangkien_bot")
    return link_token(out)


async def _join(w: World) -> None:
    """Everyone joins by the links the operator hands out; the unit's team binds its group."""
    c = w.client
    for user, name in NAMES.items():
        await c.upsert_user(user, name, language_code="vi")
        w.people[user] = Person(c, user)
    member, support, sib_member, sib_support = await asyncio.gather(
        asyncio.to_thread(_invite, w.env, UNIT),
        asyncio.to_thread(_invite, w.env, UNIT, "support"),
        asyncio.to_thread(_invite, w.env, SIBLING),
        asyncio.to_thread(_invite, w.env, SIBLING, "support"),
    )
    await c.create_group("Tổ hỗ trợ SK May Nam Sài Gòn", [ANH, OUTSIDER], chat_id=GROUP)
    await c.startgroup(ANH, GROUP, support)
    await wait_for(w, GROUP, lambda m: "Nhóm này đã trở thành nhóm" in text_of(m))
    for user in (LAN, HAI, MAI):
        await w.people[user].start(member)
    for user in (SIB_AUTHOR, SIB_WORKER):
        await w.people[user].start(sib_member)
    await w.people[SIB_SUPPORT].start(sib_support)


async def wait_for(w: World, chat: int, wanted: Any, count: int = 1) -> JSON:
    """The newest of at least ``count`` messages in ``chat`` that ``wanted`` accepts."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while loop.time() < deadline:
        found = [m for m in await w.client.messages(chat) if wanted(m)]
        if len(found) >= count:
            return found[-1]
        await w.client.wait_quiet(0.2)
    texts = [text_of(m) for m in await w.client.messages(chat)]
    raise AssertionError(f"the awaited message never reached chat {chat}: {texts}")


async def card_in_group(w: World, ref: str) -> JSON:
    """The team's card of ``ref`` in the group, with its decision buttons."""
    return await wait_for(w, GROUP, lambda m: ref in text_of(m) and "Duyệt" in str(labels(m)))


async def review_of(worker: Person, text: str, *, title: str | None = None) -> JSON:
    """/idea, the text, the form's questions; the review (before Submit). With ``title``
    the idea is confidential and the title typed when the form asks for one."""
    await worker.say("/idea")
    [ack] = await worker.say(text)
    question = await worker.press(ack, "Xong")
    question = await worker.press(question, "Giải pháp kỹ thuật")
    question = await worker.press(question, "Tăng năng suất")
    question = await worker.press(question, "Bỏ qua")
    if title is None:
        review = await worker.press(question, "Có thể chia sẻ")
    else:
        question = await worker.press(question, "Bảo mật")
        [review] = await worker.say(title)
    assert "Xem lại sáng kiến" in text_of(review), text_of(review)
    assert labels(review)[0] == "Gửi", "Submit stays the first button"
    return review


async def submit(worker: Person, review: JSON) -> str:
    """One tap on Gửi: the idea is sent; its reference."""
    before = len(await worker.all())
    done = await worker.press(review, "Gửi")
    ref = REF.search(text_of(done))
    assert ref, text_of(done)
    assert not labels(done), "the sent review keeps no button"
    assert len(await worker.all()) == before, "one tap, no second question"
    return ref.group()


async def discard(worker: Person, review: JSON) -> None:
    asked = await worker.press(review, "Hủy")
    await worker.press(asked, "Bỏ bản nháp")


async def press_as(
    w: World, user: int, chat: int, message: JSON, data: str, *, forge: bool = False
) -> JSON:
    """A press of ``data`` (a forged one: any data) on ``message``; the bot's answer."""
    c = w.client
    before = len(await c.calls("answerCallbackQuery"))
    await c.press(user, chat, message["message_id"], data=data, forge=forge)
    answers = await c.wait_calls("answerCallbackQuery", count=before + 1)
    await c.wait_quiet(0.3)
    return dict(answers[-1]["params"])


def idea_id(card: JSON) -> str:
    return button_data(card, "Duyệt").split(":")[1]


def likely_lines(message: JSON) -> list[str]:
    return [line for line in text_of(message).splitlines() if LIKELY in line]


async def test_the_same_idea_without_diacritics_is_listed_before_submit(world: World) -> None:
    w, p = world, world.people
    first = await submit(p[LAN], await review_of(p[LAN], FIRST))
    card = await card_in_group(w, first)
    assert "máy ép số 3" in text_of(card), "the first idea reached the team"
    assert not likely_lines(card), "nothing like it was sent before"

    review = await review_of(p[HAI], TYPED)
    shown = text_of(review)
    assert HEADING in shown
    [line] = [line for line in shown.splitlines() if first in line]
    assert f"{first} — {FIRST}" in line, line  # the reference and the title as sent
    assert "Nếu ý tưởng của bạn khác, bấm Gửi" in shown
    assert shown.index("Xem lại sáng kiến") < shown.index(HEADING)
    second = await submit(p[HAI], review)
    assert second != first
    w.refs.update(first=first, second=second)


async def test_a_forged_duplicate_press_is_refused(world: World) -> None:
    w, p = world, world.people
    first, second = w.refs["first"], w.refs["second"]
    card = await card_in_group(w, second)
    original = await wait_for(
        w, GROUP, lambda m: first in text_of(m) and m["message_id"] < card["message_id"]
    )
    forged = f"tr:{idea_id(card)}:dupto:{idea_id(original)}"
    hai_before = [text_of(m) for m in await p[HAI].all()]

    # The team of the sibling unit, in its own chat, on a message of its own.
    own = await p[SIB_SUPPORT].last()
    answer = await press_as(w, SIB_SUPPORT, SIB_SUPPORT, own, forged, forge=True)
    assert answer.get("show_alert") in (True, "true"), answer
    assert "Chỉ tổ hỗ trợ sáng kiến" in answer["text"]
    # Someone in the team's group without a role, on the card itself.
    answer = await press_as(w, OUTSIDER, GROUP, card, forged, forge=True)
    assert "Chỉ tổ hỗ trợ sáng kiến" in answer["text"]
    # The duplicate's list and its question, forged by the outsider, are refused alike.
    for action in (f"tr:{idea_id(card)}:dup", f"tr:{idea_id(card)}:dupq:{idea_id(original)}"):
        answer = await press_as(w, OUTSIDER, GROUP, card, action, forge=True)
        assert "Chỉ tổ hỗ trợ sáng kiến" in answer["text"]

    # Nothing was decided: the card keeps its buttons, the worker heard nothing.
    still = await w.client.message(GROUP, card["message_id"])
    assert "Duyệt" in str(labels(still)) and "Đánh dấu trùng" in str(labels(still))
    assert [text_of(m) for m in await p[HAI].all()] == hai_before
    [mine] = await p[HAI].say("/myideas")
    assert second in text_of(mine) and "Chưa được chấp nhận" not in text_of(mine)


async def test_the_team_declines_the_second_as_a_duplicate(world: World) -> None:
    w, p = world, world.people
    first, second = w.refs["first"], w.refs["second"]
    card = await card_in_group(w, second)
    [line] = likely_lines(card)
    assert f"{LIKELY} {first}" in line and re.search(r"\(\d{2,3}%\)", line), line
    assert FIRST in line, "the group sees the shareable original's title"
    lan_before = [text_of(m) for m in await p[LAN].all()]

    answer = await press_as(w, ANH, GROUP, card, button_data(card, "Đánh dấu trùng"))
    assert answer.get("show_alert") in (None, False, "false"), answer
    options = await w.client.message(GROUP, card["message_id"])
    assert "trùng với sáng kiến nào" in text_of(options)
    await press_as(w, ANH, GROUP, options, button_data(options, f"Trùng với {first}"))
    confirm = await w.client.message(GROUP, card["message_id"])
    assert f"Từ chối {second} vì trùng với {first}?" in text_of(confirm)
    answer = await press_as(w, ANH, GROUP, confirm, button_data(confirm, "Đúng, từ chối"))
    assert "Đã từ chối" in answer.get("text", ""), answer

    told = await wait_for(w, HAI, lambda m: "trùng với" in text_of(m) and first in text_of(m))
    assert second in text_of(told) and "tiếp tục gửi" in text_of(told)
    decided = await w.client.message(GROUP, card["message_id"])
    decisions = ("Duyệt", "Hỏi thêm", "Từ chối", "Đánh dấu trùng")
    assert not [b for b in labels(decided) if any(d in b for d in decisions)], labels(decided)
    [mine] = await p[HAI].say("/myideas")
    assert "Chưa được chấp nhận" in text_of(mine)

    # The original's author is told nothing, and nothing names the second worker.
    await w.client.wait_quiet(0.5)
    lan_after = [text_of(m) for m in await p[LAN].all()]
    assert lan_after == lan_before
    assert not [t for t in lan_after if HAI_NAME in t or second in t]


async def test_confidential_ideas_are_listed_to_their_author_only(world: World) -> None:
    w, p = world, world.people
    mine = await submit(p[MAI], await review_of(p[MAI], CONF_TEXT, title=CONF_TITLE))
    sibling = await submit(p[SIB_AUTHOR], await review_of(p[SIB_AUTHOR], SIB_TEXT, title=SIB_TITLE))

    # (a) A worker of the sibling unit (the other author's own unit), not its author:
    # nothing listed, though the sibling's team, which sees both in full, is told.
    review = await review_of(p[SIB_WORKER], CONF_TYPED)
    for secret in (HEADING, mine, sibling, CONF_TITLE, SIB_TITLE, "Tân Thuận", "Rơ-le"):
        assert secret not in text_of(review), secret
    theirs = await submit(p[SIB_WORKER], review)
    card = await wait_for(w, SIB_SUPPORT, lambda m: theirs in text_of(m) and labels(m))
    [line] = likely_lines(card)
    assert f"{LIKELY} {sibling} «{SIB_TITLE}»" in line, line
    assert mine not in text_of(card), "another unit's idea is never compared"

    # (b) A worker of the same unit, not its author: not listed; sent, the team's group
    # card names no confidential idea either.
    review = await review_of(p[LAN], CONF_TYPED)
    for secret in (HEADING, mine, sibling, CONF_TITLE, SIB_TITLE, "Rơ-le"):
        assert secret not in text_of(review), secret
    third = await submit(p[LAN], review)
    card = await card_in_group(w, third)
    assert not likely_lines(card), text_of(card)
    assert mine not in text_of(card) and CONF_TITLE not in text_of(card)

    # (c) The author, typing it again, is shown their own (their title, as typed).
    review = await review_of(p[MAI], CONF_TYPED)
    assert HEADING in text_of(review)
    assert f"{mine} — {CONF_TITLE}" in text_of(review)
    assert sibling not in text_of(review) and SIB_TITLE not in text_of(review)
    await discard(p[MAI], review)

    # Nowhere in the group does a "possibly the same" line name a confidential idea.
    for message in await w.client.messages(GROUP):
        for line in likely_lines(message):
            for secret in (mine, sibling, CONF_TITLE, SIB_TITLE):
                assert secret not in line, line
