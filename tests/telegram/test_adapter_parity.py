"""The python-telegram-bot adapter behaves exactly like the aiogram one.

The same raw Bot API JSON goes through both adapters: translation into ``Incoming``,
routing through each framework (aiogram's Dispatcher, PTB's Application), the
Bot API calls each sends for the same ``OutMessage``, and the neutral error each
raises for the same failure, both from constructed exceptions and on the wire
against a tiny fake Bot API served on loopback.
"""

from __future__ import annotations

import copy
import json
import logging
from dataclasses import fields
from typing import Any

import pytest
from aiogram import exceptions as aio_exc
from aiogram.methods import SendMessage
from aiogram.types import Update as AioUpdate
from telegram import Bot as PtbBot
from telegram import Update as PtbUpdate
from telegram import error as ptb_exc
from telegram.ext import CallbackContext, ExtBot
from telegram.warnings import PTBUserWarning

from bot.runtime.errors import (
    PermanentSendError,
    RetryAfter,
    SendError,
)
from bot.runtime.polling import RawUpdate
from bot.telegram import aiogram_adapter as aio
from bot.telegram import incoming, sending, updates
from bot.telegram import ptb_adapter as ptb
from bot.telegram.constants import ALLOWED_UPDATES
from handlers.events import AttachmentKind, Button, FileRef, Incoming, OtherContent, OutMessage
from tests.telegram.fakeapi import (
    BOT_USERNAME,
    GET_UPDATES_WARNING,
    KINDS,
    ME,
    TOKEN,
    FakeBotApi,
    Running,
)
from tests.telegram.fakeapi import make_adapter as _make

pytestmark = [
    # PTB itself reads RetryAfter.retry_after (deprecated as an int) when it builds one.
    pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning"),
    # The PTB adapter fetches with do_api_request("getUpdates") on purpose.
    pytest.mark.filterwarnings(GET_UPDATES_WARNING),
]

PTB_BOT = PtbBot(TOKEN)  # only for de_json; never talks to anyone

# ---------------------------------------------------------------- raw updates

USER = {
    "id": 1001,
    "is_bot": False,
    "first_name": "Nguyễn",
    "last_name": "Văn An",
    "username": "an_nguyen",
    "language_code": "vi",
}
USER_FIRST_ONLY = {"id": 1002, "is_bot": False, "first_name": "Hoa"}
OTHER_BOT = {"id": 1003, "is_bot": True, "first_name": "Helper", "username": "OtherBot"}
PRIVATE = {"id": 1001, "type": "private", "first_name": "Nguyễn", "last_name": "Văn An"}
GROUP = {"id": -100200, "type": "supergroup", "title": "Công đoàn Tổ 3"}
BASIC_GROUP = {"id": -300, "type": "group", "title": "Tổ bảo trì"}
CHANNEL_CHAT = {"id": -100300, "type": "channel", "title": "Bản tin"}


def _message(
    content: dict[str, Any],
    *,
    chat: dict[str, Any] = PRIVATE,
    sender: dict[str, Any] | None = USER,
    message_id: int = 10,
) -> dict[str, Any]:
    message: dict[str, Any] = {"message_id": message_id, "date": 1_700_000_000, "chat": chat}
    if sender is not None:
        message["from"] = sender
    message.update(content)
    return message


def _photo_sizes() -> list[dict[str, Any]]:
    return [
        {"file_id": f"PH-{w}", "file_unique_id": f"uq-{w}", "width": w, "height": w, "file_size": s}
        for w, s in ((90, 1_200), (320, 14_000), (1280, 98_000))
    ]


DOCUMENT = {
    "file_id": "DOC-1",
    "file_unique_id": "uq-doc",
    "file_name": "de-xuat.pdf",
    "mime_type": "application/pdf",
    "file_size": 52_000,
}
ANIMATION = {
    "file_id": "ANI-1",
    "file_unique_id": "uq-ani",
    "width": 320,
    "height": 240,
    "duration": 3,
    "file_name": "meo.gif.mp4",
    "mime_type": "video/mp4",
    "file_size": 20_000,
}
STICKER = {
    "file_id": "STK-1",
    "file_unique_id": "uq-stk",
    "type": "regular",
    "width": 512,
    "height": 512,
    "is_animated": False,
    "is_video": False,
    "emoji": "👍",
}
LOCATION = {"latitude": 21.0278, "longitude": 105.8342}


def _member(status: str, **extra: Any) -> dict[str, Any]:
    return {"status": status, "user": ME, **extra}


