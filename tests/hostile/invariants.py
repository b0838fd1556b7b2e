"""What must hold whatever the input: valid messages, a valid state, nothing changed unasked.

Reusable by any test that drives the flows (:mod:`tests.flows.harness`):

* :func:`message_problems` — one queued message is something Telegram accepts: HTML its
  parser takes (the stand-in's faithful port of Telegram's, strict about ``&``), at most
  4096 characters (1024 for a caption) after entity parsing, not empty, buttons with a
  label and 1–64 bytes of callback data, and no traceback or raw exception text;
* :class:`Texts` — which catalogue texts a reply shows, and whether it is in the right
  language (an English reply contains no text only the Vietnamese catalogue has, and the
  other way round);
* :func:`snapshot` / :func:`changed_parts` / :func:`lost_ideas` — the stored data that
  matters, to compare before and after;
* :func:`state_problems` — every conversation at a step its flow knows with the data that
  step needs, every idea with one ``submitted`` event and a reference code in an unbroken
  yearly sequence, every status known and every decision matching the audit trail.
"""

from __future__ import annotations

import html
import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from types import ModuleType
from typing import Any

import sqlalchemy
from babel.messages.pofile import read_po
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.pool import NullPool

from handlers import router
from handlers.context import language_of
from handlers.events import Incoming, OutMessage
from handlers.flows import idea_draft
from handlers.i18n import DEFAULT_LOCALES_DIR, DOMAIN
from handlers.language import reply_language
from handlers.limits import (
    MAX_CALLBACK_DATA_BYTES,
    MAX_CAPTION_CHARS,
    MAX_IDEA_BODY_CHARS,
    MAX_IDEA_FILES,
    MAX_TEXT_CHARS,
)
from handlers.safe_html import telegram_html_problems
from handlers.team import GROUP_LANGUAGE
from standins.telegram.html import HtmlParseError, parse_html
from storage.models import (
    Attachment,
    Benefit,
    Category,
    Conversation,
    Counter,
    Idea,
    IdeaEvent,
    IdeaStatus,
    Identity,
    Invite,
    OutboxMessage,
    Person,
    Role,
    TeamChat,
)
from tests.flows.harness import Harness, Result

REF_CODE = re.compile(r"SK-(\d{4})-(\d{6})")
DECISIONS = {"approved": IdeaStatus.APPROVED.value, "declined": IdeaStatus.DECLINED.value}
# What a crash leaks when it is turned into text: never in front of a user.
LEAKS = re.compile(
    r"Traceback \(most recent call last\)|\b(?:Key|Value|Type|Attribute|Index|Unicode\w*)Error\b"
    r"|\bsqlalchemy\b|\bsqlite3?\b|\bIntegrityError\b|\bOperationalError\b|\bNoneType\b"
    r"|\bException\b|\bFile \"/"
)


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


# ---------------------------------------------------------------- one message

COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")


def menu_problems(message: OutMessage) -> list[str]:
    """A command menu Telegram's setMyCommands accepts: 1-100 commands, each a lower-case
    name of 1-32 characters and a description of 1-256, no name twice, and no text."""
    assert message.menu is not None
    commands = message.menu.commands
    problems = [] if 1 <= len(commands) <= 100 else [f"{len(commands)} commands in a menu"]
    names = [name for name, _ in commands]
    if len(set(names)) != len(names):
        problems.append(f"a command twice in the menu: {names}")
    for name, description in commands:
        if not COMMAND_NAME.fullmatch(name):
            problems.append(f"command name {name!r}")
        if not 1 <= len(description.strip()) <= 256:
            problems.append(f"command {name}: description {description!r}")
    if message.text or message.buttons or message.file is not None:
        problems.append("a menu message that also carries a text, buttons or a file")
    return problems


