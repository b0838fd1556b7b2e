"""The database schema: SQLAlchemy 2 declarative models.

Every table the bot uses is declared here, except the messengers' own
(``storage/channel_models.py``) and those of an idea's life after approval
(``storage/lifecycle_models.py``), which share this ``Base``; Alembic migrations under
``storage/migrations`` create them. Enumerations are stored as short strings so
that the same schema works on SQLite and PostgreSQL without native enum types.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every engine.

    SQLite has no time zones and hands back naive values; this type stores UTC and
    always returns aware datetimes so comparisons never mix naive and aware values.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UtcDateTime column")

        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None

        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime, dict[str, Any]: JSON}


class UnitKind(enum.StrEnum):
    NATIONAL = "national"
    PROVINCE = "province"
    SECTOR = "sector"
    DISTRICT = "district"
    GRASSROOTS = "grassroots"
    TEAM = "team"


class RoleKind(enum.StrEnum):
    MEMBER = "member"  # only ever an invite's role: a member joins a unit, no row in roles
    SUPPORT = "support"
    OFFICIAL = "official"
    ADMIN = "admin"
    # The unit's initiative council (Hội đồng sáng kiến): scores approved ideas.
    COUNCIL = "council"
    # Its chair: scores too, and records the council's outcome (recognised or not).
    CHAIR = "council_chair"


class IdeaStatus(enum.StrEnum):
    SUBMITTED = "submitted"
    INFO_REQUESTED = "info_requested"
    FORWARDED = "forwarded"
    APPROVED = "approved"  # by the support team: now waits for the council
    DECLINED = "declined"
    RECOGNISED = "recognised"  # by the council, with the unit head's decision
    NOT_RECOGNISED = "not_recognised"
    APPLIED = "applied"  # put into use, with its measured benefit


class Category(enum.StrEnum):
    TECHNICAL = "technical"
    MANAGEMENT = "management"
    OPERATIONS = "operations"
    TECHNOLOGY = "technology"
    SAFETY = "safety"
    OTHER = "other"


class Benefit(enum.StrEnum):
    COST = "cost"
    PRODUCTIVITY = "productivity"
    QUALITY = "quality"
    SAFETY = "safety"
    ENVIRONMENT = "environment"
    OTHER = "other"


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class Unit(Base):
    """One union unit in the tree: national, province or sector, district, grassroots, team."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    name_folded: Mapped[str] = mapped_column(String(300), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    # Materialised path of ids, "/1/17/342/", so a subtree is one indexed prefix match.
    # Byte-order ("C") collation on PostgreSQL: with a language collation (en_US,
    # vi_VN, ICU) a b-tree index cannot serve LIKE '/1/17/%' and every subtree
    # query would scan the whole table. SQLite compares bytes already.
    path: Mapped[str] = mapped_column(
        String(400).with_variant(String(400, collation="C"), "postgresql"), index=True
    )
    depth: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]


class Person(Base):
    __tablename__ = "people"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    language: Mapped[str | None] = mapped_column(String(8))  # chosen with /lang
    platform_language: Mapped[str | None] = mapped_column(String(16))
    unreachable: Mapped[bool] = mapped_column(Boolean, default=False)
    # /mute: the person receives no announcements (/unmute undoes it).
    muted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime]
    # When a support team last asked them about one of their ideas (an idea set to
    # info_requested): the idea form looks for such a question only when one came since
    # the form was opened (handlers.flows.idea_held).
    questions_at: Mapped[datetime | None] = mapped_column(default=None)

    identities: Mapped[list[Identity]] = relationship(back_populates="person")