ADMIN_RIGHTS = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": False,
    "can_manage_video_chats": False,
    "can_restrict_members": False,
    "can_promote_members": False,
    "can_change_info": False,
    "can_invite_users": True,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
    "can_send_welcome_messages": False,  # required by aiogram 3.31's models
}
RESTRICTED = {
    "is_member": True,
    "can_send_messages": False,
    "can_send_audios": False,
    "can_send_documents": False,
    "can_send_photos": False,
    "can_send_videos": False,
    "can_send_video_notes": False,
    "can_send_voice_notes": False,
    "can_send_polls": False,
    "can_send_other_messages": False,
    "can_add_web_page_previews": False,
    "can_change_info": False,
    "can_invite_users": False,
    "can_pin_messages": False,
    "can_manage_topics": False,
    "can_react_to_messages": False,  # these two: required by both libraries' models
    "can_edit_tag": False,
    "until_date": 0,
}


def _member_update(
    new: dict[str, Any], old: dict[str, Any], chat: dict[str, Any] = GROUP
) -> dict[str, Any]:
    return {
        "chat": chat,
        "from": USER,
        "date": 1_700_000_100,
        "old_chat_member": old,
        "new_chat_member": new,
    }


CALLBACK_MESSAGE = _message(
    {
        "text": "Chọn lĩnh vực",
        "reply_markup": {"inline_keyboard": [[{"text": "An toàn", "callback_data": "f:safety"}]]},
    },
    sender=ME,
    message_id=77,
)

# name -> (update JSON, what the flows must see)
UPDATES: dict[str, dict[str, Any]] = {
    "text": {"message": _message({"text": "Xin chào, tôi có một ý tưởng"})},
    "text_first_name_only": {
        "message": _message(
            {"text": "Chào"},
            chat={"id": 1002, "type": "private", "first_name": "Hoa"},
            sender=USER_FIRST_ONLY,
        )
    },
    "start_payload": {
        "message": _message(
            {
                "text": "/start inv_AbC123",
                "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
            }
        )
    },
    "start_at_bot_in_group": {
        "message": _message(
            {
                "text": "/start@SangKienBot",
                "entities": [{"type": "bot_command", "offset": 0, "length": 18}],
            },
            chat=GROUP,
        )
    },
    "command_upper_case_in_basic_group": {
        "message": _message({"text": "/IDEA@sangkienbot  sửa   máy "}, chat=BASIC_GROUP)
    },
    "command_for_other_bot": {
        "message": _message(
            {
                "text": "/help@OtherBot",
                "entities": [{"type": "bot_command", "offset": 0, "length": 14}],
            },
            chat=GROUP,
        )
    },
    "not_a_command": {"message": _message({"text": "/ có dấu cách"})},
    "photo_with_caption": {
        "message": _message(
            {
                "photo": _photo_sizes(),
                "caption": "Ảnh máy bơm",
                "caption_entities": [{"type": "bold", "offset": 0, "length": 3}],
            }
        )
    },
    "photo_no_caption_in_group": {"message": _message({"photo": _photo_sizes()}, chat=GROUP)},
    "document": {"message": _message({"document": DOCUMENT, "caption": "Bản đề xuất"})},
    "voice": {
        "message": _message(
            {
                "voice": {
                    "file_id": "VOI-1",
                    "file_unique_id": "uq-voi",
                    "duration": 7,
                    "mime_type": "audio/ogg",
                    "file_size": 9_000,
                }
            }
        )
    },
    "audio": {
        "message": _message(
            {
                "audio": {
                    "file_id": "AUD-1",
                    "file_unique_id": "uq-aud",
                    "duration": 60,
                    "file_name": "ghi-am.mp3",
                    "mime_type": "audio/mpeg",
                    "file_size": 480_000,
                }
            }
        )
    },
    "video": {
        "message": _message(
            {
                "video": {
                    "file_id": "VID-1",
                    "file_unique_id": "uq-vid",
                    "width": 640,
                    "height": 360,
                    "duration": 12,
                    "file_name": "may.mp4",
                    "mime_type": "video/mp4",
                    "file_size": 1_200_000,
                },
                "caption": "Video",
            }
        )
    },
    "sticker": {"message": _message({"sticker": STICKER})},
    "location": {"message": _message({"location": LOCATION})},
    "venue": {
        "message": _message(
            {
                "location": LOCATION,
                "venue": {"location": LOCATION, "title": "Nhà máy", "address": "KCN Thăng Long"},
            }
        )
    },
    "contact": {
        "message": _message(
            {"contact": {"phone_number": "+84901234567", "first_name": "Lan", "user_id": 1004}}
        )
    },
    "poll": {
        "message": _message(
            {
                "poll": {
                    "id": "poll-1",
                    "question": "Ca nào?",
                    "options": [
                        {"persistent_id": "o1", "text": "Sáng", "voter_count": 0},
                        {"persistent_id": "o2", "text": "Chiều", "voter_count": 0},
                    ],
                    "total_voter_count": 0,
                    "is_closed": False,
                    "is_anonymous": True,
                    "type": "regular",
                    "allows_multiple_answers": False,
                    "allows_revoting": False,
                    "members_only": False,
                }
            },
            chat=GROUP,
        )
    },
    "video_note": {
        "message": _message(
            {
                "video_note": {
                    "file_id": "VN-1",
                    "file_unique_id": "uq-vn",
                    "length": 240,
                    "duration": 5,
                }
            }
        )
    },
    "animation": {"message": _message({"animation": ANIMATION, "document": ANIMATION})},
    "dice": {"message": _message({"dice": {"emoji": "🎲", "value": 4}})},
    "service_new_members": {
        "message": _message({"new_chat_members": [USER_FIRST_ONLY]}, chat=GROUP)
    },
    "reply_to_force_reply": {
        "message": _message(
            {"text": "Tên sáng kiến của tôi", "reply_to_message": CALLBACK_MESSAGE},
            message_id=78,
        )
    },
    "from_a_bot": {"message": _message({"text": "ping"}, chat=GROUP, sender=OTHER_BOT)},
    "anonymous_admin": {
        "message": _message({"text": "Thông báo", "sender_chat": GROUP}, chat=GROUP, sender=None)
    },
    "channel_as_message": {
        "message": _message({"text": "Tin mới", "sender_chat": CHANNEL_CHAT}, chat=CHANNEL_CHAT)
    },
    "edited": {"edited_message": _message({"text": "sửa lại", "edit_date": 1_700_000_050})},
    "callback": {
        "callback_query": {
            "id": "cbq-1",
            "from": USER,
            "message": CALLBACK_MESSAGE,
            "chat_instance": "ci-1",
            "data": "f:safety",
        }
    },
    "callback_inaccessible_message": {
        "callback_query": {
            "id": "cbq-2",
            "from": USER,
            "message": {"chat": PRIVATE, "message_id": 5, "date": 0},
            "chat_instance": "ci-1",
            "data": "old:button",
        }
    },
    "callback_without_message_or_data": {
        "callback_query": {
            "id": "cbq-3",
            "from": USER,
            "inline_message_id": "inl-1",
            "chat_instance": "ci-2",
            "game_short_name": "game",
        }
    },
    "bot_added_to_group": {"my_chat_member": _member_update(_member("member"), _member("left"))},
    "bot_made_admin": {
        "my_chat_member": _member_update(
            _member("administrator", **ADMIN_RIGHTS), _member("member"), chat=BASIC_GROUP
        )
    },
    "bot_removed_from_group": {
        "my_chat_member": _member_update(_member("left"), _member("member"))
    },
    "bot_kicked_from_group": {
        "my_chat_member": _member_update(_member("kicked", until_date=0), _member("member"))
    },
    "bot_restricted": {
        "my_chat_member": _member_update(_member("restricted", **RESTRICTED), _member("member"))
    },
    "bot_blocked_in_private": {
        "my_chat_member": _member_update(
            _member("kicked", until_date=0), _member("member"), chat=PRIVATE
        )
    },
    "channel_post": {
        "channel_post": _message(
            {"text": "Bản tin tháng", "sender_chat": CHANNEL_CHAT}, chat=CHANNEL_CHAT, sender=None
        )
    },
}


