"""A confidential idea's cards: the team's group sees the summary, the text stays home.

Found as a hostile user: every member of a team group saw the whole confidential card
with the author's name, and the district's team received the whole card on
escalation. Now the group gets the summary and a button that brings the whole card
to the presser's private chat, after their role is checked.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from handlers.context import Scope
from handlers.reminders import ReminderPolicy, add_working_days, run_reminders
from handlers.team import send_card, team_for
from storage.models import Idea, IdeaStatus, RoleKind
from storage.uow import UnitOfWork
from tests.flows.harness import Harness, Reply
from tests.flows.test_worker_idea import invite
from tests.flows.trust import (
    AUTHOR,
    AUTHOR_NAME,
    GROUP,
    SECRET_TEXT,
    TYPED_TITLE,
    World,
    current,
    make_world,
    new_idea,
)

GROUP_CHAT = int(GROUP.external_id)


@pytest.fixture
async def world(harness: Harness) -> World:
    return await make_world(harness)


async def card_to_team(w: World, idea: Idea) -> None:
    """Queue the new idea's card for its team, as the form does on submission."""
    h = w.h
    async with UnitOfWork(h.sessionmaker) as uow:
        scope = Scope(uow=uow, catalogue=h.dispatcher.catalogue, now=h.now)
        stored = await uow.ideas.get_for_update(idea.id)
        holder = await uow.units.get(idea.holder_unit_id)
        assert stored is not None and holder is not None
        team = await team_for(scope, holder)
        assert team is not None
        await send_card(scope, stored, team)
        await uow.commit()
    await h.deliver()


def group_card(h: Harness, ref: str) -> Reply:
    [card] = [r for r in h.screen(GROUP_CHAT) if ref in r.text]
    return card


def leaks(text: str) -> bool:
    return SECRET_TEXT[:30] in text or AUTHOR_NAME in text or "0912" in text


async def test_group_sees_the_summary_and_a_role_opens_it_privately(world: World) -> None:
    w, h = world, world.h
    member = w.viewers[("support", "own")]
    lurker = w.viewers[("group member", "group")]
    idea = await new_idea(w, confidential=True)
    await card_to_team(w, idea)
    card = group_card(h, idea.ref_code)
    assert not leaks(card.text), card.text
    assert "tác giả chưa đặt tên" in card.text  # the derived title stays home too
    assert "🔒 Xem đầy đủ (nhắn riêng)" in card.labels and "✅ Duyệt" in card.labels

    # A group member without a role presses it: refused, and nothing reaches them.
    r = await h.click(lurker, card, "Xem đầy đủ")
    assert r.answer is not None and r.answer.alert
    await h.deliver()
    assert not [m for m in h.screen(lurker) if idea.ref_code in m.text]

    # A member of the team: the whole card, with its buttons, in their private chat.
    r = await h.click(member, card, "Xem đầy đủ")
    assert r.answer is not None and "tin nhắn riêng" in r.answer.text
    await h.deliver()
    [private] = [m for m in h.screen(member) if idea.ref_code in m.text]
    assert SECRET_TEXT in private.text and AUTHOR_NAME in private.text
    assert "✅ Duyệt" in private.labels
    assert not leaks(" ".join(m.text for m in h.screen(GROUP_CHAT)))

    # Deciding from the private card edits the group's card: still the summary.
    confirm = await h.click(member, private, "Duyệt")
    await h.click(member, confirm.last, "Đúng, duyệt")
    await h.deliver()
    assert (await current(h, idea.id)).status == IdeaStatus.APPROVED.value
    card = group_card(h, idea.ref_code)
    assert "Đã duyệt" in card.text and not leaks(card.text)
    assert "✅ Duyệt" not in card.labels


async def test_a_typed_title_travels_with_the_summary(world: World) -> None:
    w, h = world, world.h
    idea = await new_idea(w, confidential=True, title_given=True)
    await card_to_team(w, idea)
    card = group_card(h, idea.ref_code)
    assert TYPED_TITLE in card.text and not leaks(card.text)


async def test_shareable_ideas_still_go_to_the_group_whole(world: World) -> None:
    w, h = world, world.h
    idea = await new_idea(w, confidential=False)
    await card_to_team(w, idea)
    card = group_card(h, idea.ref_code)
    assert SECRET_TEXT in card.text and AUTHOR_NAME in card.text
    assert "🔒 Xem đầy đủ (nhắn riêng)" not in card.labels


