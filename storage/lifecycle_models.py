"""The tables of an initiative's life after the support team's approval (issue #18).

The council's scores (one row per member and idea) and the idea's result: the
council's outcome with the unit head's decision, its application with the measured
benefit, and the reward paid. Kept apart from ``ideas`` so the hot path of a
submission reads and writes no more than before. docs/LIFECYCLE.md tells the story.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base


class CouncilScore(Base):
    """One council member's scores of one idea: at most one per member (unique)."""

    __tablename__ = "council_scores"
    __table_args__ = (UniqueConstraint("idea_id", "person_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    council_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    # {criterion: 1..5}, in the order of the council's criteria when scored.
    scores: Mapped[dict[str, Any]]
    total: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime]


class IdeaResult(Base):
    """What became of an approved idea: one row, written step by step.

    ``recognised`` is None until the chair records the outcome. The campaign columns
    say which campaign counted the step (the one running on the step's day), so a
    later change (a benefit revised) is counted where the step was.
    """

    __tablename__ = "idea_results"

    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id"), primary_key=True)
    council_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    recognised: Mapped[bool | None] = mapped_column(Boolean)
    decision_no: Mapped[str | None] = mapped_column(String(64))
    decision_date: Mapped[date | None] = mapped_column(Date)
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    recognised_campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"))
    applied_on: Mapped[date | None] = mapped_column(Date)
    applied_where: Mapped[str | None] = mapped_column(String(200))
    applied_at: Mapped[datetime | None]
    applied_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    applied_campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"))
    benefit_vnd: Mapped[int | None] = mapped_column(BigInteger)  # measured, per year
    reward_vnd: Mapped[int | None] = mapped_column(BigInteger)
    rewarded_at: Mapped[datetime | None]