def _raw(name: str, update_id: int = 5000) -> dict[str, Any]:
    return {"update_id": update_id, **copy.deepcopy(UPDATES[name])}


def _translate(update: Any) -> Incoming | None:
    """What the adapters' handlers hand to the runtime for this update (None: nothing)."""
    result: Incoming | None = None
    if update.message is not None:
        result = incoming.message_to_incoming(update.update_id, update.message, BOT_USERNAME)
    elif update.callback_query is not None:
        result = incoming.callback_to_incoming(update.update_id, update.callback_query)
    elif update.my_chat_member is not None:
        result = incoming.member_to_incoming(update.update_id, update.my_chat_member)
    return result


def _both(name: str) -> tuple[Incoming | None, Incoming | None]:
    data = _raw(name)
    return (
        _translate(AioUpdate.model_validate(copy.deepcopy(data))),
        _translate(PtbUpdate.de_json(copy.deepcopy(data), PTB_BOT)),
    )


def _assert_same_types(a: Any, b: Any) -> None:
    """Equal is not enough: a str-enum from one library would compare equal to a str."""
    assert type(a) is type(b)
    if a is None:
        return
    if isinstance(a, tuple):
        for x, y in zip(a, b, strict=True):
            _assert_same_types(x, y)
    elif hasattr(a, "__dataclass_fields__"):
        for f in fields(a):
            _assert_same_types(getattr(a, f.name), getattr(b, f.name))


# ---------------------------------------------------------------- translation parity


@pytest.mark.parametrize("name", sorted(UPDATES))
def test_translation_is_identical(name: str) -> None:
    from_aiogram, from_ptb = _both(name)
    assert from_ptb == from_aiogram
    assert repr(from_ptb) == repr(from_aiogram)
    _assert_same_types(from_ptb, from_aiogram)


