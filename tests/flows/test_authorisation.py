"""The authorisation matrix: every role, at every place relative to an idea, tries every action.

Each cell is driven through the dispatcher as a hostile user would drive it: a forged
button press (ids are small sequential integers, so anyone can guess one) or a
command. The expected outcome of every cell is written out below, by hand, from the
table in docs/SECURITY.md — not computed by the policy under test.

The idea lives in the grassroots unit HCM-Q7-MAY, whose support team holds it. The
viewers hold a role (or membership) on that unit ("own"), on a union team below it
("child"), on the district above it ("parent"), on the other grassroots unit of the
district ("sibling") or in another province; plus a member of the team's group chat
who holds no role, and an outsider who has joined nothing.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from handlers.events import ChatRef
from storage.models import IdeaStatus, ReportJob
from tests.flows.harness import Harness
from tests.flows.trust import (
    AUTHOR,
    AUTHOR_NAME,
    GROUP,
    RELATIONS,
    ROLES,
    SECRET_TEXT,
    World,
    current,
    make_world,
    new_idea,
)

# What each viewer may do. "open": what a forged open press brings them (for a
# confidential idea / a shareable one): "full", "summary" or "refused". "decide":
# whether approve, request details, forward and decline work. "queue": whether the
# idea appears in their /queue. "units": whether /progress and /export of the
# idea's unit work.
EXPECTED: dict[tuple[str, str], dict[str, object]] = {}
for relation in RELATIONS:
    for role in ROLES:
        EXPECTED[(role, relation)] = {
            "open": ("refused", "refused"),
            "decide": False,
            "queue": False,
            "units": False,
        }
EXPECTED[("support", "own")].update(open=("full", "full"), decide=True, queue=True)
EXPECTED[("support", "parent")].update(open=("summary", "full"))
EXPECTED[("official", "own")].update(units=True)
EXPECTED[("official", "parent")].update(units=True)
EXPECTED[("group member", "group")] = {
    "open": ("refused", "refused"),
    "decide": False,
    "queue": False,
    "units": False,
}
EXPECTED[("outsider", "none")] = dict(EXPECTED[("group member", "group")])


def _chat_of(key: tuple[str, str]) -> ChatRef | None:
    return GROUP if key == ("group member", "group") else None


async def press(w: World, key: tuple[str, str], data: str) -> object:
    user = w.viewers[key]
    return await w.h.feed(w.h.incoming(user, button=data, chat=_chat_of(key)))


def seen_in(h: Harness, user: int, ref: str) -> list[str]:
    return [r.text for r in h.screen(user) if ref in r.text]


CELLS = sorted(EXPECTED)


@pytest.fixture
async def world(harness: Harness) -> World:
    return await make_world(harness)


@pytest.mark.parametrize("key", CELLS, ids=["-".join(k) for k in CELLS])
async def test_cell(world: World, key: tuple[str, str]) -> None:
    """One viewer against every action (one tree per viewer: building it is the cost)."""
    await check_open(world, key)
    await check_decisions(world, key)
    await check_queue_progress_export_invite(world, key)


async def check_open(world: World, key: tuple[str, str]) -> None:
    """A forged ``tr:<id>:open``: the card comes only as the policy allows."""
    w, expected = world, EXPECTED[key]["open"]
    assert isinstance(expected, tuple)
    for confidential, want in zip((True, False), expected, strict=True):
        idea = await new_idea(w, confidential=confidential)
        r = await press(w, key, f"tr:{idea.id}:open")
        await w.h.deliver()
        shown = " ".join(seen_in(w.h, w.viewers[key], idea.ref_code))
        if key == ("group member", "group"):
            shown += " ".join(seen_in(w.h, int(GROUP.external_id), idea.ref_code))
        leaked = SECRET_TEXT in shown or AUTHOR_NAME in shown or "0912" in shown
        if want == "refused":
            assert r.answer is not None and r.answer.alert, (key, confidential)  # type: ignore[attr-defined]
            assert not shown, (key, confidential)
        elif want == "summary":
            assert idea.ref_code in shown and not leaked, (key, confidential, shown)
            assert SECRET_TEXT[:40] not in shown, "a title derived from the text stays home"
        else:
            assert leaked and AUTHOR_NAME in shown, (key, confidential, shown)
        assert (await current(w.h, idea.id)).status == IdeaStatus.SUBMITTED.value


async def check_decisions(world: World, key: tuple[str, str]) -> None:
    """Approve, request details, forward and decline, each forged on a fresh idea."""
    w, allowed = world, EXPECTED[key]["decide"]
    district = w.units["HCM-Q7"].id
    author_chat_before = len(w.h.screen(AUTHOR))
    for confidential in (True, False):
        for action, changed in (
            ("ok", lambda i: i.status == IdeaStatus.APPROVED.value),
            ("nor:duplicate", lambda i: i.status == IdeaStatus.DECLINED.value),
            (f"fwdto:{district}", lambda i: i.holder_unit_id == district),
        ):
            idea = await new_idea(w, confidential=confidential)
            r = await press(w, key, f"tr:{idea.id}:{action}")
            after = await current(w.h, idea.id)
            assert changed(after) is allowed, (key, action, confidential)
            if not allowed:
                assert r.answer is not None and r.answer.alert  # type: ignore[attr-defined]
        idea = await new_idea(w, confidential=confidential)
        r = await press(w, key, f"tr:{idea.id}:ask")
        asked = bool(r.replies) and r.last.message.force_reply  # type: ignore[attr-defined]
        assert asked is allowed, (key, "ask", confidential)
        if asked:
            await w.h.send(w.viewers[key], "/cancel")
    await w.h.deliver()
    if not allowed:
        assert len(w.h.screen(AUTHOR)) == author_chat_before, "the worker was told nothing"


async def check_queue_progress_export_invite(world: World, key: tuple[str, str]) -> None:
    w, expected, h = world, EXPECTED[key], world.h
    user, chat = w.viewers[key], _chat_of(key)
    idea = await new_idea(w, confidential=True)
    r = await h.feed(h.incoming(user, text="/queue", chat=chat))
    assert (idea.ref_code in r.last.text) is expected["queue"], key
    if expected["queue"]:
        assert SECRET_TEXT[:20] not in r.last.text or chat is None
    if chat is not None:
        return  # the group: /progress and /export are private-chat commands
    r = await h.send(user, "/progress HCM-Q7-MAY")
    shown = "Công đoàn cơ sở Công ty May Phú Mỹ" in r.last.text and "không" not in r.last.text
    assert shown is expected["units"], (key, r.last.text)
    async with h.sessionmaker() as session:
        jobs_before = int(await session.scalar(select(func.count(ReportJob.id))) or 0)
    await h.send(user, "/export HCM-Q7-MAY")
    async with h.sessionmaker() as session:
        jobs = int(await session.scalar(select(func.count(ReportJob.id))) or 0)
    assert (jobs == jobs_before + 1) is expected["units"], key
    # No chat role issues invites: the operator does, from the command line.
    r = await h.send(user, "/invite HCM-Q7-MAY support")
    assert "/invite" in r.last.text and "t.me" not in r.last.text
