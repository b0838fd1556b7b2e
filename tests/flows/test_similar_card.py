"""Similar ideas on the support team's card, and "mark as duplicate" (issue #21).

The team reads "Possibly the same as SK-… «…» (87%)" for the ideas recorded like the
new one at its submission, only those its chat sees in full; a member declines it as
a duplicate of one of them in three taps, the worker is told kindly which idea theirs
repeats, and the original's author is told nothing. Every press is driven as a hostile
user would: forged ids, the wrong people, the wrong chat, a flood.
"""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import func, select

from handlers.cards import CARD_TEXT_CHARS, visible_length
from handlers.events import ChatRef
from storage.models import Idea, IdeaEvent, IdeaStatus
from storage.uow import UnitOfWork
from tests.flows.harness import Harness, Reply, Result
from tests.flows.test_confidential_cards import card_to_team, group_card
from tests.flows.test_worker_idea import join_by_link
from tests.flows.trust import AUTHOR, AUTHOR_NAME, GROUP, World, current, make_world

ORIGINAL_AUTHOR = 1002
ORIGINAL_NAME = "Lê Văn Gốc"
GROUP_CHAT = int(GROUP.external_id)
DUP_TEXT = "Lắp cảm biến tự tắt máy nén khí khi chuyền may dừng quá 10 phút"
SHARE_TITLE = "Cảm biến <máy nén> & tự tắt khi dừng chuyền"
SHARE_HTML = "Cảm biến &lt;máy nén&gt; &amp; tự tắt khi dừng chuyền"  # as Telegram gets it
CONF_TITLE = "Hẹn giờ tắt máy nén khí xưởng 2"
CONF_TEXT = "Gắn rơ-le hẹn giờ vào tủ điện máy nén số 2, gọi Gốc 0987 654 321"
SIBLING_TITLE = "Bí mật của Điện lực: tắt máy nén theo ca"
_refs = itertools.count(1)


@pytest.fixture
async def world(harness: Harness) -> World:
    w = await make_world(harness)
    await join_by_link(w.h, ORIGINAL_AUTHOR, w.units["HCM-Q7-MAY"])
    await w.h.send(ORIGINAL_AUTHOR, "/help", name=ORIGINAL_NAME)
    return w


async def person_of(h: Harness, user: int) -> int:
    from storage.models import Identity

    async with h.sessionmaker() as session:
        query = select(Identity.person_id).where(Identity.external_id == str(user))
        return int((await session.execute(query)).scalar_one())


async def add_idea(
    w: World, user: int, *, title: str, body: str, confidential: bool, unit: str = "HCM-Q7-MAY"
) -> Idea:
    """An idea as the form stores it (the form is tested elsewhere)."""
    author_id = await person_of(w.h, user)
    async with w.h.sessionmaker() as session:
        number = int(await session.scalar(select(func.count(Idea.id))) or 0) + next(_refs)
        idea = Idea(
            ref_code=f"SK-2026-{number:06d}",
            author_id=author_id,
            unit_id=w.units[unit].id,
            holder_unit_id=w.units[unit].id,
            title=title,
            title_given=True,
            body=body,
            category="technical",
            benefit="cost",
            confidential=confidential,
            language="vi",
            status=IdeaStatus.SUBMITTED.value,
            created_at=w.h.now,
            updated_at=w.h.now,
            waiting_since=w.h.now,
        )
        session.add(idea)
        await session.commit()
        return idea


async def record(w: World, idea: Idea, found: list[tuple[Idea, float]]) -> None:
    """What Submit records: the ideas found like ``idea`` for its team."""
    async with UnitOfWork(w.h.sessionmaker) as uow:
        await uow.similar.record(idea.id, [(other.id, score) for other, score in found])
        await uow.commit()


async def originals(w: World) -> tuple[Idea, Idea]:
    """Two older ideas of another worker: one shareable, one confidential."""
    share = await add_idea(
        w, ORIGINAL_AUTHOR, title=SHARE_TITLE, body="Cảm biến dòng tắt máy", confidential=False
    )
    conf = await add_idea(w, ORIGINAL_AUTHOR, title=CONF_TITLE, body=CONF_TEXT, confidential=True)
    return share, conf


async def duplicate(w: World, share: Idea, conf: Idea, *, confidential: bool = False) -> Idea:
    dup = await add_idea(
        w, AUTHOR, title="Tự tắt máy nén khí", body=DUP_TEXT, confidential=confidential
    )
    await record(w, dup, [(share, 0.87), (conf, 0.664)])
    return dup


async def in_group(w: World, user: int, data: str, message_id: str | None = None) -> Result:
    return await w.h.feed(w.h.incoming(user, button=data, chat=GROUP, message_id=message_id))