@pytest.mark.parametrize("name", sorted(UPDATES))
def test_chat_key_is_identical(name: str) -> None:
    data = _raw(name, update_id=7)
    assert updates.chat_key(PtbUpdate.de_json(copy.deepcopy(data), PTB_BOT)) == updates.chat_key(
        AioUpdate.model_validate(copy.deepcopy(data))
    )


def test_translation_reads_what_it_should() -> None:
    """Spot checks, so the parity above is parity of the right thing."""
    incoming = _both("start_payload")[1]
    assert incoming is not None
    assert (incoming.command, incoming.command_args, incoming.text) == ("start", "inv_AbC123", None)

    incoming = _both("start_at_bot_in_group")[1]
    assert incoming is not None
    assert (incoming.command, incoming.chat.kind) == ("start", "group")

    incoming = _both("command_upper_case_in_basic_group")[1]
    assert incoming is not None
    assert (incoming.command, incoming.command_args) == ("idea", "sửa   máy")

    incoming = _both("command_for_other_bot")[1]
    assert incoming is not None
    assert (incoming.command, incoming.text) == (None, "/help@OtherBot")

    incoming = _both("photo_with_caption")[1]
    assert incoming is not None
    assert incoming.text == "Ảnh máy bơm"
    assert incoming.files == (
        FileRef(AttachmentKind.PHOTO, "PH-1280", "uq-1280", None, "image/jpeg", 98_000),
    )
    assert incoming.other is None

    incoming = _both("text")[1]
    assert incoming is not None
    assert incoming.sender.display_name == "Nguyễn Văn An"
    assert incoming.sender.language_code == "vi"
    assert incoming.chat.kind == "private"

    expected_other = {
        "sticker": OtherContent.STICKER,
        "location": OtherContent.LOCATION,
        "venue": OtherContent.LOCATION,
        "contact": OtherContent.CONTACT,
        "poll": OtherContent.POLL,
        "video_note": OtherContent.VIDEO_NOTE,
        "animation": OtherContent.ANIMATION,
        "dice": OtherContent.UNSUPPORTED,
        "service_new_members": OtherContent.UNSUPPORTED,
    }
    for name, other in expected_other.items():
        incoming = _both(name)[1]
        assert incoming is not None
        assert (incoming.other, incoming.files) == (other, ()), name

    for name in (
        "anonymous_admin",
        "channel_as_message",
        "channel_post",
        "edited",
        "bot_restricted",
        "bot_blocked_in_private",
    ):
        assert _both(name) == (None, None), name

    added, removed, kicked = (
        _both(n)[1]
        for n in ("bot_added_to_group", "bot_removed_from_group", "bot_kicked_from_group")
    )
    assert added is not None and added.bot_added_to_group and not added.bot_removed_from_group
    assert removed is not None and removed.bot_removed_from_group
    assert kicked is not None and kicked.bot_removed_from_group

    incoming = _both("callback_without_message_or_data")[1]
    assert incoming is not None
    assert (incoming.button, incoming.chat.external_id, incoming.message_id) == ("", "1001", None)


# ---------------------------------------------------------------- markup parity

OUT_MESSAGES: dict[str, OutMessage] = {
    "plain": OutMessage(text="<b>Chào</b> bạn"),
    "buttons": OutMessage(
        text="Chọn",
        buttons=(
            (Button("An toàn", "f:safety"), Button("Năng suất", "f:prod")),
            (Button("Huỷ", "cancel"),),
        ),
    ),
    "force_reply": OutMessage(text="Tên sáng kiến?", force_reply=True),
    "force_reply_wins_over_buttons": OutMessage(
        text="x", buttons=((Button("a", "a"),),), force_reply=True
    ),
}


@pytest.mark.parametrize("name", sorted(OUT_MESSAGES))
def test_markup_is_the_same_json(name: str) -> None:
    message = OUT_MESSAGES[name]
    from_aiogram: Any = sending.reply_markup(message, aio.CLASSES)
    from_ptb: Any = sending.reply_markup(message, ptb.CLASSES)
    if from_aiogram is None:
        assert from_ptb is None
        return
    assert from_ptb is not None
    assert type(from_ptb).__name__ == type(from_aiogram).__name__
    assert from_ptb.to_dict() == from_aiogram.model_dump(exclude_none=True)


# ---------------------------------------------------------------- error mapping (constructed)

_METHOD = SendMessage(chat_id=1001, text="x")


def _outcome(exc: BaseException) -> tuple[str, Any]:
    """What the sender would make of a neutral error (the description is for logs only)."""
    if isinstance(exc, RetryAfter):
        return ("retry_after", exc.seconds)
    if isinstance(exc, PermanentSendError):
        return ("permanent", exc.reason)
    return (type(exc).__name__, None)


