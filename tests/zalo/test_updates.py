"""Zalo updates read into neutral events."""

from __future__ import annotations

from typing import Any

import pytest

from bot.zalo.updates import (
    BadUpdate,
    ShownChoices,
    file_id_for,
    is_zalo_file,
    parse,
    stable_update_id,
    to_incoming,
)
from handlers.events import AttachmentKind, OtherContent

CHAT = "e4ea2cd5189df1c3a88c"


def update(event: str = "message.text.received", **message: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "from": {"id": CHAT, "display_name": "Nguyễn Thị Lan", "is_bot": False},
        "chat": {"id": CHAT, "chat_type": "PRIVATE"},
        "message_id": "16f6366b3f02645a3d15",
        "date": 1766619597466,
    }
    body.update(message)
    return {"event_name": event, "message": body}


SHOWN = ShownChoices("82599fa32f56d00e8941", [("Xong", "idea:ab:body:done"), ("Hủy", "c")])


def test_text() -> None:
    incoming = to_incoming(parse(update(text="Xin chào")), None)
    assert incoming.text == "Xin chào"
    assert incoming.chat.channel == "zalo" and incoming.chat.external_id == CHAT
    assert incoming.chat.kind == "private"
    assert incoming.sender.display_name == "Nguyễn Thị Lan"
    assert incoming.sender.language_code is None
    assert incoming.message_id == "16f6366b3f02645a3d15"
    assert incoming.update_id == stable_update_id(CHAT, "16f6366b3f02645a3d15")


def test_the_documented_sample_with_first_name_and_no_event_name() -> None:
    data = {
        "message": {
            "chat": {"id": CHAT, "chat_type": "PRIVATE"},
            "text": "Xin chào",
            "message_id": "16f6366b3f02645a3d15",
            "date": 1766619597466,
            "from": {"id": CHAT, "first_name": "Nguyen Van A"},
        }
    }
    incoming = to_incoming(parse(data), None)
    assert incoming.text == "Xin chào" and incoming.sender.display_name == "Nguyen Van A"


def test_webhook_bodies_in_the_getupdates_envelope_are_read_too() -> None:
    wrapped = {"ok": True, "result": update(text="hi")}
    assert to_incoming(parse(wrapped), None).text == "hi"


def test_update_ids_are_stable_positive_64_bit() -> None:
    first = stable_update_id(CHAT, "a")
    assert first == stable_update_id(CHAT, "a")
    assert first != stable_update_id(CHAT, "b") != stable_update_id("other", "a")
    assert 0 < first < 2**63


def test_a_number_picks_the_choice_shown_and_carries_its_message() -> None:
    incoming = to_incoming(parse(update(text="1.")), SHOWN)
    assert incoming.button == "idea:ab:body:done"
    assert incoming.message_id == SHOWN.message_id
    assert incoming.callback_id == CHAT
    assert incoming.text is None and incoming.command is None


def test_vietnamese_number_words_and_option_words() -> None:
    assert to_incoming(parse(update(text="hai")), SHOWN).button == "c"
    assert to_incoming(parse(update(text="xong")), SHOWN).button == "idea:ab:body:done"


def test_text_that_picks_nothing_stays_text() -> None:
    incoming = to_incoming(parse(update(text="Thêm quạt ở xưởng 3")), SHOWN)
    assert incoming.text == "Thêm quạt ở xưởng 3" and incoming.button is None


def test_slash_commands_win_over_choices() -> None:
    incoming = to_incoming(parse(update(text="/cancel")), SHOWN)
    assert incoming.command == "cancel" and incoming.button is None


def test_word_commands_when_no_choice_matches() -> None:
    incoming = to_incoming(parse(update(text="gửi sáng kiến")), SHOWN)
    assert incoming.command == "idea"
    incoming = to_incoming(parse(update(text="liên kết 123456")), None)
    assert (incoming.command, incoming.command_args) == ("link", "123456")


def test_a_photo_with_a_caption() -> None:
    url = "https://photo-zalo.zdn.vn/abc/def.jpg"
    data = update(
        "message.image.received", photo_url=url, caption="Ảnh kệ số 4", message_type="CHAT_PHOTO"
    )
    incoming = to_incoming(parse(data), SHOWN)
    [photo] = incoming.files
    assert photo.kind is AttachmentKind.PHOTO
    assert photo.file_id == file_id_for(url) and is_zalo_file(photo.file_id)
    assert len(photo.file_id) <= 64
    assert incoming.text == "Ảnh kệ số 4"
    assert incoming.button is None  # a caption is never a pick


def test_a_photo_without_a_caption() -> None:
    data = update("message.image.received", photo_url="https://x.vn/1.jpg", caption="")
    incoming = to_incoming(parse(data), None)
    assert incoming.text is None and len(incoming.files) == 1


def test_stickers_and_unsupported_messages() -> None:
    sticker = to_incoming(parse(update("message.sticker.received", sticker="abc")), SHOWN)
    assert sticker.other is OtherContent.STICKER
    other = to_incoming(parse(update("message.unsupported.received")), SHOWN)
    assert other.other is OtherContent.UNSUPPORTED


def test_group_chats_are_groups_and_never_pick_choices() -> None:
    data = update(text="1", chat={"id": "g1", "chat_type": "GROUP"})
    incoming = to_incoming(parse(data), SHOWN)
    assert incoming.chat.kind == "group" and incoming.text == "1"


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        {"event_name": "message.text.received"},
        {"message": {"text": "no ids"}},
        {"message": {"message_id": "x", "text": "no chat"}},
    ],
)
def test_what_is_not_an_update(data: Any) -> None:
    with pytest.raises(BadUpdate):
        parse(data)
