"""Which language is a worker's text written in?

The bot answers in Vietnamese (the default) or English.  Statistical detectors such
as langdetect do well on Vietnamese *with* diacritics but call Vietnamese typed
*without* diacritics (very common on phones: "cong nhan khong du quat") Tagalog,
Indonesian, Afrikaans, Somali...  Answering such a worker in English would be
wrong, so this module first runs its own recogniser:

* every word is folded (:func:`handlers.textnorm.fold`) and checked against the
  structure of a Vietnamese syllable (onset + rime, generated from the real spelling
  rules) and a list of frequent syllables (both in :mod:`handlers.language_words`);
* chat shortcuts ("ko", "dc", "j", "vs", "cty") count as Vietnamese;
* words with Vietnamese diacritics count as Vietnamese;
* English words (``data/en_words.txt``) that are also valid Vietnamese syllables
  ("to", "the", "can", "them") count for neither side.

Only if that is not conclusive is langdetect consulted (:mod:`handlers.langdetect_profiles`;
seeded, so results are deterministic).  Thresholds are module constants; see their comments
for why.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, NamedTuple

from handlers.langdetect_profiles import langdetect_guess, warm_up
from handlers.language_words import (
    COMMON_VI_SYLLABLES,
    ENGLISH_WORDS,
    NEUTRAL_WORDS,
    VALID_SYLLABLES,
    VI_SHORTCUTS,
)
from handlers.textnorm import fold

__all__ = [
    "DEFAULT_LANGUAGE",
    "SUPPORTED_LANGUAGES",
    "detect_language",
    "is_vietnamese",
    "looks_unaccented_vietnamese",
    "reply_language",
    "warm_up",
]

DEFAULT_LANGUAGE: Final = "vi"
SUPPORTED_LANGUAGES: Final = ("vi", "en")
"""Languages the bot can answer in; the first is the default."""

# --- Thresholds -------------------------------------------------------------------

MIN_TOKENS: Final = 3
"""Below this many scorable words no statistics are trusted: the text is decided only by
unambiguous dictionary evidence, otherwise the caller's default is returned."""

VI_CONFIDENT_SHARE: Final = 0.75
"""Share of Vietnamese evidence (among words that are evidence for anything) above which
the text is Vietnamese without asking langdetect.  Real Vietnamese, accented or not, scores
0.9-1.0; a quarter is left for English loanwords ("email", "online") and names."""

VI_CONFIDENT_MIN_WEIGHT: Final = 2.0
"""At least two words' worth of Vietnamese evidence are needed to be confident."""

VI_LOOSE_SHARE: Final = 0.5
"""If langdetect answers a language that unaccented Vietnamese is typically mistaken for
(anything but English), a Vietnamese share at least this high overrides it."""

EN_DISTINCT_MIN: Final = 1
"""langdetect's "en" is accepted for text with a high Vietnamese share only if it contains
at least this many English words that cannot be Vietnamese syllables ("is", "and", "of")."""

EN_CONFIDENT_SHARE: Final = 0.35
"""English without asking langdetect needs at least this share of words from the English list:
English prose is 40-60 % function words; other Latin-script languages share few of them."""

EN_CONFIDENT_MIN_DISTINCT: Final = 2
"""... and at least this many of them must be impossible as Vietnamese syllables."""

EN_CONFIDENT_MAX_VI_SHARE: Final = 0.25
"""... and at most this share of Vietnamese evidence (names, loanwords)."""

LANGDETECT_MIN_PROB: Final = 0.8
"""langdetect answers below this probability are treated as undecided (it is typically
0.99+ for real text of a few words, and splits 0.6/0.3 when guessing)."""

WEAK_VI_WEIGHT: Final = 0.5
"""A valid but rare syllable is half Vietnamese evidence, half foreign: English words such
as "pit" or "bet" are valid Vietnamese syllables too."""

UNSPACED_CHARS_PER_WORD: Final = 2
"""Scripts written without spaces (Chinese, Thai...) are counted as one word per this many
characters, so that a Chinese sentence is not mistaken for a one-word message."""

MIN_ACRONYM_CHARS: Final = 2
MAX_ACRONYM_CHARS: Final = 6
"""Upper-case words of this length ("QC", "KPI", "PCCC", "ATVSLD") are taken as acronyms and
ignored, unless most of the text is upper case."""

MAX_ANALYSED_CHARS: Final = 2000
"""Only the beginning of very long texts is analysed; it keeps detection fast."""

UNACCENTED_MAX_MARKED_SHARE: Final = 0.2
"""Text is "unaccented Vietnamese" if at most this share of its words carry diacritics."""

# --- Evidence -----------------------------------------------------------------------

# Letters only Vietnamese uses among Latin-script languages we may meet.
_VI_ONLY_LETTERS: Final = frozenset(
    "ăằắẳẵặơờớởỡợưừứửữựđĩũ" + "".join(chr(c) for c in range(0x1EA0, 0x1EFA)) + "ĂƠƯĐĨŨ"
)
_TOKEN: Final = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_APOSTROPHES: Final = str.maketrans({"’": "'"})


