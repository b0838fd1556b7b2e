"""Invite links: tokens for Telegram deep links (``t.me/<bot>?start=<token>``).

Only the SHA-256 of a token is stored, so the plain token exists once: in the
return value of ``InviteRepository.create``. A token is 32 characters of the URL-safe
base64 alphabet (``A-Za-z0-9_-``, 192 random bits), which fits the 64-character
``start`` parameter of a Telegram deep link.

The queries (issuing, redeeming, listing, revoking) are
:class:`storage.repositories.invites.InviteRepository`'s, ``uow.invites``.
"""

from __future__ import annotations

import enum
import hashlib
import re
import secrets
from datetime import datetime
from typing import Final

from storage.models import Invite

__all__ = [
    "MAX_DAYS",
    "MAX_USES",
    "NOTE_MAX",
    "TOKEN_BYTES",
    "InviteProblem",
    "hash_token",
    "invite_problem",
    "is_token_shaped",
    "new_token",
    "require_aware",
]

TOKEN_BYTES: Final = 24  # 192 bits -> 32 characters
_TOKEN_RE: Final = re.compile(r"[A-Za-z0-9_-]{16,64}")
NOTE_MAX: Final = 200
# The longest an invite may last and the most uses it may allow. A link meant to
# outlive a year, or a whole province, is better issued again: a forgotten one
# stops working by itself.
MAX_DAYS: Final = 365
MAX_USES: Final = 100_000


class InviteProblem(enum.StrEnum):
    """Why an invite cannot be redeemed."""

    UNKNOWN = "unknown"
    EXPIRED = "expired"
    REVOKED = "revoked"
    USED_UP = "used_up"


def new_token() -> str:
    """A fresh random token: 32 characters from ``A-Za-z0-9_-``."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    """The SHA-256 of ``token`` as 64 lower-case hex digits (what the database keeps)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def is_token_shaped(text: str) -> bool:
    """True if ``text`` could be a token (cheap check before touching the database)."""
    return _TOKEN_RE.fullmatch(text) is not None


def require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")


def invite_problem(invite: Invite, now: datetime) -> InviteProblem | None:
    """Why ``invite`` cannot be used at ``now``, or None if it can."""
    if invite.revoked_at is not None:
        return InviteProblem.REVOKED
    if invite.expires_at is not None and invite.expires_at <= now:
        return InviteProblem.EXPIRED
    if invite.max_uses is not None and invite.uses >= invite.max_uses:
        return InviteProblem.USED_UP
    return None
