"""Binding calls to, and checking results against, the official method and type list."""

from __future__ import annotations

from typing import Any

import pytest

from standins.telegram.methods import HANDLERS
from standins.telegram.spec import BadParameter, BotApiSpec, MissingParameter
from standins.telegram.wire import UploadedFile, WireCall

SPEC = BotApiSpec.default()


def bind(
    method: str, values: dict[str, object], files: dict[str, UploadedFile] | None = None
) -> dict[str, Any]:
    spec = SPEC.method(method)
    assert spec is not None
    return SPEC.bind(spec, WireCall(dict(values), files or {}))


def test_methods_are_found_case_insensitively_and_implemented_ones_exist() -> None:
    assert SPEC.method("SENDMESSAGE") is SPEC.method("sendMessage")
    assert SPEC.method("sendTelepathy") is None
    assert set(HANDLERS) <= set(SPEC.method_names())


def test_form_strings_become_the_declared_types() -> None:
    bound = bind(
        "sendMessage",
        {
            "chat_id": "-4000000001",
            "text": "hi",
            "disable_notification": "true",
            "reply_markup": '{"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}',
            "entities": '[{"type": "bold", "offset": "0", "length": 2}]',
            "unknown_parameter": "ignored",
        },
    )
    assert bound["chat_id"] == -4000000001
    assert bound["disable_notification"] is True
    assert bound["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "a"
    assert bound["entities"] == [{"type": "bold", "offset": 0, "length": 2}]
    assert "unknown_parameter" not in bound


def test_chat_usernames_stay_strings() -> None:
    assert bind("sendMessage", {"chat_id": "@sangkien_group", "text": "x"})["chat_id"] == (
        "@sangkien_group"
    )


def test_attach_uris_and_named_parts_resolve_to_uploads() -> None:
    upload = UploadedFile("x1", "a.jpg", "image/jpeg", b"\xff\xd8")
    aiogram_style = bind("sendPhoto", {"chat_id": 1, "photo": "attach://x1"}, {"x1": upload})
    assert aiogram_style["photo"] is upload
    ptb_style = bind("sendPhoto", {"chat_id": 1}, {"photo": upload})
    assert ptb_style["photo"] is upload
    assert bind("sendPhoto", {"chat_id": 1, "photo": "AgACfileid"})["photo"] == "AgACfileid"


def test_missing_and_mistyped_parameters_are_reported_by_name() -> None:
    with pytest.raises(MissingParameter) as missing:
        bind("sendMessage", {"text": "hi"})
    assert missing.value.name == "chat_id"
    with pytest.raises(MissingParameter):
        bind("sendMessage", {"chat_id": 1, "text": ""})  # empty counts as absent
    with pytest.raises(BadParameter) as bad:
        bind("deleteMessage", {"chat_id": 1, "message_id": "two"})
    assert bad.value.mismatch.problem == "must be of type Integer"


def test_nested_objects_are_checked_field_by_field() -> None:
    with pytest.raises(BadParameter) as bad:
        bind(
            "sendMessage", {"chat_id": 1, "text": "x", "reply_markup": {"inline_keyboard": [[{}]]}}
        )
    assert bad.value.mismatch.path == "reply_markup.inline_keyboard[0][0]"
    assert "InlineKeyboardButton" in bad.value.mismatch.problem


def test_union_types_pick_the_subtype_by_its_type_field() -> None:
    bound = bind("setMyCommands", {"commands": [], "scope": {"type": "chat", "chat_id": "5"}})
    assert bound["scope"] == {"type": "chat", "chat_id": 5}
    with pytest.raises(BadParameter):
        bind("setMyCommands", {"commands": [], "scope": {"type": "planet"}})


def test_result_checking_is_strict() -> None:
    user = {"id": 1, "is_bot": False, "first_name": "Lan"}
    assert SPEC.check(["User"], user) == []
    assert SPEC.check(["User"], {"id": "1", "is_bot": False, "first_name": "Lan"}) != []
    assert SPEC.check(["User"], user | {"nickname": "x"}) == [
        "result: User has no field 'nickname'"
    ]
    member = {"status": "member", "user": user}
    assert SPEC.check(["ChatMember"], member) == []
