"""Any sequence of events leaves the conversation engine in a valid state (hypothesis).

A few people of the hostile world (:mod:`tests.hostile.corpus`) — a worker with ideas, an
English worker, someone with no unit, a worker at the review step, one answering a
question, two support members (one typing a question) and another unit's support member —
send random sequences of commands, texts (nasty unicode included), files, stickers and
button presses: buttons the bot showed them last (valid), buttons from earlier messages
(stale), forged callback data, events in groups, and earlier update ids again.

After every event: ``Dispatcher.handle`` returned normally, every message it queued is
valid Telegram HTML within the limits and in the right language, a replayed update id
changed nothing. After the sequence: every conversation is at a step its flow knows with
the data that step needs, every idea is intact with one ``submitted`` event and an
unbroken reference sequence, every decision matches the audit trail
(:func:`tests.hostile.invariants.problems_of`), and no idea that existed was lost.

Each example runs on a fresh copy of the world's SQLite file.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers.cards import fit
from handlers.events import ChatRef, Incoming, OtherContent
from handlers.flows import idea_form
from handlers.flows.idea_draft import REVIEW
from handlers.i18n import Catalogue
from storage.db import create_engine, create_sessionmaker
from storage.models import Conversation
from tests.flows.harness import Harness
from tests.hostile.corpus import (
    CAST,
    DOCUMENT,
    GROUPS,
    LONG_IDEA,
    NASTY_TEXTS,
    VOICE,
    Send,
    World,
    photo,
    world_once,
)
from tests.hostile.invariants import (
    Texts,
    changed_parts,
    event_problems,
    flow_steps,
    lost_ideas,
    outbox_mark,
    problems_of,
    read_sqlite_file,
    remove_database,
    snapshot,
    snapshot_of,
    utf16_length,
)

USERS = [
    "worker",
    "en_worker",
    "newbie",
    "form_body",
    "form_review",
    "form_edit",
    "form_secret",
    "asked",
    "anh",
    "binh",
    "outsider",
]
COMMANDS = ["start", "join", "idea", "myideas", "cancel", "help", "lang", "queue", "foo"]
ARGS = ["", "2", "en", "vi", "«tok:member_may»", "«tok:expired»", "«tok:support_dien»", "x" * 70]
PLAIN = [
    LONG_IDEA,
    "Lắp đèn LED ở kho",
    "5 trieu",
    "500k",
    "1",
    "3",
    "safety",
    "cong ty may phu my",
    "HCM-Q7-DIEN",
    "Máy nén số 2 ở xưởng dệt, lắp gần cửa sổ.",
    "Reuse fabric offcuts as cleaning rags to cut waste",
]
FORGED = [
    "",
    "x" * 64,
    "g:my:²",
    "g:queue:99999999999999999999",
    "g:lang:fr",
    "g:help:2",
    "idea:«n»:body:done",
    "idea:«n»:body:back",
    "idea:«n»:review:submit",
    "idea:«n»:edit:pick:body",
    "idea:«n»:category:pick:other",
    "idea:000000:review:submit",
    "join:«n»:search:yes:«u:HCM-Q7-MAY»",
    "join:«n»:search:yes:«u:HCM»",
    "offer:«n»:confirm:yes",
    "answer:«n»:collect:send",
    "tr:«idea1»:ok",
    "tr:«idea1»:ask",
    "tr:«idea1»:fwdto:«u:HCM-Q7»",
    "tr:«idea1»:nor:other",
    "tr:«idea3»:nor:duplicate",
    "tr:«idea4»:ok",
    "tr:«idea5»:no",
    "tr:²:ok",
    "ans:«idea3»",
    "ans:99999999999999999999999",
]
# Forged data with the sender's own, valid nonce: "<their flow>:<nonce>:<step>:<action>:<value>",
# the (step, action) pairs the idea form answers and the actions of the other flows.
FORM_STEPS = idea_form.STEPS.items()
FORM_ACTIONS = sorted(
    {(s, a) for s, step in FORM_STEPS for a in step.on_button} | {(REVIEW, "cancel"), ("body", "x")}
)
FLOW_ACTIONS = {
    "join": ["pick", "yes", "again", "x"],
    "offer": ["yes", "no"],
    "answer": ["send", "cancel", "x"],
    "triage": ["x"],
}
VALUES = ["", "safety", "cost", "yes", "no", "title", "body", "category", "review", "²"]
VALUES += ["«u:HCM-Q7-MAY»", "«u:HCM»", "99999999999999999999"]
OTHERS = list(OtherContent)
FILES = [photo(1), photo(2), VOICE, DOCUMENT]

texts_ = st.one_of(
    st.sampled_from([text for _, _, text in NASTY_TEXTS]),
    st.sampled_from(PLAIN),
    st.text(max_size=80),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=30),
)


@dataclass(frozen=True)
class Step:
    """One abstract event, resolved against the run's state when it is sent."""

    kind: str  # command, text, file, other, press, stale, forged, forge, group, replay
    user: str
    value: object = None
    chat: str = "private"