def message_problems(message: OutMessage) -> list[str]:
    """Why Telegram would refuse ``message``, or why a user should never see it; ``[]`` if fine."""
    if message.menu is not None:
        return menu_problems(message)
    problems = [f"HTML: {p}" for p in telegram_html_problems(message.text)]
    try:
        visible, _ = parse_html(message.text, strict_ampersand=True)
    except HtmlParseError as error:
        problems.append(f"Telegram's parser refuses it: {error}")
        visible = message.text
    visible = visible.strip(" \t\r\n")
    limit = MAX_CAPTION_CHARS if message.file is not None else MAX_TEXT_CHARS
    length = utf16_length(visible)
    if length > limit:
        problems.append(f"{length} characters after entity parsing, over {limit}")
    if not visible and message.file is None:
        problems.append("empty text")
    if any(0xD800 <= ord(c) <= 0xDFFF for c in message.text):
        problems.append("a lone surrogate: not UTF-8, the request would fail")
    if leak := LEAKS.search(visible):
        problems.append(f"raw error text {leak.group()!r}")
    for row in message.buttons:
        if not row:
            problems.append("an empty row of buttons")
        for button in row:
            size = len(button.data.encode("utf-8", "surrogatepass"))
            if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
                problems.append(f"callback data of {size} bytes: {button.data!r}")
            if not button.text.strip():
                problems.append(f"a button without a label ({button.data!r})")
    return problems


MAX_NOTICE_CHARS = 200  # answerCallbackQuery's text
# The bot's own tags, or entities: the text was escaped for HTML and shown as plain text.
_MARKUP = re.compile(
    r"</?(?:b|i|u|s|code|pre|a|blockquote|tg-spoiler)\b[^>]*>|&(?:#\d+|#x[0-9A-Fa-f]+|lt|gt|amp|quot);"
)


def notice_problems(text: str, texts: Texts, lang: str | None) -> list[str]:
    """A button notice is plain text (no parse mode): short, no markup, no entities."""
    if not text:
        return []
    problems = []
    if utf16_length(text) > MAX_NOTICE_CHARS:
        problems.append(f"notice of {utf16_length(text)} characters, over {MAX_NOTICE_CHARS}")
    if markup := _MARKUP.search(text):
        problems.append(f"notice shows raw markup {markup.group()!r}: {text!r}")
    if leak := LEAKS.search(text):
        problems.append(f"notice shows raw error text {leak.group()!r}")
    if lang is not None:
        problems.extend(f"notice: {p}" for p in texts.language_problems(text, lang))
    return problems


# ---------------------------------------------------------------- texts and languages


@dataclass(frozen=True)
class Template:
    key: str
    lang: str
    literal: str  # the text without its placeholders, HTML decoded
    parts: tuple[str, ...]  # the HTML between its placeholders, in order

    def found_in(self, text: str) -> bool:
        """Whether ``text`` shows this template, whatever went into its placeholders.

        Its parts in order, each after the one before: what a regular expression with
        ``.*?`` for every placeholder says, without its backtracking on long texts.
        """
        position = 0
        for part in self.parts:
            found = text.find(part, position)
            if found < 0:
                return False
            position = found + len(part)
        return True


