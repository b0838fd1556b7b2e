"""Tests for handlers.textnorm."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.textnorm import (
    BIDI_CONTROLS,
    DEFAULT_TITLE_CHARS,
    ELLIPSIS,
    ZERO_WIDTH_CHARS,
    clean_user_text,
    derive_title,
    fold,
    truncate,
)

# --- clean_user_text ------------------------------------------------------------------


def test_decomposed_vietnamese_is_composed() -> None:
    composed = "Người lao động đề xuất cải tiến ở xưởng"
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed
    assert clean_user_text(decomposed) == composed


def test_marks_in_unusual_order_are_composed() -> None:
    # "ệ" typed as e + dot below + circumflex... and as e + circumflex + dot below.
    assert clean_user_text("e\u0323\u0302") == "ệ"
    assert clean_user_text("e\u0302\u0323") == "ệ"


def test_zero_width_between_letter_and_mark_does_not_block_composition() -> None:
    assert clean_user_text("a\u200b\u0301") == "á"


@pytest.mark.parametrize("ch", sorted(ZERO_WIDTH_CHARS | BIDI_CONTROLS))
def test_invisible_characters_are_removed(ch: str) -> None:
    assert clean_user_text(f"công{ch} nhân{ch}") == "công nhân"


def test_control_characters_removed_newline_and_tab_kept() -> None:
    assert clean_user_text("a\x00b\x07c\x1b[31md\x7f") == "abc[31md"
    assert clean_user_text("a\tb\nc") == "a b\nc"


def test_crlf_and_cr() -> None:
    assert clean_user_text("a\r\nb\rc") == "a\nb\nc"


def test_unicode_line_separators_become_newlines() -> None:
    assert clean_user_text("a\u2028b\u2029c") == "a\nb\nc"


def test_nbsp_becomes_space() -> None:
    assert clean_user_text("5\u00a0m\u202fx") == "5 m x"


def test_trailing_spaces_stripped_leading_kept() -> None:
    assert clean_user_text("Ý kiến:   \n  - một  \n  - hai\t") == "Ý kiến:\n  - một\n  - hai"


def test_blank_lines_collapsed() -> None:
    assert clean_user_text("a\n\nb") == "a\n\nb"
    assert clean_user_text("a\n\n\nb") == "a\n\n\nb"  # two blank lines are kept
    assert clean_user_text("a\n\n\n\n\n\nb") == "a\n\n\nb"
    assert clean_user_text("a\n \n\t\n  \n\nb") == "a\n\n\nb"


def test_ends_stripped() -> None:
    assert clean_user_text("\n\n  \ufeffXin chào  \n\n") == "Xin chào"
    assert clean_user_text("") == ""
    assert clean_user_text(" \u200b\n\t ") == ""


def test_zwj_inside_emoji_kept_elsewhere_removed() -> None:
    mechanic = "\U0001f468\u200d\U0001f527"
    assert clean_user_text(f"{mechanic} sửa máy") == f"{mechanic} sửa máy"
    assert clean_user_text("a\u200db") == "ab"
    assert clean_user_text("\u200d") == ""


@given(st.text())
def test_clean_is_idempotent_and_nfc(s: str) -> None:
    once = clean_user_text(s)
    assert clean_user_text(once) == once
    assert unicodedata.is_normalized("NFC", once)
    assert "\r" not in once
    assert not any(ch in once for ch in BIDI_CONTROLS)
    assert once == once.strip()


# --- fold -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Công đoàn Cơ sở Công ty May 10", "cong doan co so cong ty may 10"),
        ("ĐẢNG ỦY  Đường\tTrường Sơn", "dang uy duong truong son"),
        ("  Người   lao\nđộng ", "nguoi lao dong"),
        ("Ðoàn", "doan"),  # U+00D0, a look-alike of Đ some keyboards produce
        ("cong doan", "cong doan"),
        ("Café", "cafe"),
        ("", ""),
    ],
)
def test_fold(text: str, expected: str) -> None:
    assert fold(text) == expected


def test_fold_decomposed_equals_composed() -> None:
    composed = "Sáng kiến cải tiến kỹ thuật"
    assert fold(unicodedata.normalize("NFD", composed)) == fold(composed)


def test_fold_matches_unaccented_typing() -> None:
    assert fold("khu vực đóng gói") in fold("Đề xuất sắp xếp lại KHU VỰC ĐÓNG GÓI")


@given(st.text())
def test_fold_is_idempotent(s: str) -> None:
    assert fold(fold(s)) == fold(s)


# --- truncate ---------------------------------------------------------------------------


def test_truncate_short_text_unchanged() -> None:
    assert truncate("Xin chào", 8) == "Xin chào"
    assert truncate("", 5) == ""


def test_truncate_at_word_boundary() -> None:
    assert truncate("Lắp thêm quạt thông gió", 15) == "Lắp thêm quạt…"


def test_truncate_long_word_cut_hard() -> None:
    assert truncate("https://example.com/very/long/path", 10) == "https://e…"


def test_truncate_strips_dangling_punctuation() -> None:
    assert truncate("Máy ép, máy cắt, máy may", 9) == "Máy ép…"


def test_truncate_does_not_split_combining_marks() -> None:
    text = "e\u0302\u0301" * 10  # decomposed "ế" repeated, no spaces
    result = truncate(text, 5)
    assert result.endswith(ELLIPSIS)
    assert not unicodedata.combining(result[0])
    assert unicodedata.combining(result[-2]) or result[-2] == "e"


def test_truncate_tiny_budget() -> None:
    assert truncate("abcdef", 1) == ELLIPSIS
    with pytest.raises(ValueError):
        truncate("abc", 0)


@given(st.text(), st.integers(min_value=1, max_value=200))
def test_truncate_never_exceeds(s: str, limit: int) -> None:
    result = truncate(s, limit)
    assert len(result) <= limit
    if len(s) <= limit:
        assert result == s
    else:
        assert result.endswith(ELLIPSIS)


# --- derive_title -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Lắp thêm quạt. Công nhân bị nóng quá.", "Lắp thêm quạt"),
        ("Lắp thêm quạt ở xưởng 2\nVì công nhân bị nóng.", "Lắp thêm quạt ở xưởng 2"),
        ("\n\n  Đề nghị sửa mái che!  Trời mưa bị dột.", "Đề nghị sửa mái che!"),
        ("Có nên đổi ca không? Nhiều người muốn.", "Có nên đổi ca không?"),
        ("1. Lắp gương cầu lồi ở góc khuất. 2. Kẻ vạch.", "Lắp gương cầu lồi ở góc khuất"),
        ("- Tăng xe đưa đón", "Tăng xe đưa đón"),
        ("Ý kiến: a. Cần thêm ghế ngồi cho chị em.", "Ý kiến: a. Cần thêm ghế ngồi cho chị em"),
        ("Giảm tiêu hao 1.5 kg vải mỗi ngày.", "Giảm tiêu hao 1.5 kg vải mỗi ngày"),
        ("Sáng kiến:", "Sáng kiến"),
        ("...", "..."),
        ("5", "5"),
        ("\u200b", ELLIPSIS),
    ],
)
def test_derive_title(text: str, expected: str) -> None:
    assert derive_title(text) == expected


def test_derive_title_long_sentence_cut_at_word() -> None:
    text = (
        "Đề xuất lắp đặt hệ thống thông gió tự động cho toàn bộ khu vực xưởng may số 2 "
        "và số 3 để giảm nhiệt độ vào mùa hè"
    )
    title = derive_title(text)
    assert len(title) <= DEFAULT_TITLE_CHARS
    assert title.endswith(ELLIPSIS)
    assert text.startswith(title[: -len(ELLIPSIS)])
    assert text[len(title) - 1] == " "  # cut at a word boundary
    assert derive_title(text, max_chars=20) == "Đề xuất lắp đặt hệ…"


def test_derive_title_empty() -> None:
    assert derive_title("") == ""


@given(st.text(min_size=1), st.integers(min_value=1, max_value=120))
def test_derive_title_never_empty_and_fits(text: str, limit: int) -> None:
    title = derive_title(text, max_chars=limit)
    assert title
    assert len(title) <= limit
    assert "\n" not in title


def test_every_character_the_cleaning_changes_is_one_python_calls_unprintable() -> None:
    """_drop_invisibles skips its loop when a text, newlines apart, is all printable: that
    is right only while the loop keeps every printable character as it is."""
    from handlers.textnorm import _drop_each_invisible

    changed = [
        ch
        for ch in map(chr, range(0x110000))
        if ch.isprintable() and _drop_each_invisible(f"a{ch}a") != f"a{ch}a"
    ]
    assert changed == []


@given(
    st.text(st.characters(codec="utf-8") | st.sampled_from("\u200b\u200d\u202e\u00a0\t\r\n👨🔧"))
)
def test_the_quick_path_cleans_as_the_loop_does(text: str) -> None:
    from handlers.textnorm import _drop_each_invisible, _drop_invisibles

    assert _drop_invisibles(text) == _drop_each_invisible(text)
