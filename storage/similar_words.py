"""An idea's words as similar-idea matching compares them (issue #21).

Workers type the same idea many ways: with or without diacritics, "ko" for "không",
"dc" for "được", in another order, shorter. :func:`idea_words` turns a title and a text
into the words that carry the idea: folded (lower case, no diacritics: storage.folding),
chat abbreviations spelled out, the words that every idea shares left out (function
words of Vietnamese and English, and the programme's own: "sáng kiến", "đề xuất"), an
English word's endings taken off (Porter2, snowballstemmer). The order is kept (neighbouring words
make Vietnamese compounds: "máy ép", "cảm biến").

The result is stored with each idea as the 32-bit hashes of its words
(``similar_texts.hashes``, :func:`idea_hashes`), so a lookup reads it without computing
it again and compares thousands of ideas as arrays of numbers (handlers.similar_score).
A change to :func:`idea_words` needs a migration that computes the stored ones again.
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata
import zlib
from array import array
from typing import Any, Final

from storage.folding import fold_name

#: Stored words are cut at this many characters (a long text's first words carry it).
MAX_WORDS_CHARS: Final = 1000


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


#: Chat abbreviations, folded, and what they stand for.
ABBREVIATIONS: Final[dict[str, str]] = {
    "k": "khong",
    "ko": "khong",
    "kg": "khong",
    "kh": "khong",
    "khg": "khong",
    "hok": "khong",
    "dc": "duoc",
    "dk": "duoc",
    "vs": "voi",
    "ng": "nguoi",
    "ngta": "nguoi ta",
    "cty": "cong ty",
    "sx": "san xuat",
    "cn": "cong nhan",
    "nv": "nhan vien",
    "j": "gi",
    "bt": "binh thuong",
    "tgian": "thoi gian",
    "tg": "thoi gian",
    "trc": "truoc",
    "ntn": "nhu the nao",
    "mk": "minh",
    "ktra": "kiem tra",
    "kt": "kiem tra",
    "sd": "su dung",
    "sdung": "su dung",
    "nsuat": "nang suat",
    "ns": "nang suat",
    "bhld": "bao ho lao dong",
    "atld": "an toan lao dong",
    "pccc": "phong chay chua chay",
    "tb": "thiet bi",
    "dt": "dien thoai",
    "nc": "nuoc",
    "mt": "moi truong",
    "vd": "vi du",
    "wa": "qua",
    "ok": "",
    "sk": "suc khoe",
    "pc": "may tinh",
    "xai": "dung",
    "hu": "hong",
    "timer": "hen gio",
    "app": "ung dung",
    "p": "phut",
    "h": "gio",
}

#: Vietnamese function words, folded: they say nothing about which idea it is. A folded
#: syllable stands for several ("den" is both "đến" and "đèn", a lamp; "cua" both "của"
#: and "cửa", a door), so only those that are hardly ever anything but a function word
#: in a workplace idea are here: "cửa", "vòi", "khí", "nén", "van", "dây", "tủ", "cơ",
#: "chữa", "cân", "chỗ", "đá", "ổ", "mã", "rơi", "trống" keep theirs. "va", "bi", "de"
#: and "la" are left out: "và", "bị", "để" and "là" are far commoner than "va chạm",
#: "vòng bi", "đế" and "lá" (measured on tests/data/similar_pairs.csv either way).
STOP_VI: Final = _set(
    """
    cac duoc khong nay nhung mot se dang rat cung phai theo ra vao nhu neu vi hay hoac
    nhieu it hon em minh chung ta gi ay lai luon chua cai a oi nham va bi de la
    """
)

#: Vietnamese phrases every idea may use (two folded syllables): left out as a whole, so
#: their syllables still count elsewhere ("cải tiến" goes, "tiền" stays).
STOP_PHRASES_VI: Final = frozenset(
    tuple(p.split())
    for p in (
        "sang kien",
        "de xuat",
        "y tuong",
        "cai tien",
        "co the",
        "nguoi ta",
        "hien nay",
        "thuc hien",
        "tien hanh",
        "mong muon",
        "kien nghi",
        "nhu vay",
        "the nao",
        "tat ca",
        "chung toi",
        "cong ty",
        "giup cho",
        "nen lam",
        "rat nhieu",
        "de nghi",
        "moi nguoi",
        "anh em",
    )
)

#: English words of one meaning, after their stems (snowballstemmer), and the one
#: they are compared as.
SYNONYMS_EN: Final[dict[str, str]] = {
    "employe": "staff",
    "worker": "staff",
    "personnel": "staff",
    "peopl": "staff",
    "fit": "instal",
    "mount": "instal",
    "repair": "fix",
    "mobil": "phone",
    "smartphon": "phone",
    "pictur": "photo",
    "imag": "photo",
    "lamp": "light",
    "bulb": "light",
    "decreas": "reduc",
    "lower": "reduc",
    "halt": "stop",
    "quick": "fast",
    "faster": "fast",
    "larg": "big",
    "bigger": "big",
}

#: English function words, and the programme's own.
STOP_EN: Final = _set(
    """
    the a an and are as at be been by can could do does for from has have how i if in into
    is it its me my of on or our please should so some than that their them then there
    these they this to too us was we were what when where which while who will with would
    you your idea ideas suggest suggestion propose proposal improve improvement also just
    more get make use using via per need needs company
    """
)


@functools.cache
def _english() -> Any:
    """The English stemmer, made at the first English word (the bot starts without it)."""
    import snowballstemmer  # type: ignore[import-untyped]

    return snowballstemmer.stemmer("english")


@functools.lru_cache(maxsize=20_000)
def _stem(word: str) -> str:
    """An English word's stem (Porter2: "sensors" -> "sensor", "jammed" -> "jam")."""
    return str(_english().stemWord(word))


