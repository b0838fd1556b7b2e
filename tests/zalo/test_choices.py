"""A reply read as one of the numbered choices, or as a typed command."""

from __future__ import annotations

import pytest

from bot.zalo.choices import match_choice, parse_command

REVIEW = [("📤 Gửi", "idea:n:review:submit"), ("✏️ Sửa", "idea:n:review:edit"), ("Hủy", "c")]
CATEGORIES = [
    ("🔧 Giải pháp kỹ thuật", "1"),
    ("📋 Quản lý", "2"),
    ("⚙️ Vận hành, sản xuất", "3"),
    ("💻 Công nghệ", "4"),
    ("🦺 An toàn lao động", "5"),
    ("Khác", "6"),
]
SHARE = [("🔒 Giữ bảo mật", "yes"), ("🌐 Có thể chia sẻ", "no")]


@pytest.mark.parametrize(
    "reply",
    ["1", "1.", " 1 ", "1)", "(1)", "#1", "số 1", "so 1", "chọn 1", "một", "Một", "mot", "MOT."],
)
def test_the_first_choice_in_every_usual_way(reply: str) -> None:
    assert match_choice(reply, REVIEW) == 0


@pytest.mark.parametrize(
    ("reply", "index"), [("2", 1), ("hai", 1), ("ba", 2), ("3.", 2), ("sáu", 5), ("sau", 5)]
)
def test_numbers_and_number_words(reply: str, index: int) -> None:
    assert match_choice(reply, CATEGORIES) == index


@pytest.mark.parametrize(
    ("reply", "index"),
    [
        ("Gửi", 0),
        ("gui", 0),
        ("GỬI", 0),
        ("sua", 1),
        ("huy", 2),
        ("Hủy", 2),
    ],
)
def test_the_options_own_words_with_or_without_diacritics(reply: str, index: int) -> None:
    assert match_choice(reply, REVIEW) == index


@pytest.mark.parametrize(
    ("reply", "index"),
    [
        ("giai phap ky thuat", 0),
        ("Giải pháp kỹ thuật", 0),
        ("an toan lao dong", 4),
        ("an toàn", 4),
        ("cong nghe", 3),
        ("khac", 5),
        ("van hanh san xuat", 2),
    ],
)
def test_emoji_and_punctuation_do_not_matter(reply: str, index: int) -> None:
    assert match_choice(reply, CATEGORIES) == index


def test_a_few_words_of_one_option_pick_it() -> None:
    assert match_choice("chia se", SHARE) == 1
    assert match_choice("bao mat", SHARE) == 0


@pytest.mark.parametrize(
    "reply",
    [
        "4",  # only three choices
        "0",
        "bốn",
        "5000000",
        "5 triệu",
        "Gắn cảm biến tắt máy nén khí khi chuyền dừng",
        "co the",  # in none of them as whole words
        "a",
        "",
        "   ",
    ],
)
def test_anything_else_stays_text(reply: str) -> None:
    assert match_choice(reply, REVIEW) is None


def test_words_in_two_options_pick_neither() -> None:
    both = [("Gửi trả lời", "a"), ("Trả lời sau", "b")]
    assert match_choice("tra loi", both) is None
    assert match_choice("gui tra loi", both) == 0


def test_no_choices_no_pick() -> None:
    assert match_choice("1", []) is None


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("/idea", ("idea", "")),
        ("/IDEA", ("idea", "")),
        ("/start AbCdEf123_-x", ("start", "AbCdEf123_-x")),
        ("/link 123 456", ("link", "123 456")),
        ("/help@sangkien_bot", ("help", "")),
        ("gửi sáng kiến", ("idea", "")),
        ("Gui sang kien", ("idea", "")),
        ("sáng kiến!", ("idea", "")),
        ("sáng kiến của tôi", ("myideas", "")),
        ("trợ giúp", ("help", "")),
        ("Hủy", ("cancel", "")),
        ("liên kết 123456", ("link", "123456")),
        ("Lien ket: 123456", ("link", "123456")),
        ("liên kết", ("link", "")),
        ("tham gia", ("join", "")),
        ("tham gia mã AbCdEf123", ("start", "AbCdEf123")),
    ],
)
def test_commands_typed_as_text(text: str, command: tuple[str, str]) -> None:
    assert parse_command(text) == command


@pytest.mark.parametrize(
    "text", ["/", "/ idea", "sáng kiến của tôi là lắp quạt", "xin chào", "1", "/đi"]
)
def test_not_commands(text: str) -> None:
    assert parse_command(text) is None
