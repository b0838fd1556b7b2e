"""Hostile input, as data: who sends what, in which state, and what must hold afterwards.

Every case starts from the same **world** (:func:`build_world`), built once through the
real flows: a union tree, a support team per level, a bound team group, five ideas in
every status that matters, and one person parked at every step of every flow. A case
names its sender from :data:`CAST` (that choice *is* the state/step it starts in), the
events it sends, and an :class:`Expect`:

* ``answer`` — ``polite`` (a clear, non-empty answer in the sender's language, as a reply
  or a button notice), ``ignored`` (nothing said, nothing queued for anyone) or
  ``duplicate`` (a redelivered update id: nothing at all happens);
* ``may_change`` — the parts of the database snapshot (:mod:`tests.hostile.invariants`)
  the case is allowed to change; every other part must be byte-for-byte the same;
* ``keys`` — catalogue keys whose text must be in the answer, when the right answer is
  known exactly (an expired invite says so).

Placeholders ``«...»`` in texts and button data are filled from the world when the case
runs: ``«idea1»`` (an idea id), ``«u:HCM-Q7»`` (a unit id), ``«tok:expired»`` (an invite
token, ``«tok:member_may/last»`` one mangled), ``«n»`` (the sender's current flow nonce),
``«n:form_review»`` (someone else's).

The categories follow issue #5: oversized or empty texts; control and zero-width
characters; right-to-left marks; HTML and Markdown injection; odd unicode (lone
surrogates, zalgo, emoji, decomposed letters, other scripts' digits); forged callback
data; replayed update ids; commands in the wrong place; media where text is expected;
chats the bot does not serve (groups, bots, channels); expired and guessed invite tokens;
buttons of another user's card or form.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import unicodedata
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.events import AttachmentKind, ChatRef, FileRef, Incoming, OtherContent, OutMessage
from handlers.i18n import Catalogue
from handlers.limits import MAX_IDEA_BODY_CHARS, MAX_IDEA_FILES
from storage.db import create_engine, create_sessionmaker
from storage.models import Base, Conversation, Idea, RoleKind
from storage.repositories.invites import InviteRepository
from tests.flows.harness import Harness, Result, seed_units
from tests.hostile.invariants import outbox_mark, snapshot

# ---------------------------------------------------------------- the cast


@dataclass(frozen=True, slots=True)
class Member:
    """Someone in the world, and the state the world leaves them in."""

    id: int
    name: str
    lang: str | None  # Telegram's language_code
    state: str


CAST: Final[dict[str, Member]] = {
    m_name: m
    for m_name, m in [
        ("worker", Member(1001, "Nguyễn Văn An", "vi", "member of MAY, idle, owns idea1/2/4")),
        ("en_worker", Member(1002, "John Smith", "en", "member of MAY, idle, English")),
        ("newbie", Member(1003, "Lê Văn Mới", "vi", "no unit, idle (said /help once)")),
        ("asked", Member(1004, "Phạm Thị Hỏi", "vi", "answering the question on idea3")),
        ("dien_worker", Member(1005, "Võ Văn Điện", "vi", "member of DIEN, owns idea5")),
        ("offered", Member(1006, "Đặng Thị Dài", "vi", "offer flow: 'send this as an idea?'")),
        ("joining", Member(1007, "Bùi Văn Tìm", "vi", "join flow: asked for the unit")),
        ("form_body_empty", Member(1010, "Form Trống", "vi", "idea form, body step, empty")),
        ("form_body", Member(1011, "Form Thân", "vi", "idea form, body step, one text")),
        ("form_files", Member(1012, "Form Tệp", "vi", "idea form, body step, 10 photos")),
        ("form_category", Member(1013, "Form Loại", "vi", "idea form, category step")),
        ("form_benefit", Member(1014, "Form Lợi", "vi", "idea form, benefit step")),
        ("form_amount", Member(1015, "Form Tiền", "vi", "idea form, amount step")),
        ("form_confidential", Member(1016, "Form Mật", "vi", "idea form, confidential step")),
        ("form_review", Member(1017, "Form Duyệt", "vi", "idea form, review step")),
        ("form_edit", Member(1018, "Form Sửa", "vi", "idea form, edit menu")),
        ("form_title", Member(1019, "Form Tựa", "vi", "idea form, typing a title")),
        ("form_en", Member(1020, "Form English", "en", "idea form, body step, English")),
        ("form_edit_body", Member(1021, "Form Viết Lại", "vi", "idea form, rewriting body")),
        ("form_secret", Member(1022, "Form Kín", "vi", "idea form, confidential, asked a title")),
        ("anh", Member(2001, "Trần Thị Anh", "vi", "support team of MAY")),
        ("binh", Member(2002, "Lê Thị Bình", "vi", "support of MAY, typing a question")),
        ("dung", Member(3001, "Hoàng Văn Dũng", "vi", "support team of HCM-Q7")),
        ("outsider", Member(4001, "Đỗ Văn Ngoài", "vi", "support of DIEN, bound its group")),
        ("en_outsider", Member(4002, "Jane Doe", "en", "member of DIEN, English")),
        ("stranger", Member(5001, "Stranger", "fr", "never seen before, French Telegram")),
    ]
}

TEAM_GROUP: Final = "-100700"  # DIEN's support team group
STRANGE_GROUP: Final = "-100999"  # a group the bot does not serve
GROUPS: Final = {
    "team_group": (TEAM_GROUP, "Tổ hỗ trợ SK Điện tử"),
    "strange_group": (STRANGE_GROUP, "Hội đồng hương"),
}
LONG_IDEA = "Đề xuất lắp thêm quạt hút bụi ở xưởng cắt vải để công nhân đỡ bị ho và giảm lỗi"
SHORT_NOTE = "Lắp đèn LED ở kho vật tư để tiết kiệm điện"


def photo(n: int) -> FileRef:
    return FileRef(AttachmentKind.PHOTO, f"photo-{n}", f"u-photo-{n}", None, "image/jpeg", 1234)


VOICE: Final = FileRef(AttachmentKind.VOICE, "voice-1", "u-voice-1", None, "audio/ogg", 5000)
DOCUMENT: Final = FileRef(
    AttachmentKind.DOCUMENT, "doc-1", "u-doc-1", "<b>bản vẽ</b>.pdf", "application/pdf", 99
)


# ---------------------------------------------------------------- the world


@dataclass(repr=False)
class World:
    """What :func:`build_world` leaves behind: a database file and the facts to fill cases."""

    path: Path
    users: dict[str, int]
    units: dict[str, int]
    ideas: dict[str, int]
    tokens: dict[str, str]
    updates: dict[str, Incoming]  # world updates by label, to be delivered again
    now: datetime
    next_update_id: int
    next_message_id: int
    screens: dict[str, dict[str, OutMessage]] = field(default_factory=dict)
    start: dict[str, Any] = field(default_factory=dict)  # its snapshot (invariants.snapshot)
    outbox_last: int = 0  # the id of its last outbox row

    def __repr__(self) -> str:
        return f"World({self.path})"

    def harness(
        self, sessionmaker: async_sessionmaker[AsyncSession], catalogue: Catalogue
    ) -> Harness:
        """A harness on a copy of the world's database, carrying on where the world stopped."""
        h = Harness(sessionmaker, catalogue)
        h.now = self.now
        h._update_ids = itertools.count(self.next_update_id)
        h._message_ids = itertools.count(self.next_message_id)
        h.screens = {chat: dict(messages) for chat, messages in self.screens.items()}
        h.names = {member.id: member.name for member in CAST.values()}
        return h

    async def incoming(
        self, h: Harness, who: str, send: Send, previous: Incoming | None = None
    ) -> Incoming:
        """The neutral event for ``send`` by ``who`` (or ``send.who``), placeholders filled."""
        if send.replay is not None:
            return self.updates[send.replay]
        member = CAST[send.who or who]
        chat = None
        if send.chat != PRIVATE:
            chat_id, title = GROUPS[send.chat]
            chat = ChatRef("telegram", chat_id, "group", title)
        incoming = h.incoming(
            member.id,
            text=await self.fill(h, member, send.text),
            button=await self.fill(h, member, send.button),
            files=send.files,
            other=send.other,
            lang=member.lang,
            name=send.name or member.name,
            chat=chat,
        )
        if send.same_update:
            assert previous is not None, "same_update needs an earlier event"
            incoming = replace(incoming, update_id=previous.update_id)
        if send.from_bot:
            incoming = replace(incoming, sender=replace(incoming.sender, is_bot=True))
        if send.added or send.removed:
            incoming = replace(
                incoming, bot_added_to_group=send.added, bot_removed_from_group=send.removed
            )
        if send.no_message:
            incoming = replace(incoming, message_id=None)
        return incoming

    async def fill(self, h: Harness, member: Member, template: str | None) -> str | None:
        if template is None or "«" not in template:
            return template
        values: dict[str, str] = {}
        for name in PLACEHOLDER.findall(template):
            values[name] = await self._value(h, member, name)
        return PLACEHOLDER.sub(lambda m: values[m.group(1)], template)

    async def _value(self, h: Harness, member: Member, name: str) -> str:
        kind, _, arg = name.partition(":")
        if kind == "n":
            return await nonce(h, CAST[arg].id if arg else member.id)
        if kind == "u":
            return str(self.units[arg])
        if kind == "tok":
            token_name, _, mangle = arg.partition("/")
            token = self.tokens[token_name]
            return {
                "": token,
                "last": token[:-1] + ("A" if token[-1] != "A" else "B"),
                "prefix": token[:16],
                "lower": token.lower() if token.lower() != token else token.upper(),
                "zwsp": token[:10] + "\u200b" + token[10:],
            }[mangle]
        return str(self.ideas[name])