steps = st.one_of(
    st.builds(
        lambda u, c, a: Step("command", u, f"/{c} {a}".strip()),
        st.sampled_from(USERS),
        st.sampled_from(COMMANDS),
        st.sampled_from(ARGS),
    ),
    st.builds(lambda u, t: Step("text", u, t), st.sampled_from(USERS), texts_),
    st.builds(lambda u, f: Step("file", u, f), st.sampled_from(USERS), st.sampled_from(FILES)),
    st.builds(lambda u, o: Step("other", u, o), st.sampled_from(USERS), st.sampled_from(OTHERS)),
    st.builds(lambda u, i: Step("press", u, i), st.sampled_from(USERS), st.integers(0, 20)),
    st.builds(lambda u, i: Step("press", u, i), st.sampled_from(USERS), st.integers(0, 20)),
    st.builds(lambda u, i: Step("stale", u, i), st.sampled_from(USERS), st.integers(0, 200)),
    st.builds(
        lambda u, d: Step("forged", u, d),
        st.sampled_from(USERS),
        st.one_of(st.sampled_from(FORGED), st.text(max_size=40)),
    ),
    st.builds(
        lambda u, g, v: Step("group", u, v, chat=g),
        st.sampled_from(USERS),
        st.sampled_from(sorted(GROUPS)),
        st.one_of(st.sampled_from(["/queue", "/cancel", "/idea", LONG_IDEA]), st.integers(0, 9)),
    ),
    *[
        st.builds(
            lambda u, i: Step("forge", u, i),
            st.sampled_from(USERS),
            st.tuples(st.integers(0, 99), st.integers(0, 99)),
        )
    ]
    * 3,
    st.builds(lambda u, i: Step("replay", u, i), st.sampled_from(USERS), st.integers(0, 50)),
)


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return Catalogue.load()


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory, catalogue: Catalogue) -> World:
    return world_once(tmp_path_factory.getbasetemp() / "hostile-world", catalogue)


@pytest.fixture(scope="session")
def texts() -> Texts:
    return Texts.load(names=[m.name for m in CAST.values()])


def _buttons(h: Harness, chat_id: str, *, latest: bool) -> list[tuple[str, str]]:
    """(message id, callback data) of the buttons a chat shows: on its newest message with
    buttons (``latest``), or on any message it ever showed."""
    messages = sorted(h.screens.get(chat_id, {}).items(), key=lambda item: int(item[0]))
    shown = [(mid, m) for mid, m in messages if m.buttons]
    if latest:
        shown = shown[-1:]
    return [(mid, b.data) for mid, m in shown for row in m.buttons for b in row]