class Identity(Base):
    """An account on one messenger (channel) that belongs to a person."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    # Where to reach the person privately on this channel (Telegram: the user id).
    private_chat_id: Mapped[str | None] = mapped_column(String(64))
    # Telegram: the deployment's bots (routes, handlers.events.family_of) this account has
    # written through, the one used last first, space separated (migration 0015). Empty:
    # only the route named like the channel.
    bots: Mapped[str | None] = mapped_column(String(200))

    person: Mapped[Person] = relationship(back_populates="identities")


class Role(Base):
    """A person's role on a unit; it covers the unit's whole subtree."""

    __tablename__ = "roles"
    __table_args__ = (UniqueConstraint("person_id", "unit_id", "role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    granted_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    # The support team's lead (one per unit, handed over in /team); False for other roles.
    lead: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Invite(Base):
    """A deep-link token that lets its holder join a unit or take a role there.

    Only the SHA-256 of the token is stored: a leaked database does not leak links.
    """

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    max_uses: Mapped[int | None] = mapped_column(Integer)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    note: Mapped[str | None] = mapped_column(String(200))


class InviteRedemption(Base):
    """One use of an invite: who joined (or took the role, or bound a group) and when.

    The operator's ``invites list`` shows these; logs never name the person.
    """

    __tablename__ = "invite_redemptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invite_id: Mapped[int] = mapped_column(ForeignKey("invites.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    redeemed_at: Mapped[datetime]


class Idea(Base):
    __tablename__ = "ideas"
    __table_args__ = (
        Index("ix_ideas_unit_status", "unit_id", "status"),
        Index("ix_ideas_author_created", "author_id", "created_at"),
        Index("ix_ideas_created", "created_at", "id"),  # the dashboard: newest first
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ref_code: Mapped[str] = mapped_column(String(24), unique=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    # The unit whose support team holds the idea now (changes when forwarded).
    holder_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    # Whether the worker typed the title. A confidential idea's title travels above its
    # grassroots unit only if typed: one derived from the text would carry the text.
    title_given: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    body: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(16))
    benefit: Mapped[str] = mapped_column(String(16))
    benefit_amount: Mapped[int | None] = mapped_column(BigInteger)  # VND a year, if given
    confidential: Mapped[bool] = mapped_column(Boolean)
    language: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # When the idea entered its current team's queue, and what that team was told.
    waiting_since: Mapped[datetime | None] = mapped_column(index=True)
    reminded_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    # The campaign (phase) the idea was submitted in; None outside every phase.
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"))
    # The ideas found like it when it was submitted, [[idea id, score 0-1], …], the most
    # alike first (handlers.similar: the team's card names those its chat may see).
    # Written with the idea's own row, so a submission writes nothing more for them.
    similar: Mapped[list[Any] | None] = mapped_column(JSON)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012  (SQLAlchemy reads it)


class IdeaEvent(Base):
    """Append-only audit of every step an idea goes through."""

    __tablename__ = "idea_events"
    # A person's latest steps (a support team's last activity in /team and the idle rule).
    __table_args__ = (Index("ix_idea_events_actor_at", "actor_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    at: Mapped[datetime]
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None]


class Attachment(Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("idea_events.id"))
    channel: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))  # photo, document, voice, audio, video
    file_id: Mapped[str] = mapped_column(String(256))
    file_unique_id: Mapped[str | None] = mapped_column(String(128))
    file_name: Mapped[str | None] = mapped_column(String(256))
    mime_type: Mapped[str | None] = mapped_column(String(128))
    size: Mapped[int | None] = mapped_column(BigInteger)
    added_at: Mapped[datetime]


class TeamChat(Base):
    """A group chat bound to a unit's initiative support team: cards go there."""

    __tablename__ = "team_chats"
    __table_args__ = (UniqueConstraint("channel", "chat_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str | None] = mapped_column(String(200))
    bound_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    # Whose group it is: the unit's support team ("team") or its initiative council.
    body: Mapped[str] = mapped_column(String(16), default="team", server_default="team")
    bound_at: Mapped[datetime]
    # The group's own language for cards and reminders ("vi" when never chosen).
    language: Mapped[str | None] = mapped_column(String(8))


class Conversation(Base):
    """The persisted state of one chat's current flow, so a restart resumes it."""

    __tablename__ = "conversations"

    chat_key: Mapped[str] = mapped_column(String(96), primary_key=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    flow: Mapped[str | None] = mapped_column(String(32))
    step: Mapped[str | None] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime]


class OutboxMessage(Base):
    """A message waiting to be sent (or sent), written in the same transaction as its cause."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "priority", "next_attempt_at"),
        Index("ix_outbox_idea_purpose", "idea_id", "purpose"),
        Index("ix_outbox_chat", "channel", "chat_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    idea_id: Mapped[int | None] = mapped_column(ForeignKey("ideas.id"))
    purpose: Mapped[str | None] = mapped_column(String(32))
    # 0: a reply to the person typing; higher numbers wait behind it.
    priority: Mapped[int] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    message_id: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(String(200))
    # A lease: the bot instance sending this row, until when. Replies are claimed by
    # the instance that handled their update, in its transaction; the rest are
    # claimed by whichever instance's drainer gets them first (SKIP LOCKED).
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None]


class SendSlot(Base):
    """Shared send-rate state (GCRA "theoretical arrival time") when several bot
    instances share one PostgreSQL database: one row for the bot, one per chat."""

    __tablename__ = "send_slots"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    tat: Mapped[float] = mapped_column(Float)


class ProcessedUpdate(Base):
    """Update ids already handled, so a redelivered update does nothing twice."""

    __tablename__ = "processed_updates"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # Indexed for the retention pass (storage/retention.py), which deletes the oldest first.
    processed_at: Mapped[datetime] = mapped_column(index=True)


class InboxUpdate(Base):
    """An update taken from long polling and confirmed to Telegram, until it is handled.

    getUpdates confirms by offset: everything below it is gone for good. Keeping each
    fetched update here first lets the bot confirm a batch at once instead of only
    past its oldest update still being handled (which had Telegram send every update
    in hand again on each poll). A row outlives its handling by a few seconds; one a
    crash left behind is handled at the next start (``processed_updates`` tells which
    already were).
    """

    __tablename__ = "inbox"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    payload: Mapped[str] = mapped_column(Text)  # the update's JSON as Telegram sent it
    received_at: Mapped[datetime]


class Counter(Base):
    """Named sequences, e.g. the per-year number inside reference codes."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


# ---------------------------------------------------------------- progress (issue #4)


class ReportKind(enum.StrEnum):
    CHART = "chart"
    SPREADSHEET = "xlsx"
    CERTIFICATE = "certificate"  # a recognised initiative's certificate, for its author


class QuotaMeasure(enum.StrEnum):
    """What a quota counts; a campaign counts each by the date of that step."""

    SUBMITTED = "submitted"
    RECOGNISED = "recognised"


class ReportStatus(enum.StrEnum):
    PENDING = "pending"
    WORKING = "working"
    DONE = "done"
    FAILED = "failed"


class Campaign(Base):
    """A national phase of the programme; an idea counts toward the one it was submitted in.

    Dates are Vietnam calendar days, both included. Phases never overlap.
    """

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime]


class Quota(Base):
    """A unit's own target for a campaign, as imported."""

    __tablename__ = "quotas"

    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    # What the target counts (QuotaMeasure): ideas submitted, or initiatives recognised.
    measure: Mapped[str] = mapped_column(
        String(16), primary_key=True, default="submitted", server_default="submitted"
    )
    target: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime]


