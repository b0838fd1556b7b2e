"""Similar ideas (issue #21): the words a lookup compares, and what a submission found.

Only narrows: handlers.similar scores the words, and the visibility policy decides
which of the ideas found anyone may see.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from operator import itemgetter
from typing import Any, Final, cast

from sqlalchemy import Select, bindparam, select

from storage.models import Idea
from storage.repositories.base import Repository
from storage.similar_models import SimilarText

#: The most rows one lookup reads from its units, the newest first (the busiest
#: grassroots unit of a national deployment sends about 8,000 ideas).
SCOPE_LIMIT = 20_000
#: A worker's own ideas looked at beside their unit's (the newest first).
AUTHOR_LIMIT = 200


# Fixed statements (their values bound), so that the inline SQLite reads them straight
# through sqlite3 (Repository._read): SQLAlchemy's row handling cost three times the
# read for a large unit (docs/BENCHMARKS.md, "Similar ideas").
_IN_UNIT: Final = (
    select(SimilarText.idea_id, SimilarText.hashes)
    .where(SimilarText.unit_id == bindparam("unit_id"))
    .order_by(SimilarText.idea_id.desc())
    .limit(bindparam("limit"))
)
_OF_AUTHOR: Final = (
    select(SimilarText.idea_id, SimilarText.hashes)
    .join(Idea, Idea.id == SimilarText.idea_id)
    .where(Idea.author_id == bindparam("author_id"))
    .order_by(Idea.created_at.desc(), Idea.id.desc())
    .limit(bindparam("limit"))
)


class SimilarRepository(Repository):
    async def in_units(
        self, unit_ids: Sequence[int], *, limit: int = SCOPE_LIMIT
    ) -> list[tuple[int, bytes]]:
        """(idea id, word hashes) of the ideas of ``unit_ids``, the newest first.

        One query a unit, each one range of the primary key read backwards: a single
        ``unit_id IN (…) ORDER BY idea_id`` made SQLite sort every row of the scope
        (hashes and all) in a temporary B-tree first: the largest unit's 8,430 rows took
        14.7 ms, now 10.8 (docs/BENCHMARKS.md, "Similar ideas").
        """
        rows: list[tuple[int, bytes]] = []
        for unit_id in dict.fromkeys(unit_ids):
            rows += await self._pairs(_IN_UNIT, {"unit_id": unit_id, "limit": limit})
        if len(unit_ids) > 1:
            rows.sort(key=itemgetter(0), reverse=True)
        return rows[:limit]

    async def of_author(
        self, author_id: int, *, limit: int = AUTHOR_LIMIT
    ) -> list[tuple[int, bytes]]:
        """(idea id, word hashes) of the author's own ideas, the newest first."""
        return await self._pairs(_OF_AUTHOR, {"author_id": author_id, "limit": limit})

    async def _pairs(
        self, query: Select[int, bytes], params: dict[str, Any]
    ) -> list[tuple[int, bytes]]:
        return cast(list[tuple[int, bytes]], await self._load(query, params))

    async def record(self, idea_id: int, found: Iterable[tuple[int, float]]) -> None:
        """The ideas found like ``idea_id``, with their scores (on its row: a submission
        gives them to the new idea itself, ``Idea.similar``, and writes nothing more)."""
        idea = await self.session.get(Idea, idea_id)
        if idea is not None:
            idea.similar = [[other_id, score] for other_id, score in found]

    async def found_for(self, idea_id: int) -> list[tuple[int, float]]:
        """(other idea id, score) recorded for ``idea_id``, the most alike first."""
        idea = await self.session.get(Idea, idea_id)
        return recorded_pairs(idea) if idea is not None else []


def recorded_pairs(idea: Idea) -> list[tuple[int, float]]:
    """(other idea id, score) of ``Idea.similar``, the most alike first (what is not such
    a pair is left out)."""
    pairs = [
        (int(pair[0]), float(pair[1]))
        for pair in idea.similar or []
        if isinstance(pair, list | tuple)
        and len(pair) == 2
        and isinstance(pair[0], int)
        and isinstance(pair[1], int | float)
    ]
    return sorted(pairs, key=lambda pair: (-pair[1], pair[0]))