PLACEHOLDER: Final = re.compile(r"«([^»]+)»")


async def nonce(h: Harness, user_id: int) -> str:
    """The user's current flow nonce in their private chat ("-" outside any flow)."""
    async with h.sessionmaker() as session:
        row = await session.get(Conversation, f"telegram:{user_id}")
        return str((row.data or {}).get("n", "-")) if row is not None else "-"


class _Builder:
    def __init__(self, h: Harness) -> None:
        self.h = h
        self.updates: dict[str, Incoming] = {}
        self.labels = itertools.count()

    async def send(self, who: str, text: str | None = None, **kw: object) -> Result:
        return await self.feed(who, text=text, **kw)  # type: ignore[arg-type]

    async def press(self, who: str, data: str) -> Result:
        return await self.feed(who, button=data)

    async def feed(
        self, who: str, label: str | None = None, *, added: bool = False, **kw: object
    ) -> Result:
        """Send an event as ``who``, kept under ``label`` to be delivered again by a case."""
        member = CAST[who]
        incoming = self.h.incoming(member.id, name=member.name, lang=member.lang, **kw)  # type: ignore[arg-type]
        if added:
            incoming = replace(incoming, bot_added_to_group=True)
        self.updates[label or f"{who}-{next(self.labels)}"] = incoming
        return await self.h.feed(incoming)

    async def nonce(self, who: str) -> str:
        return await nonce(self.h, CAST[who].id)


# From the body step with a text to each parked step: the buttons pressed (None: "5 trieu").
_TO_REVIEW: Final[list[str | None]] = [
    "body:done",
    "category:pick:safety",
    "benefit:pick:cost",
    None,
    "confidential:pick:no",
]
LADDER: Final[dict[str, list[str | None]]] = {
    "form_category": _TO_REVIEW[:1],
    "form_benefit": _TO_REVIEW[:2],
    "form_amount": _TO_REVIEW[:3],
    "form_confidential": _TO_REVIEW[:4],
    "form_review": _TO_REVIEW,
    "form_edit": [*_TO_REVIEW, "review:edit"],
    "form_title": [*_TO_REVIEW, "review:edit", "edit:pick:title"],
    "form_edit_body": [*_TO_REVIEW, "review:edit", "edit:pick:body"],
    "form_secret": [*_TO_REVIEW[:4], "confidential:pick:yes"],
}


def data_of(result: Result, suffix: str) -> str:
    """The callback data, among the last reply's buttons, that ends with ``suffix``."""
    for row in result.last.message.buttons:
        for button in row:
            if button.data.endswith(suffix):
                return button.data
    raise AssertionError(f"no button ending {suffix!r} in {result.last.labels}")