@dataclass(frozen=True, slots=True)
class _Evidence:
    """Per-text tallies; weights are in "words"."""

    vi: float = 0.0
    """Vietnamese evidence: marked words, shortcuts, frequent syllables (+ half of rare ones)."""
    foreign: float = 0.0
    """Evidence against Vietnamese: words that cannot be Vietnamese syllables."""
    ambiguous: int = 0
    """Valid Vietnamese syllables that are also English words; count for neither."""
    marked: int = 0
    """Words carrying Vietnamese diacritics."""
    english: int = 0
    """Words in the English list (including ambiguous ones)."""
    english_distinct: int = 0
    """English words that cannot be Vietnamese syllables ("is", "and", "with")."""
    tokens: int = 0
    """Scorable words (neutral words and acronyms excluded)."""

    @property
    def decisive(self) -> float:
        return self.vi + self.foreign

    @property
    def vi_share(self) -> float:
        return self.vi / self.decisive if self.decisive else 0.0


def _has_diacritics(word: str) -> bool:
    return any(not ch.isascii() for ch in word)


class _Word(NamedTuple):
    """What one word says about the language; summed into :class:`_Evidence`."""

    vi: float = 0.0
    foreign: float = 0.0
    ambiguous: bool = False
    marked: bool = False
    english: bool = False
    english_distinct: bool = False


_MARKED_VI: Final = _Word(vi=1.0, marked=True)
_VI: Final = _Word(vi=1.0)
_WEAK_VI: Final = _Word(vi=WEAK_VI_WEIGHT, foreign=1.0 - WEAK_VI_WEIGHT)
_AMBIGUOUS: Final = _Word(ambiguous=True, english=True)
_ENGLISH: Final = _Word(foreign=1.0, english=True, english_distinct=True)
_FOREIGN: Final = _Word(foreign=1.0)


@lru_cache(maxsize=4096)
def _classify(word: str) -> _Word:
    """Classify one word.  Cached: the same few thousand words recur in every message."""
    lower = word.lower().translate(_APOSTROPHES)
    folded = fold(lower)
    if any(ch in _VI_ONLY_LETTERS for ch in word):
        return _MARKED_VI
    valid = folded in VALID_SYLLABLES
    if _has_diacritics(lower):
        # é, à, ô... are shared with French and others; Vietnamese only if it is a syllable.
        return _MARKED_VI if valid else _FOREIGN
    if folded in VI_SHORTCUTS:
        return _VI
    english = lower in ENGLISH_WORDS
    if valid and english:
        return _AMBIGUOUS
    if valid:
        return _VI if folded in COMMON_VI_SYLLABLES else _WEAK_VI
    return _ENGLISH if english else _FOREIGN


_UNSPACED_RANGES: Final = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3400, 0x9FFF),  # CJK ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0x20000, 0x3FFFF),  # CJK extensions
)


def _is_unspaced_script(ch: str) -> bool:
    code = ord(ch)
    return any(low <= code <= high for low, high in _UNSPACED_RANGES)


def _is_acronym(word: str) -> bool:
    """Short upper-case words ("QC", "KPI") carry no language, unless they spell a syllable."""
    return (
        MIN_ACRONYM_CHARS <= len(word) <= MAX_ACRONYM_CHARS
        and word.isupper()
        and fold(word) not in VALID_SYLLABLES
    )


def _is_shouting(words: list[str]) -> bool:
    """Mostly upper-case text ("DE NGHI SUA MAY"): its words are words, not acronyms."""
    upper = sum(1 for word in words if len(word) >= MIN_ACRONYM_CHARS and word.isupper())
    return upper * 2 > len(words)