#: A number inside a word ("30p", "ca3"): a word of its own ("30 phút", "ca 3").
_DIGITS: Final = re.compile(r"(\d+)")


def _in_word(char: str) -> bool:
    return char.isalnum() and unicodedata.category(char)[0] in "LN"


def idea_words(title: str, text: str, lang: str = "vi") -> str:
    """The words of an idea's title and text that say which idea it is, each once, in the
    order they first come, space-separated (empty when none do). The title comes first
    unless the text already starts with it. ``lang`` is the idea's language ("en":
    English function words and endings; anything else: Vietnamese)."""
    folded_text = fold_name(text)
    folded_title = fold_name(title)
    whole = folded_text if folded_text.startswith(folded_title) else f"{folded_title} {folded_text}"
    syllables: list[str] = []
    for raw in _DIGITS.sub(r" \1 ", "".join(c if _in_word(c) else " " for c in whole)).split():
        syllables.extend(ABBREVIATIONS.get(raw, raw).split())
    english = lang == "en"
    stop = STOP_EN if english else STOP_VI
    words: list[str] = []
    seen: set[str] = set()
    size, i = 0, 0
    while i < len(syllables):
        word = syllables[i]
        if not english and tuple(syllables[i : i + 2]) in STOP_PHRASES_VI:
            i += 2
            continue
        i += 1
        if word in stop:
            continue
        if english:
            word = _stem(word)
            word = SYNONYMS_EN.get(word, word)
        if word in seen:
            continue
        seen.add(word)
        size += len(word) + 1
        if size > MAX_WORDS_CHARS:
            break
        words.append(word)
    return " ".join(words)


#: How a stored word is written: a 32-bit number (its CRC-32), little-endian (numpy's
#: name for it: the scorer reads them as such an array; numpy is not imported here, so
#: the bot does not load it until a lookup).
HASH_DTYPE: Final = "<u4"
HASH_BYTES: Final = 4
_UINT32: Final = next(code for code in "ILH" if array(code).itemsize == HASH_BYTES)


def word_hashes(words: str) -> bytes:
    """``words`` (space-separated, each once) as the bytes of their 32-bit hashes, the
    form ``similar_texts.hashes`` stores and a lookup compares without splitting text
    (handlers.similar_score). Two words share a hash once in about four billion pairs."""
    hashes = array(_UINT32, [zlib.crc32(w.encode()) for w in words.split()])
    if sys.byteorder == "big":
        hashes.byteswap()
    return hashes.tobytes()


def hashes_of(data: bytes) -> list[int]:
    """What :func:`word_hashes` made, as numbers again (the plain-Python scoring's
    reading; numpy reads them as :data:`HASH_DTYPE`)."""
    hashes = array(_UINT32, data)
    if sys.byteorder == "big":
        hashes.byteswap()
    return hashes.tolist()


def idea_hashes(title: str, text: str, lang: str = "vi") -> bytes:
    """An idea's matching words (:func:`idea_words`) as stored: :func:`word_hashes`."""
    return word_hashes(idea_words(title, text, lang))
