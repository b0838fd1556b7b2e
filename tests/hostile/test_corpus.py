"""Every case of the hostile corpus, each its own test, against a fresh copy of one world.

The world (:func:`tests.hostile.corpus.build_world`) is built once through the real flows;
each case copies its SQLite file, sends its events through the flows harness, and checks:
the dispatcher returned normally; every queued message is valid Telegram HTML within the
limits, in the right language; the answer is what the case expects (polite, ignored or a
duplicate); only the snapshot parts the case allows changed; no idea was lost; and the
whole stored state is still valid.
"""

from __future__ import annotations

import shutil
import uuid

import pytest

from handlers.events import Incoming
from handlers.i18n import Catalogue
from storage.db import create_engine, create_sessionmaker
from tests.hostile.corpus import CASES, CAST, DUPLICATE, IGNORED, Case, World, world_once
from tests.hostile.invariants import (
    Texts,
    changed_parts,
    event_problems,
    lost_ideas,
    outbox_mark,
    problems_of,
    read_sqlite_file,
    remove_database,
    snapshot,
    snapshot_of,
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


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_hostile_case(case: Case, world: World, catalogue: Catalogue, texts: Texts) -> None:
    db = world.path.with_name(f"case-{uuid.uuid4().hex}.db")
    shutil.copyfile(world.path, db)
    engine = create_engine(f"sqlite+aiosqlite:///{db}")
    try:
        sessionmaker = create_sessionmaker(engine)
        h = world.harness(sessionmaker, catalogue)
        start, before_last, mark = world.start, world.start, world.outbox_last
        previous: Incoming | None = None
        for n, send in enumerate(case.sends, 1):
            incoming = await world.incoming(h, case.who, send, previous)
            if n > 1:
                mark = await outbox_mark(sessionmaker)
                if n == len(case.sends):
                    before_last = await snapshot(sessionmaker)
            result, lang, problems = await event_problems(h, texts, incoming, mark)
            assert not problems, f"event {n} of {case.name}: {problems}"
            previous = incoming
        tables = read_sqlite_file(db)
        end = snapshot_of(tables)
        queued = await outbox_mark(sessionmaker) - mark
        expect = case.expect

        assert not lost_ideas(start, end), lost_ideas(start, end)
        if expect.answer == DUPLICATE:
            assert result.duplicate, "a redelivered update was handled again"
            assert not queued and not result.replies and result.answer is None
            assert before_last == end, f"changed: {changed_parts(before_last, end)}"
        else:
            assert not result.duplicate
            changed = changed_parts(start, end)
            assert changed <= expect.may_change, f"changed {sorted(changed - expect.may_change)}"
            assert expect.must_change <= changed, f"unchanged {expect.must_change - changed}"
            if expect.answer == IGNORED:
                assert not queued, "an ignored update queued messages"
                assert result.answer is None or not result.answer.text
            else:
                notice = result.answer.text if result.answer else ""
                assert result.replies or notice, "no answer at all"
                shown = [r.text for r in result.replies] + [notice]
                for key in expect.keys:
                    assert lang is not None
                    assert any(texts.shows(text, key, lang) for text in shown), (
                        f"{key} ({lang}) not in {[t[:60] for t in shown]}"
                    )
        if expect.alert is not None:
            assert result.answer is not None and result.answer.alert == expect.alert
        assert not (problems := problems_of(tables)), problems
    finally:
        await engine.dispose()
        remove_database(db)
