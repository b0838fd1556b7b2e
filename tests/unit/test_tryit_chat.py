"""The try-it-out terminal chat's pieces: what a typed press means, how a message prints."""

from __future__ import annotations

import io

from rich.console import Console

from standins.tryit import file_name, parse_press, render


def printed(markup: str) -> str:
    out = io.StringIO()
    Console(file=out, width=200, highlight=False, color_system=None).print(markup)
    return out.getvalue()


def test_a_press_names_a_message_and_a_button_or_only_a_button() -> None:
    assert parse_press("#12.3") == (12, 3)
    assert parse_press(" #2 ") == (None, 2)
    assert parse_press("#") is None
    assert parse_press("#1.") is None
    assert parse_press("#a") is None
    assert parse_press("# 1") is None
    assert parse_press("#1 Gửi") is None  # text that starts like a press is text


def test_buttons_print_with_their_message_number() -> None:
    message = {
        "message_id": 7,
        "text": "Xem lại sáng kiến",
        "media": None,
        "buttons": [{"text": "Gửi"}, {"text": "[Sửa]"}],
    }
    assert printed(render(message)) == "Xem lại sáng kiến\n  #7.1 Gửi\n  #7.2 [Sửa]\n"


def test_a_photo_and_a_document_are_marked() -> None:
    photo = {"message_id": 3, "text": "📈 Biểu đồ", "media": {"type": "photo"}, "buttons": []}
    assert printed(render(photo)) == "[photo]\n📈 Biểu đồ\n"
    document = {
        "message_id": 4,
        "text": None,
        "media": {"type": "document", "file_name": "sang-kien.xlsx"},
    }
    assert printed(render(document)) == "[document: sang-kien.xlsx]\n"


def test_a_saved_file_is_named_after_the_persona_the_message_and_its_own_name() -> None:
    photo = {"message_id": 5, "media": {"type": "photo"}}
    assert file_name("official", photo, b"\x89PNG\r\n\x1a\n...") == "official-5-photo.png"
    assert file_name("worker", photo, b"\xff\xd8") == "worker-5-photo.jpg"
    sheet = {"message_id": 6, "media": {"type": "document", "file_name": "Báo cáo ../x y.xlsx"}}
    assert file_name("official", sheet, b"PK") == "official-6-Báo-cáo-..-x-y.xlsx"
