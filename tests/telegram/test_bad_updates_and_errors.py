"""One update a framework cannot parse, and the neutral errors of every Bot API call.

Both adapters fetch getUpdates as raw JSON and parse each update on its own, so an
update the library rejects is skipped (logged by id and exception class only) while
its id still counts for the offset. And every call, not only sending, raises the
neutral errors of :mod:`bot.runtime.errors`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import pytest
from aiogram.types import Update as AioUpdate

from bot.runtime.errors import PermanentSendError, RetryAfter, SendError, TransientSendError
from bot.runtime.intake import OrderedIntake
from bot.runtime.polling import poll
from bot.telegram.updates import parse_updates
from tests.telegram.fakeapi import GET_UPDATES_WARNING, KINDS, FakeBotApi, Running, make_adapter

pytestmark = [
    pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning"),
    pytest.mark.filterwarnings(GET_UPDATES_WARNING),
]

SECRET = "Mật khẩu kho là 4321"  # must never reach a log line
AN = {"id": 1001, "is_bot": False, "first_name": "An", "language_code": "vi"}
CHAT = {"id": 1001, "type": "private", "first_name": "An"}


def _text(update_id: int, text: str) -> dict[str, Any]:
    message = {"message_id": update_id, "date": 1_700_000_000, "chat": CHAT, "from": AN}
    return {"update_id": update_id, "message": {**message, "text": text}}


def _without_date(update_id: int) -> dict[str, Any]:
    """A required field missing: both libraries refuse it."""
    update = _text(update_id, SECRET)
    del update["message"]["date"]
    return update


def _hidden_forward(update_id: int) -> dict[str, Any]:
    """What Telegram really sent (aiogram#1840): a hidden_user origin without its name."""
    update = _text(update_id, SECRET)
    update["message"]["forward_origin"] = {"type": "hidden_user", "date": 1_400_000_000}
    return update


def _without_chat(update_id: int) -> dict[str, Any]:
    """aiogram refuses it; PTB builds a Message without a chat, which has no chat key."""
    update = _text(update_id, SECRET)
    del update["message"]["chat"]
    return update


def _no_content_logged(caplog: pytest.LogCaptureFixture) -> None:
    for record in caplog.records:
        ours = record.name.startswith("bot.")
        if ours or record.levelno >= logging.INFO:
            assert SECRET not in record.getMessage(), record.name
            assert record.exc_info is None or SECRET not in str(record.exc_info[1])


@pytest.mark.parametrize("kind", KINDS)
async def test_an_update_that_does_not_parse_is_skipped_and_confirmed(
    kind: str, fake_api: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    fake_api.updates = [
        _text(11, "một"),
        _without_date(12),
        _hidden_forward(13),
        _text(14, "hai"),
        _without_chat(15),  # the last one: only its own id can confirm it
    ]
    async with Running(kind, fake_api) as running:
        with caplog.at_level(logging.DEBUG, logger="bot"):
            batch = await running.adapter.fetch(None, 0)
        assert [(r.update_id, r.payload is None) for r in batch] == [
            (11, False),
            (12, True),
            (13, True),
            (14, False),
            (15, True),
        ]
        assert [r.chat_key for r in batch if r.payload is None] == [
            "telegram:update:12",
            "telegram:update:13",
            "telegram:update:15",
        ]
        for raw in batch:
            await running.adapter.process(raw)  # a skipped one does nothing
        assert [i.text for i in running.seen] == ["một", "hai"]
        # confirming past the last id leaves nothing to deliver again
        assert await running.adapter.fetch(16, 0) == []
        assert fake_api.updates == []

    skipped = [r for r in caplog.records if "could not be parsed" in r.getMessage()]
    assert [r.levelno for r in skipped] == [logging.WARNING] * 3
    assert all(r.exc_info is None for r in skipped)  # a traceback would carry the content
    errors = PARSE_ERRORS[kind]
    assert [r.getMessage() for r in skipped] == [
        f"update {update_id} skipped: it could not be parsed ({error})"
        for update_id, error in zip((12, 13, 15), errors, strict=True)
    ]
    _no_content_logged(caplog)


# What each library raises for the three updates above.
PARSE_ERRORS = {
    "aiogram": ("ValidationError",) * 3,
    "ptb": ("KeyError", "TypeError", "AttributeError"),  # the last: from the chat key
}


@pytest.mark.parametrize("kind", KINDS)
async def test_the_polling_loop_moves_past_an_update_that_does_not_parse(
    kind: str, fake_api: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    """Before, the whole batch raised and getUpdates was retried with the same offset forever."""
    fake_api.updates = [_hidden_forward(21)]
    async with Running(kind, fake_api) as running:
        intake = OrderedIntake(8)
        stop = asyncio.Event()
        loop = asyncio.create_task(
            poll(running.adapter, intake, running.adapter.process, stop, timeout=0)
        )
        try:
            await _until(lambda: intake.offset == 22)
            fake_api.updates.append(_text(22, "sau đó"))
            await _until(lambda: bool(running.seen))
        finally:
            stop.set()
            await asyncio.wait_for(loop, 5)
        assert [i.update_id for i in running.seen] == [22]
        offsets = [p.get("offset") for p in fake_api.calls_to("getUpdates")]
        assert offsets[0] is None and 22 in offsets and offsets[-1] == 23
        assert fake_api.updates == []
    assert not [r for r in caplog.records if "getUpdates failed" in r.getMessage()]
    _no_content_logged(caplog)


async def _until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 - the states watched here have no event
            await asyncio.sleep(0.01)


@pytest.mark.parametrize("kind", KINDS)
async def test_a_batch_that_is_not_a_list_is_a_fetch_error(kind: str, fake_api: FakeBotApi) -> None:
    """The polling loop backs off on it, as on any other failed getUpdates."""
    async with Running(kind, fake_api) as running:
        fake_api.fail_next_raw("getUpdates", 200, b'{"ok": true, "result": {"update_id": 1}}')
        with pytest.raises(Exception) as caught:
            await running.adapter.fetch(None, 0)
        assert not isinstance(caught.value, SendError)


def test_an_update_without_an_id_is_dropped_alone(caplog: pytest.LogCaptureFixture) -> None:
    """It cannot be confirmed by its own id, but a later update's offset confirms it."""
    parsed: list[dict[str, Any]] = []

    def parse(data: dict[str, Any]) -> AioUpdate:
        parsed.append(data)
        return AioUpdate.model_validate(data)

    results = [{"message": {}}, "junk", _text(31, "x"), {"update_id": True}]
    batch = parse_updates(results, parse)
    assert [(r.update_id, r.chat_key) for r in batch] == [(31, "telegram:1001")]
    assert parsed == [_text(31, "x")]
    assert len([r for r in caplog.records if "without an update_id" in r.getMessage()]) == 3


# ---------------------------------------------------------------- every call's errors

# (method, status, description, parameters, what the caller sees)
CALL_FAILURES: dict[str, tuple[str, int, str, dict[str, Any] | None, tuple[str, Any]]] = {
    "answer_too_old": (
        "answerCallbackQuery",
        400,
        "Bad Request: query is too old and response timeout expired or query ID is invalid",
        None,
        ("permanent", "bad_request"),
    ),
    "answer_flood": (
        "answerCallbackQuery",
        429,
        "Too Many Requests: retry after 5",
        {"retry_after": 5},
        ("retry_after", 5.0),
    ),
    "answer_gateway": ("answerCallbackQuery", 502, "Bad Gateway", None, ("transient", None)),
    "commands_bad": (
        "setMyCommands",
        400,
        "Bad Request: BOT_COMMAND_INVALID",
        None,
        ("permanent", "bad_request"),
    ),
    "commands_unauthorized": (
        "setMyCommands",
        401,
        "Unauthorized",
        None,
        ("permanent", "api_error"),
    ),
    "commands_server": ("setMyCommands", 500, "Internal Server Error", None, ("transient", None)),
}


def _outcome(exc: BaseException) -> tuple[str, Any]:
    if isinstance(exc, RetryAfter):
        return ("retry_after", exc.seconds)
    if isinstance(exc, PermanentSendError):
        return ("permanent", exc.reason)
    if isinstance(exc, TransientSendError):
        return ("transient", None)
    return (type(exc).__name__, None)


async def _call(adapter: Any, method: str) -> tuple[str, Any]:
    try:
        if method == "answerCallbackQuery":
            await adapter.answer_callback("cbq-1", "Đã lưu", False)
        else:
            await adapter.set_commands([("idea", "Gửi sáng kiến")], None)
    except SendError as exc:
        assert exc.__cause__ is not None  # the library's own error, kept for the logs
        return _outcome(exc)
    return ("ok", None)


@pytest.mark.parametrize("name", sorted(CALL_FAILURES))
async def test_answer_callback_and_set_commands_raise_neutral_errors(
    name: str, fake_api: FakeBotApi
) -> None:
    method, status, description, parameters, expected = CALL_FAILURES[name]
    outcomes = []
    for kind in KINDS:
        async with Running(kind, fake_api) as running:
            assert await _call(running.adapter, method) == ("ok", None)
            fake_api.fail_next(method, status, description, parameters)
            outcomes.append(await _call(running.adapter, method))
    assert outcomes == [expected, expected]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("method", ["answerCallbackQuery", "setMyCommands"])
async def test_unreachable_api_and_proxy_pages_are_transient(
    kind: str, method: str, fake_api: FakeBotApi
) -> None:
    async with Running(kind, fake_api) as running:
        fake_api.fail_next_raw(method, 502, b"<html><body>502 Bad Gateway</body></html>")
        assert await _call(running.adapter, method) == ("transient", None)
    adapter = make_adapter(kind, "http://127.0.0.1:9", 2.0)  # nothing listens on port 9
    try:
        assert await _call(adapter, method) == ("transient", None)
    finally:
        await adapter.close()
