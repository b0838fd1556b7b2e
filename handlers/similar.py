"""Similar ideas (issue #21): shown to a worker before Submit and to the team on the card.

A worker who reaches the review of an idea sees the ideas like it already sent: up to
:data:`SHOWN_TO_WORKER`, each its reference, title and status, and only those the
visibility policy lets a worker be shown (their own, and their unit's shareable ones).
At the same moment the ideas like it in the unit and in the unit above are found for
the support team; Submit keeps them on the new idea's row (``Idea.similar``), so the
submission itself looks nothing up and writes nothing more. The team's card then says
"Possibly the same as SK-… (87 %)" for those its chat sees in full, with the idea
itself, and offers to decline the idea as a duplicate of one of them
(handlers.flows.duplicate).

Scoring is handlers.similar_score's; the words are storage.similar_words'.
"""

from __future__ import annotations

from dataclasses import dataclass

from handlers import similar_score, visibility
from handlers.visibility import Place, Sight, Viewer
from storage.models import Idea, Person, Unit
from storage.repositories.ideas import OPEN_STATUSES
from storage.repositories.similar import recorded_pairs
from storage.similar_words import idea_hashes
from storage.uow import UnitOfWork

#: Ideas a worker is shown on the review.
SHOWN_TO_WORKER = 3
#: Ideas recorded for the team at a submission (the card shows what its chat may see).
KEPT_FOR_TEAM = 5
#: Ideas the team's card names.
SHOWN_ON_CARD = 3
#: The candidates read from the database at once while looking for those to show.
LOADED_AT_ONCE = 12


@dataclass(frozen=True, slots=True)
class Found:
    """An idea like the one looked at, and how alike (0-1)."""

    idea: Idea
    score: float
    place: Place


@dataclass(frozen=True, slots=True)
class Listed:
    """An idea a worker may be shown on the review, and how alike (0-1)."""

    idea: Idea
    score: float


@dataclass(frozen=True, slots=True)
class DraftMatches:
    """What a draft's lookup found: for the worker (already filtered), and for the team
    (idea id and score, in the unit and the unit above, to be recorded at Submit)."""

    for_worker: list[Listed]
    for_team: list[tuple[int, float]]


def scope_of(unit: Unit) -> list[int]:
    """The units whose ideas are compared with one of ``unit``: itself and its parent."""
    return [unit.id] if unit.parent_id is None else [unit.id, unit.parent_id]


async def for_draft(
    uow: UnitOfWork, person: Person, unit: Unit, title: str, text: str, lang: str
) -> DraftMatches:
    """The ideas like a worker's draft, in their unit and its parent and among their own."""
    query = idea_hashes(title, text, lang)
    if not query:
        return DraftMatches([], [])
    rows = await uow.similar.in_units(scope_of(unit))
    in_scope = {idea_id for idea_id, _ in rows}
    rows += [row for row in await uow.similar.of_author(person.id) if row[0] not in in_scope]
    found = [(rows[i][0], s) for i, s in similar_score.best(query, [h for _, h in rows])]
    team = [(i, round(s, 3)) for i, s in found if i in in_scope][:KEPT_FOR_TEAM]
    if not found:
        return DraftMatches([], team)
    viewer = visibility.similar_writer(person.id)
    shown: list[Listed] = []
    # Read a few at a time, in one statement each: most of the most alike are read.
    for start in range(0, len(found), LOADED_AT_ONCE):
        batch = found[start : start + LOADED_AT_ONCE]
        ideas = await uow.ideas.get_many([idea_id for idea_id, _ in batch])
        present = [(ideas[idea_id], score) for idea_id, score in batch if idea_id in ideas]
        listed = await visibility.similar_listed(
            uow, viewer, unit.path, [i for i, _ in present], SHOWN_TO_WORKER - len(shown)
        )
        shown += [Listed(*present[i]) for i in listed]
        if len(shown) >= SHOWN_TO_WORKER:
            break
    return DraftMatches(shown, team)


async def on_card(uow: UnitOfWork, idea: Idea, place: Place, viewer: Viewer) -> list[Found]:
    """The ideas recorded like ``idea`` that a card's reader may be told of while it waits
    for a decision: those the policy lets them compare with it (both seen in full), the
    most alike first."""
    if idea.status not in OPEN_STATUSES or visibility.sight(viewer, place) is not Sight.FULL:
        return []
    pairs = recorded_pairs(idea)
    others = await uow.ideas.get_many([other_id for other_id, _ in pairs])
    present = [(others[other_id], score) for other_id, score in pairs if other_id in others]
    alike = await visibility.comparable(
        uow, viewer, place, [other for other, _ in present], SHOWN_ON_CARD
    )
    return [Found(*present[i], other_place) for i, other_place in alike]