# (aiogram's exception, PTB's exception for the same response, what the sender sees)
ERROR_CASES: dict[str, tuple[Exception, Exception, tuple[str, Any]]] = {
    "chat_not_found": (
        aio_exc.TelegramBadRequest(_METHOD, "Bad Request: chat not found"),
        ptb_exc.BadRequest("Bad Request: chat not found"),
        ("permanent", "chat_not_found"),
    ),
    "bad_html": (
        aio_exc.TelegramBadRequest(_METHOD, "Bad Request: can't parse entities: Unclosed <b>"),
        ptb_exc.BadRequest("Bad Request: can't parse entities: Unclosed <b>"),
        ("permanent", "bad_request"),
    ),
    "blocked": (
        aio_exc.TelegramForbiddenError(_METHOD, "Forbidden: bot was blocked by the user"),
        ptb_exc.Forbidden("Forbidden: bot was blocked by the user"),
        ("permanent", "blocked"),
    ),
    "deactivated": (
        aio_exc.TelegramForbiddenError(_METHOD, "Forbidden: user is deactivated"),
        ptb_exc.Forbidden("Forbidden: user is deactivated"),
        ("permanent", "deactivated"),
    ),
    "kicked": (
        aio_exc.TelegramForbiddenError(_METHOD, "Forbidden: bot was kicked from the group chat"),
        ptb_exc.Forbidden("Forbidden: bot was kicked from the group chat"),
        ("permanent", "chat_not_found"),
    ),
    "edit_gone": (
        aio_exc.TelegramBadRequest(_METHOD, "Bad Request: message to edit not found"),
        ptb_exc.BadRequest("Bad Request: message to edit not found"),
        ("MessageGone", None),
    ),
    "edit_impossible": (
        aio_exc.TelegramBadRequest(_METHOD, "Bad Request: message can't be edited"),
        ptb_exc.BadRequest("Bad Request: message can't be edited"),
        ("MessageGone", None),
    ),
    "not_modified_on_send": (
        aio_exc.TelegramBadRequest(_METHOD, "Bad Request: message is not modified"),
        ptb_exc.BadRequest("Bad Request: message is not modified"),
        ("permanent", "bad_request"),
    ),
    "flood": (
        aio_exc.TelegramRetryAfter(_METHOD, "Too Many Requests: retry after 7", retry_after=7),
        ptb_exc.RetryAfter(7),
        ("retry_after", 7.0),
    ),
    "network": (
        aio_exc.TelegramNetworkError(_METHOD, "ClientConnectorError: refused"),
        ptb_exc.NetworkError("httpx.ConnectError: refused"),
        ("TransientSendError", None),
    ),
    "timeout": (
        aio_exc.TelegramNetworkError(_METHOD, "Request timeout error"),
        ptb_exc.TimedOut(),
        ("TransientSendError", None),
    ),
    "server_error": (
        aio_exc.TelegramServerError(_METHOD, "Internal Server Error"),
        ptb_exc.NetworkError("Internal Server Error"),
        ("TransientSendError", None),
    ),
    "too_large": (
        aio_exc.TelegramEntityTooLarge(_METHOD, "Request Entity Too Large"),
        ptb_exc.NetworkError("Request Entity Too Large"),
        ("TransientSendError", None),
    ),
    "migrated": (
        aio_exc.TelegramMigrateToChat(
            _METHOD, "Bad Request: group chat was upgraded to a supergroup chat", -100999
        ),
        ptb_exc.ChatMigrated(-100999),
        ("permanent", "api_error"),
    ),
    "conflict": (
        aio_exc.TelegramConflictError(_METHOD, "Conflict: terminated by other getUpdates"),
        ptb_exc.Conflict("Conflict: terminated by other getUpdates"),
        ("permanent", "api_error"),
    ),
    "not_found": (
        aio_exc.TelegramNotFound(_METHOD, "Not Found"),
        ptb_exc.InvalidToken("Not Found"),
        ("permanent", "bad_request"),
    ),
    "unauthorized": (
        aio_exc.TelegramUnauthorizedError(_METHOD, "Unauthorized"),
        ptb_exc.InvalidToken("Unauthorized"),
        ("permanent", "api_error"),
    ),
    "proxy_error_page": (
        aio_exc.ClientDecodeError(
            "Failed to decode object", ValueError("Expecting value"), "<html>502</html>"
        ),
        ptb_exc.NetworkError("Bad Gateway (502). Parsing the server response failed"),
        ("TransientSendError", None),
    ),
}


async def _send_raising(kind: str, exc: Exception, message: OutMessage) -> str | BaseException:
    adapter = _make(kind)

    async def failing(chat_id: str, message: OutMessage) -> str:
        raise exc

    adapter._send = failing
    try:
        sent: str = await adapter.send("1001", message)
        return sent
    except SendError as mapped:
        assert mapped.__cause__ is exc
        return mapped
    finally:
        await adapter.close()


