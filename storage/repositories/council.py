"""The initiative council's scores and each idea's result (storage.lifecycle_models)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from storage.lifecycle_models import CouncilScore, IdeaResult
from storage.models import Idea
from storage.repositories.base import Repository


class CouncilRepository(Repository):
    """Scores (one per member and idea) and results (one per idea)."""

    async def add_score(
        self,
        *,
        idea_id: int,
        person_id: int,
        council_unit_id: int,
        scores: dict[str, Any],
        comment: str | None,
        at: datetime,
    ) -> CouncilScore | None:
        """Record a member's scores; None if that member has scored the idea already.

        The unique key (idea, person) decides under concurrent presses: a savepoint
        keeps the caller's transaction usable when the insert loses.
        """
        row = CouncilScore(
            idea_id=idea_id,
            person_id=person_id,
            council_unit_id=council_unit_id,
            scores=scores,
            total=sum(int(v) for v in scores.values()),
            comment=comment,
            at=at,
        )
        try:
            async with self.session.begin_nested():
                self.session.add(row)
                await self.session.flush()
        except IntegrityError:
            return None
        return row

    async def score_of(self, idea_id: int, person_id: int) -> CouncilScore | None:
        query = select(CouncilScore).where(
            CouncilScore.idea_id == idea_id, CouncilScore.person_id == person_id
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def scores(self, idea_id: int) -> list[CouncilScore]:
        query = select(CouncilScore).where(CouncilScore.idea_id == idea_id)
        return list((await self.session.execute(query.order_by(CouncilScore.id))).scalars())

    async def score_count(self, idea_id: int) -> int:
        query = select(func.count()).where(CouncilScore.idea_id == idea_id)
        return int((await self.session.execute(query)).scalar_one())

    async def result(self, idea_id: int) -> IdeaResult | None:
        return await self.session.get(IdeaResult, idea_id)

    async def idea(self, idea_id: int) -> Idea | None:
        """The idea to read (its author's view of its life), not locked."""
        return await self.session.get(Idea, idea_id)

    async def result_for_update(self, idea_id: int) -> IdeaResult:
        """The idea's result row, created empty if it has none yet.

        Call with the idea itself locked (``uow.ideas.get_for_update``): the idea's
        row serialises every step, so two creations cannot race.
        """
        found = await self.session.get(IdeaResult, idea_id, with_for_update=True)
        if found is not None:
            return found
        row = IdeaResult(idea_id=idea_id)
        self.session.add(row)
        await self.session.flush()
        return row

    async def results(self, idea_ids: list[int]) -> dict[int, IdeaResult]:
        if not idea_ids:
            return {}
        query = select(IdeaResult).where(IdeaResult.idea_id.in_(idea_ids))
        return {r.idea_id: r for r in (await self.session.execute(query)).scalars()}

    async def waiting_for_council(self, unit_ids: list[int], *, limit: int) -> list[Idea]:
        """Approved ideas of these council units' subtrees, oldest wait first: callers
        pass the ideas' council unit ids as recorded in ``idea_results``."""
        query = (
            select(Idea)
            .join(IdeaResult, IdeaResult.idea_id == Idea.id)
            .where(IdeaResult.council_unit_id.in_(unit_ids), Idea.status == "approved")
            .order_by(Idea.waiting_since, Idea.id)
            .limit(limit)
        )
        return list((await self.session.execute(query)).scalars())
