"""The real logging set-up keeps the libraries' bodies, names, phones and tokens out.

Each record below is what the library itself logs (its own wording and arguments),
sent through :func:`bot.logs.configure_logging` at DEBUG; the e2e test
(tests/e2e/test_private_logs.py) runs the whole bot the same way.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from bot.logs import configure_logging

TOKEN = "123456789:AAHe2eTestTokenForTheStandInServer01"
NAME, PHONE, IDEA = "Khổng Thị Xuyến", "0912 345 678", "Dời bàn ủi hơi sang cạnh cửa sổ"
UPDATE = {
    "update_id": 41,
    "message": {
        "from": {"id": 7, "first_name": NAME},
        "text": f"{IDEA}, gọi {PHONE}",
        "contact": {"phone_number": PHONE},
    },
}
PRIVATE = (NAME, PHONE, IDEA, TOKEN, TOKEN.split(":")[1], "Lan'", "0987")


@pytest.fixture
def debug_log() -> Iterator[io.StringIO]:
    """What configure_logging("DEBUG")'s handler writes (to this buffer, not stderr)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging("DEBUG")
    written = io.StringIO()
    [handler] = root.handlers
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(written)
    for name in ("httpx", "aiogram.event"):
        logging.getLogger(name).setLevel(logging.NOTSET)  # as if someone turned them on
    try:
        yield written
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        logging.getLogger("httpx").setLevel(logging.WARNING)
        logging.getLogger("aiogram.event").setLevel(logging.WARNING)


def assert_private_data_absent(text: str) -> None:
    for private in PRIVATE:
        assert private not in text, f"{private!r} in:\n{text}"


def test_library_records_keep_methods_statuses_and_ids_only(
    debug_log: io.StringIO,
) -> None:
    ptb = logging.getLogger("telegram.Bot")
    ptb.debug("Calling Bot API endpoint `%s` with parameters `%s`", "sendMessage", {"text": IDEA})
    ptb.debug(
        "Call to Bot API endpoint `%s` finished with return value `%s`", "getUpdates", [UPDATE]
    )
    logging.getLogger("telegram.ext._utils.webhookhandler").debug(
        "Webhook received data: %s", str(UPDATE)
    )
    logging.getLogger("httpx").info(
        'HTTP Request: %s %s "%s %d %s"',
        "POST",
        f"https://api.telegram.org/bot{TOKEN}/getUpdates",
        "HTTP/1.1",
        200,
        "OK",
    )
    logging.getLogger("httpcore.http11").debug(
        f"receive_response_body.complete return_value={str(UPDATE).encode()!r}"
    )
    logging.getLogger("aiosqlite").debug(
        "executing %s",
        f"functools.partial(<built-in method execute of sqlite3.Cursor object at 0x1>, "
        f"'INSERT INTO people (display_name) VALUES (?)', ('{NAME}',))",
    )
    logging.getLogger("aiogram.event").info(
        "Update id=%s is handled. Duration %d ms by bot id=%d", 41, 3, 123456789
    )
    logging.getLogger("aiohttp.access").info('%s "%s" %s', "10.0.0.1", f"POST /{TOKEN}", 200)
    logging.getLogger("telegram.ext.Application").warning(f"odd answer {UPDATE}")
    out = debug_log.getvalue()
    assert_private_data_absent(out)
    for useful in (
        "Calling Bot API endpoint `sendMessage`",
        "Bot API endpoint `getUpdates` answered: update ids 41",
        "Webhook received data: …",
        "HTTP Request: POST …/getUpdates 200 OK",
        "receive_response_body.complete",
        "aiosqlite: executing execute",
        "Update id=41 is handled. Duration 3 ms by bot id=123456789",
        "telegram.ext.Application: odd answer …",
    ):
        assert useful in out, out


def test_our_records_lose_tokens_and_failed_statement_values(
    debug_log: io.StringIO,
) -> None:
    log = logging.getLogger("bot.runtime.worker")
    log.info("calling %s", f"https://api.telegram.org/bot{TOKEN}/getMe")
    try:
        raise RuntimeError(
            "(sqlite3.IntegrityError) NOT NULL constraint failed\n"
            "[SQL: INSERT INTO ideas (body, title) VALUES (?, ?)]\n"
            f"[parameters: ('{IDEA}, gọi {PHONE}', '{NAME}')]"
        )
    except RuntimeError:
        log.exception("update %d failed", 41)
    out = debug_log.getvalue()
    assert_private_data_absent(out)
    assert "calling https://api.telegram.org/bot<token>/getMe" in out
    assert "update 41 failed" in out and "[parameters withheld]" in out
    assert "RuntimeError" in out and "INSERT INTO ideas" in out


def test_a_record_the_filter_cannot_read_is_still_logged_without_values(
    debug_log: io.StringIO,
) -> None:
    class Unprintable:
        def __str__(self) -> str:
            raise ValueError(NAME)

    logging.getLogger("bot.app").info("started %s", Unprintable())
    out = debug_log.getvalue()
    assert_private_data_absent(out)
    assert "started … (values withheld: unreadable)" in out
