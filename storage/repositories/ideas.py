"""Ideas, their events and attachments."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Table, bindparam, func, insert, inspect, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.schema import ScalarElementColumnDefault

from storage.folding import fold_name
from storage.models import Attachment, Counter, Idea, IdeaEvent, IdeaStatus, Unit
from storage.repositories.base import Repository, attribute_names, fixed_select
from storage.similar_models import SimilarText
from storage.similar_words import idea_hashes
from storage.web_models import IdeaSearch

OPEN_STATUSES = (
    IdeaStatus.SUBMITTED.value,
    IdeaStatus.INFO_REQUESTED.value,
    IdeaStatus.FORWARDED.value,
)


_COUNTERS: Final[Table] = Counter.__table__  # type: ignore[assignment]
_SIMILAR_TEXTS: Final[Table] = SimilarText.__table__  # type: ignore[assignment]
# Fixed statements (values as parameters), which Repository._write runs straight through
# sqlite3 on the bot's inline SQLite.
_STORE_WORDS: Final = insert(_SIMILAR_TEXTS)
_IDEAS: Final[Table] = Idea.__table__  # type: ignore[assignment]
_ADD_IDEA: Final = insert(_IDEAS).returning(_IDEAS.c.id)
_EVENTS: Final[Table] = IdeaEvent.__table__  # type: ignore[assignment]
_ADD_EVENT: Final = insert(_EVENTS).returning(_EVENTS.c.id)
_ADD_SEARCH: Final = insert(IdeaSearch)
_BY_IDS: Final = fixed_select(
    lambda *what: select(*what).where(Idea.id.in_(bindparam("ids", expanding=True))), (Idea,)
)
_per_dialect: dict[str, Any] = {}
# Each of the idea's column attributes (the id, which the INSERT gives, apart) and what it
# holds after an INSERT that left it out: its column's scalar default (``version``), else
# None (NULL). Repository._write writes the same defaults.
_IDEA_ATTRIBUTES: Final = [
    (name, column.default.arg if isinstance(column.default, ScalarElementColumnDefault) else None)
    for name, column in zip(attribute_names(Idea), _IDEAS.c, strict=True)
    if not column.primary_key
]


def _next_value(dialect: str) -> Any:
    """Add one to a named counter (made at 1), returning its new value."""
    statement = _per_dialect.get(dialect)
    if statement is None:
        insert_ = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = _per_dialect[dialect] = (
            insert_(_COUNTERS)
            .on_conflict_do_update(
                index_elements=[_COUNTERS.c.name], set_={"value": _COUNTERS.c.value + 1}
            )
            .returning(_COUNTERS.c.value)
        )
    return statement


class IdeaRepository(Repository):
    async def next_number(self, counter: str) -> int:
        """The next value of a named counter, safe under concurrent writers."""
        dialect = self.session.get_bind().dialect.name
        written = await self._write(_next_value(dialect), {"name": counter, "value": 1})
        return int(written.returned)

    async def add(self, idea: Idea) -> Idea:
        """Store a new idea (made with ``Idea(...)``, not in the session yet), which becomes
        the session's own, id given, as a flush would leave it. One fixed INSERT instead of
        the ORM's flush, which was most of a submission's writing (docs/BENCHMARKS.md, "The
        fourth round"); a column not given takes its default, as in a flush."""
        if inspect(idea).session_id is not None:  # added to the session already: flushed
            await self.session.flush()
        else:
            given = idea.__dict__
            # Written as a flush writes them: what was given (an attribute set to None as
            # given: JSON's null for ``similar``); a column left out takes its default.
            values = {name: given[name] for name, _ in _IDEA_ATTRIBUTES if name in given}
            if given.get("id") is not None:  # an id given (an import), kept
                values["id"] = given["id"]
            written = await self._write(_ADD_IDEA, values)
            for name, default in _IDEA_ATTRIBUTES:
                given.setdefault(name, default)
            given["id"] = written.returned
            self._adopt(idea)
        # Folded for the dashboard's search, which ignores diacritics (web_models); its
        # full-text index follows: a trigger fills SQLite's, PostgreSQL's GIN its own.
        await self._write(
            _ADD_SEARCH,
            {
                "idea_id": idea.id,
                "title": fold_name(idea.title)[:200],
                "text": fold_name(idea.body),
            },
        )
        await self.store_matching_words(idea)
        return idea

    async def store_matching_words(self, idea: Idea) -> None:
        """The idea's words as similar-idea matching compares them (handlers.similar),
        written as one statement rather than through the ORM's flush, which cost a
        submission about twice as much (docs/BENCHMARKS.md, "Similar ideas")."""
        hashes = idea_hashes(idea.title, idea.body, idea.language)
        await self._write(
            _STORE_WORDS, {"idea_id": idea.id, "unit_id": idea.unit_id, "hashes": hashes}
        )

    async def add_event(
        self,
        *,
        idea_id: int,
        kind: str,
        actor_id: int | None,
        at: datetime,
        note: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> IdeaEvent:
        values = {
            "idea_id": idea_id,
            "kind": kind,
            "actor_id": actor_id,
            "at": at,
            "note": note,
            "data": data,
        }
        written = await self._write(_ADD_EVENT, values)
        return self._attached(IdeaEvent, {"id": written.returned, **values})

    def add_attachment(self, attachment: Attachment) -> None:
        self.session.add(attachment)

    async def get(self, idea_id: int) -> Idea | None:
        return await self._get(Idea, idea_id)

    async def get_many(self, idea_ids: Sequence[int]) -> dict[int, Idea]:
        """These ideas by id (those that exist), in one statement."""
        if not idea_ids:
            return {}
        rows = await self._load(_BY_IDS, {"ids": list(dict.fromkeys(idea_ids))})
        return {idea.id: idea for (idea,) in rows}

    async def by_ref(self, ref_code: str) -> Idea | None:
        result = await self.session.execute(select(Idea).where(Idea.ref_code == ref_code))
        return result.scalar_one_or_none()

    async def of_author(self, author_id: int, *, limit: int, offset: int) -> list[Idea]:
        query = (
            select(Idea)
            .where(Idea.author_id == author_id)
            .order_by(Idea.created_at.desc(), Idea.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return list((await self.session.execute(query)).scalars())

    async def count_of_author(self, author_id: int) -> int:
        query = select(func.count(Idea.id)).where(Idea.author_id == author_id)
        return int((await self.session.execute(query)).scalar_one())

    async def get_for_update(self, idea_id: int) -> Idea | None:
        """The idea, locked until the transaction ends: one decision at a time.

        On PostgreSQL this is ``SELECT … FOR UPDATE``; SQLite's ``BEGIN IMMEDIATE``
        already serialises every writing transaction.
        """
        query = (
            select(Idea)
            .where(Idea.id == idea_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def events(self, idea_id: int) -> list[IdeaEvent]:
        query = select(IdeaEvent).where(IdeaEvent.idea_id == idea_id).order_by(IdeaEvent.id)
        return list((await self.session.execute(query)).scalars())

    async def awaiting_answer(self, author_id: int) -> list[Idea]:
        """The author's ideas on which the support team asked a question, newest first."""
        query = (
            select(Idea)
            .where(Idea.author_id == author_id, Idea.status == IdeaStatus.INFO_REQUESTED.value)
            .order_by(Idea.updated_at.desc(), Idea.id.desc())
        )
        return list((await self.session.execute(query)).scalars())

    async def open_in_units(self, unit_ids: Sequence[int], *, limit: int) -> list[Idea]:
        """Ideas still waiting for a decision, held by these units, longest waiting first."""
        if not unit_ids:
            return []
        query = (
            select(Idea)
            .where(Idea.holder_unit_id.in_(unit_ids), Idea.status.in_(OPEN_STATUSES))
            .order_by(Idea.waiting_since, Idea.id)
            .limit(limit)
        )
        return list((await self.session.execute(query)).scalars())

    async def open_holders_below(self, paths: Sequence[str], *, limit: int) -> list[int]:
        """The units strictly below these paths that hold ideas waiting for a decision
        (a team above may be serving them: their own team is empty or idle)."""
        if not paths:
            return []
        below = or_(*(Unit.path.startswith(p, autoescape=True) & (Unit.path != p) for p in paths))
        query = (
            select(Idea.holder_unit_id)
            .join(Unit, Unit.id == Idea.holder_unit_id)
            .where(below, Idea.status.in_(OPEN_STATUSES))
            .distinct()
            .limit(limit)
        )
        return list((await self.session.execute(query)).scalars())

    async def waiting_since_before(
        self,
        cutoff: datetime,
        *,
        limit: int,
        statuses: Sequence[str] = (IdeaStatus.SUBMITTED.value, IdeaStatus.FORWARDED.value),
    ) -> list[Idea]:
        """Ideas waiting in ``statuses`` (default: in a team's queue, not waiting for the
        worker; reminders also ask for the approved and the recognised) since before ``cutoff``.

        Locked for this transaction; rows another transaction holds (the same pass in
        another bot instance, a team member deciding right now) are skipped, so no
        idea is reminded twice: they come up again at the next pass.
        """
        query = (
            select(Idea)
            .where(
                Idea.status.in_(list(statuses)),
                Idea.waiting_since <= cutoff,
                Idea.escalated_at.is_(None),
            )
            .order_by(Idea.waiting_since)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list((await self.session.execute(query)).scalars())

    async def attachments(self, idea_id: int) -> list[Attachment]:
        query = select(Attachment).where(Attachment.idea_id == idea_id).order_by(Attachment.id)
        return list((await self.session.execute(query)).scalars())