def _evidence(text: str) -> _Evidence:
    text = unicodedata.normalize("NFC", text[:MAX_ANALYSED_CHARS])
    vi = foreign = 0.0
    ambiguous = marked = english = english_distinct = tokens = 0
    # "5S", "SK-2026", "10h": codes and numbers carry no language.
    words = [word for word in _TOKEN.findall(text) if not any(ch.isdigit() for ch in word)]
    skip_acronyms = not _is_shouting(words)
    for word in words:
        lower = word.lower()
        if lower in NEUTRAL_WORDS:
            continue
        if skip_acronyms and fold(lower) not in VI_SHORTCUTS and _is_acronym(word):
            continue
        if _is_unspaced_script(word[0]):
            # Chinese, Japanese, Thai... have no spaces: a "word" here is a whole phrase.
            count = max(1, len(word) // UNSPACED_CHARS_PER_WORD)
            tokens += count
            foreign += count
            continue
        verdict = _classify(word)
        tokens += 1
        vi += verdict.vi
        foreign += verdict.foreign
        ambiguous += verdict.ambiguous
        marked += verdict.marked
        english += verdict.english
        english_distinct += verdict.english_distinct
    return _Evidence(vi, foreign, ambiguous, marked, english, english_distinct, tokens)


def _confidently_vietnamese(ev: _Evidence) -> bool:
    """Mostly Vietnamese evidence; one word of it suffices if nothing is distinctly English."""
    min_weight = 1.0 if ev.english_distinct == 0 else VI_CONFIDENT_MIN_WEIGHT
    return ev.vi >= min_weight and ev.vi_share >= VI_CONFIDENT_SHARE


def _confidently_english(ev: _Evidence) -> bool:
    """Plenty of English words, several that cannot be Vietnamese, little Vietnamese."""
    return (
        ev.marked == 0
        and ev.english_distinct >= EN_CONFIDENT_MIN_DISTINCT
        and ev.english >= ev.tokens * EN_CONFIDENT_SHARE
        and ev.vi_share <= EN_CONFIDENT_MAX_VI_SHARE
    )


# --- Public API ---------------------------------------------------------------------


def _short_text_language(ev: _Evidence, default: str) -> str:
    """Decide 1-2 word texts from dictionary evidence only; statistics mean nothing there."""
    if ev.vi > 0 and ev.foreign == 0:
        return "vi"
    if ev.english > 0 and ev.vi == 0 and ev.english_distinct == ev.tokens - ev.ambiguous:
        return "en" if ev.english_distinct else default
    return default


def detect_language(text: str, default: str = DEFAULT_LANGUAGE) -> str:
    """Return the ISO 639-1 code of the language ``text`` is written in.

    Vietnamese with or without diacritics gives ``"vi"``.  Text with nothing to go on
    (empty, numbers, emoji, one or two ambiguous words) or that nobody can decide
    gives ``default``.  Never raises.
    """
    ev = _evidence(text)
    if ev.tokens == 0:
        return default
    if ev.tokens < MIN_TOKENS:
        return _short_text_language(ev, default)
    if _confidently_vietnamese(ev):
        return "vi"
    if ev.decisive == 0:
        # Only words that are both English and Vietnamese ("to can them" = "tổ cần thêm"):
        # nobody can tell, and a wrong "en" would be worse than the default.
        return default
    if _confidently_english(ev):
        return "en"
    guess = langdetect_guess(text[:MAX_ANALYSED_CHARS])
    loose_vi = ev.vi >= VI_CONFIDENT_MIN_WEIGHT and ev.vi_share >= VI_LOOSE_SHARE
    if guess is None:
        return "vi" if loose_vi else default
    lang, prob = guess
    if lang == "vi":
        return "vi"
    if loose_vi and (lang != "en" or ev.english_distinct < EN_DISTINCT_MIN):
        return "vi"
    if prob >= LANGDETECT_MIN_PROB:
        return lang
    if loose_vi:
        return "vi"
    if ev.vi == 0 and ev.english_distinct >= EN_DISTINCT_MIN and lang == "en":
        # langdetect leans English, we see English words and nothing Vietnamese.
        return "en"
    return default


def is_vietnamese(text: str) -> bool:
    """True if ``text`` is positively recognised as Vietnamese (with or without diacritics).

    Undecidable text (emoji, numbers, a single ambiguous word) is *not* Vietnamese here;
    use ``detect_language(text) == "vi"`` to treat it as the default language instead.
    """
    return detect_language(text, default="") == "vi"


def looks_unaccented_vietnamese(text: str) -> bool:
    """True if ``text`` is Vietnamese typed (mostly) without diacritics.

    Such text must be matched with :func:`handlers.textnorm.fold` and must never be
    mistaken for English or Tagalog.
    """
    ev = _evidence(text)
    if ev.tokens == 0 or ev.marked > ev.tokens * UNACCENTED_MAX_MARKED_SHARE:
        return False
    return detect_language(text, default="") == "vi"


def _supported(code: str | None) -> str | None:
    """Map "en", "en-US", "VI" ... to a supported language, anything else to None."""
    if not code:
        return None
    primary = code.strip().lower().replace("_", "-").split("-")[0]
    return primary if primary in SUPPORTED_LANGUAGES else None


def reply_language(
    *, chosen: str | None, telegram_language_code: str | None, text: str | None
) -> str:
    """Pick the language to answer in: ``"vi"`` or ``"en"``, nothing else.

    An explicit choice by the worker wins; then the messenger's interface language if it
    is English or Vietnamese; then the language of what they wrote, where only clearly
    English text gives ``"en"`` (unaccented Vietnamese never does); else Vietnamese.
    """
    for code in (chosen, telegram_language_code):
        supported = _supported(code)
        if supported is not None:
            return supported
    if text and detect_language(text, default=DEFAULT_LANGUAGE) == "en":
        return "en"
    return DEFAULT_LANGUAGE