class QuotaTotal(Base):
    """The target that counts for a unit: its own, else the sum of its children's.

    Derived from ``quotas`` and the tree whenever either changes (quota import,
    ``python -m bot progress rebuild``), so reading it is one primary-key lookup.
    """

    __tablename__ = "quota_totals"

    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    measure: Mapped[str] = mapped_column(
        String(16), primary_key=True, default="submitted", server_default="submitted"
    )
    target: Mapped[int] = mapped_column(BigInteger)
    summed: Mapped[bool] = mapped_column(Boolean)  # True: the sum of the children's


class ProgressTotal(Base):
    """Ideas submitted and approved in a unit's whole subtree in one campaign.

    One row per unit and campaign for the idea's own unit *and every unit above it*,
    kept in the same transaction as the change (submission, decision).
    """

    __tablename__ = "progress_totals"

    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    submitted: Mapped[int] = mapped_column(Integer, default=0)
    approved: Mapped[int] = mapped_column(Integer, default=0)
    recognised: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    applied: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    benefit: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")  # VND a year


class ProgressDaily(Base):
    """The same counts per Vietnam calendar day (submissions on the day submitted,
    approvals on the day decided), for "the last 7 days"."""

    __tablename__ = "progress_daily"

    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    submitted: Mapped[int] = mapped_column(Integer, default=0)
    approved: Mapped[int] = mapped_column(Integer, default=0)
    recognised: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    applied: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    benefit: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")  # VND a year


class DigestSubscription(Base):
    """An official who gets their progress report every week."""

    __tablename__ = "digest_subscriptions"

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    subscribed_at: Mapped[datetime]
    # The scheduled moment of the last digest sent (or skipped): at most one a week.
    last_slot: Mapped[datetime | None]


class ReportJob(Base):
    """A chart or spreadsheet someone asked for, made outside the update's transaction."""

    __tablename__ = "report_jobs"
    __table_args__ = (Index("ix_report_jobs_status", "status", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(64))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"))  # None: certificate
    idea_id: Mapped[int | None] = mapped_column(ForeignKey("ideas.id"))  # a certificate's idea
    lang: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(String(200))