@pytest.mark.parametrize("name", sorted(ERROR_CASES))
async def test_errors_map_the_same(name: str) -> None:
    aio_error, ptb_error, expected = ERROR_CASES[name]
    message = OutMessage(text="x")
    from_aiogram = await _send_raising("aiogram", aio_error, message)
    from_ptb = await _send_raising("ptb", ptb_error, message)
    assert isinstance(from_aiogram, BaseException) and isinstance(from_ptb, BaseException)
    assert _outcome(from_ptb) == _outcome(from_aiogram) == expected


async def test_not_modified_edit_is_a_success_in_both() -> None:
    edit = OutMessage(text="x", edit_message_id="77")
    text = "Bad Request: message is not modified: specified new message content and reply markup"
    assert await _send_raising("aiogram", aio_exc.TelegramBadRequest(_METHOD, text), edit) == "77"
    assert await _send_raising("ptb", ptb_exc.BadRequest(text), edit) == "77"


def test_retry_seconds_with_and_without_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ptb.retry_seconds(ptb_exc.RetryAfter(3)) == 3.0
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    assert ptb.retry_seconds(ptb_exc.RetryAfter(3)) == 3.0


# ---------------------------------------------------------------- a fake Bot API on loopback

# (FakeBotApi, Running and the fake_api fixture: tests/telegram/fakeapi.py, conftest.py)


async def _route_all(kind: str, api: FakeBotApi) -> tuple[list[tuple[int, str]], list[Incoming]]:
    api.updates = [_raw(name, update_id=100 + i) for i, name in enumerate(sorted(UPDATES))]
    async with Running(kind, api) as running:
        batch = await running.adapter.fetch(None, 0)
        for raw in batch:
            await running.adapter.process(raw)
        # confirming the batch leaves nothing to fetch
        assert await running.adapter.fetch(batch[-1].update_id + 1, 0) == []
    return [(r.update_id, r.chat_key) for r in batch], running.seen


async def test_fetch_and_process_route_the_same(fake_api: FakeBotApi) -> None:
    keys_aiogram, seen_aiogram = await _route_all("aiogram", fake_api)
    calls_aiogram = fake_api.calls_to("getUpdates")
    fake_api.calls.clear()
    keys_ptb, seen_ptb = await _route_all("ptb", fake_api)
    calls_ptb = fake_api.calls_to("getUpdates")

    assert keys_ptb == keys_aiogram
    assert len(keys_ptb) == len(UPDATES)
    assert seen_ptb == seen_aiogram
    assert repr(seen_ptb) == repr(seen_aiogram)
    # every update that translates to something reached the runtime, nothing else did
    expected = [i for i in (_both(n)[0] for n in sorted(UPDATES)) if i is not None]
    assert len(seen_ptb) == len(expected)
    assert calls_ptb == calls_aiogram
    assert calls_ptb[0] == {"timeout": 0, "allowed_updates": list(ALLOWED_UPDATES)}


async def test_long_poll_request_outlives_its_timeout(fake_api: FakeBotApi) -> None:
    """getUpdates with timeout=1 against a server that answers after 1.5 s, request_timeout 1."""
    for kind in KINDS:
        async with Running(kind, fake_api, timeout=1.0) as running:
            fake_api.delay("getUpdates", 1.5)
            assert await running.adapter.fetch(None, 1) == []


