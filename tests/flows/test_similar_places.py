"""The places of many ideas at once (handlers.visibility.places_of) are exactly what
place_of says of each, and the similar-ideas lists (similar_listed for a worker's review,
comparable for a card) list exactly what a place_of per idea, asked of may_list_similar or
may_compare, would: over ideas of grassroots and higher units, shareable and
confidential, held where they were sent, forwarded, or by a unit without a team, with
idle teams passed over or not.

The lists decide on a place before its deciding unit is looked up (the worker's list
never looks it up); that is sound only while neither decider reads it, which the last
test pins down.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from handlers import visibility
from handlers.visibility import TEAMS_ACTIVE_SINCE, Place, RoleAt, Viewer
from storage.models import Idea, IdeaStatus, Person, RoleKind, Unit
from storage.uow import UnitOfWork
from tests.flows.harness import Harness

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
# Who is where: (name, unit code)
PEOPLE = (
    ("worker", "HCM-Q7-MAY"),
    ("colleague", "HCM-Q7-MAY"),
    ("neighbour", "HCM-Q7-DIEN"),
    ("boss", "HCM-Q7"),
    ("chief", "HCM"),
)
# (author, unit of the idea, holding unit, confidential)
IDEAS = (
    ("worker", "HCM-Q7-MAY", "HCM-Q7-MAY", False),
    ("worker", "HCM-Q7-MAY", "HCM-Q7-MAY", True),
    ("colleague", "HCM-Q7-MAY", "HCM-Q7-MAY", True),
    ("colleague", "HCM-Q7-MAY", "HCM-Q7-MAY", False),
    ("colleague", "HCM-Q7-MAY", "HCM-Q7", True),  # forwarded to the district
    ("worker", "HCM-Q7-MAY", "HCM", False),  # forwarded to the province (a group only)
    ("neighbour", "HCM-Q7-DIEN", "HCM-Q7-DIEN", False),  # no team: the district's serves
    ("neighbour", "HCM-Q7-DIEN", "HCM-Q7-DIEN", True),
    ("boss", "HCM-Q7", "HCM-Q7", True),  # above every grassroots unit: its own home
    ("chief", "HCM", "VN", True),  # no team at or above the holder
    ("worker", "HCM-Q7-DIEN", "HCM-Q7-DIEN", True),  # sent from the worker's old unit
)


@pytest.fixture
async def ideas(harness: Harness) -> list[Idea]:
    units = harness.units
    async with UnitOfWork(harness.sessionmaker) as uow:
        people = {
            name: Person(display_name=name, unit_id=units[code].id, created_at=NOW)
            for name, code in PEOPLE
        }
        uow.session.add_all(people.values())
        await uow.flush()
        # Teams: the grassroots unit's (joined first) and the district's (joined later);
        # the province's a bound group alone; the other grassroots unit and the nation none.
        support = RoleKind.SUPPORT.value
        for name, code, at in (("colleague", "HCM-Q7-MAY", NOW), ("boss", "HCM-Q7", NOW)):
            await uow.roles.grant(
                person_id=people[name].id, unit_id=units[code].id, role=support, now=at
            )
        await uow.roles.grant(
            person_id=people["chief"].id,
            unit_id=units["HCM-Q7"].id,
            role=support,
            now=NOW + timedelta(days=20),
        )
        await uow.roles.grant(
            person_id=people["chief"].id, unit_id=units["HCM"].id, role="official", now=NOW
        )
        await uow.teams.bind(
            unit_id=units["HCM"].id,
            channel="telegram",
            chat_id="-100777",
            title="Ban HCM",
            person_id=people["chief"].id,
            now=NOW,
        )
        made = []
        for n, (author, unit, holder, confidential) in enumerate(IDEAS, start=1):
            made.append(
                await uow.ideas.add(
                    Idea(
                        ref_code=f"SK-2026-{n:06d}",
                        author_id=people[author].id,
                        unit_id=units[unit].id,
                        holder_unit_id=units[holder].id,
                        title=f"Sáng kiến {n}",
                        title_given=n % 2 == 0,
                        body=f"Nội dung {n}",
                        category="technical",
                        benefit="cost",
                        confidential=confidential,
                        language="vi",
                        status=IdeaStatus.SUBMITTED.value,
                        created_at=NOW,
                        updated_at=NOW,
                        waiting_since=NOW,
                    )
                )
            )
        await uow.commit()
    return made


def _viewers(units: dict[str, Unit], person_ids: dict[str, int]) -> Iterator[Viewer]:
    """Workers without a role, team members, an official, group chats."""

    def role(kind: RoleKind, code: str) -> RoleAt:
        return RoleAt(kind.value, units[code].id, units[code].path)

    yield Viewer(person_ids["worker"])
    yield Viewer(person_ids["neighbour"])
    yield Viewer(person_ids["colleague"], (role(RoleKind.SUPPORT, "HCM-Q7-MAY"),))
    yield Viewer(person_ids["boss"], (role(RoleKind.SUPPORT, "HCM-Q7"),))
    yield Viewer(person_ids["chief"], (role(RoleKind.OFFICIAL, "HCM"),))
    yield Viewer.team_group(units["HCM-Q7-MAY"])
    yield Viewer.bound_group("team", units["HCM"])


@pytest.fixture(params=[None, NOW + timedelta(days=10)], ids=["no-idle-rule", "idle-teams"])
def active_since(request: pytest.FixtureRequest) -> Iterator[datetime | None]:
    token = TEAMS_ACTIVE_SINCE.set(request.param)
    yield request.param
    TEAMS_ACTIVE_SINCE.reset(token)


async def test_places_of_is_place_of_for_each(
    harness: Harness, ideas: list[Idea], active_since: datetime | None
) -> None:
    async with UnitOfWork(harness.sessionmaker, read_only=True) as uow:
        loaded = await uow.ideas.get_many([i.id for i in ideas])
        mixed = [loaded[i.id] for i in reversed(ideas)] + [loaded[ideas[0].id]]
        batched = await visibility.places_of(uow, mixed)
    async with UnitOfWork(harness.sessionmaker, read_only=True) as uow:  # a fresh memo
        loaded = await uow.ideas.get_many([i.id for i in ideas])
        one_by_one = {i.id: await visibility.place_of(uow, loaded[i.id]) for i in ideas}
    assert batched == one_by_one
    # The cases are all there: forwarded, served from above, none, confidential homes.
    deciding = {p.deciding_unit_id for p in one_by_one.values()}
    assert None in deciding and len(deciding) >= 3
    assert {p.home_path for p in one_by_one.values()} >= {
        harness.units["HCM-Q7-MAY"].path,
        harness.units["HCM-Q7"].path,
    }


async def test_the_lists_list_what_place_of_one_by_one_would(
    harness: Harness, ideas: list[Idea], active_since: datetime | None
) -> None:
    units = harness.units
    author_ids = {IDEAS[n][0]: i.author_id for n, i in enumerate(ideas)}
    viewers = list(_viewers(units, author_ids))
    async with UnitOfWork(harness.sessionmaker, read_only=True) as uow:
        loaded = await uow.ideas.get_many([i.id for i in ideas])
        order = [loaded[i.id] for i in ideas]
        places = {i.id: await visibility.place_of(uow, i) for i in order}
        for viewer, member_code, most in itertools.product(
            viewers, ("HCM-Q7-MAY", "HCM-Q7-DIEN", "HCM-Q7"), (1, 3, len(order))
        ):
            member_path = units[member_code].path
            expected = [
                n
                for n, i in enumerate(order)
                if visibility.may_list_similar(viewer, member_path, places[i.id])
            ][:most]
            listed = await visibility.similar_listed(uow, viewer, member_path, order, most)
            assert listed == expected, (viewer, member_code, most)
        for viewer, subject, most in itertools.product(viewers, order, (1, 3)):
            place = places[subject.id]
            expected = [
                (n, places[i.id])
                for n, i in enumerate(order)
                if visibility.may_compare(viewer, place, places[i.id])
            ][:most]
            assert await visibility.comparable(uow, viewer, place, order, most) == expected
        # Something is listed and something refused, or the test proves little.
        worker = viewers[0]
        listed = await visibility.similar_listed(uow, worker, units["HCM-Q7-MAY"].path, order, 99)
        assert 0 < len(listed) < len(order)


def test_the_deciders_do_not_read_the_deciding_or_council_unit() -> None:
    """similar_listed and comparable refuse an idea on its place without the deciding unit:
    may_list_similar and may_compare must answer the same whatever it is; and the worker's
    list is decided without their roles: may_list_similar must answer the same with them."""
    paths = ("/1/", "/1/2/", "/1/2/3/", "/1/2/4/", "/9/")
    places = [
        Place(author, confidential, title_given, unit_path, home_path, None)
        for author, confidential, title_given, unit_path, home_path in itertools.product(
            (1, 2), (False, True), (False, True), paths, paths[:3]
        )
    ]
    viewers = [
        Viewer(1),
        Viewer(3),
        Viewer(2, (RoleAt(RoleKind.SUPPORT.value, 2, "/1/2/"),)),
        Viewer(4, (RoleAt(RoleKind.OFFICIAL.value, 1, "/1/"),)),
        Viewer(5, (RoleAt(RoleKind.SUPPORT.value, 3, "/1/2/3/"),)),
        Viewer(None, (RoleAt(RoleKind.SUPPORT.value, 3, "/1/2/3/"),), True),
    ]
    for viewer, other in itertools.product(viewers, places):
        if viewer.person_id is not None:  # a worker's roles change nothing (rule 7)
            writer = visibility.similar_writer(viewer.person_id)
            for member_path in paths:
                assert visibility.may_list_similar(
                    viewer, member_path, other
                ) == visibility.may_list_similar(writer, member_path, other)
    for viewer, place, other in itertools.product(viewers, places[::7], places):
        for deciding, council in ((3, None), (2, 2), (7, 1)):
            changed = dataclasses.replace(other, deciding_unit_id=deciding, council_unit_id=council)
            moved = dataclasses.replace(place, deciding_unit_id=deciding, council_unit_id=council)
            for member_path in paths[1:3]:
                assert visibility.may_list_similar(
                    viewer, member_path, other
                ) == visibility.may_list_similar(viewer, member_path, changed)
            assert visibility.may_compare(viewer, place, other) == visibility.may_compare(
                viewer, place, changed
            )
            assert visibility.may_compare(viewer, place, other) == visibility.may_compare(
                viewer, moved, other
            )