async def build_world(path: Path, catalogue: Catalogue) -> World:
    """Build the world through the real flows into the SQLite file ``path``."""
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    sessionmaker = create_sessionmaker(engine)
    h = Harness(sessionmaker, catalogue)
    seeded = await seed_units(sessionmaker)
    units = {code: unit.id for code, unit in seeded.items()}
    past = datetime(2026, 1, 1, tzinfo=UTC)
    tokens: dict[str, str] = {}
    async with sessionmaker() as session:
        specs: list[tuple[str, str, RoleKind, int | None, datetime | None]] = [
            ("support_may", "HCM-Q7-MAY", RoleKind.SUPPORT, None, None),
            ("support_q7", "HCM-Q7", RoleKind.SUPPORT, None, None),
            ("support_dien", "HCM-Q7-DIEN", RoleKind.SUPPORT, None, None),
            ("support_group", "HCM-Q7-DIEN", RoleKind.SUPPORT, 1, None),
            ("support_expired", "HCM-Q7-MAY", RoleKind.SUPPORT, None, past),
            ("member_may", "HCM-Q7-MAY", RoleKind.MEMBER, None, None),
            ("member_dien", "HCM-Q7-DIEN", RoleKind.MEMBER, None, None),
            ("member_spare", "HCM-Q7-MAY", RoleKind.MEMBER, 3, None),
            ("expired", "HCM-Q7-MAY", RoleKind.MEMBER, None, past),
            ("used_up", "HCM-Q7-DIEN", RoleKind.MEMBER, 1, None),
            ("revoked", "HCM-Q7-MAY", RoleKind.MEMBER, None, None),
            ("official_expired", "HCM", RoleKind.OFFICIAL, None, past),
        ]
        for name, code, role, max_uses, expires in specs:
            token, invite = await InviteRepository(session).create(
                unit_id=units[code],
                role=role,
                max_uses=max_uses,
                expires_at=expires,
                note=name,
            )
            tokens[name] = token
            if name == "revoked":
                await InviteRepository(session).revoke(invite.id, past)
        await session.commit()

    b = _Builder(h)
    # The support teams, and DIEN's group.
    for who, token in [
        ("anh", "support_may"),
        ("binh", "support_may"),
        ("dung", "support_q7"),
        ("outsider", "support_dien"),
    ]:
        await b.feed(who, label=f"{who}-support", text=f"/start {tokens[token]}")
    group_id, title = GROUPS["team_group"]
    group = ChatRef("telegram", group_id, "group", title)
    await b.feed("outsider", label="group-added", chat=group, added=True)
    await b.feed(
        "outsider",
        label="group-bind",
        text=f"/start@sangkien_bot {tokens['support_group']}",
        chat=group,
    )
    await b.send("en_outsider", f"/start {tokens['member_dien']}")

    # Ideas in every status.
    await b.feed("worker", label="worker-used-up", text=f"/start {tokens['used_up']}")
    await b.feed("worker", label="worker-join", text=f"/start {tokens['member_may']}")
    ideas: dict[str, int] = {}

    async def submit(who: str, text: str, *, confidential: bool = False) -> int:
        r = await b.send(who, "/idea")
        r = await b.send(who, text)
        r = await b.press(who, data_of(r, ":body:done"))
        r = await b.press(who, data_of(r, ":pick:safety"))
        r = await b.press(who, data_of(r, ":pick:cost"))
        r = await b.send(who, "5 trieu")
        r = await b.press(who, data_of(r, ":pick:yes" if confidential else ":pick:no"))
        if confidential:  # a confidential idea needs a title the worker typed
            r = await b.send(who, "Máy cắt laser nhanh hơn")
        await b.feed(who, label=f"submit-{len(ideas) + 1}", button=data_of(r, ":submit"))
        async with sessionmaker() as session:
            return int((await session.execute(select(func.max(Idea.id)))).scalar_one())

    ideas["idea1"] = await submit("worker", LONG_IDEA)
    ideas["idea2"] = await submit("worker", "Sắp xếp kệ dụng cụ theo màu để dễ tìm <b>nhanh</b>")
    await b.feed("anh", label="approve-2", button=f"tr:{ideas['idea2']}:ok")
    await b.send("asked", f"/start {tokens['member_may']}")
    ideas["idea3"] = await submit("asked", "Dùng lại nước làm mát máy nén cho nhà vệ sinh")
    await b.press("anh", f"tr:{ideas['idea3']}:ask")
    await b.feed("anh", label="question-3", text="Tiết kiệm được bao nhiêu nước mỗi tháng?")
    await b.feed("asked", label="asked-answer", button=f"ans:{ideas['idea3']}")
    ideas["idea4"] = await submit("worker", "Quy trình mới cho máy cắt laser", confidential=True)
    await b.press("anh", f"tr:{ideas['idea4']}:fwd")
    await b.feed("anh", label="forward-4", button=f"tr:{ideas['idea4']}:fwdto:{units['HCM-Q7']}")
    await b.send("dien_worker", f"/start {tokens['member_dien']}")
    ideas["idea5"] = await submit("dien_worker", "Thay bóng đèn cũ bằng đèn LED ở nhà ăn ca")
    await b.feed("binh", label="binh-ask", button=f"tr:{ideas['idea1']}:ask")

    # People parked at every step.
    await b.send("en_worker", f"/start {tokens['member_may']}")
    await b.send("newbie", "/help")
    await b.feed("joining", label="joining-start", text="/start")
    await b.send("offered", f"/start {tokens['member_may']}")
    await b.feed("offered", label="offered-long", text=LONG_IDEA)
    steps = [
        "form_body_empty",
        "form_body",
        "form_files",
        "form_category",
        "form_benefit",
        "form_amount",
        "form_confidential",
        "form_review",
        "form_edit",
        "form_title",
        "form_edit_body",
        "form_secret",
    ]
    for who in [*steps, "form_en"]:
        await b.send(who, f"/start {tokens['member_may']}")
        await b.send(who, "/idea")
    for who in steps[1:]:
        await b.feed(who, label=f"{who}-text", text=LONG_IDEA)
    await b.send("form_en", "Reuse fabric offcuts as cleaning rags to cut waste")
    for n in range(MAX_IDEA_FILES):
        await b.send("form_files", None, files=(photo(n),))
    for who, rungs in LADDER.items():
        for rung in rungs:
            if rung is None:
                await b.send(who, "5 trieu")
            else:
                await b.press(who, f"idea:{await b.nonce(who)}:{rung}")
    await h.deliver()
    start = await snapshot(sessionmaker)
    outbox_last = await outbox_mark(sessionmaker)
    await engine.dispose()
    return World(
        path=path,
        users={name: m.id for name, m in CAST.items()},
        units=units,
        ideas=ideas,
        tokens=tokens,
        updates=b.updates,
        now=h.now,
        next_update_id=next(h._update_ids) + 1000,
        next_message_id=next(h._message_ids) + 1000,
        screens={chat: dict(msgs) for chat, msgs in h.screens.items()},
        start=start,
        outbox_last=outbox_last,
    )


_WORLDS: dict[Path, World] = {}


def world_once(directory: Path, catalogue: Catalogue) -> World:
    """The world, built once per test run into ``directory`` and shared by every test.

    Built on an event loop of its own, in a thread, so it never disturbs the tests' loop.
    """
    if directory not in _WORLDS:
        directory.mkdir(parents=True, exist_ok=True)
        for leftover in directory.glob("world.db*"):
            leftover.unlink()
        with ThreadPoolExecutor(1) as pool:
            built = pool.submit(asyncio.run, build_world(directory / "world.db", catalogue))
            _WORLDS[directory] = built.result()
    return _WORLDS[directory]


# ---------------------------------------------------------------- what a case is

POLITE: Final = "polite"  # a clear, non-empty answer in the sender's language
IGNORED: Final = "ignored"  # nothing said, nothing queued, nothing changed
DUPLICATE: Final = "duplicate"  # a redelivered update id: handled already, nothing happens

PRIVATE: Final = "private"


@dataclass(frozen=True, slots=True)
class Send:
    """One event, as the adapter would hand it over (text starting with "/" is a command)."""

    text: str | None = None
    button: str | None = None  # callback data
    files: tuple[FileRef, ...] = ()
    other: OtherContent | None = None
    chat: str = PRIVATE  # or a key of GROUPS
    who: str | None = None  # another sender than the case's
    name: str | None = None  # the sender's display name in this update
    replay: str | None = None  # deliver this world update again, unchanged
    same_update: bool = False  # reuse the update id of the case's previous event
    from_bot: bool = False  # the sender is a bot (channel posts, anonymous admins)
    added: bool = False  # the bot was added to the group
    removed: bool = False  # the bot was removed from the group
    no_message: bool = False  # a button whose message Telegram no longer has


@dataclass(frozen=True, slots=True)
class Expect:
    """What must hold after the case's last event (earlier ones must just be valid)."""

    answer: str = POLITE
    may_change: frozenset[str] = frozenset()
    must_change: frozenset[str] = frozenset()
    keys: tuple[str, ...] = ()  # catalogue keys the answer (replies or notice) shows
    alert: bool | None = None  # the notice is (not) an alert


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    category: str
    who: str
    sends: tuple[Send, ...]
    expect: Expect
    doc: str


CASES: list[Case] = []


def case(
    name: str,
    category: str,
    who: str,
    *sends: Send,
    doc: str,
    answer: str = POLITE,
    may: Iterable[str] = (),
    must: Iterable[str] = (),
    keys: Iterable[str] = (),
    alert: bool | None = None,
) -> None:
    assert who in CAST, who
    assert all(c.name != name for c in CASES), f"two cases named {name}"
    must = frozenset(must)
    CASES.append(
        Case(
            name=name,
            category=category,
            who=who,
            sends=sends,
            expect=Expect(answer, frozenset(may) | must, must, tuple(keys), alert),
            doc=doc,
        )
    )


