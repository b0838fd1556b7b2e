"""Logging set-up, with filters that keep private data out of every log line.

Our own code logs ids and event kinds only. The libraries we run on do not: at DEBUG
python-telegram-bot logs every Bot API request and answer whole (idea texts, names,
phone numbers of shared contacts, invite tokens in ``/start``), httpcore logs
connection details, aiosqlite the SQL parameters it executes, and an HTTP library may
print a request URL, which carries the bot token. So every record of those libraries
keeps only its fixed wording (what happened, which Bot API method, which status, which
update ids) and never the values that came with it, at every level. Two checks apply
to every record, ours included: bot tokens are replaced and SQLAlchemy's
``[parameters: …]`` (the values of a failed statement) are withheld, in the message and
in a traceback's text.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from typing import Final

TOKEN_PATTERN: Final = re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}")
REDACTED: Final = "<token>"
WITHHELD: Final = "…"

# Loggers of the libraries under the bot: their records are reduced to what is safe.
LIBRARY_LOGGERS: Final = (
    "telegram",
    "aiogram",
    "httpx",
    "httpcore",
    "aiohttp",
    "aiosqlite",
    "asyncpg",
    "sqlalchemy",
    "apscheduler",
)

# A %-style conversion in a message template (``%s``, ``%(name)r``, ``%5.2f`` …).
_CONVERSION: Final = re.compile(
    r"%(\([^)]*\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa]"
)
# What starts a request or answer body inside an already formatted message.
_BODY: Final = re.compile(r"[{\[]\s*['\"{\[]|b['\"]")
# SQLAlchemy's error text lists the failed statement's values.
_SQL_PARAMETERS: Final = re.compile(r"\[parameters: .*?\](?=\n|$)", re.DOTALL)
_UPDATE_IDS: Final = re.compile(r"['\"]update_id['\"]: (\d+)")
_ENDPOINT: Final = re.compile(r"endpoint `(\w+)`")
_URL_METHOD: Final = re.compile(r"/([A-Za-z]+)/?$")
_CALLABLE_NAME: Final = re.compile(r"(?:method|function) ([\w.<>]+)")


def _library(name: str) -> bool:
    return any(name == lib or name.startswith(lib + ".") for lib in LIBRARY_LOGGERS)


def _harmless(value: object) -> bool:
    """Numbers (ids, counts, status codes, durations) and lists of them."""
    if isinstance(value, int | float | bool) or value is None:
        return True
    if isinstance(value, list | tuple | set | frozenset):
        return all(isinstance(item, int) for item in value)
    return False


def _template(record: logging.LogRecord) -> str:
    """The record's fixed wording with its numbers, and every other value left out."""
    args = record.args
    positional = iter(args if isinstance(args, tuple) else ())
    named = args if isinstance(args, Mapping) else {}

    def fill(match: re.Match[str]) -> str:
        conversion = match.group(0)
        key = match.group(1)
        try:
            value = named[key[1:-1]] if key else next(positional)
        except (KeyError, StopIteration):
            return WITHHELD
        if not _harmless(value):
            return WITHHELD
        try:
            return (conversion.replace(key, "") if key else conversion) % (value,)
        except (TypeError, ValueError):
            return WITHHELD

    text = str(record.msg).replace("%%", "\0")
    return _CONVERSION.sub(fill, text).replace("\0", "%")


def _template_only(msg: object) -> str:
    return _CONVERSION.sub(WITHHELD, str(msg)[:200])


def _ptb_call(record: logging.LogRecord) -> str | None:
    """python-telegram-bot's request and answer lines, with the method name only."""
    msg = str(record.msg)
    if not msg.startswith(("Calling Bot API endpoint", "Call to Bot API endpoint")):
        return None
    endpoint = _ENDPOINT.search(record.getMessage())
    method = endpoint.group(1) if endpoint else WITHHELD
    if msg.startswith("Calling"):
        return f"Calling Bot API endpoint `{method}`"
    summary = f"Bot API endpoint `{method}` answered"
    if method == "getUpdates":
        ids = _UPDATE_IDS.findall(record.getMessage())
        summary += f": update ids {', '.join(ids)}" if ids else ": no updates"
    return summary


def _httpx_request(record: logging.LogRecord) -> str | None:
    """httpx's ``HTTP Request: POST <url> "HTTP/1.1 200 OK"``: the method and status."""
    if not str(record.msg).startswith("HTTP Request:") or not isinstance(record.args, tuple):
        return None
    if len(record.args) < 5:
        return None
    verb, url, _version, status, reason = record.args[:5]
    method = _URL_METHOD.search(str(url))
    return f"HTTP Request: {verb} …/{method.group(1) if method else WITHHELD} {status} {reason}"


def safe_library_message(record: logging.LogRecord) -> str:
    """What a library's record may say: its fixed wording, never the values it carried."""
    for special in (_ptb_call, _httpx_request):
        summary = special(record)
        if summary is not None:
            return summary
    if record.name.startswith("httpcore"):
        # Pre-formatted "send_request_headers.started request=<…>": keep the event name.
        return str(record.msg).split(" ", 1)[0]
    if record.name.startswith("aiosqlite"):
        # "executing functools.partial(<built-in method execute …>, 'SQL', (values))"
        found = _CALLABLE_NAME.search(record.getMessage())
        verb = str(record.msg).split(" ", 1)[0]
        return f"{verb} {found.group(1) if found else WITHHELD}"
    if record.args:
        return _template(record)
    text = str(record.msg)
    body = _BODY.search(text)
    return text if body is None else text[: body.start()] + WITHHELD


def _scrub(text: str) -> str:
    return _SQL_PARAMETERS.sub("[parameters withheld]", TOKEN_PATTERN.sub(REDACTED, text))


class KeepPrivateDataOut(logging.Filter):
    """Reduces library records to what is safe; withholds tokens and SQL values in all."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            library = _library(record.name)
            message = _scrub(safe_library_message(record) if library else record.getMessage())
        except Exception:  # a log line must never break the bot, nor leak on the way out
            message = f"{_template_only(record.msg)} (values withheld: unreadable)"
        if message != record.msg or record.args:
            record.msg, record.args = message, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = _scrub(record.exc_text)
        return True


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
    )
    handler.addFilter(KeepPrivateDataOut())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiogram logs every update at INFO; one line per update is noise at our volume.
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
