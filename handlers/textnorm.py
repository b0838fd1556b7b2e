"""Text hygiene for what workers type into the bot.

Messages arrive from many phones and keyboards.  Some Android keyboards send
Vietnamese letters in decomposed form (``a`` + combining marks), copy-pasted
text carries zero-width and bidi control characters, and Windows clients send
CRLF.  Stored ideas must be clean and canonical (NFC) so that equal texts are
equal strings, titles look tidy in lists, and search works whether or not the
worker typed diacritics (see :func:`fold`).

Nothing here knows about any messenger: the functions take and return ``str``.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

__all__ = [
    "BIDI_CONTROLS",
    "DEFAULT_TITLE_CHARS",
    "ELLIPSIS",
    "MAX_BLANK_LINES",
    "ZERO_WIDTH_CHARS",
    "clean_user_text",
    "derive_title",
    "fold",
    "truncate",
]

ELLIPSIS: Final = "…"
"""Appended to text that has been shortened; one character, so it costs 1 of ``max_chars``."""

DEFAULT_TITLE_CHARS: Final = 80
"""Titles are shown in lists and buttons; 80 characters fits one or two lines on a phone."""

MAX_BLANK_LINES: Final = 2
"""Runs of more than this many empty lines are collapsed to this many."""

MIN_TITLE_SENTENCE_CHARS: Final = 12
"""A "first sentence" shorter than this (``"1."``, ``"Ý kiến:"``) is too weak to be a title,
so the next sentence is appended."""

MIN_WORD_CUT_FRACTION: Final = 0.5
"""When truncating, cut at the last space only if it keeps at least this fraction of the
budget; otherwise a single very long word (a URL, a part number) is cut hard."""

ZERO_WIDTH_CHARS: Final = frozenset("\u200b\u200c\u200d\u2060\ufeff")
"""Zero-width space/non-joiner/joiner, word joiner, BOM: invisible, break matching."""

BIDI_CONTROLS: Final = frozenset(
    "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
"""Bidi marks/embeddings/overrides/isolates: invisible and can visually reorder text
(a "Trojan source" style spoofing risk), never needed in Vietnamese or English."""

_ZWJ: Final = "\u200d"
_VARIATION_SELECTOR_16: Final = "\ufe0f"
_EXTRA_INVISIBLES: Final = frozenset("\u00ad\u2061\u2062\u2063\u2064\u180e")
"""Soft hyphen, invisible math operators, Mongolian vowel separator: invisible noise."""

_LINE_SEPARATORS: Final = frozenset("\u2028\u2029\x85\x0b\x0c")
"""Unicode line/paragraph separators, NEL, VT and FF all mean "new line" to a reader."""

_D_STROKE: Final = str.maketrans({"đ": "d", "Đ": "d", "ð": "d", "Ð": "d"})
# U+00D0/U+00F0 (Icelandic eth) look identical to Đ/đ and some keyboards produce them.

_WHITESPACE_RUN: Final = re.compile(r"\s+")
_BLANK_LINE_RUN: Final = re.compile("\n{" + str(MAX_BLANK_LINES + 2) + ",}")
_SENTENCE_END: Final = re.compile(r"[.!?…。]+(?=\s)")
_LIST_MARKER: Final = re.compile(r"^(?:[-*•–—+>]+|\(?\d{1,2}[.)])\s+")
_TITLE_TRAILING_PUNCT: Final = ".,;:-–— "


def _is_emoji_like(ch: str) -> bool:
    """True for pictographs and emoji modifiers, between which a ZWJ is meaningful."""
    return ch == _VARIATION_SELECTOR_16 or unicodedata.category(ch) in {"So", "Sk"}


def _drop_invisibles(s: str) -> str:
    """Remove zero-width, bidi and other control characters; map tabs and separators.

    A zero-width joiner between two emoji is kept: it glues emoji sequences such as
    👨‍🔧 ("man mechanic") and dropping it would turn one symbol into two.
    """
    # Every character changed below is one Python calls unprintable (Cc, Cf, Cs, Zl, Zp,
    # and Zs but the ASCII space): most texts, newlines apart, have none, and skip the loop.
    if s.replace("\n", "").isprintable():
        return s
    return _drop_each_invisible(s)


def _drop_each_invisible(s: str) -> str:
    out: list[str] = []
    last = len(s) - 1
    for i, ch in enumerate(s):
        if ch == "\n":
            out.append(ch)
        elif ch == "\t":
            out.append(" ")
        elif ch in _LINE_SEPARATORS:
            out.append("\n")
        elif ch == _ZWJ:
            if 0 < i < last and _is_emoji_like(s[i - 1]) and _is_emoji_like(s[i + 1]):
                out.append(ch)
        elif ch in ZERO_WIDTH_CHARS or ch in BIDI_CONTROLS or ch in _EXTRA_INVISIBLES:
            continue
        else:
            category = unicodedata.category(ch)
            # Controls, and lone surrogates (not UTF-8: no database or messenger takes them).
            if category in ("Cc", "Cs"):
                continue
            # NBSP, thin space, ideographic space...: show as an ordinary space.
            out.append(" " if category == "Zs" else ch)
    return "".join(out)


def clean_user_text(s: str) -> str:
    """Return ``s`` as clean, canonical text fit for storing and echoing back.

    NFC-normalises (so decomposed Vietnamese from some keyboards becomes the composed
    letters everybody else sends), removes control, zero-width and bidi characters,
    turns tabs into spaces and CRLF/CR into LF, strips trailing spaces on each line,
    collapses runs of more than :data:`MAX_BLANK_LINES` blank lines and strips the ends.
    Leading spaces inside the text are kept: workers sometimes indent lists.
    """
    s = s.replace("\r\n", "\n").replace("\r", "\n")
    # Invisible characters go first: a zero-width char between a letter and its
    # combining mark would otherwise block NFC composition.
    s = _drop_invisibles(s)
    s = unicodedata.normalize("NFC", s)
    s = "\n".join(line.rstrip() for line in s.split("\n"))
    s = _BLANK_LINE_RUN.sub("\n" * (MAX_BLANK_LINES + 1), s)
    return s.strip()


def fold(s: str) -> str:
    """Return a search key for ``s``: lower-case, no diacritics, ``đ`` → ``d``, single spaces.

    Used to match what a worker typed without diacritics against stored text, e.g.
    ``fold("Công đoàn Cơ sở Công ty May 10") == "cong doan co so cong ty may 10"``.
    The result is for comparison only; never show it to a user.
    """
    decomposed = unicodedata.normalize("NFD", s.translate(_D_STROKE))
    stripped = "".join(
        ch
        for ch in decomposed
        if unicodedata.category(ch) != "Mn"
        and ch not in ZERO_WIDTH_CHARS
        and ch not in BIDI_CONTROLS
    )
    # casefold, not lower: it also matches e.g. "ß" with "ss"; recompose what remains.
    folded = unicodedata.normalize("NFC", stripped.casefold())
    return _WHITESPACE_RUN.sub(" ", folded).strip()


def _cut_position(s: str, budget: int) -> int:
    """Index at which to cut ``s`` so that ``s[:index]`` fits ``budget`` characters.

    Prefers the last whitespace; never splits a letter from its combining marks.
    """
    space = max(s.rfind(" ", 0, budget + 1), s.rfind("\n", 0, budget + 1))
    if space >= budget * MIN_WORD_CUT_FRACTION and space > 0:
        return space
    cut = budget
    while cut > 0 and unicodedata.combining(s[cut]):
        cut -= 1
    return cut if cut > 0 else budget


def truncate(s: str, max_chars: int) -> str:
    """Shorten ``s`` to at most ``max_chars`` characters, cutting at a word boundary.

    If ``s`` already fits it is returned unchanged.  Otherwise it is cut at the last
    space that keeps a reasonable part of the text and :data:`ELLIPSIS` is appended
    (the ellipsis counts towards ``max_chars``), so limits such as Telegram's button
    or message lengths are never exceeded.
    """
    if max_chars < 1:
        raise ValueError(f"max_chars must be at least 1, got {max_chars}")
    if len(s) <= max_chars:
        return s
    budget = max_chars - len(ELLIPSIS)
    if budget == 0:
        return ELLIPSIS
    head = s[: _cut_position(s, budget)].rstrip(" \n,;:-–—")
    if not head:
        head = s[:budget]
    return head + ELLIPSIS


def _first_sentence(line: str) -> str:
    """The first sentence of ``line``, or more if the first one is too short to be a title."""
    for match in _SENTENCE_END.finditer(line):
        candidate = line[: match.end()]
        if len(candidate) >= MIN_TITLE_SENTENCE_CHARS and any(c.isalpha() for c in candidate):
            return candidate
    return line


def derive_title(text: str, max_chars: int = DEFAULT_TITLE_CHARS) -> str:
    """Derive a short title for an idea from its full text.

    Takes the first non-empty line, then its first sentence, drops a leading list
    marker (``-``, ``•``, ``1.``) and trailing punctuation, and truncates at a word
    boundary.  Workers rarely give their ideas a title, but lists of ideas need one.
    Never returns an empty string for non-empty input: text without anything visible
    yields :data:`ELLIPSIS`.
    """
    if not text:
        return ""
    cleaned = clean_user_text(text)
    first_line = next((line.strip() for line in cleaned.split("\n") if line.strip()), "")
    if not first_line:
        return truncate(ELLIPSIS, max_chars)
    without_marker = _LIST_MARKER.sub("", first_line, count=1) or first_line
    sentence = _first_sentence(without_marker)
    title = sentence.rstrip(_TITLE_TRAILING_PUNCT) or sentence
    return truncate(title, max_chars)
