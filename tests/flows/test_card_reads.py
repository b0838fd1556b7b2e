"""A Submit reads what the card needs once (issue #22): the serving team's members once,
each member's person and roles in one statement for the whole team, so that the reads
do not grow with the team; and what each chat is shown is unchanged."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, select

from handlers.events import ChatRef
from storage.models import Identity, RoleKind, Unit
from storage.repositories.roles import RoleRepository
from tests.flows.harness import Harness, Result
from tests.flows.test_triage import card_of
from tests.flows.test_worker_idea import fill_form, invite, join_by_link

TEAM_OF_ONE = 2001
TEAM_OF_FOUR = (2101, 2102, 2103, 2104)
WORKER_DIEN, WORKER_MAY = 1101, 1102
GROUP = ChatRef("telegram", "-100888", "group", "Tổ hỗ trợ SK May Phú Mỹ")
SECRET = "Doi nhiet do lo say xuong 160 do, goi toi 0912 345 678"

# The serving team's membership (with or without when each joined; not the check for a
# member who joined lately, which selects roles.id).
MEMBERS = re.compile(
    r"^SELECT roles\.person_id(, roles\.granted_at)? FROM roles "
    r"WHERE roles\.unit_id = \S+ AND roles\.role = \S+ AND roles\.revoked_at IS NULL ORDER BY"
)


@contextmanager
def selects(h: Harness) -> Iterator[list[str]]:
    """The SELECT statements SQLite runs meanwhile, whitespace folded, as SQLite reports
    them (values in place): on the bot's inline engine some statements go to sqlite3
    without SQLAlchemy's execution and its events (storage.repositories.base)."""
    engine = h.sessionmaker.kw["bind"].sync_engine
    seen: list[str] = []
    traced: list[Any] = []

    def record(statement: str) -> None:
        folded = " ".join(statement.split())
        # Not SQLite's own reads for its full-text index (a connection's first use of it).
        if folded.startswith("SELECT") and " 'main'." not in folded:
            seen.append(folded)

    def checkout(dbapi_connection: Any, record_: Any, proxy: Any) -> None:
        raw = record_.driver_connection._conn
        raw.set_trace_callback(record)
        traced.append(raw)

    event.listen(engine, "checkout", checkout)
    try:
        yield seen
    finally:
        event.remove(engine, "checkout", checkout)
        for raw in traced:
            raw.set_trace_callback(None)


async def support(h: Harness, user: int, unit: Unit) -> None:
    await h.send(user, f"/start {await invite(h, unit, RoleKind.SUPPORT)}", name=f"m{user}")


async def submit(h: Harness, worker: int, text: str) -> tuple[list[str], Result]:
    r = await fill_form(h, worker, text)
    with selects(h) as seen:
        done = await h.press(worker, r.last.button("Gửi"), message_id=r.last.message_id)
    return seen, done


def ref_in(result: Result) -> str:
    found = re.search(r"SK-\d{4}-\d{6}", result.last.text)
    assert found, result.last.text
    return found.group(0)


async def test_a_submit_reads_as_much_for_a_team_of_four_as_for_a_team_of_one(
    harness: Harness, units: dict[str, Unit]
) -> None:
    h = harness
    await support(h, TEAM_OF_ONE, units["HCM-Q7-DIEN"])
    for user in TEAM_OF_FOUR:
        await support(h, user, units["HCM-Q7-MAY"])
    await join_by_link(h, WORKER_DIEN, units["HCM-Q7-DIEN"])
    await join_by_link(h, WORKER_MAY, units["HCM-Q7-MAY"])

    one, _ = await submit(h, WORKER_DIEN, "Lap cam bien tat may nen khi khi dung chuyen")
    four, done = await submit(h, WORKER_MAY, "Thu hoi nhiet thua tu lo nung de say phoi vai")

    # The team's membership is read once (the serving team, then its members to reach).
    assert len([s for s in one if MEMBERS.match(s)]) == 1, one
    assert len([s for s in four if MEMBERS.match(s)]) == 1, four
    # No read of each member's person or roles: the same statements for four as for one.
    assert not [s for s in four if re.search(r"FROM people WHERE people\.id = \?", s)], four
    assert len(four) == len(one), "\n".join(four)

    # And each of the four still gets the whole card with the decision buttons.
    await h.deliver()
    ref = ref_in(done)
    for user in TEAM_OF_FOUR:
        card = card_of(h, user, ref)
        assert "Thu hoi nhiet thua" in card.text
        assert "✅ Duyệt" in card.labels
    assert not [r for r in h.screen(TEAM_OF_ONE) if ref in r.text], "another unit's team"