class Texts:
    """The catalogues, read straight from the ``.po`` files, to recognise what a reply says."""

    MIN_FRAGMENT = 10  # characters: shorter shared words ("SK-", "OK") prove nothing

    def __init__(self, templates: Mapping[str, Mapping[str, str]], names: Iterable[str] = ()):
        self.templates: dict[str, dict[str, Template]] = {
            lang: {key: _template(key, lang, text) for key, text in entries.items()}
            for lang, entries in templates.items()
        }
        names = list(names)
        fragments = {lang: self._fragments(lang) for lang in self.templates}
        self.only: dict[str, frozenset[str]] = {}
        for lang, own in fragments.items():
            others = "\n".join(
                t.literal
                for other, ts in self.templates.items()
                if other != lang
                for t in ts.values()
            )
            self.only[lang] = frozenset(
                f for f in own if f not in others and not any(f in n for n in names)
            )

    @classmethod
    def load(cls, names: Iterable[str] = ()) -> Texts:
        return cls(_read_catalogues(), names)

    def _fragments(self, lang: str) -> set[str]:
        found: set[str] = set()
        for template in self.templates[lang].values():
            for line in template.literal.split("\n"):
                for part in re.split(r"\s{2,}|\x00", line):
                    part = part.strip()
                    if len(part) >= self.MIN_FRAGMENT and any(c.isalpha() for c in part):
                        found.add(part)
        return found

    @cached_property
    def markup_parts(self) -> frozenset[str]:
        """Pieces of the catalogues' own markup with text around the tags ("</b> · ")."""
        return frozenset(
            part
            for templates in self.templates.values()
            for template in templates.values()
            for part in template.parts
            if re.search(r"</?[a-z-]+[^>]*>", part) and re.sub(r"<[^>]*>", "", part).strip()
        )

    def markup_problems(self, text: str) -> list[str]:
        """The bot's own markup shown as text: HTML escaped twice (a plain ``str`` joined to
        :class:`~handlers.safe_html.Html` is escaped again)."""
        visible = _visible(text)
        shown = sorted(part for part in self.markup_parts if part in visible)
        return [f"its own markup shown as text: {shown[:3]}"] if shown else []

    def shows(self, text: str, key: str, lang: str) -> bool:
        """Whether ``text`` contains the text of ``key`` in ``lang``, whatever its parameters."""
        return self.templates[lang][key].found_in(text)

    def language_problems(self, text: str, lang: str) -> list[str]:
        """Texts of another language in a reply that should be in ``lang``."""
        visible = _visible(text)
        problems = []
        for other, only in self.only.items():
            if other == lang:
                continue
            leaked = sorted(f for f in only if f in visible)
            if leaked:
                problems.append(f"{other} text in a {lang} reply: {leaked[:3]}")
        known = [
            t
            for t in self.templates[lang].values()
            if len(t.literal.strip()) >= 3 and t.found_in(text)
        ]
        if not known:
            problems.append(f"no {lang} catalogue text in {visible[:80]!r}")
        return problems


def _visible(text: str) -> str:
    try:
        return parse_html(text)[0]
    except HtmlParseError:
        return text


def _template(key: str, lang: str, text: str) -> Template:
    literal: list[str] = []
    parts: list[str] = []
    for prefix, field_name, _, _ in string.Formatter().parse(text):
        literal.append(prefix)
        if prefix:
            parts.append(prefix)
        if field_name is not None:
            literal.append("\x00")  # a gap no fragment spans
    visible = html.unescape(re.sub(r"<[^>]*>", "", "".join(literal)))
    return Template(key, lang, visible, tuple(parts))


@cache
def _read_catalogues() -> dict[str, dict[str, str]]:
    catalogues: dict[str, dict[str, str]] = {}
    for sub in sorted(DEFAULT_LOCALES_DIR.iterdir()):
        path = sub / "LC_MESSAGES" / f"{DOMAIN}.po"
        if not path.is_file():
            continue
        with path.open("rb") as f:
            catalog = read_po(f)
        entries: dict[str, str] = {}
        for message in catalog:
            if not message.id:
                continue
            if isinstance(message.id, tuple):
                for n, form in enumerate(message.string or ()):
                    entries[f"{message.id[0]}#{n}"] = str(form)
            else:
                entries[str(message.id)] = str(message.string or "")
        catalogues[sub.name] = entries
    return catalogues


# ---------------------------------------------------------------- the outbox