@pytest.mark.parametrize("kind", KINDS)
async def test_handler_errors_reach_the_runtime(
    kind: str, fake_api: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    boom = LookupError("database went away")
    fake_api.updates = [_raw("text", 1), _raw("callback", 2), _raw("bot_added_to_group", 3)]
    async with Running(kind, fake_api) as running:
        running.fail_with = boom
        with caplog.at_level(logging.DEBUG, logger="telegram"):
            for raw in await running.adapter.fetch(None, 0):
                with pytest.raises(LookupError) as caught:
                    await running.adapter.process(raw)
                assert caught.value is boom
        # a later update is handled normally
        running.fail_with = None
        await running.adapter.process(
            RawUpdate(4, "telegram:1001", _parse(kind, running.adapter, _raw("text", 4)))
        )
        assert [i.update_id for i in running.seen] == [4]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    if kind == "ptb":
        assert running.adapter._in_process == {}


def _parse(kind: str, adapter: Any, data: dict[str, Any]) -> Any:
    if kind == "aiogram":
        return AioUpdate.model_validate(data, context={"bot": adapter.bot})
    return PtbUpdate.de_json(data, adapter.bot)


async def test_ptb_surfaces_an_update_it_could_not_dispatch(
    fake_api: FakeBotApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PTB logs and drops an update whose CallbackContext fails to build; we raise."""

    def broken(cls: type, update: object, application: object) -> Any:
        raise RuntimeError("context")

    async with Running("ptb", fake_api) as running:
        monkeypatch.setattr(CallbackContext, "from_update", classmethod(broken))
        update = _parse("ptb", running.adapter, _raw("text", 9))
        with pytest.raises(RuntimeError, match="did not dispatch update 9"):
            await running.adapter.process(RawUpdate(9, "telegram:1001", update))
        # an update no handler is meant for is not an error
        await running.adapter.process(
            RawUpdate(10, "x", _parse("ptb", running.adapter, _raw("channel_post", 10)))
        )


async def test_ptb_application_is_plain(fake_api: FakeBotApi) -> None:
    async with Running("ptb", fake_api) as running:
        adapter: ptb.PtbTelegram = running.adapter
        app = adapter.application
        assert not isinstance(adapter.bot, ExtBot)  # no Defaults, no rate limiter
        assert app.updater is None and app.persistence is None
        with pytest.warns(PTBUserWarning, match="No `JobQueue` set up"):
            assert app.job_queue is None
        assert app.running
        for raw in [_raw("text", 1), _raw("callback", 2), _raw("bot_added_to_group", 3)]:
            await adapter.process(RawUpdate(raw["update_id"], "k", _parse("ptb", adapter, raw)))
        assert len(running.seen) == 3
        # no ever-growing "save these chats" marks without persistence
        assert not app._chat_ids_to_be_updated_in_persistence
        assert not app._user_ids_to_be_updated_in_persistence
    assert not adapter.application.running


# ---------------------------------------------------------------- the same calls on the wire


async def _send_all(kind: str, api: FakeBotApi) -> list[Any]:
    results: list[Any] = []
    async with Running(kind, api) as running:
        adapter = running.adapter
        for name in sorted(OUT_MESSAGES):
            results.append((name, await adapter.send("1001", OUT_MESSAGES[name])))
        results.append(
            await adapter.send(
                "-100200", OutMessage(text="Nhóm", buttons=((Button("Tham gia", "join"),),))
            )
        )
        edit = OutMessage(
            text="Đã chọn", buttons=((Button("Đổi", "f:change"),),), edit_message_id="77"
        )
        results.append(await adapter.send("1001", edit))
        results.append(
            await adapter.send(
                "1001", OutMessage(text="Sửa", edit_message_id="78", force_reply=True)
            )
        )
        for file_kind in AttachmentKind:
            file = FileRef(file_kind, f"FILE-{file_kind.value}", "uq", "a.bin", None, 10)
            results.append(
                await adapter.send("1001", OutMessage(text=f"Tệp {file_kind.value}", file=file))
            )
        results.append(
            await adapter.send(
                "1001",
                OutMessage(
                    text="",
                    file=FileRef(AttachmentKind.PHOTO, "PH-1"),
                    buttons=((Button("OK", "ok"),),),
                ),
            )
        )
        # a file with edit_message_id is sent anew, as in aiogram's adapter
        results.append(
            await adapter.send(
                "1001",
                OutMessage(
                    text="x", file=FileRef(AttachmentKind.DOCUMENT, "DOC-1"), edit_message_id="5"
                ),
            )
        )
        await adapter.answer_callback("cbq-1", "Đã lưu", False)
        await adapter.answer_callback("cbq-2", "", True)
        await adapter.set_commands([("idea", "Gửi sáng kiến"), ("help", "Trợ giúp")], None)
        await adapter.set_commands([("idea", "Send an idea")], "en")
    return results


async def test_the_same_calls_go_on_the_wire(fake_api: FakeBotApi) -> None:
    from_aiogram = await _send_all("aiogram", fake_api)
    calls_aiogram = [c for c in fake_api.calls if c[0] != "getMe"]
    fake_api.reset()
    from_ptb = await _send_all("ptb", fake_api)
    calls_ptb = [c for c in fake_api.calls if c[0] != "getMe"]

    assert from_ptb == from_aiogram
    assert [name for name, _ in calls_ptb] == [name for name, _ in calls_aiogram]
    for (name, ptb_params), (_, aio_params) in zip(calls_ptb, calls_aiogram, strict=True):
        assert ptb_params == aio_params, name
    methods = {name for name, _ in calls_ptb}
    assert methods == {
        "sendMessage",
        "editMessageText",
        "sendPhoto",
        "sendDocument",
        "sendVoice",
        "sendAudio",
        "sendVideo",
        "answerCallbackQuery",
        "setMyCommands",
    }
    first = calls_ptb[0][1]
    assert first["parse_mode"] == "HTML"
    assert first["link_preview_options"] == {"is_disabled": True}
    force = [p for n, p in calls_ptb if "force_reply" in json.dumps(p.get("reply_markup"))]
    assert force and all(
        p["reply_markup"] == {"force_reply": True, "selective": True} for p in force
    )


# (status, description, parameters, message, what the sender sees)
WIRE_ERRORS: dict[str, tuple[int, str, dict[str, Any] | None, OutMessage, tuple[str, Any]]] = {
    "chat_not_found": (
        400,
        "Bad Request: chat not found",
        None,
        OutMessage(text="x"),
        ("permanent", "chat_not_found"),
    ),
    "blocked": (
        403,
        "Forbidden: bot was blocked by the user",
        None,
        OutMessage(text="x"),
        ("permanent", "blocked"),
    ),
    "deactivated": (
        403,
        "Forbidden: user is deactivated",
        None,
        OutMessage(text="x"),
        ("permanent", "deactivated"),
    ),
    "edit_gone": (
        400,
        "Bad Request: message to edit not found",
        None,
        OutMessage(text="x", edit_message_id="9"),
        ("MessageGone", None),
    ),
    "not_modified": (
        400,
        "Bad Request: message is not modified: specified new message "
        "content and reply markup are exactly the same",
        None,
        OutMessage(text="x", edit_message_id="9"),
        ("ok", "9"),
    ),
    "bad_html": (
        400,
        'Bad Request: can\'t parse entities: Unsupported start tag "x"',
        None,
        OutMessage(text="<x>"),
        ("permanent", "bad_request"),
    ),
    "flood": (
        429,
        "Too Many Requests: retry after 4",
        {"retry_after": 4},
        OutMessage(text="x"),
        ("retry_after", 4.0),
    ),
    "migrated": (
        400,
        "Bad Request: group chat was upgraded to a supergroup chat",
        {"migrate_to_chat_id": -100777},
        OutMessage(text="x"),
        ("permanent", "api_error"),
    ),
    "server_error": (
        500,
        "Internal Server Error",
        None,
        OutMessage(text="x"),
        ("TransientSendError", None),
    ),
    "bad_gateway_json": (
        502,
        "Bad Gateway",
        None,
        OutMessage(text="x"),
        ("TransientSendError", None),
    ),
    "too_large": (
        413,
        "Request Entity Too Large",
        None,
        OutMessage(text="x"),
        ("TransientSendError", None),
    ),
    "conflict": (
        409,
        "Conflict: terminated by other getUpdates request",
        None,
        OutMessage(text="x"),
        ("permanent", "api_error"),
    ),
    "not_found": (404, "Not Found", None, OutMessage(text="x"), ("permanent", "bad_request")),
    "unauthorized": (401, "Unauthorized", None, OutMessage(text="x"), ("permanent", "api_error")),
}


async def _send_outcome(adapter: Any, chat_id: str, message: OutMessage) -> tuple[str, Any]:
    try:
        return ("ok", await adapter.send(chat_id, message))
    except SendError as exc:
        return _outcome(exc)


@pytest.mark.parametrize("name", sorted(WIRE_ERRORS))
async def test_wire_errors_map_the_same(name: str, fake_api: FakeBotApi) -> None:
    status, description, parameters, message, expected = WIRE_ERRORS[name]
    method = "editMessageText" if message.edit_message_id else "sendMessage"
    outcomes = []
    for kind in KINDS:
        async with Running(kind, fake_api) as running:
            fake_api.fail_next(method, status, description, parameters)
            outcomes.append(await _send_outcome(running.adapter, "1001", message))
    assert outcomes == [expected, expected]


async def test_timeouts_and_refused_connections_are_transient(fake_api: FakeBotApi) -> None:
    for kind in KINDS:
        async with Running(kind, fake_api, timeout=0.5) as running:
            fake_api.delay("sendMessage", 1.5)
            assert await _send_outcome(running.adapter, "1001", OutMessage(text="x")) == (
                "TransientSendError",
                None,
            )
    for kind in KINDS:
        adapter = _make(kind, "http://127.0.0.1:9", 2.0)  # nothing listens on port 9
        try:
            assert await _send_outcome(adapter, "1001", OutMessage(text="x")) == (
                "TransientSendError",
                None,
            )
        finally:
            await adapter.close()


@pytest.mark.parametrize("kind", KINDS)
async def test_non_json_gateway_error_is_transient(kind: str, fake_api: FakeBotApi) -> None:
    # aiogram raises its ClientDecodeError here, PTB a NetworkError.
    async with Running(kind, fake_api) as running:
        fake_api.fail_next_raw("sendMessage", 502, b"<html>502 Bad Gateway</html>")
        assert await _send_outcome(running.adapter, "1001", OutMessage(text="x")) == (
            "TransientSendError",
            None,
        )


@pytest.mark.parametrize("kind", KINDS)
async def test_close_after_a_failed_start(kind: str, fake_api: FakeBotApi) -> None:
    fake_api.fail_next("getMe", 401, "Unauthorized")
    adapter = _make(kind, fake_api.api_base)
    with pytest.raises(Exception):  # noqa: B017 - each library's own "bad token" error
        await adapter.start(_ignore)
    await adapter.close()
    await adapter.close()  # twice is fine


async def _ignore(incoming: Incoming) -> None:
    return None


def test_public_surface_is_the_same() -> None:
    def surface(cls: type) -> set[str]:
        return {n for n in vars(cls) if not n.startswith("_")}

    assert surface(ptb.PtbTelegram) == surface(aio.AiogramTelegram)