CONV = ("conversations",)
STALE = ("common.stale_button",)
NOT_ALLOWED = ("triage.not_allowed",)

# ---------------------------------------------------------------- nasty texts, everywhere

OVERSIZED: Final = "oversized-or-empty"
INVISIBLE: Final = "control-zero-width"
RTL: Final = "right-to-left"
INJECTION: Final = "html-markdown-injection"
UNICODE: Final = "odd-unicode"

NASTY_TEXTS: Final[list[tuple[str, str, str]]] = [
    ("empty", OVERSIZED, ""),
    ("whitespace", OVERSIZED, "   \n\t \r\n  "),
    ("one_dot", OVERSIZED, "."),
    ("over_4096", OVERSIZED, "x" * 4097),
    ("body_limit_plus_one", OVERSIZED, "a" * (MAX_IDEA_BODY_CHARS + 1)),
    ("huge_100k", OVERSIZED, "Sáng kiến tiết kiệm " * 5000),
    ("one_long_url", OVERSIZED, "https://example.com/" + "a" * 5000),
    ("two_thousand_lines", OVERSIZED, "dòng\n" * 2000),
    ("zero_width_only", INVISIBLE, "\u200b\u200c\u200d\u2060\ufeff"),
    ("zero_width_inside", INVISIBLE, "S\u200bá\u200cn\u200dg kiến: lắp quạt hút bụi cho xưởng"),
    ("c0_controls", INVISIBLE, "".join(chr(i) for i in range(32)) + "lắp đèn"),
    ("nul_inside", INVISIBLE, "Tiết kiệm\x00 điện năng ở xưởng may số 2"),
    ("del_and_c1", INVISIBLE, "\x7f\x80\x85\x9f đèn LED"),
    ("line_separators", INVISIBLE, "dòng 1\u2028dòng 2\u2029dòng 3\x0b\x0c"),
    ("nbsp_only", INVISIBLE, "\u00a0\u2009\u3000\u202f"),
    ("lone_surrogate", UNICODE, "Ý tưởng \ud800 lắp quạt cho xưởng cắt"),
    ("rtl_override", RTL, "\u202eỞ xưởng may nên lắp thêm quạt hút\u202c"),
    ("rlm_lrm_marks", RTL, "\u200f\u200eSK-2026-000001\u200f tiết kiệm điện"),
    ("bidi_isolates", RTL, "\u2066\u2067\u2068abc\u2069 lắp đèn"),
    ("arabic_hebrew", RTL, "مرحبا שלום ý tưởng lắp đèn ở kho"),
    ("html_tags", INJECTION, "<b>đậm</b> <i>nghiêng <script>alert(1)</script>"),
    ("html_unclosed", INJECTION, "<b><i><u>không đóng thẻ <pre><code>"),
    ("html_entities", INJECTION, "&amp; &lt; &bogus; &#0; &#xD800; &#1114112; & ; &"),
    ("html_links", INJECTION, '<a href="javascript:alert(1)">x</a> <a href="tg://user?id=1">y</a>'),
    ("markdown", INJECTION, "*đậm* _nghiêng_ `mã` ```khối``` [link](http://evil.example) ||ẩn||"),
    ("markdown_v2_escapes", INJECTION, "\\*\\_\\[\\]\\(\\)\\~\\`\\>\\#\\+\\-\\=\\|\\{\\}\\.\\!"),
    ("format_string", INJECTION, "{ref} {0} {__class__} {title!r} %s %(ref)s ${ref} {{}}"),
    ("sql_injection", INJECTION, "'; DROP TABLE ideas; -- \" OR 1=1"),
    ("zalgo", UNICODE, "Z" + "\u0336\u0334\u0335" * 300 + "algo"),
    ("emoji_zwj", UNICODE, "👨‍🔧👩🏽‍🏭 🇻🇳 ❤️ 🔥 " * 60),
    ("decomposed_vietnamese", UNICODE, unicodedata.normalize("NFD", "Công ty May Phú Mỹ")),
    ("superscript_digits", UNICODE, "²³¹"),
]

# Where text is typed: (state name, who, what may change). Every text goes into a draft
# (the body step, where an idea's content is kept) and into two of the other places, in
# turn, so that each place gets a share of every kind of text.
BODY_STATE: Final = ("body", "form_body", CONV)
TEXT_STATES: Final[list[tuple[str, str, tuple[str, ...]]]] = [
    ("idle", "worker", CONV),  # a long text outside a flow is offered as an idea
    ("title", "form_title", CONV),
    ("secret_title", "form_secret", CONV),
    ("join", "joining", ()),
    ("amount", "form_amount", CONV),
    ("category", "form_category", ()),
    ("body_en", "form_en", CONV),
    ("answer", "asked", CONV),
]
# The support team's typed question goes to the worker: nasty text in a notification.
TRIAGE_TEXTS: Final = {OVERSIZED, INJECTION, RTL, UNICODE}

for _i, (_text_name, _category, _text) in enumerate(NASTY_TEXTS):
    _turn = [TEXT_STATES[(2 * _i + k) % len(TEXT_STATES)] for k in (0, 1)]
    for _state, _who, _may in [BODY_STATE, *_turn]:
        case(
            f"text-{_text_name}-in-{_state}",
            _category,
            _who,
            Send(text=_text),
            doc=f"{_text_name} typed by {CAST[_who].state}",
            may=_may,
        )
    if _category in TRIAGE_TEXTS and _i % 2 == 0:
        case(
            f"text-{_text_name}-as-triage-question",
            _category,
            "binh",
            Send(text=_text),
            doc=f"{_text_name} typed as the support team's question to the worker",
            may=(*CONV, "ideas", "idea_events"),
        )