async def open_privately(w: World, user: int, idea: Idea) -> Reply:
    await w.h.press(user, f"tr:{idea.id}:open")
    await w.h.deliver()
    [card] = [m for m in w.h.screen(user) if idea.ref_code in m.text and m.message.buttons]
    return card


async def declined_events(h: Harness, idea_id: int) -> list[IdeaEvent]:
    async with h.sessionmaker() as session:
        rows = await session.execute(
            select(IdeaEvent).where(IdeaEvent.idea_id == idea_id, IdeaEvent.kind == "declined")
        )
        return list(rows.scalars())


def everything(h: Harness, chat: int) -> str:
    return "\n".join(m.text + " ".join(m.labels) for m in h.screen(chat))


# ---------------------------------------------------------------- what the card says


async def test_the_card_names_what_its_chat_may_see(world: World) -> None:
    w, h = world, world.h
    member = w.viewers[("support", "own")]
    share, conf = await originals(w)
    dup = await duplicate(w, share, conf)
    await card_to_team(w, dup)

    # The team's group: the shareable original with its score, its title escaped;
    # never the confidential one, which the group may not read in full.
    card = group_card(h, dup.ref_code)
    assert f"Có thể trùng với {share.ref_code} «{SHARE_HTML}» (87%) — 📨 Đã gửi" in card.text
    assert SHARE_TITLE not in card.text  # escaped: a title cannot forge the card's markup
    assert conf.ref_code not in card.text and CONF_TITLE not in card.text
    assert "🔁 Đánh dấu trùng" in card.labels

    # A member of the team in their private chat sees both in full: both are named.
    private = await open_privately(w, member, dup)
    assert f"{share.ref_code} «{SHARE_HTML}» (87%)" in private.text
    assert f"{conf.ref_code} «{CONF_TITLE}» (66%)" in private.text
    assert "🔁 Đánh dấu trùng" in private.labels


async def test_a_confidential_ideas_summary_card_says_nothing_of_likeness(world: World) -> None:
    w, h = world, world.h
    share, conf = await originals(w)
    secret = await duplicate(w, share, conf, confidential=True)
    await card_to_team(w, secret)
    card = group_card(h, secret.ref_code)
    assert "Có thể trùng" not in card.text and share.ref_code not in card.text
    assert "🔁 Đánh dấu trùng" not in card.labels
    # Forged in the group by a member of the team: the group may compare nothing.
    before = everything(h, GROUP_CHAT)
    member = w.viewers[("support", "own")]
    for data in (f"tr:{secret.id}:dup", f"tr:{secret.id}:dupto:{share.id}"):
        r = await in_group(w, member, data, card.message_id)
        assert r.answer is not None and r.answer.alert
    await h.deliver()
    assert (await current(h, secret.id)).status == IdeaStatus.SUBMITTED.value
    assert everything(h, GROUP_CHAT) == before


async def test_an_idea_with_nothing_recorded_has_no_line_and_no_button(world: World) -> None:
    w, h = world, world.h
    alone = await add_idea(w, AUTHOR, title="Một mình", body=DUP_TEXT, confidential=False)
    await card_to_team(w, alone)
    card = group_card(h, alone.ref_code)
    assert "Có thể trùng" not in card.text and "🔁 Đánh dấu trùng" not in card.labels


async def test_a_long_card_with_its_lines_keeps_within_telegrams_limit(world: World) -> None:
    w, h = world, world.h
    member = w.viewers[("support", "own")]
    alike = [
        await add_idea(w, ORIGINAL_AUTHOR, title="😀" * 300, body="x", confidential=False)
        for _ in range(4)
    ]
    long = await add_idea(w, AUTHOR, title="Dài", body="🔧 máy nén " * 900, confidential=False)
    await record(w, long, [(a, 0.5 + i / 10) for i, a in enumerate(alike)])
    async with h.sessionmaker() as session:  # a long history, too (questions asked)
        for _ in range(6):
            note = "❓ câu hỏi dài " * 40
            session.add(IdeaEvent(idea_id=long.id, kind="info_requested", at=h.now, note=note))
        await session.commit()
    card = await open_privately(w, member, long)
    assert visible_length(card.text) <= CARD_TEXT_CHARS
    assert card.text.count("Có thể trùng với") == 3  # the three most alike
    assert alike[0].ref_code not in card.text and "(80%)" in card.text


# ---------------------------------------------------------------- marking a duplicate