async def test_a_confidential_submit_reaches_the_group_as_its_summary_only(
    harness: Harness, units: dict[str, Unit]
) -> None:
    h = harness
    for user in TEAM_OF_FOUR:
        await support(h, user, units["HCM-Q7-MAY"])
    token = await invite(h, units["HCM-Q7-MAY"], RoleKind.SUPPORT)
    await h.feed(h.incoming(TEAM_OF_FOUR[0], text=f"/start@sangkien_bot {token}", chat=GROUP))
    await join_by_link(h, WORKER_MAY, units["HCM-Q7-MAY"])

    r = await h.send(WORKER_MAY, "/idea")
    r = await h.send(WORKER_MAY, SECRET)
    r = await h.press(WORKER_MAY, r.last.button("Xong"))
    r = await h.press(WORKER_MAY, r.last.button("An toàn lao động"))
    r = await h.press(WORKER_MAY, r.last.button("Tiết kiệm chi phí"))
    r = await h.send(WORKER_MAY, "5 trieu")
    r = await h.press(WORKER_MAY, r.last.button("Bảo mật"))
    r = await h.send(WORKER_MAY, "Giam nhiet lo say")
    with selects(h) as seen:
        done = await h.press(WORKER_MAY, r.last.button("Gửi"), message_id=r.last.message_id)
    assert len([s for s in seen if MEMBERS.match(s)]) == 1, seen
    assert len([s for s in seen if "FROM team_chats" in s]) == 1, seen

    await h.deliver()
    ref = ref_in(done)
    [card] = [m for m in h.screen(int(GROUP.external_id)) if ref in m.text]
    assert "Giam nhiet lo say" in card.text
    for leak in ("Doi nhiet do", "0912", "lo say xuong 160"):
        assert leak not in card.text, "a group chat never sees a confidential idea in full"
    for user in TEAM_OF_FOUR:  # the team reads it in its group, not each member privately
        assert not [m for m in h.screen(user) if ref in m.text]


async def test_a_submit_served_from_above_reads_the_units_above_once(
    harness: Harness, units: dict[str, Unit]
) -> None:
    """A grassroots union whose team left: the district's team serves it, and is told why;
    the units above and the empty team's members are read once for both answers."""
    h = harness
    await support(h, TEAM_OF_ONE, units["HCM-Q7"])
    await support(h, TEAM_OF_FOUR[0], units["HCM-Q7-DIEN"])
    await join_by_link(h, WORKER_DIEN, units["HCM-Q7-DIEN"])
    async with h.sessionmaker() as session:  # the team's only member left it
        roles = RoleRepository(session)
        held = await roles.held(
            person_id=await _person(h, TEAM_OF_FOUR[0]),
            unit_id=units["HCM-Q7-DIEN"].id,
            role=RoleKind.SUPPORT.value,
        )
        assert held is not None
        await roles.revoke(held, h.now)
        await session.commit()

    seen, done = await submit(h, WORKER_DIEN, "Lap cam bien tat may nen khi khi dung chuyen")
    assert len([s for s in seen if "FROM units WHERE units.id IN" in s]) == 1, seen
    assert len([s for s in seen if MEMBERS.match(s)]) == 2, seen  # the grassroots', the district's

    await h.deliver()
    ref = ref_in(done)
    assert "✅ Duyệt" in card_of(h, TEAM_OF_ONE, ref).labels
    why = [m.text for m in h.screen(TEAM_OF_ONE) if ref in m.text and m.text.startswith("ℹ️")]
    assert why and "Điện tử Tân Thuận" in why[0] and h.now.strftime("%d/%m/%Y") in why[0]
    assert not [m for m in h.screen(TEAM_OF_FOUR[0]) if ref in m.text], "left the team"


async def _person(h: Harness, user: int) -> int:
    async with h.sessionmaker() as session:
        query = select(Identity.person_id).where(Identity.external_id == str(user))
        return int((await session.execute(query)).scalar_one())