async def outbox_mark(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        return int((await session.execute(select(func.max(OutboxMessage.id)))).scalar() or 0)


async def outbox_problems(
    sessionmaker: async_sessionmaker[AsyncSession],
    texts: Texts,
    *,
    after: int = 0,
    reply_lang: str | None = None,
) -> list[str]:
    """Problems of every outbox row after id ``after``.

    Replies (priority 0) must be in ``reply_lang`` (unless None); messages to other people
    in theirs, to a team group in the group language.
    """
    problems: list[str] = []
    async with sessionmaker() as session:
        rows = (
            await session.execute(
                select(OutboxMessage).where(OutboxMessage.id > after).order_by(OutboxMessage.id)
            )
        ).scalars()
        for row in rows:
            message = OutMessage.from_json(row.payload)
            where = f"outbox {row.id} ({row.purpose or 'reply'} to {row.chat_id})"
            problems.extend(f"{where}: {p}" for p in message_problems(message))
            if message.menu is not None:
                continue  # a chat's command menu, not a message anyone reads in the chat
            problems.extend(f"{where}: {p}" for p in texts.markup_problems(message.text))
            if message.file is not None and not message.text:
                continue
            if row.priority == 0:
                lang = reply_lang
            elif row.person_id is not None:
                person = await session.get(Person, row.person_id)
                lang = language_of(person) if person else None
            else:
                lang = GROUP_LANGUAGE
            if lang is not None:
                problems.extend(
                    f"{where}: {p}" for p in texts.language_problems(message.text, lang)
                )
    return problems


async def sender_language(
    sessionmaker: async_sessionmaker[AsyncSession], incoming: Incoming
) -> str | None:
    """The language the sender must be answered in, as stored after the update (None: no one)."""
    async with sessionmaker() as session:
        person = (
            await session.execute(
                select(Person)
                .join(Identity, Identity.person_id == Person.id)
                .where(
                    Identity.channel == incoming.channel,
                    Identity.external_id == incoming.sender.external_id,
                )
            )
        ).scalar_one_or_none()
    if person is None:
        return None
    return reply_language(
        chosen=person.language,
        telegram_language_code=person.platform_language,
        text=incoming.text,
    )


async def event_problems(
    h: Harness, texts: Texts, incoming: Incoming, mark: int
) -> tuple[Result, str | None, list[str]]:
    """Feed one event through the harness: its result, the sender's language, and every
    problem with what it queued (outbox rows after ``mark``) and with the button notice.

    ``Dispatcher.handle`` must return normally: an exception propagates to the test.
    """
    result = await h.feed(incoming)
    lang = await sender_language(h.sessionmaker, incoming)
    problems = await outbox_problems(h.sessionmaker, texts, after=mark, reply_lang=lang)
    if result.answer is not None:
        problems.extend(notice_problems(result.answer.text, texts, lang))
    return result, lang, problems


# ---------------------------------------------------------------- snapshots


# Every table the checks read, as plain rows (Core, not ORM objects: it is fast).
_TABLES: dict[str, Any] = {
    "ideas": Idea,
    "idea_events": IdeaEvent,
    "attachments": Attachment,
    "roles": Role,
    "people": Person,
    "invites": Invite,
    "team_chats": TeamChat,
    "counters": Counter,
    "conversations": Conversation,
}
Tables = dict[str, list[Any]]


async def read_tables(sessionmaker: async_sessionmaker[AsyncSession]) -> Tables:
    """The rows :func:`snapshot_of` and :func:`problems_of` look at, in one read."""
    async with sessionmaker() as session:
        return {
            name: list(await session.execute(select(model.__table__)))
            for name, model in _TABLES.items()
        }


def remove_database(path: Path) -> None:
    """Delete a SQLite file with its WAL and shared-memory files."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def read_sqlite_file(path: Path) -> Tables:
    """:func:`read_tables` for a SQLite file, synchronously: several times faster, and the
    same rows (the same column types turn them into Python values)."""
    engine = sqlalchemy.create_engine(f"sqlite:///{path}", poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return {
                name: list(conn.execute(select(model.__table__))) for name, model in _TABLES.items()
            }
    finally:
        engine.dispose()


def snapshot_of(tables: Tables) -> dict[str, Any]:
    """The stored data a hostile update must not change unless it is meant to."""

    def by_id(rows: list[Any]) -> list[Any]:
        return sorted(rows, key=lambda row: row.id)

    return {
        "ideas": {
            i.ref_code: (
                i.id,
                i.author_id,
                i.unit_id,
                i.holder_unit_id,
                i.title,
                i.body,
                i.category,
                i.benefit,
                i.benefit_amount,
                i.confidential,
                i.language,
                i.status,
                i.version,
            )
            for i in tables["ideas"]
        },
        "idea_events": [
            (e.id, e.idea_id, e.kind, e.actor_id, e.note, e.data)
            for e in by_id(tables["idea_events"])
        ],
        "attachments": [
            (a.id, a.idea_id, a.event_id, a.kind, a.file_id, a.file_name)
            for a in by_id(tables["attachments"])
        ],
        "roles": sorted(
            (r.person_id, r.unit_id, r.role, r.revoked_at is None) for r in tables["roles"]
        ),
        "memberships": {p.id: p.unit_id for p in tables["people"] if p.unit_id is not None},
        "languages": {p.id: p.language for p in tables["people"] if p.language is not None},
        "invites": {i.id: (i.uses, i.revoked_at) for i in tables["invites"]},
        "team_chats": sorted((t.channel, t.chat_id, t.unit_id) for t in tables["team_chats"]),
        "counters": {c.name: c.value for c in tables["counters"]},
        "conversations": {
            c.chat_key: (c.flow, c.step, c.data) for c in tables["conversations"] if c.flow
        },
    }


async def snapshot(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
    return snapshot_of(await read_tables(sessionmaker))


PARTS = (
    "ideas",
    "idea_events",
    "attachments",
    "roles",
    "memberships",
    "languages",
    "invites",
    "team_chats",
    "counters",
    "conversations",
)


def changed_parts(before: Mapping[str, Any], after: Mapping[str, Any]) -> set[str]:
    return {part for part in PARTS if before[part] != after[part]}


def lost_ideas(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """Ideas or audit events that existed before and are gone or rewritten now."""
    problems = []
    for ref, idea in before["ideas"].items():
        now = after["ideas"].get(ref)
        if now is None:
            problems.append(f"idea {ref} disappeared")
        elif now[:3] + now[4:6] != idea[:3] + idea[4:6]:
            problems.append(f"idea {ref}: author, unit, title or text changed")
    old_events = before["idea_events"]
    if after["idea_events"][: len(old_events)] != old_events:
        problems.append("the audit trail was rewritten (idea_events is append-only)")
    old_files = before["attachments"]
    if after["attachments"][: len(old_files)] != old_files:
        problems.append("attachments were removed or changed")
    return problems


# ---------------------------------------------------------------- the whole state


@cache
def flow_steps() -> dict[str, frozenset[str]]:
    """Every (flow, step) the code knows, collected from the flow modules themselves."""
    known: dict[str, frozenset[str]] = {}
    for name, flow in router.FLOWS.items():
        module = flow if isinstance(flow, ModuleType) else None
        assert module is not None, f"flow {name} is not a module"
        table = getattr(module, "STEPS", None)
        if isinstance(table, dict):
            steps = set(table)
        else:
            steps = {
                value
                for attr, value in vars(module).items()
                if attr.isupper()
                and attr != "FLOW"
                and isinstance(value, str)
                and value.isidentifier()
            }
        known[name] = frozenset(steps)
    return known


_REVIEW_KEYS = ("category", "benefit", "confidential")
_IDEA_NEEDS: dict[str, tuple[str, ...]] = {
    idea_draft.BODY: (),
    idea_draft.CATEGORY: (),
    idea_draft.BENEFIT: ("category",),
    idea_draft.AMOUNT: ("category", "benefit"),
    idea_draft.CONFIDENTIAL: ("category", "benefit"),
    idea_draft.REVIEW: _REVIEW_KEYS,
    idea_draft.EDIT: _REVIEW_KEYS,
    idea_draft.TITLE: _REVIEW_KEYS,
}


# Steps a confidential idea reaches only with a title the worker typed.
_NEED_TITLE_IF_CONFIDENTIAL = (idea_draft.REVIEW, idea_draft.EDIT)


def conversation_problems(
    key: str, flow: str | None, step: str | None, data: Any, idea_ids: set[int]
) -> list[str]:
    """Why a stored conversation could not be resumed, or ``[]``."""
    where = f"conversation {key} ({flow}/{step})"
    if flow is None:
        return [f"{where}: a step without a flow"] if step is not None else []
    steps = flow_steps()
    if flow not in steps:
        return [f"{where}: unknown flow"]
    if step not in steps[flow]:
        return [f"{where}: unknown step (known: {sorted(steps[flow])})"]
    if not isinstance(data, dict) or not isinstance(data.get("n"), str) or not data["n"]:
        return [f"{where}: no nonce"]
    if key.count(":") > 1 and flow != "triage":
        return [f"{where}: only triage runs in a group"]
    problems: list[str] = []
    if flow in ("idea", "answer"):
        problems.extend(_draft_problems(where, data))
    if flow == "idea":
        needs = _REVIEW_KEYS if data.get("editing") else _IDEA_NEEDS[step]
        problems.extend(f"{where}: needs {k!r}" for k in needs if k not in data)
        if "category" in data and data["category"] not in {c.value for c in Category}:
            problems.append(f"{where}: category {data['category']!r}")
        if "benefit" in data and data["benefit"] not in {b.value for b in Benefit}:
            problems.append(f"{where}: benefit {data['benefit']!r}")
        if "confidential" in data and not isinstance(data["confidential"], bool):
            problems.append(f"{where}: confidential {data['confidential']!r}")
        amount = data.get("amount")
        if amount is not None and (not isinstance(amount, int) or amount < 0):
            problems.append(f"{where}: amount {amount!r}")
        title = data.get("title")
        if title is not None and (not isinstance(title, str) or not title.strip()):
            problems.append(f"{where}: title {title!r}")
        if step in _NEED_TITLE_IF_CONFIDENTIAL and data.get("confidential") and not title:
            problems.append(f"{where}: confidential at {step} without a typed title")
    elif flow == "join":
        if data.get("after") not in (None, "idea"):
            problems.append(f"{where}: after {data.get('after')!r}")
    elif flow == "offer":
        if not isinstance(data.get("text"), str) or not data["text"].strip():
            problems.append(f"{where}: nothing to offer")
    elif flow in ("triage", "answer") and data.get("idea_id") not in idea_ids:
        problems.append(f"{where}: idea {data.get('idea_id')!r} does not exist")
    if flow == "answer" and "suspended" in data:
        held = data["suspended"]
        if not isinstance(held, dict) or held.get("flow") == "answer":
            problems.append(f"{where}: suspended {held!r}")
        else:
            problems.extend(
                conversation_problems(
                    f"{key} (suspended)",
                    held.get("flow"),
                    held.get("step"),
                    held.get("data"),
                    idea_ids,
                )
            )
    return problems


def _draft_problems(where: str, data: dict[str, Any]) -> list[str]:
    body, files = data.get("body"), data.get("files")
    if not isinstance(body, list) or not all(isinstance(p, str) and p for p in body):
        return [f"{where}: body {body!r}"]
    if not isinstance(files, list) or not all(
        isinstance(f, dict) and f.get("file_id") for f in files
    ):
        return [f"{where}: files {files!r}"]
    problems = []
    if len("\n\n".join(body)) > MAX_IDEA_BODY_CHARS:
        problems.append(f"{where}: body over {MAX_IDEA_BODY_CHARS} characters")
    if len(files) > MAX_IDEA_FILES:
        problems.append(f"{where}: {len(files)} files, over {MAX_IDEA_FILES}")
    if any(0xD800 <= ord(c) <= 0xDFFF for part in body for c in part):
        problems.append(f"{where}: a lone surrogate in the draft (it could never be stored)")
    return problems


async def state_problems(sessionmaker: async_sessionmaker[AsyncSession]) -> list[str]:
    """Everything wrong with the stored state, or ``[]``."""
    return problems_of(await read_tables(sessionmaker))


def problems_of(tables: Tables) -> list[str]:
    """Everything wrong with the state in ``tables`` (from :func:`read_tables`), or ``[]``."""
    problems: list[str] = []
    ideas = sorted(tables["ideas"], key=lambda row: row.id)
    events = sorted(tables["idea_events"], key=lambda row: row.id)
    files = tables["attachments"]
    counters = {c.name: c.value for c in tables["counters"]}
    conversations = tables["conversations"]
    by_idea: dict[int, list[Any]] = {}
    for event in events:
        by_idea.setdefault(event.idea_id, []).append(event)
    numbers: dict[str, list[int]] = {}
    for idea in ideas:
        where = f"idea {idea.ref_code}"
        match = REF_CODE.fullmatch(idea.ref_code)
        if match is None:
            problems.append(f"{where}: reference code not SK-YYYY-NNNNNN")
        else:
            numbers.setdefault(match.group(1), []).append(int(match.group(2)))
            if int(match.group(1)) != idea.created_at.year:
                problems.append(f"{where}: year differs from its creation {idea.created_at}")
        if idea.status not in {s.value for s in IdeaStatus}:
            problems.append(f"{where}: status {idea.status!r}")
        trail = by_idea.get(idea.id, [])
        kinds = [e.kind for e in trail]
        if kinds.count("submitted") != 1 or kinds[:1] != ["submitted"]:
            problems.append(f"{where}: events {kinds} (one 'submitted', first)")
        decisions = [k for k in kinds if k in DECISIONS]
        if idea.status in DECISIONS.values():
            if not decisions or DECISIONS[decisions[-1]] != idea.status:
                problems.append(f"{where}: status {idea.status} but decisions {decisions}")
        elif decisions:
            problems.append(f"{where}: still {idea.status} after {decisions}")
        # Waiting for the worker's answer means a question is open. (The other way round
        # does not hold: a team may still decide or forward while its question is open.)
        asks = [k for k in kinds if k in ("info_requested", "info_added")]
        if idea.status == IdeaStatus.INFO_REQUESTED.value and asks[-1:] != ["info_requested"]:
            problems.append(f"{where}: waiting for an answer, but the questions are {asks}")
        forwards = [e for e in trail if e.kind == "forwarded"]
        holder = (forwards[-1].data or {}).get("to") if forwards else idea.unit_id
        if holder != idea.holder_unit_id:
            problems.append(f"{where}: held by {idea.holder_unit_id}, the trail says {holder}")
        if not idea.title.strip() or (
            not idea.body.strip() and not any(f.idea_id == idea.id for f in files)
        ):
            problems.append(f"{where}: no title or no content")
        # Above the unit a confidential idea shows its title: one the worker typed, never
        # one derived from the text (issue 15).
        if idea.confidential and not idea.title_given:
            problems.append(f"{where}: confidential with a title derived from its text")
    for year, found in numbers.items():
        if sorted(found) != list(range(1, len(found) + 1)):
            problems.append(f"{year}: reference numbers {sorted(found)} are not 1..{len(found)}")
        if counters.get(f"idea-{year}") != len(found):
            problems.append(
                f"{year}: counter {counters.get(f'idea-{year}')} for {len(found)} ideas"
            )
    idea_ids = {i.id for i in ideas}
    event_ids = {e.id: e.idea_id for e in events}
    for file in files:
        if file.idea_id not in idea_ids or (
            file.event_id is not None and event_ids.get(file.event_id) != file.idea_id
        ):
            problems.append(f"attachment {file.id}: belongs to no idea or another idea's event")
    for row in conversations:
        problems.extend(conversation_problems(row.chat_key, row.flow, row.step, row.data, idea_ids))
    return problems