async def test_mark_duplicate_in_the_group_tells_the_worker_and_not_the_original(
    world: World,
) -> None:
    w, h = world, world.h
    member = w.viewers[("support", "own")]
    share, conf = await originals(w)
    dup = await duplicate(w, share, conf)
    await card_to_team(w, dup)
    original_before = everything(h, ORIGINAL_AUTHOR)

    r = await h.click(member, group_card(h, dup.ref_code), "Đánh dấu trùng")
    assert r.last.labels == [f"Trùng với {share.ref_code}", "« Quay lại"]  # not the secret one
    r = await h.click(member, r.last, f"Trùng với {share.ref_code}")
    assert f"Từ chối {dup.ref_code} vì trùng với {share.ref_code}?" in r.last.text
    assert "Người gửi sẽ được báo ý tưởng nào đã có." in r.last.text
    assert r.last.labels == ["✖️ Đúng, từ chối", "« Quay lại"]
    assert (await current(h, dup.id)).status == IdeaStatus.SUBMITTED.value
    r = await h.click(member, r.last, "Đúng, từ chối")
    assert r.answer is not None and "Đã từ chối" in r.answer.text
    await h.deliver()

    assert (await current(h, dup.id)).status == IdeaStatus.DECLINED.value
    [event] = await declined_events(h, dup.id)
    assert event.data == {
        "reason": "duplicate",
        "duplicate_of": share.id,
        "duplicate_of_ref": share.ref_code,
    }
    card = group_card(h, dup.ref_code)
    assert not card.labels and "Chưa được chấp nhận" in card.text
    assert f"từ chối: Trùng với {share.ref_code}" in card.text  # the history names it
    told = [m.text for m in h.screen(AUTHOR) if dup.ref_code in m.text]
    assert len(told) == 1
    assert f"Cảm ơn bạn! Ý tưởng {dup.ref_code}" in told[0]
    assert f"trùng với {share.ref_code} «{SHARE_HTML}» đã có" in told[0]  # theirs to see
    assert ORIGINAL_NAME not in told[0]
    # The original's author hears nothing, of the duplicate or of who sent it.
    await h.deliver()
    assert everything(h, ORIGINAL_AUTHOR) == original_before
    assert AUTHOR_NAME not in everything(h, ORIGINAL_AUTHOR)
    assert not await h.notifications(str(ORIGINAL_AUTHOR))


async def test_a_confidential_original_is_named_to_the_worker_by_reference_alone(
    world: World,
) -> None:
    w, h = world, world.h
    member = w.viewers[("support", "own")]
    share, conf = await originals(w)
    dup = await duplicate(w, share, conf)
    card = await open_privately(w, member, dup)
    r = await h.click(member, card, "Đánh dấu trùng")
    assert r.last.labels == [
        f"Trùng với {share.ref_code}",
        f"Trùng với {conf.ref_code}",
        "« Quay lại",
    ]
    r = await h.click(member, r.last, f"Trùng với {conf.ref_code}")
    r = await h.click(member, r.last, "Đúng, từ chối")
    await h.deliver()
    assert (await current(h, dup.id)).status == IdeaStatus.DECLINED.value
    [told] = [m.text for m in h.screen(AUTHOR) if dup.ref_code in m.text]
    assert f"trùng với {conf.ref_code} đã có" in told
    assert CONF_TITLE not in told and "0987" not in told and ORIGINAL_NAME not in told
    assert not [m for m in h.screen(ORIGINAL_AUTHOR) if dup.ref_code in m.text]


async def test_back_undoes_the_mis_tap(world: World) -> None:
    w, h = world, world.h
    member = w.viewers[("support", "own")]
    share, conf = await originals(w)
    dup = await duplicate(w, share, conf)
    await card_to_team(w, dup)
    r = await h.click(member, group_card(h, dup.ref_code), "Đánh dấu trùng")
    r = await h.click(member, r.last, "Trùng với")
    r = await h.click(member, r.last, "Quay lại")
    assert "🔁 Đánh dấu trùng" in r.last.labels and "✅ Duyệt" in r.last.labels
    await h.deliver()
    assert (await current(h, dup.id)).status == IdeaStatus.SUBMITTED.value
    assert not [m for m in h.screen(AUTHOR) if dup.ref_code in m.text]


# ---------------------------------------------------------------- attackers


async def unchanged(w: World, dup: Idea, r: Result, *secrets: str) -> None:
    """The press was refused, nothing changed, nobody was told, nothing leaked."""
    assert r.answer is not None and r.answer.alert, r.answer
    await w.h.deliver()
    assert (await current(w.h, dup.id)).status == IdeaStatus.SUBMITTED.value
    assert not await declined_events(w.h, dup.id)
    assert not [m for m in w.h.screen(AUTHOR) if dup.ref_code in m.text]
    shown = " ".join([r.answer.text, *r.texts, *(" ".join(x.labels) for x in r.replies)])
    for secret in secrets:
        assert secret not in shown, secret


