"""Bot API error responses, worded the way the real Bot API server words them.

The descriptions follow tdlib/telegram-bot-api: a status prefix ("Bad Request", "Forbidden", …)
followed by the message with its first letter lower-cased.
"""

from __future__ import annotations

from typing import Any

JSONDict = dict[str, Any]


class BotApiError(Exception):
    """A Bot API call that ends with ``{"ok": false, ...}``."""

    def __init__(self, status: int, description: str, parameters: JSONDict | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> JSONDict:
        body: JSONDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(message: str) -> BotApiError:
    return BotApiError(400, f"Bad Request: {message}")


def forbidden(message: str) -> BotApiError:
    return BotApiError(403, f"Forbidden: {message}")


def unauthorized() -> BotApiError:
    return BotApiError(401, "Unauthorized")


def not_found() -> BotApiError:
    return BotApiError(404, "Not Found")


def conflict(message: str) -> BotApiError:
    return BotApiError(409, f"Conflict: {message}")


def too_many_requests(retry_after: int) -> BotApiError:
    return BotApiError(
        429,
        f"Too Many Requests: retry after {retry_after}",
        {"retry_after": retry_after},
    )


def server_error(status: int, description: str | None = None) -> BotApiError:
    default = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}
    return BotApiError(status, description or default.get(status, "Internal Server Error"))


# Wordings used in more than one place.
CHAT_ID_EMPTY = "chat_id is empty"
CHAT_NOT_FOUND = "chat not found"
MESSAGE_TEXT_EMPTY = "message text is empty"
MESSAGE_TOO_LONG = "message is too long"
CAPTION_TOO_LONG = "message caption is too long"
BUTTON_DATA_INVALID = "BUTTON_DATA_INVALID"
BUTTON_TEXT_INVALID = "BUTTON_TEXT_INVALID"
MESSAGE_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
QUERY_ID_INVALID = "query is too old and response timeout expired or query ID is invalid"
MESSAGE_ID_NOT_SPECIFIED = "message identifier is not specified"
WRONG_FILE_ID = "wrong file identifier/HTTP URL specified"
BOT_BLOCKED = "bot was blocked by the user"
CANT_INITIATE = "bot can't initiate conversation with a user"
GET_UPDATES_WITH_WEBHOOK = (
    "can't use getUpdates method while webhook is active; use deleteWebhook to delete the "
    "webhook first"
)
GET_UPDATES_TERMINATED = (
    "terminated by other getUpdates request; make sure that only one bot instance is running"
)


def missing_parameter(method: str, name: str) -> BotApiError:
    """The error Telegram gives when a required parameter is absent or empty."""
    if name == "chat_id":
        return bad_request(CHAT_ID_EMPTY)
    if name == "text" and method in {"sendMessage", "editMessageText"}:
        return bad_request(MESSAGE_TEXT_EMPTY)
    if name == "callback_query_id":
        return bad_request(QUERY_ID_INVALID)
    if name == "message_id":
        return bad_request(MESSAGE_ID_NOT_SPECIFIED)
    if name == "user_id":
        return bad_request("invalid user_id specified")
    if name in _MEDIA_WORDS:
        return bad_request(f"there is no {_MEDIA_WORDS[name]} in the request")
    return bad_request(f'parameter "{name}" is required')


_MEDIA_WORDS = {
    "photo": "photo",
    "document": "document",
    "voice": "voice",
    "audio": "audio",
    "video": "video",
    "animation": "animation",
    "sticker": "sticker",
    "video_note": "video note",
}