async def _incoming(h: Harness, world: World, step: Step, sent: list[Incoming]) -> Incoming | None:
    member = CAST[step.user]
    if step.kind == "replay":
        earlier = [*sent, *world.updates.values()]
        return earlier[int(step.value) % len(earlier)]  # type: ignore[call-overload]
    chat_id = str(member.id)
    chat = None
    if step.chat != "private":
        chat_id, title = GROUPS[step.chat]
        chat = ChatRef("telegram", chat_id, "group", title)
    send = Send()
    message_id = None
    if step.kind in ("command", "text"):
        send = Send(text=str(step.value))
    elif step.kind == "file":
        send = Send(files=(step.value,))  # type: ignore[arg-type]
    elif step.kind == "other":
        send = Send(other=step.value)  # type: ignore[arg-type]
    elif step.kind == "forged":
        send = Send(button=str(step.value))
    elif step.kind == "forge":
        send = Send(button=await _forge(h, member.id, step.value))  # type: ignore[arg-type]
    elif step.kind in ("press", "stale") or isinstance(step.value, int):
        buttons = _buttons(h, chat_id, latest=step.kind == "press")
        if not buttons:
            return None
        message_id, data = buttons[int(step.value) % len(buttons)]  # type: ignore[call-overload]
        send = Send(button=data)
    elif step.kind == "group":
        send = Send(text=str(step.value))
    filled = await world.fill(h, member, send.text)
    incoming = h.incoming(
        member.id,
        text=filled,
        button=await world.fill(h, member, send.button),
        files=send.files,
        other=send.other,
        lang=member.lang,
        name=member.name,
        chat=chat,
        message_id=message_id,
    )
    return incoming


async def _forge(h: Harness, user_id: int, choice: tuple[int, int]) -> str:
    """Callback data of the sender's current flow, with their own nonce, at any step with any
    action and value the flows know: what a modified client could send."""
    async with h.sessionmaker() as session:
        row = await session.get(Conversation, f"telegram:{user_id}")
    flow = row.flow if row is not None and row.flow else "idea"
    nonce = str((row.data or {}).get("n", "-")) if row is not None else "-"
    i, j = choice
    if flow == idea_form.FLOW:
        step, action = FORM_ACTIONS[i % len(FORM_ACTIONS)]
    else:
        steps = sorted(flow_steps().get(flow, {"x"}))
        actions = FLOW_ACTIONS.get(flow, ["x"])
        step, action = steps[i % len(steps)], actions[i % len(actions)]
    value = VALUES[j % len(VALUES)]
    return ":".join([flow, nonce, step, action, value] if value else [flow, nonce, step, action])


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(sequence=st.lists(steps, min_size=3, max_size=16))
async def test_any_sequence_leaves_a_valid_state(
    sequence: list[Step], world: World, catalogue: Catalogue, texts: Texts
) -> None:
    db = world.path.with_name(f"property-{uuid.uuid4().hex}.db")
    shutil.copyfile(world.path, db)
    engine = create_engine(f"sqlite+aiosqlite:///{db}")
    try:
        sessionmaker = create_sessionmaker(engine)
        h = world.harness(sessionmaker, catalogue)
        sent: list[Incoming] = []
        mark = world.outbox_last
        for n, step in enumerate(sequence, 1):
            incoming = await _incoming(h, world, step, sent)
            if incoming is None:
                continue
            before = await snapshot(sessionmaker) if step.kind == "replay" else None
            result, _, problems = await event_problems(h, texts, incoming, mark)
            assert not problems, f"step {n} {step}: {problems}"
            if before is not None:
                after = await snapshot(sessionmaker)
                assert result.duplicate, f"step {n}: a replayed update was handled again"
                assert before == after, f"step {n}: a replay changed {changed_parts(before, after)}"
            sent.append(incoming)
            mark = await outbox_mark(sessionmaker)
        tables = read_sqlite_file(db)
        assert not (lost := lost_ideas(world.start, snapshot_of(tables))), lost
        assert not (problems := problems_of(tables)), problems
    finally:
        await engine.dispose()
        remove_database(db)


@settings(max_examples=300, deadline=None, database=None)
@given(
    text=st.text(alphabet=st.characters(codec="utf-8"), max_size=600)
    | st.text(alphabet="🔥👨‍🔧ăâ a\n", max_size=600),
    units=st.integers(1, 400),
)
def test_a_card_body_fits_its_room_and_keeps_most_of_it(text: str, units: int) -> None:
    """What :func:`handlers.cards.fit` keeps of an idea's text fits the room Telegram counts
    (UTF-16 units) and, for a longer text, still fills at least a third of it."""
    kept = fit(text, units)
    size = utf16_length(kept)
    assert size <= units
    if utf16_length(text) > units and units >= 12:
        assert size >= units // 3, (size, units, kept)