# Answers the flows know exactly.
case(
    "text-over-limit-in-body-says-how-long",
    OVERSIZED,
    "form_body_empty",
    Send(text="ă" * (MAX_IDEA_BODY_CHARS + 1)),
    doc="a body over the limit is refused with the limit, and nothing is kept",
    keys=("idea.too_long",),
)
case(
    "text-invisible-in-body-is-empty",
    INVISIBLE,
    "form_body_empty",
    Send(text="\u200b\u200e\u202e\u2066 \ufeff"),
    doc="only invisible characters: an empty message, not an empty idea part",
    keys=("idea.need_text",),
)
case(
    "text-title-over-limit",
    OVERSIZED,
    "form_title",
    Send(text="Tiêu đề " * 20),
    doc="a title over 120 characters is refused",
    keys=("idea.title_too_long",),
)
case(
    "text-secret-title-emoji-only",
    UNICODE,
    "form_secret",
    Send(text="🔒🔒 ✨"),
    doc="a confidential idea's title of emoji only is no title",
    keys=("idea.title_need_words",),
)
case(
    "text-secret-title-typed",
    UNICODE,
    "form_secret",
    Send(text="Dao cat may so 3"),
    doc="a typed title, without diacritics, leads to the review that says what travels",
    keys=("idea.review", "idea.review_travels"),
    may=CONV,
)
case(
    "text-title-only-newlines",
    OVERSIZED,
    "form_title",
    Send(text="\n\n\u2028\n"),
    doc="a title of line breaks only is empty",
    keys=("idea.title_need_words",),
)
case(
    "text-search-over-limit",
    OVERSIZED,
    "joining",
    Send(text="công ty " * 20),
    doc="a unit search over 100 characters is refused",
    keys=("join.query_too_long",),
)
case(
    "text-search-like-wildcards",
    INJECTION,
    "joining",
    Send(text="%_%"),
    doc="SQL LIKE wildcards are searched literally: nothing found",
    keys=("join.none_found",),
)
case(
    "text-amount-absurd",
    OVERSIZED,
    "form_amount",
    Send(text="9" * 40 + " tỷ"),
    doc="an absurd yearly value is not read",
    keys=("idea.bad_amount",),
)
case(
    "text-amount-negative",
    INJECTION,
    "form_amount",
    Send(text="-5 triệu"),
    doc="a negative yearly value is not read",
    keys=("idea.bad_amount",),
)
case(
    "text-category-number-out-of-range",
    OVERSIZED,
    "form_category",
    Send(text="99999999999999999999999999"),
    doc="a typed option number out of range: use the buttons",
    keys=("idea.use_buttons",),
)
case(
    "text-category-arabic-indic-digit",
    UNICODE,
    "form_category",
    Send(text="٣"),
    doc="a digit of another script is not an option number",
)
case(
    "text-emoji-body-card-fits-telegram",
    OVERSIZED,
    "form_body_empty",
    Send(text="🔥" * 2990),
    Send(button="idea:«n»:body:done"),
    Send(button="idea:«n»:category:pick:safety"),
    Send(button="idea:«n»:benefit:pick:cost"),
    Send(button="idea:«n»:amount:skip"),
    Send(button="idea:«n»:confidential:pick:no"),
    Send(button="idea:«n»:review:submit"),
    doc="2990 emoji are 2990 characters to the form but 5980 to Telegram: the card must fit",
    may=(*CONV, "ideas", "idea_events", "counters"),
    must=("ideas",),
    keys=("idea.submitted",),
)
_ROUND = (
    Send(who="anh", button="tr:«idea3»:ask"),
    Send(who="anh", text="Hỏi: " + "chi tiết lắp đặt ra sao? " * 38),
    Send(who="asked", button="ans:«idea3»"),
    Send(who="asked", text="Trả lời: " + "lắp ở góc xưởng, gần cửa sổ. " * 100),
    Send(who="asked", button="answer:«n»:collect:send"),
)
case(
    "text-long-question-rounds-card-fits-telegram",
    OVERSIZED,
    "asked",
    Send(text="Trả lời đầu: " + "nước làm mát dùng lại được. " * 100),
    Send(button="answer:«n»:collect:send"),
    *(_ROUND * 5),
    doc="five long question-and-answer rounds: the card and its history still fit one message",
    may=(*CONV, "ideas", "idea_events"),
    must=("idea_events",),
    keys=("answer.sent",),
)
case(
    "text-answer-parts-over-limit",
    OVERSIZED,
    "asked",
    Send(text="a" * (MAX_IDEA_BODY_CHARS - 100)),
    Send(text="b" * 100),
    doc="two parts of an answer that fit alone but not together (with the blank line between)",
    may=CONV,
    keys=("idea.too_long",),
)
case(
    "text-display-name-with-html-in-notice",
    INJECTION,
    "binh",
    Send(who="anh", text="/help", name='Anh & <Bình> "Tổ"'),
    Send(button="tr:«idea2»:ok"),
    doc="a decider's name with & < > \" in a button notice (plain text, not HTML)",
    keys=("triage.already_decided",),
    alert=True,
)

# ---------------------------------------------------------------- forged callback data

FORGED: Final = "forged-callback"
# (name, who, data, keys the notice or reply shows, what may change, alert)
_FORGED: Final[list[tuple[str, str, str, tuple[str, ...], tuple[str, ...]]]] = [
    ("empty", "worker", "", STALE, ()),
    ("colons", "worker", "::::::::", STALE, ()),
    ("junk_64_bytes", "worker", "x" * 64, STALE, ()),
    ("over_64_bytes", "form_review", "idea:000000:review:submit:" + "a" * 80, STALE, ()),
    ("unicode", "worker", "ý:tưởng:🔥:\u202e", STALE, ()),
    ("nul_bytes", "worker", "tr:\x00:ok", STALE, ()),
    ("g_unknown", "worker", "g:nope:1", STALE, ()),
    ("help_page_999", "worker", "g:help:999", ("help.page1",), ()),
    ("lang_unknown", "worker", "g:lang:fr", STALE, ()),
    ("lang_html", "worker", "g:lang:<b>en</b>", STALE, ()),
    ("my_huge", "worker", "g:my:99999999999999999999999", ("my.header",), ()),
    ("my_superscript", "worker", "g:my:²", ("my.header",), ()),
    ("queue_superscript", "anh", "g:queue:²", ("queue.header",), ()),
    ("queue_huge", "anh", "g:queue:99999999999999999999", ("queue.header",), ()),
    ("queue_by_worker", "worker", "g:queue:0", ("queue.not_support",), ()),
    ("idea_bare", "form_review", "idea", STALE, ()),
    ("idea_wrong_nonce", "form_review", "idea:000000:review:submit", STALE, ()),
    ("idea_other_flows_data", "form_review", "join:«n»:search:yes:«u:HCM-Q7-MAY»", STALE, ()),
    ("idea_submit_at_body_step", "form_body", "idea:«n»:review:submit", STALE, ()),
    ("idea_unknown_action", "form_review", "idea:«n»:review:explode", STALE, ()),
    ("idea_unknown_category", "form_category", "idea:«n»:category:pick:weapons", STALE, ()),
    ("idea_empty_category", "form_category", "idea:«n»:category:pick:", STALE, ()),
    ("idea_confidential_maybe", "form_confidential", "idea:«n»:confidential:pick:maybe", STALE, ()),
    ("idea_edit_path", "form_edit", "idea:«n»:edit:pick:../../etc", ("idea.review",), CONV),
    ("idea_back_not_editing_body", "form_body", "idea:«n»:body:back", STALE, ()),
    ("idea_back_not_editing_category", "form_category", "idea:«n»:category:back", STALE, ()),
    ("idea_done_without_text", "form_body_empty", "idea:«n»:body:done", ("idea.need_more",), ()),
    ("idea_skip_amount_at_review", "form_review", "idea:«n»:amount:skip", STALE, ()),
    (
        "idea_submit_extra_parts",
        "form_review",
        "idea:«n»:review:submit:1:2:3",
        ("idea.submitted",),
        (*CONV, "ideas", "idea_events", "counters", "attachments"),
    ),
    ("join_province", "joining", "join:«n»:search:yes:«u:HCM»", STALE, ()),
    ("join_national", "joining", "join:«n»:search:pick:«u:VN»", STALE, ()),
    ("join_missing_unit", "joining", "join:«n»:search:yes:999999", STALE, ()),
    ("join_huge_unit", "joining", "join:«n»:search:yes:99999999999999999999999", STALE, ()),
    ("join_superscript_unit", "joining", "join:«n»:search:pick:²", STALE, ()),
    ("join_negative_unit", "joining", "join:«n»:search:yes:-5", STALE, ()),
    ("join_unknown_action", "joining", "join:«n»:search:steal:«u:HCM-Q7-MAY»", STALE, ()),
    ("offer_wrong_step", "offered", "offer:«n»:other:yes", STALE, ()),
    ("tr_empty", "anh", "tr:", STALE, ()),
    ("tr_superscript", "anh", "tr:²:ok", STALE, ()),
    ("tr_huge", "anh", "tr:99999999999999999999999:ok", STALE, ()),
    ("tr_negative", "anh", "tr:-1:ok", STALE, ()),
    ("tr_missing_idea", "anh", "tr:999999:ok", STALE, ()),
    ("tr_unknown_action", "anh", "tr:«idea1»:zz", STALE, ()),
    ("tr_unknown_reason", "anh", "tr:«idea1»:nor:made_up", STALE, ()),
    ("tr_forward_sideways", "anh", "tr:«idea1»:fwdto:«u:HCM-Q7-DIEN»", STALE, ()),
    ("tr_forward_to_itself", "anh", "tr:«idea1»:fwdto:«u:HCM-Q7-MAY»", STALE, ()),
    ("tr_forward_down", "dung", "tr:«idea4»:fwdto:«u:HCM-Q7-MAY»", STALE, ()),
    ("tr_decided_again", "anh", "tr:«idea2»:no", ("triage.already_decided",), ()),
    ("tr_decided_reason", "anh", "tr:«idea2»:nor:duplicate", ("triage.already_decided",), ()),
    ("ans_empty", "worker", "ans:", ("answer.no_question",), ()),
    ("ans_superscript", "asked", "ans:²", ("answer.no_question",), ()),
    ("ans_huge", "asked", "ans:99999999999999999999999", ("answer.no_question",), ()),
    ("ans_no_question", "worker", "ans:«idea1»", ("answer.no_question",), ()),
    ("triage_flow_data", "binh", "triage:«n»:question:x", STALE, ()),
    ("pg_empty", "worker", "pg:", STALE, ()),
    ("pg_superscript", "worker", "pg:x:²:1", STALE, ()),
    ("pg_huge", "worker", "pg:c:99999999999999999999:1", STALE, ()),
    ("pg_missing_campaign", "dung", "pg:v:«u:HCM-Q7»:999999", STALE, ()),
    ("answer_unknown_action", "asked", "answer:«n»:collect:explode", STALE, ()),
    ("answer_send_nothing", "asked", "answer:«n»:collect:send", ("idea.need_text",), ()),
]
for _name, _who, _data, _keys, _may in _FORGED:
    case(
        f"button-{_name}",
        FORGED,
        _who,
        Send(button=_data),
        doc=f"{CAST[_who].state} presses forged data {_data[:40]!r}",
        keys=_keys,
        may=_may,
    )