async def test_member_without_a_private_chat_is_told_how_to_open_it(world: World) -> None:
    w, h = world, world.h
    idea = await new_idea(w, confidential=True)
    await card_to_team(w, idea)
    newcomer = 8801  # joins the team in the group, never wrote to the bot privately
    token = await invite(h, w.units["HCM-Q7-MAY"], RoleKind.SUPPORT)
    await h.feed(h.incoming(newcomer, text=f"/start@sangkien_bot {token}", chat=GROUP))
    r = await h.click(newcomer, group_card(h, idea.ref_code), "Xem đầy đủ")
    assert r.answer is not None and r.answer.alert and "@sangkien_bot" in r.answer.text
    await h.deliver()
    assert not h.screen(newcomer)


async def test_escalation_brings_the_district_only_the_summary(world: World) -> None:
    w, h = world, world.h
    district = w.viewers[("support", "parent")]
    idea = await new_idea(w, confidential=True)
    policy = ReminderPolicy(working_days=3)
    due = add_working_days(h.now, 3, policy.weekdays)
    catalogue = h.dispatcher.catalogue
    await run_reminders(h.sessionmaker, catalogue, due, policy)
    later = add_working_days(due, 3, policy.weekdays) + timedelta(minutes=1)
    run = await run_reminders(h.sessionmaker, catalogue, later, policy)
    assert run.escalated == 1
    await h.deliver()
    told = [m.text for m in h.screen(district) if idea.ref_code in m.text]
    assert told and any("chưa xử lý" in t for t in told)
    assert not leaks(" ".join(told)), told
    # The reminder to the grassroots team's group names the idea, not its text.
    reminded = [m.text for m in h.screen(GROUP_CHAT) if idea.ref_code in m.text]
    assert reminded and not leaks(" ".join(reminded))
    # The author was never told anything by these passes.
    assert not [m for m in h.screen(AUTHOR) if idea.ref_code in m.text]


async def test_a_revoked_member_card_is_withdrawn_at_the_next_change(world: World) -> None:
    """Cards are drawn again as their chat may see the idea now, not as it was sent."""
    w, h = world, world.h
    idea = await new_idea(w, confidential=True)
    # Two members get the card privately (the group is unbound for this test).
    async with UnitOfWork(h.sessionmaker) as uow:
        assert await uow.teams.unbind(GROUP.channel, GROUP.external_id)
        await uow.commit()
    stays, leaves = w.viewers[("support", "own")], 8802
    token = await invite(h, w.units["HCM-Q7-MAY"], RoleKind.SUPPORT)
    await h.send(leaves, f"/start {token}", name="Sắp nghỉ")
    await card_to_team(w, idea)
    [card] = [m for m in h.screen(leaves) if idea.ref_code in m.text]
    assert SECRET_TEXT in card.text
    async with h.sessionmaker() as session:
        from sqlalchemy import update

        from storage.models import Identity, Role

        person = (
            await session.execute(
                select(Identity.person_id).where(Identity.external_id == str(leaves))
            )
        ).scalar_one()
        await session.execute(update(Role).where(Role.person_id == person).values(revoked_at=h.now))
        await session.commit()
    [mine] = [m for m in h.screen(stays) if idea.ref_code in m.text]
    confirm = await h.click(stays, mine, "Duyệt")
    await h.click(stays, confirm.last, "Đúng, duyệt")
    await h.deliver()
    [card] = [m for m in h.screen(leaves) if idea.ref_code in m.text]
    assert "không còn quyền xem" in card.text and SECRET_TEXT not in card.text
    assert not card.labels


async def test_an_idea_from_a_union_team_below_stays_in_its_grassroots_unit(
    world: World,
) -> None:
    """The home of an idea sent from a union team (tổ công đoàn) is the grassroots unit above."""
    w, h = world, world.h
    idea = await new_idea(w, confidential=True)
    async with h.sessionmaker() as session:
        stored = await session.get(Idea, idea.id)
        assert stored is not None
        stored.unit_id = w.units["HCM-Q7-MAY-T1"].id  # written from the team below
        await session.commit()
    own, parent = w.viewers[("support", "own")], w.viewers[("support", "parent")]
    for user in (own, parent):
        await h.press(user, f"tr:{idea.id}:open")
    await h.deliver()
    [full] = [m for m in h.screen(own) if idea.ref_code in m.text]
    [summary] = [m for m in h.screen(parent) if idea.ref_code in m.text]
    assert SECRET_TEXT in full.text
    assert not leaks(summary.text)
