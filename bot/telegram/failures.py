"""What a failed Bot API call means, as the neutral errors of :mod:`bot.runtime.errors`.

An adapter names which of its framework's exceptions means which :class:`Failure`
(a :data:`FailureTable`); the rest is the Bot API's and is the same for both.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from bot.runtime.errors import (
    MessageGone,
    PermanentSendError,
    RetryAfter,
    SendError,
    TransientSendError,
)


class Failure(enum.Enum):
    """What a framework's exception says went wrong, in the Bot API's terms."""

    RETRY_AFTER = "retry_after"  # 429: flood control, wait ``retry_after`` seconds
    BAD_REQUEST = "bad_request"  # 400: the description says what was wrong
    FORBIDDEN = "forbidden"  # 403: blocked, kicked, deactivated
    NOT_FOUND = "not_found"  # 404
    UNAUTHORIZED = "unauthorized"  # 401: the token
    NOT_FOUND_OR_UNAUTHORIZED = "not_found_or_unauthorized"  # a framework that can't tell
    TRANSIENT = "transient"  # network, timeout, 413, 5xx, an answer that is not JSON
    OTHER = "other"  # any other Bot API error: 409, a group that became a supergroup, ...


@dataclass(frozen=True, slots=True)
class ApiFailure:
    kind: Failure
    description: str = ""
    retry_after: float = 0.0

    @property
    def not_modified(self) -> bool:
        """An edit that changes nothing: as good as done."""
        return self.kind is Failure.BAD_REQUEST and is_not_modified(self.description)

    def to_error(self, name: str) -> SendError:
        """What the sender should do about it; ``name`` (the framework's class) is for logs."""
        kind = self.kind
        if kind is Failure.NOT_FOUND_OR_UNAUTHORIZED:
            # 401 is "Unauthorized" (a token Telegram does not know); anything else is a 404.
            unauthorized = "unauthorized" in self.description.lower()
            kind = Failure.UNAUTHORIZED if unauthorized else Failure.NOT_FOUND
        if kind is Failure.RETRY_AFTER:
            return RetryAfter(self.retry_after)
        if kind in (Failure.BAD_REQUEST, Failure.FORBIDDEN, Failure.NOT_FOUND):
            return classify_bad_request(self.description)
        if kind is Failure.TRANSIENT:
            return TransientSendError(name)
        return PermanentSendError("api_error", self.description)


# A framework's exception classes, most specific first, and what each means.
FailureTable = Sequence[tuple[type[BaseException] | tuple[type[BaseException], ...], Failure]]


def failure_from(exc: BaseException, table: FailureTable) -> ApiFailure | None:
    """The failure the first matching row names (None: not an error of the framework's)."""
    for classes, kind in table:
        if isinstance(exc, classes):
            return ApiFailure(kind, str(getattr(exc, "message", "") or exc))
    return None


def classify_bad_request(description: str) -> SendError:
    """Turn a Bot API 400/403/404 description into what the sender should do about it."""
    text = description.lower()
    if "message to edit not found" in text or "message can't be edited" in text:
        return MessageGone(description)
    if "blocked by the user" in text:
        return PermanentSendError("blocked", description)
    if "user is deactivated" in text:
        return PermanentSendError("deactivated", description)
    if "chat not found" in text or "bot was kicked" in text or "not a member" in text:
        return PermanentSendError("chat_not_found", description)
    return PermanentSendError("bad_request", description)


def is_not_modified(description: str) -> bool:
    return "message is not modified" in description.lower()