case(
    "button-submit-pressed-twice",
    FORGED,
    "form_review",
    Send(button="idea:«n»:review:submit"),
    Send(button="idea:«n»:review:submit"),
    doc="the Submit button pressed again after the idea went in: one idea, not two",
    may=(*CONV, "ideas", "idea_events", "counters"),
    keys=STALE,
)
case(
    "button-join-pressed-after-joining",
    FORGED,
    "joining",
    Send(button="join:«n»:search:yes:«u:HCM-Q7-MAY»"),
    Send(button="join:«n»:search:yes:«u:HCM-Q7-DIEN»"),
    doc="after joining, the join buttons are dead: no second unit",
    may=(*CONV, "memberships"),
    keys=STALE,
)
case(
    "button-callback-without-message",
    FORGED,
    "form_review",
    Send(button="idea:«n»:review:edit", no_message=True),
    doc="a press whose message Telegram no longer has (message_id missing)",
    may=CONV,
)

# ---------------------------------------------------------------- another user's card

OTHERS: Final = "others-card"
_TRIAGE_ACTIONS: Final = ["ok", "ask", "fwd", "nor:duplicate", "open"]
for _action in _TRIAGE_ACTIONS:
    case(
        f"card-outsider-{_action.replace(':', '-')}",
        OTHERS,
        "outsider",
        Send(button=f"tr:«idea1»:{_action}"),
        doc=f"another unit's support member presses {_action!r} on MAY's card",
        keys=NOT_ALLOWED,
        alert=True,
    )
case(
    "card-outsider-forward-up",
    OTHERS,
    "outsider",
    Send(button="tr:«idea1»:fwdto:«u:HCM-Q7»"),
    doc="another unit's support member forwards MAY's idea with a valid target",
    keys=NOT_ALLOWED,
    alert=True,
)
for _name, _who, _data, _doc in [
    ("author-approves", "worker", "tr:«idea1»:ok", "the author approves their own idea"),
    ("author-declines", "worker", "tr:«idea1»:nor:duplicate", "the author declines their own"),
    ("english-worker-approves", "en_worker", "tr:«idea1»:ok", "an English worker presses it"),
    ("no-unit-asks", "newbie", "tr:«idea1»:ask", "someone with no unit asks a question"),
    ("stranger-approves", "stranger", "tr:«idea1»:ok", "a never-seen user approves"),
    ("approve-forwarded-above", "anh", "tr:«idea4»:ok", "MAY approves an idea now held above"),
    ("forward-not-held", "anh", "tr:«idea4»:fwdto:«u:HCM»", "MAY forwards what it no longer holds"),
    ("approve-other-unit", "anh", "tr:«idea5»:ok", "MAY's team approves DIEN's idea"),
]:
    case(
        f"card-{_name}",
        OTHERS,
        _who,
        Send(button=_data),
        doc=_doc,
        keys=NOT_ALLOWED,
        alert=True,
    )
for _who in ("dien_worker", "en_outsider", "worker"):
    case(
        f"card-in-team-group-by-{_who}",
        OTHERS,
        _who,
        Send(button="tr:«idea5»:ok", chat="team_group"),
        doc="a group member who is not on the team presses the card in the team's group",
        keys=NOT_ALLOWED,
        alert=True,
    )
for _name, _who, _data, _doc in [
    ("answer", "worker", "ans:«idea3»", "another worker's Answer button"),
    ("submit", "worker", "idea:«n:form_review»:review:submit", "another worker's Submit button"),
    ("edit", "en_worker", "idea:«n:form_edit»:edit:pick:title", "another worker's Edit button"),
    ("category", "joining", "idea:«n:form_category»:category:pick:other", "another's category"),
    ("join", "worker", "join:«n:joining»:search:yes:«u:HCM-Q7-DIEN»", "another's Join button"),
    ("send-answer", "worker", "answer:«n:asked»:collect:send", "another's Send answer button"),
    ("offer", "outsider", "offer:«n:offered»:confirm:yes", "another's 'send as idea' button"),
    ("question", "anh", "triage:«n:binh»:question:x", "a teammate's pending question"),
]:
    case(
        f"card-someone-elses-{_name}-button",
        OTHERS,
        _who,
        Send(button=_data),
        doc=_doc,
        keys=("answer.no_question",) if _data.startswith("ans:") else STALE,
    )

# ---------------------------------------------------------------- replayed update ids

REPLAYED: Final = "replayed-update"
for _label, _doc in [
    ("submit-1", "the Submit press that created idea1"),
    ("approve-2", "the approval of idea2"),
    ("question-3", "the support team's question on idea3"),
    ("forward-4", "the forwarding of idea4"),
    ("group-bind", "the group's /start with the team's invite"),
    ("anh-support", "a support invite redeemed"),
    ("worker-used-up", "the redemption that used an invite up"),
    ("offered-long", "a long text offered as an idea"),
    ("form_body-text", "a text added to a draft"),
]:
    case(
        f"replay-{_label}",
        REPLAYED,
        "worker",
        Send(replay=_label),
        doc=f"Telegram delivers again {_doc}",
        answer=DUPLICATE,
    )