async def test_forged_originals_change_nothing(world: World) -> None:
    w, h = world, world.h
    member = w.viewers[("support", "own")]
    share, conf = await originals(w)
    dup = await duplicate(w, share, conf)
    # A confidential idea of another unit, never recorded for this one.
    sibling_author = w.viewers[("member", "sibling")]
    foreign = await add_idea(
        w,
        sibling_author,
        title=SIBLING_TITLE,
        body="Nội dung mật của Điện lực",
        confidential=True,
        unit="HCM-Q7-DIEN",
    )
    unrecorded = await add_idea(w, AUTHOR, title="Chưa ghi", body=DUP_TEXT, confidential=False)
    for other in (str(foreign.id), "99999999", str(dup.id), str(unrecorded.id), "-1", "x", ""):
        for action in ("dupq", "dupto"):
            r = await h.press(member, f"tr:{dup.id}:{action}:{other}")
            await unchanged(w, dup, r, SIBLING_TITLE, "Điện lực", foreign.ref_code)


@pytest.mark.parametrize(
    "key",
    [
        ("support", "sibling"),  # another unit's team
        ("support", "parent"),  # the team above
        ("support", "child"),  # the union team below
        ("official", "own"),
        ("member", "own"),
        ("group member", "group"),  # in the team's group, holding no role
        ("outsider", "none"),
    ],
    ids=lambda k: "-".join(k),
)
async def test_the_wrong_people_change_nothing(world: World, key: tuple[str, str]) -> None:
    w, h = world, world.h
    share, conf = await originals(w)
    dup = await duplicate(w, share, conf)
    await card_to_team(w, dup)
    user = w.viewers[key]
    chat: ChatRef | None = GROUP if key[0] == "group member" else None
    for data in (f"tr:{dup.id}:dup", f"tr:{dup.id}:dupq:{conf.id}", f"tr:{dup.id}:dupto:{conf.id}"):
        r = await h.feed(h.incoming(user, button=data, chat=chat))
        await unchanged(w, dup, r, CONF_TITLE, conf.ref_code, SHARE_HTML)


async def test_an_already_decided_idea_says_so(world: World) -> None:
    w, h = world, world.h
    member = w.viewers[("support", "own")]
    share, conf = await originals(w)
    dup = await duplicate(w, share, conf)
    r = await h.press(member, f"tr:{dup.id}:okq")
    r = await h.click(member, r.last, "Đúng, duyệt")
    assert (await current(h, dup.id)).status == IdeaStatus.APPROVED.value
    for data in (f"tr:{dup.id}:dup", f"tr:{dup.id}:dupto:{share.id}"):
        r = await h.press(member, data)
        assert r.answer is not None and r.answer.alert
        assert f"Sáng kiến {dup.ref_code} đã được xử lý" in r.answer.text
    assert (await current(h, dup.id)).status == IdeaStatus.APPROVED.value
    assert not await declined_events(h, dup.id)


async def test_a_flood_of_presses_decides_once(world: World) -> None:
    w, h = world, world.h
    member = w.viewers[("support", "own")]
    share, conf = await originals(w)
    dup = await duplicate(w, share, conf)
    card = await open_privately(w, member, dup)
    data = f"tr:{dup.id}:dupto:{share.id}"
    answers = []
    for _ in range(30):
        r = await h.feed(h.incoming(member, button=data, message_id=card.message_id))
        assert r.answer is not None
        answers.append(r.answer)
    await h.deliver()
    assert len(await declined_events(h, dup.id)) == 1
    assert sum("đã được xử lý" in a.text for a in answers) == 29
    assert len([m for m in h.screen(AUTHOR) if dup.ref_code in m.text]) == 1
    assert (await current(h, dup.id)).status == IdeaStatus.DECLINED.value


async def test_each_reads_it_in_their_own_language(world: World) -> None:
    w, h = world, world.h
    member = w.viewers[("support", "own")]
    await h.send(member, "/lang en")
    await h.send(AUTHOR, "/lang en")
    share, conf = await originals(w)
    dup = await duplicate(w, share, conf)
    card = await open_privately(w, member, dup)
    assert f"Possibly the same as {share.ref_code} «{SHARE_HTML}» (87%)" in card.text
    r = await h.click(member, card, "Mark as duplicate")
    r = await h.click(member, r.last, f"Same as {share.ref_code}")
    assert f"Decline {dup.ref_code} as a duplicate of {share.ref_code}?" in r.last.text
    await h.click(member, r.last, "Yes, decline")
    await h.deliver()
    [told] = [m.text for m in h.screen(AUTHOR) if dup.ref_code in m.text]
    assert f"Thank you! Your idea {dup.ref_code}" in told and share.ref_code in told
