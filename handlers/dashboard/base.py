"""What the dashboard's parts share: its settings, its requests, its refusals.

Every method takes the person already authenticated by ``bot/web/auth.py`` (by a
Telegram Mini App's signed initData, or a session from a one-time sign-in link),
opens its own unit of work, asks the visibility policy, and returns plain data
(JSON-ready dicts and lists). :class:`Denied` is the one refusal (HTTP 403): the same
whether the thing asked for does not exist or may not be seen, so a refusal never
tells an outsider what exists. :class:`BadRequest` (HTTP 400) is a malformed request;
:class:`Decided` (HTTP 409) a decision on an idea that no longer waits for one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.council_policy import CouncilPolicy
from handlers.i18n import Catalogue
from handlers.team_policy import TeamPolicy

JSON = dict[str, Any]


class Denied(Exception):
    """The policy refuses (or the thing asked for does not exist): HTTP 403."""


class BadRequest(Exception):
    """The request is malformed (a bad filter, an unknown action): HTTP 400.

    ``key`` is a catalogue key of the polite explanation, in the person's language.
    """

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class Decided(Exception):
    """The idea no longer waits for a decision (taken meanwhile, in the chat or on the
    page): HTTP 409. ``message`` says what became of it, in the person's language."""

    def __init__(self, message: str) -> None:
        super().__init__("decided")
        self.message = message


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class IdeaQuery:
    """Filters of the list of ideas; every field optional. ``cursor`` is the opaque
    string a previous page returned as ``next``."""

    unit_id: int | None = None
    status: str | None = None
    category: str | None = None
    since: str | None = None  # "YYYY-MM-DD", Vietnam's day, inclusive
    until: str | None = None  # "YYYY-MM-DD", inclusive
    text: str | None = None  # search, diacritics and case ignored
    cursor: str | None = None


@dataclass(frozen=True, slots=True)
class ActRequest:
    """A support member's decision from the page: the chat buttons' four actions.

    ``request_id``: chosen by the page per decision (a retry sends the same one), so a
    repeated request is done once (recorded like a Telegram update id, channel "web").
    """

    action: str  # approve | ask | forward | decline
    request_id: int
    unit_id: int | None = None  # forward: the unit above that receives it
    reason: str | None = None  # decline: one of triage.DECLINE_REASONS, or None with text
    text: str | None = None  # ask: the question; decline: a reason in words


@dataclass(kw_only=True)
class Deps:
    """What the dashboard works with, for one deployment (built once in bot/web)."""

    sessionmaker: async_sessionmaker[AsyncSession]  # actions (writes): the updates' engine
    reader: async_sessionmaker[AsyncSession]  # views: the background engine (its own thread)
    catalogue: Catalogue
    council: CouncilPolicy = field(default_factory=CouncilPolicy)
    team: TeamPolicy = field(default_factory=TeamPolicy)
    reports_dir: Path = Path("data/reports")
    export_max_rows: int = 100_000
    clock: Callable[[], datetime] = utc_now