for _name, _who, _first, _again in [
    ("text", "form_body", Send(text=SHORT_NOTE), Send(text=SHORT_NOTE, same_update=True)),
    ("photo", "form_body", Send(files=(photo(50),)), Send(files=(photo(50),), same_update=True)),
    (
        "other-content-same-id",
        "form_body",
        Send(text=SHORT_NOTE),
        Send(text="hoàn toàn khác", same_update=True),
    ),
    (
        "submit",
        "form_review",
        Send(button="idea:«n»:review:submit"),
        Send(button="idea:«n»:review:submit", same_update=True),
    ),
    (
        "approve",
        "anh",
        Send(button="tr:«idea1»:ok"),
        Send(button="tr:«idea1»:ok", same_update=True),
    ),
    (
        "invite",
        "newbie",
        Send(text="/start «tok:member_may»"),
        Send(text="/start «tok:member_may»", same_update=True),
    ),
    (
        "group-bind",
        "stranger",
        Send(text="/start «tok:support_dien»", chat="strange_group"),
        Send(text="/start «tok:support_dien»", chat="strange_group", same_update=True),
    ),
    (
        "triage-question",
        "binh",
        Send(text="Máy nào, ở đâu?"),
        Send(text="Máy nào, ở đâu?", same_update=True),
    ),
]:
    case(
        f"replay-at-once-{_name}",
        REPLAYED,
        _who,
        _first,
        _again,
        doc=f"a {_name} update delivered twice in a row: the second time does nothing",
        answer=DUPLICATE,
    )

# ---------------------------------------------------------------- commands out of place

COMMANDS: Final = "wrong-command"
for _name, _who, _text, _keys, _may in [
    ("cancel-nothing", "worker", "/cancel", ("common.nothing_to_cancel",), ()),
    ("start-mid-form", "form_review", "/start", ("start.welcome_back",), ()),
    ("idea-mid-form", "form_review", "/idea", ("idea.already_open",), ()),
    ("idea-while-joining", "joining", "/idea", ("idea.need_unit",), CONV),
    ("idea-without-unit", "newbie", "/idea", ("idea.need_unit",), CONV),
    ("idea-mid-triage-question", "binh", "/idea", ("idea.ask_body",), CONV),
    ("idea-mid-answer", "asked", "/idea", ("idea.ask_body",), CONV),
    ("join-mid-form", "form_body", "/join", ("idea.already_open",), ()),
    ("myideas-mid-title", "form_title", "/myideas", ("my.none",), ()),
    ("myideas-without-ideas", "newbie", "/myideas", ("my.none",), ()),
    ("queue-by-worker", "worker", "/queue", ("queue.not_support",), ()),
    ("unknown", "worker", "/foo", ("common.unknown_command",), ()),
    ("unknown-mid-amount", "form_amount", "/skip", ("common.unknown_command",), ()),
    ("unknown-non-ascii", "worker", "/đổi", ("common.unknown_command",), ()),
    ("unknown-digits", "worker", "/123", ("common.unknown_command",), ()),
    ("bare-slash", "worker", "/", ("common.hint",), ()),
    ("double-slash", "worker", "//", ("common.hint",), ()),
    ("other-bots-command", "worker", "/start@other_bot", ("common.hint",), ()),
    ("upper-case", "worker", "/START", ("start.welcome_back",), ()),
    ("help-huge-args", "worker", "/help " + "x" * 5000, ("help.page1",), ()),
    ("lang-unknown", "worker", "/lang klingon", ("lang.choose",), ()),
    ("lang-html", "worker", "/lang <b>en</b>", ("lang.choose",), ()),
    ("lang-switch-mid-form", "form_body", "/lang en", ("lang.set",), ("languages",)),
    ("lang-english-to-vietnamese", "en_worker", "/lang vi", ("lang.set",), ("languages",)),
    ("start-huge-payload", "worker", "/start " + "A" * 5000, ("invite.invalid",), ()),
    ("progress-by-worker", "worker", "/progress", (), ()),
    ("export-by-worker-other-unit", "worker", "/export HCM <b>", (), ()),
    ("cancel-mid-answer", "asked", "/cancel", ("common.cancelled",), CONV),
    ("cancel-mid-triage-question", "binh", "/cancel", ("common.cancelled",), CONV),
]:
    case(
        f"command-{_name}",
        COMMANDS,
        _who,
        Send(text=_text),
        doc=f"{_text[:30]!r} sent by {CAST[_who].state}",
        keys=_keys,
        may=_may,
    )
for _name, _who, _text, _chat, _keys in [
    ("idea-in-strange-group", "worker", "/idea", "strange_group", ("group.private_only_link",)),
    ("cancel-in-strange-group", "worker", "/cancel", "strange_group", ("group.private_only_link",)),
    ("start-in-strange-group", "worker", "/start", "strange_group", ("group.private_only_link",)),
    ("queue-in-strange-group", "worker", "/queue", "strange_group", ("queue.not_support",)),
    ("myideas-in-team-group", "outsider", "/myideas", "team_group", ("group.private_only_link",)),
    ("cancel-in-team-group", "outsider", "/cancel", "team_group", ("group.private_only_link",)),
    ("queue-in-team-group", "dien_worker", "/queue", "team_group", ("queue.not_support",)),
    (
        "member-invite-in-group",
        "anh",
        "/start «tok:member_spare»",
        "team_group",
        ("invite.private_only",),
    ),
]:
    case(
        f"command-{_name}",
        COMMANDS,
        _who,
        Send(text=_text, chat=_chat),
        doc=f"{_text!r} sent in a group",
        keys=_keys,
    )

# ---------------------------------------------------------------- media where text is expected

MEDIA: Final = "wrong-media"
_MEDIA: Final[list[tuple[str, Send]]] = [
    ("photo", Send(files=(photo(90),))),
    ("voice", Send(files=(VOICE,))),
    ("document-html-name", Send(files=(DOCUMENT,), text="<i>chú thích</i> & bản vẽ")),
    ("sticker", Send(other=OtherContent.STICKER)),
    ("location", Send(other=OtherContent.LOCATION)),
    ("poll", Send(other=OtherContent.POLL)),
    ("video-note", Send(other=OtherContent.VIDEO_NOTE)),
    ("unsupported", Send(other=OtherContent.UNSUPPORTED)),
]
# (state, who, what may change, media kinds sent there)
_MEDIA_STATES: Final[list[tuple[str, str, tuple[str, ...], tuple[str, ...]]]] = [
    ("amount", "form_amount", (), ("photo", "document-html-name", "sticker")),
    ("title", "form_title", (), ("voice", "location")),
    ("secret_title", "form_secret", (), ("photo", "sticker")),
    ("category", "form_category", (), ("photo", "unsupported")),
    ("confidential", "form_confidential", (), ("sticker",)),
    ("review", "form_review", (), ("photo", "voice")),
    ("edit", "form_edit", (), ("sticker",)),
    ("join", "joining", (), ("photo", "sticker")),
    ("triage-question", "binh", (), ("photo", "sticker")),
    ("offer", "offered", CONV, ("voice",)),
    ("idle", "worker", (), ("photo", "sticker", "poll", "unsupported")),
    ("no-unit", "newbie", (), ("document-html-name",)),
    ("body", "form_body", (), ("location", "video-note", "unsupported")),
    ("body-full", "form_files", (), ("document-html-name",)),
    ("answer", "asked", (), ("sticker",)),
]
_BY_KIND = dict(_MEDIA)
for _state, _who, _may, _kinds in _MEDIA_STATES:
    for _kind in _kinds:
        case(
            f"media-{_kind}-in-{_state}",
            MEDIA,
            _who,
            _BY_KIND[_kind],
            doc=f"a {_kind} sent by {CAST[_who].state}",
            may=_may,
        )
