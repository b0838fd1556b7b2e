"""An idea's matching words (storage.similar_words.idea_words, issue #21): what a worker
would notice through matching. The same idea typed with or without diacritics, with
chat abbreviations, in another order gives the same words; function words go, content
words stay; odd input never raises."""

from __future__ import annotations

import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.similar_words import MAX_WORDS_CHARS, hashes_of, idea_words, word_hashes


def words(text: str, lang: str = "vi", title: str = "") -> set[str]:
    return set(idea_words(title, text, lang).split())


def test_with_and_without_diacritics_the_same_words() -> None:
    accented = idea_words("", "Máy ép số 3 bị kẹt phôi")
    assert accented == idea_words("", "may ep so 3 bi ket phoi")
    assert accented == idea_words("", "MÁY ÉP SỐ 3 BỊ KẸT PHÔI")
    assert {"may", "ep", "3", "ket", "phoi"} <= set(accented.split())
    # Decomposed input (combining marks typed separately, as some keyboards send it).
    assert idea_words("", "Ma\u0301y e\u0301p") == idea_words("", "Máy ép")


@pytest.mark.parametrize("spelled", ["ko", "k", "kg", "khg", "hok", "khong", "không", "KO"])
def test_ways_of_typing_khong_are_the_same(spelled: str) -> None:
    assert words(f"máy {spelled} chạy") == words("máy không chạy") == {"may", "chay"}


@pytest.mark.parametrize("spelled", ["dc", "dk", "được", "duoc"])
def test_ways_of_typing_duoc_are_the_same(spelled: str) -> None:
    assert words(f"công nhân {spelled} nghỉ") == words("công nhân được nghỉ")


def test_abbreviations_spelled_out() -> None:
    assert words("cn ktra tb") == words("công nhân kiểm tra thiết bị")
    assert words("cty sx") == {"san", "xuat"}  # "công ty" is every idea's: left out


def test_minutes_and_hours_written_short() -> None:
    assert idea_words("", "dừng 30p") == idea_words("", "dừng 30 phút") == "dung 30 phut"
    assert words("chờ 2h") == words("chờ 2 giờ")
    assert words("ca3") == words("ca 3")


def test_word_order_does_not_change_the_set() -> None:
    a = words("Máy ép số 3 hay bị kẹt phôi ở xưởng cơ khí")
    b = words("ở xưởng cơ khí, phôi hay bị kẹt tại máy ép số 3")
    assert a - {"tai"} == b - {"tai"}  # "tại" only in the second


def test_function_words_dropped() -> None:
    assert words("và các là được những một sẽ đang rất cũng phải theo như nếu vì hay hoặc") == set()
    assert words("the a and of to is for with", "en") == set()
    # The programme's own words, as a phrase.
    assert words("Sáng kiến đề xuất ý tưởng cải tiến") == set()


def test_content_syllables_sharing_a_folded_form_with_a_function_word_stay() -> None:
    # "đèn" (a lamp) folds to "den" as "đến" (to) does: the lamp must count.
    assert "den" in words("Thay đèn LED ở xưởng")
    assert words("đèn hỏng") == {"den", "hong"}
    # "của" and "cửa" (a door), "khi" and "khí" (gas), "van" (a valve) fold alike: they stay.
    assert {"cua", "khi", "van", "nen"} <= words("van khí nén ở cửa kho")
    # A phrase's syllables still count elsewhere: "cải tiến" goes, "tiền" stays.
    assert words("cải tiến tiền thưởng") == {"tien", "thuong"}
    assert words("tiến độ") == {"tien", "do"}


def test_english_stems_and_synonyms() -> None:
    assert words("sensors", "en") == words("sensor", "en")
    assert words("the press jammed", "en") == words("press jams", "en")
    assert words("workers", "en") == words("employees", "en") == words("staff", "en")
    assert words("replace the lamp", "en") == words("replace bulbs", "en")
    # Vietnamese is not stemmed: "ong" (a pipe) is not "ongs".
    assert words("sensors") == {"sensors"}


def test_each_word_once_in_first_order() -> None:
    assert idea_words("", "máy ép máy ép MÁY ÉP kẹt") == "may ep ket"
    assert idea_words("Kẹt phôi", "máy ép") == "ket phoi may ep"


def test_title_not_repeated_when_the_text_starts_with_it() -> None:
    assert idea_words("Kẹt phôi", "Kẹt phôi ở máy ép") == "ket phoi o may ep"


def _letters(n: int) -> str:
    """A made-up word of letters only (no digits, which become words of their own)."""
    word = ""
    while True:
        n, r = divmod(n, 26)
        word += "abcdefghijklmnopqrstuvwxyz"[r]
        if not n:
            return "q" + word


def test_long_text_capped() -> None:
    many = [_letters(i) for i in range(5000)]
    stored = idea_words("", " ".join(many))
    assert MAX_WORDS_CHARS - 10 < len(stored) <= MAX_WORDS_CHARS
    kept = stored.split()
    assert kept == many[: len(kept)]  # the first words carry it
    assert len(idea_words("", "máy " * 10_000)) == len("may")


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "😀🔥👍",
        "!!! ... ,,, ???",
        "\u200b\u200c\u200d\ufeff",
        "\u200fمرحبا\u200e",
        "\x00\x01\n\t\r",
        "a" * 10_000,
        "ép " * 3_500,
        "ﬁ ½ ² Ⅻ ß",
    ],
)
def test_odd_input_never_raises(text: str) -> None:
    for lang in ("vi", "en", "xx"):
        result = idea_words(text, text, lang)
        assert isinstance(result, str)
        assert len(result) <= MAX_WORDS_CHARS
        assert result == result.strip()


def test_invisible_marks_do_not_split_or_join_words() -> None:
    assert words("\u200bmáy\u200b ép\u200f") == words("máy ép")
    assert words("😀 máy ép 🔥") == words("máy ép")


@settings(max_examples=300, deadline=None)
@given(title=st.text(max_size=200), text=st.text(max_size=2000), lang=st.sampled_from(["vi", "en"]))
def test_any_text_gives_distinct_folded_words(title: str, text: str, lang: str) -> None:
    result = idea_words(title, text, lang)
    assert len(result) <= MAX_WORDS_CHARS
    found = result.split()
    assert len(found) == len(set(found))  # each word once
    assert " ".join(found) == result  # single spaces, nothing around
    assert result == result.lower() or lang == "en"
    assert idea_words(title, text, lang) == result  # the same every time


def test_stored_hashes_read_back_as_the_words_crc32s() -> None:
    assert hashes_of(word_hashes("may ep so")) == [
        zlib.crc32(w.encode()) for w in ["may", "ep", "so"]
    ]
    assert hashes_of(b"") == []
