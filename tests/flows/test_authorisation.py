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

import itertools
from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import func, select

from handlers.events import ChatRef
from storage.models import Idea, IdeaStatus, ReportJob, RoleKind, Unit, UnitKind
from storage.progress import add_campaign
from tests.flows.harness import Harness
from tests.flows.test_progress import add_unit
from tests.flows.test_worker_idea import invite, join_by_link

AUTHOR = 1001
GROUP = ChatRef("telegram", "-100777", "group", "Tổ hỗ trợ SK May Phú Mỹ")
SECRET_TEXT = "Đổi nhiệt độ lò sấy xuống 160 độ, gọi tôi 0912 345 678"
AUTHOR_NAME = "Trần Thị Bí Mật"
TYPED_TITLE = "Giảm nhiệt lò sấy"

RELATIONS = {
    "own": "HCM-Q7-MAY",
    "child": "HCM-Q7-MAY-T1",
    "parent": "HCM-Q7",
    "sibling": "HCM-Q7-DIEN",
    "province": "HN-X",
}
ROLES = ("member", "support", "official", "admin")

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


@dataclass
class World:
    h: Harness
    units: dict[str, Unit]
    viewers: dict[tuple[str, str], int]


_users = itertools.count(5000)


@pytest.fixture
async def world(harness: Harness) -> World:
    h, u = harness, harness.units
    await add_unit(h, "HCM-Q7-MAY-T1", "Tổ Công đoàn Chuyền may 1", UnitKind.TEAM, u["HCM-Q7-MAY"])
    hn = await add_unit(h, "HN", "Liên đoàn Lao động TP. Hà Nội", UnitKind.PROVINCE, u["VN"])
    await add_unit(h, "HN-X", "CĐCS Công ty Xi măng Hồng Hà", UnitKind.GRASSROOTS, hn)
    await add_campaign(
        h.sessionmaker,
        code="2026-P2",
        name="Đợt 2",
        starts_on=date(2026, 9, 1),
        ends_on=date(2026, 12, 31),
    )
    await join_by_link(h, AUTHOR, u["HCM-Q7-MAY"])
    await h.send(AUTHOR, "/lang", name=AUTHOR_NAME)
    viewers: dict[tuple[str, str], int] = {}
    for relation, code in RELATIONS.items():
        for role in ROLES:
            user = next(_users)
            if role == "member":
                await join_by_link(h, user, u[code])
            else:
                token = await invite(h, u[code], RoleKind(role))
                await h.send(user, f"/start {token}", name=f"{role} {relation}")
            viewers[(role, relation)] = user
    # The grassroots team's group chat, bound by a support invite; one of its members
    # holds no role at all.
    team_member = viewers[("support", "own")]
    token = await invite(h, u["HCM-Q7-MAY"], RoleKind.SUPPORT)
    await h.feed(h.incoming(team_member, text=f"/start@sangkien_bot {token}", chat=GROUP))
    lurker = next(_users)
    await h.send(lurker, "/start")  # has a private chat with the bot, and nothing else
    viewers[("group member", "group")] = lurker
    viewers[("outsider", "none")] = next(_users)
    await h.send(viewers[("outsider", "none")], "/help")
    return World(h, u, viewers)


async def new_idea(w: World, *, confidential: bool, title_given: bool = False) -> Idea:
    """An idea as the form stores it (the form itself is tested elsewhere)."""
    unit = w.units["HCM-Q7-MAY"]
    author_id = await _person_id(w.h, AUTHOR)
    async with w.h.sessionmaker() as session:
        number = int(await session.scalar(select(func.count(Idea.id))) or 0) + 1
        idea = Idea(
            ref_code=f"SK-2026-{number:06d}",
            author_id=author_id,
            unit_id=unit.id,
            holder_unit_id=unit.id,
            title=TYPED_TITLE if title_given else SECRET_TEXT[:40],
            title_given=title_given,
            body=SECRET_TEXT,
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


async def _person_id(h: Harness, user: int) -> int:
    from storage.models import Identity

    async with h.sessionmaker() as session:
        query = select(Identity.person_id).where(Identity.external_id == str(user))
        return int((await session.execute(query)).scalar_one())


async def current(h: Harness, idea_id: int) -> Idea:
    async with h.sessionmaker() as session:
        idea = await session.get(Idea, idea_id)
        assert idea is not None
        return idea


def _chat_of(key: tuple[str, str]) -> ChatRef | None:
    return GROUP if key == ("group member", "group") else None


async def press(w: World, key: tuple[str, str], data: str) -> object:
    user = w.viewers[key]
    return await w.h.feed(w.h.incoming(user, button=data, chat=_chat_of(key)))


def seen_in(h: Harness, user: int, ref: str) -> list[str]:
    return [r.text for r in h.screen(user) if ref in r.text]


CELLS = sorted(EXPECTED)


@pytest.mark.parametrize("key", CELLS, ids=["-".join(k) for k in CELLS])
async def test_open(world: World, key: tuple[str, str]) -> None:
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


@pytest.mark.parametrize("key", CELLS, ids=["-".join(k) for k in CELLS])
async def test_decisions(world: World, key: tuple[str, str]) -> None:
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


@pytest.mark.parametrize("key", CELLS, ids=["-".join(k) for k in CELLS])
async def test_queue_progress_export_invite(world: World, key: tuple[str, str]) -> None:
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