case(
    "media-eleventh-file",
    MEDIA,
    "form_files",
    Send(files=(photo(99),)),
    doc="one file more than the form takes",
    keys=("idea.too_many_files",),
)
case(
    "media-photo-with-oversized-caption",
    MEDIA,
    "form_body",
    Send(files=(photo(98),), text="x" * MAX_IDEA_BODY_CHARS),
    doc="a photo whose caption overflows the body: neither is kept",
    keys=("idea.too_long",),
)
case(
    "media-photo-with-oversized-caption-in-answer",
    MEDIA,
    "asked",
    Send(files=(photo(97),), text="x" * (MAX_IDEA_BODY_CHARS + 1)),
    doc="an answer's photo whose caption is too long: neither is kept",
    keys=("idea.too_long",),
)
case(
    "media-sticker-in-body-says-sticker",
    MEDIA,
    "form_body_empty",
    Send(other=OtherContent.STICKER),
    doc="a sticker in the body step is named, and the draft stays empty",
    keys=("idea.sticker",),
)

# ---------------------------------------------------------------- chats the bot does not serve

FOREIGN: Final = "foreign-chat"
for _name, _who, _send in [
    ("text-in-strange-group", "worker", Send(text=LONG_IDEA, chat="strange_group")),
    ("sticker-in-strange-group", "worker", Send(other=OtherContent.STICKER, chat="strange_group")),
    ("photo-in-strange-group", "worker", Send(files=(photo(70),), chat="strange_group")),
    ("html-in-strange-group", "stranger", Send(text="<b>x</b> &", chat="strange_group")),
    ("bot-added-to-strange-group", "stranger", Send(added=True, chat="strange_group")),
    ("bot-removed-from-strange-group", "stranger", Send(removed=True, chat="strange_group")),
    ("text-in-team-group", "outsider", Send(text=LONG_IDEA, chat="team_group")),
    ("photo-in-team-group", "dien_worker", Send(files=(photo(71),), chat="team_group")),
    ("bot-sender-private", "worker", Send(text=LONG_IDEA, from_bot=True)),
    ("bot-sender-invite", "newbie", Send(text="/start «tok:member_may»", from_bot=True)),
    ("bot-sender-card", "anh", Send(button="tr:«idea1»:ok", from_bot=True)),
    (
        "bot-sender-in-group",
        "outsider",
        Send(button="tr:«idea5»:ok", chat="team_group", from_bot=True),
    ),
    (
        "anonymous-admin-binds",
        "stranger",
        Send(text="/start «tok:support_dien»", chat="strange_group", from_bot=True),
    ),
    (
        "channel-post",
        "stranger",
        Send(text="Tin kênh: <b>khuyến mãi</b>", chat="strange_group", from_bot=True),
    ),
]:
    case(
        f"foreign-{_name}",
        FOREIGN,
        _who,
        _send,
        doc=f"{_name.replace('-', ' ')}: the bot keeps quiet",
        answer=IGNORED,
    )
for _name, _who, _send, _keys in [
    (
        "form-button-in-group",
        "form_review",
        Send(button="idea:«n»:review:submit", chat="strange_group"),
        ("group.private_only",),
    ),
    (
        "global-button-in-group",
        "worker",
        Send(button="g:my:0", chat="team_group"),
        ("group.private_only",),
    ),
    (
        "card-in-strange-group",
        "outsider",
        Send(button="tr:«idea1»:ok", chat="strange_group"),
        NOT_ALLOWED,
    ),
    (
        "expired-invite-in-group",
        "stranger",
        Send(text="/start «tok:expired»", chat="strange_group"),
        ("invite.invalid_group",),
    ),
    (
        "used-up-invite-in-group",
        "stranger",
        Send(text="/start «tok:support_group»", chat="strange_group"),
        ("invite.invalid_group",),
    ),
    (
        "guessed-invite-in-group",
        "stranger",
        Send(text="/start " + "A" * 32, chat="strange_group"),
        ("invite.invalid_group",),
    ),
]:
    case(
        f"foreign-{_name}",
        FOREIGN,
        _who,
        _send,
        doc=f"{_name.replace('-', ' ')}: a clear refusal",
        keys=_keys,
    )
case(
    "foreign-bot-removed-from-team-group",
    FOREIGN,
    "outsider",
    Send(removed=True, chat="team_group"),
    doc="the bot removed from DIEN's group: only the binding goes, silently",
    answer=IGNORED,
    must=("team_chats",),
)

# ---------------------------------------------------------------- invite tokens

INVITES: Final = "invite-token"
_GUESSES: Final[list[tuple[str, str]]] = [
    ("random-shaped", "Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4"),
    ("last-char-changed", "«tok:member_may/last»"),
    ("prefix", "«tok:member_may/prefix»"),
    ("lower-cased", "«tok:member_may/lower»"),
    ("sixty-five-chars", "A" * 65),
    ("sql-injection", "' OR '1'='1' --"),
    ("cyrillic-lookalike", "АВСDЕFGHІJКLМNОРQRSТUVWХYZ"),
    ("zero-width-inside", "«tok:member_may/zwsp»"),
    ("two-words", "«tok:member_may» «tok:member_dien»"),
]
for _name, _token in _GUESSES:
    case(
        f"invite-guessed-{_name}",
        INVITES,
        "newbie",
        Send(text=f"/start {_token}"),
        doc=f"a guessed or mangled invite token ({_name})",
        keys=("invite.invalid",),
    )
for _name, _who, _token, _keys in [
    ("expired", "newbie", "expired", ("invite.expired",)),
    ("expired-english", "en_worker", "expired", ("invite.expired",)),
    ("expired-support", "newbie", "support_expired", ("invite.expired",)),
    ("expired-official", "worker", "official_expired", ("invite.expired",)),
    ("used-up", "newbie", "used_up", ("invite.used_up",)),
    ("used-up-by-its-user", "worker", "used_up", ("invite.used_up",)),
    ("used-up-stranger", "stranger", "used_up", ("invite.used_up",)),
    ("revoked", "newbie", "revoked", ("invite.invalid",)),
    ("already-member", "worker", "member_spare", ("invite.already_member",)),
    ("expired-mid-form", "form_review", "expired", ("invite.expired",)),
]:
    case(
        f"invite-{_name}",
        INVITES,
        _who,
        Send(text=f"/start «tok:{_token}»"),
        doc=f"an invite that cannot be used ({_name})",
        keys=_keys,
    )
case(
    "invite-expired-twice-then-valid-keeps-count",
    INVITES,
    "newbie",
    Send(text="/start «tok:expired»"),
    Send(text="/start «tok:expired»"),
    Send(text="/start «tok:member_spare»"),
    doc="refused tries do not count: the valid invite then counts exactly one use",
    may=("memberships", "invites"),
    must=("memberships", "invites"),
    keys=("invite.joined",),
)
