"""An OutMessage as Zalo shows it: plain text, numbered choices, parts of at most 2,000."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.zalo.render import choice_list, html_to_plain, render, split_text, utf16_len
from handlers.events import Button, OutMessage
from handlers.i18n import Catalogue

LIMIT = 2000


def test_markup_goes_and_its_text_stays() -> None:
    html = "<b>Sáng kiến</b> <i>mới</i>: <code>SK-2026-000123</code> &lt;b&gt; AT&amp;T"
    assert html_to_plain(html) == "Sáng kiến mới: SK-2026-000123 <b> AT&T"


def test_links_keep_their_address_unless_it_is_the_label_or_telegram_only() -> None:
    assert html_to_plain('<a href="https://congdoan.vn">trang</a>') == "trang (https://congdoan.vn)"
    assert html_to_plain('<a href="https://x.vn">https://x.vn</a>') == "https://x.vn"
    assert html_to_plain('<a href="tg://user?id=5">Anh</a> hỏi') == "Anh hỏi"


def test_every_catalogue_text_becomes_plain_text() -> None:
    catalogue = Catalogue.load()
    for lang in ("vi", "en"):
        t = catalogue.for_lang(lang)
        for key in sorted(catalogue.keys()):
            try:
                text = t(key)
            except (KeyError, IndexError, TypeError):
                continue  # needs its parameters
            plain = html_to_plain(text)
            assert not re.search(r"</?(b|i|code|a|pre|blockquote|u|s)\b", plain), (key, plain)


def test_buttons_become_a_numbered_list_after_the_text() -> None:
    message = OutMessage(
        "<b>Bạn muốn làm gì?</b>",
        ((Button("✅ Xong", "idea:ab:body:done"), Button("Hủy", "idea:ab:body:cancel")),),
    )
    rendered = render(message)
    assert rendered.parts == ["Bạn muốn làm gì?\n\n1. ✅ Xong\n2. Hủy"]
    assert rendered.choices == [("✅ Xong", "idea:ab:body:done"), ("Hủy", "idea:ab:body:cancel")]


def test_rows_are_numbered_in_reading_order() -> None:
    rows = ((Button("a", "x:1"), Button("b", "x:2")), (Button("c", "x:3"),))
    assert render(OutMessage("?", rows)).parts[-1].endswith("1. a\n2. b\n3. c")
    assert choice_list([("a", "1")]) == "1. a"


def test_a_long_text_is_cut_at_sentence_ends_with_the_choices_on_the_last_part() -> None:
    sentence = "Lắp cảm biến tắt máy nén khí khi chuyền dừng để tiết kiệm điện. "
    text = sentence * 80  # about 5,000 characters
    message = OutMessage(text, ((Button("Gửi", "r:1"), Button("Hủy", "r:2")),))
    parts = render(message).parts
    assert len(parts) == 3
    assert all(utf16_len(p) <= LIMIT for p in parts)
    assert all(p.rstrip().endswith(".") for p in parts[:-1])  # whole sentences
    assert parts[-1].endswith("1. Gửi\n2. Hủy")
    assert "1. Gửi" not in "".join(parts[:-1])
    assert " ".join(p.replace("\n\n1. Gửi\n2. Hủy", "") for p in parts).split() == text.split()


def test_paragraphs_are_preferred_over_sentences() -> None:
    text = ("Đoạn một. " * 100).strip() + "\n\n" + ("Đoạn hai. " * 150).strip()
    parts = split_text(text, LIMIT)
    assert parts[0].endswith("Đoạn một.")
    assert parts[1].startswith("Đoạn hai.")


def test_a_word_is_never_cut_unless_it_is_longer_than_a_message() -> None:
    words = ["nguyên", "liệu", "tiết", "kiệm", "chuyền", "may"] * 600
    parts = split_text(" ".join(words), LIMIT)
    assert all(utf16_len(p) <= LIMIT for p in parts)
    assert [w for p in parts for w in p.split()] == words
    url = "https://example.vn/" + "x" * 4500
    assert [len(p) for p in split_text(url, LIMIT)] == [2000, 2000, 519]


def test_lengths_count_utf16_units_like_zalo() -> None:
    text = "😀" * 1500  # 3,000 UTF-16 units
    parts = split_text(text, LIMIT)
    assert [utf16_len(p) for p in parts] == [2000, 1000]


def test_an_empty_text_with_choices_is_just_the_list() -> None:
    rendered = render(OutMessage("", ((Button("Trả lời", "ans:7"),),)))
    assert rendered.parts == ["1. Trả lời"]


@settings(max_examples=200, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("aăâbcdđeêghiklmnoôơpqrstuưvxy ÁẢẠỆỘ.!?\n😀,")),
        max_size=6000,
    ),
    st.integers(min_value=0, max_value=400),
)
def test_every_part_fits_and_nothing_is_lost(text: str, reserve: int) -> None:
    parts = split_text(text, LIMIT, last_reserve=reserve)
    assert all(utf16_len(p) <= LIMIT for p in parts)
    assert utf16_len(parts[-1]) <= LIMIT - reserve
    assert "".join("".join(p.split()) for p in parts) == "".join(text.split())
