"""Which language is a worker's text written in?

The bot answers in Vietnamese (the default) or English.  Statistical detectors such
as langdetect do well on Vietnamese *with* diacritics but call Vietnamese typed
*without* diacritics (very common on phones: "cong nhan khong du quat") Tagalog,
Indonesian, Afrikaans, Somali...  Answering such a worker in English would be
wrong, so this module first runs its own recogniser:

* every word is folded (:func:`handlers.textnorm.fold`) and checked against the
  structure of a Vietnamese syllable (onset + rime, generated below from the real
  spelling rules) and a list of frequent syllables (``data/vi_syllables.txt``);
* chat shortcuts ("ko", "dc", "j", "vs", "cty") count as Vietnamese;
* words with Vietnamese diacritics count as Vietnamese;
* English words (``data/en_words.txt``) that are also valid Vietnamese syllables
  ("to", "the", "can", "them") count for neither side.

Only if that is not conclusive is langdetect consulted (seeded, so results are
deterministic).  Thresholds are module constants; see their comments for why.
"""

from __future__ import annotations

import json
import os
import re
import threading
import unicodedata
from array import array
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Final, NamedTuple

from handlers.textnorm import fold

if TYPE_CHECKING:
    from langdetect.detector_factory import DetectorFactory

__all__ = [
    "COMMON_VI_SYLLABLES",
    "DEFAULT_LANGUAGE",
    "ENGLISH_WORDS",
    "SUPPORTED_LANGUAGES",
    "VALID_SYLLABLES",
    "VI_SHORTCUTS",
    "detect_language",
    "is_valid_syllable",
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

# --- Vietnamese syllable structure -----------------------------------------------

_ONSETS: Final = (
    "",
    "b", "c", "ch", "d", "đ", "g", "gh", "gi", "h", "k", "kh", "l", "m", "n", "ng", "ngh",
    "nh", "p", "ph", "qu", "r", "s", "t", "th", "tr", "v", "x",
)  # fmt: skip

# Rimes as Vietnamese spells them (tone marks aside); folded below.  "Plain" rimes have no
# labial medial; after "qu" only those not starting with o/u/ư are possible.
_PLAIN_RIMES: Final = """
    a ai ao au ay ac ach am an ang anh ap at
    ăc ăm ăn ăng ăp ăt
    âu ây âc âm ân âng âp ât
    e eo ec em en eng ep et
    ê êu êch êm ên ênh êp êt
    i ia iu ich im in inh ip it
    iêu iêc iêm iên iêng iêp iêt
    yêu yêm yên yêng yêt
    y
    o oi oc om on ong op ot oong ooc
    ô ôi ôc ôm ôn ông ôp ôt
    ơ ơi ơm ơn ơp ơt
    u ua ui uc um un ung up ut
    uôi uôc uôm uôn uông uôt
    ư ưa ưi ưu ưc ưm ưn ưng ưt
    ươi ươu ươc ươm ươn ương ươp ươt
"""
# Rimes with the labial medial written o (before a, ă, e) or u (before â, ê, y, ơ).
_MEDIAL_RIMES: Final = """
    oa oai oao oay oac oach oam oan oang oanh oap oat
    oăc oăm oăn oăng oăt
    oe oeo oen oet
    uân uâng uât uây
    uê uêch uênh
    uơ
    uy uya uyu uych uynh uyp uyt uyên uyêt
"""
# Only after "qu", whose u is itself the medial: quỳnh, quých, quýt.
_QU_ONLY_RIMES: Final = "ynh ych yt"


def _fold_words(block: str) -> frozenset[str]:
    return frozenset(fold(word) for word in block.split())


def _build_syllables() -> frozenset[str]:
    """Every folded Vietnamese syllable that the spelling rules allow.

    Spelling rules that survive folding: c/k, g/gh and ng/ngh are chosen by the following
    vowel (k, gh, ngh before e, ê, i, y; c, g, ng elsewhere); q only as qu; "iê" is
    written "yê" without an onset; c never takes the labial medial (that is "qu").
    """
    plain = _fold_words(_PLAIN_RIMES)
    medial = _fold_words(_MEDIAL_RIMES)
    qu_rimes = {r for r in plain if r[0] not in "ou"} | {"oc", "o"} | _fold_words(_QU_ONLY_RIMES)
    front = frozenset("eiy")
    result: set[str] = set()
    for onset in {fold(o) for o in _ONSETS}:
        if onset == "qu":
            result.update(onset + r for r in qu_rimes)
            continue
        for rime in plain | medial:
            first = rime[0]
            if rime.startswith("ye") and onset:
                continue
            if rime.startswith("ie") and not onset:
                continue
            if onset in {"k", "gh", "ngh"} and first not in front:
                continue
            if onset in {"c", "ng"} and first in front:
                continue
            if onset == "g" and first in "ey":
                continue
            if onset == "c" and rime in medial:
                continue
            result.add(onset + rime)
    return frozenset(result)


VALID_SYLLABLES: Final = _build_syllables()
"""All folded Vietnamese syllables (about 2,400).  Generated from the rules, not listed by hand."""


def is_valid_syllable(word: str) -> bool:
    """True if ``word``, once folded, is spelled like a Vietnamese syllable."""
    return fold(word) in VALID_SYLLABLES


# --- Word lists -------------------------------------------------------------------


def _read_word_list(name: str) -> frozenset[str]:
    text = resources.files("handlers.data").joinpath(name).read_text(encoding="utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


COMMON_VI_SYLLABLES: Final = _read_word_list("vi_syllables.txt")
ENGLISH_WORDS: Final = _read_word_list("en_words.txt")

VI_SHORTCUTS: Final = frozenset(
    fold(word)
    for word in [
        "k",
        "ko",
        "kg",
        "kh",
        "khg",
        "hk",
        "hok",
        "hem",
        "hong",
        "hông",
        "kô",
        "khum",
        "dc",
        "đc",
        "dk",
        "đk",
        "j",
        "gj",
        "r",
        "z",
        "v",
        "zay",
        "dzay",
        "dzậy",
        "zị",
        "vs",
        "ng",
        "nc",
        "ns",
        "bt",
        "mk",
        "mik",
        "mn",
        "mng",
        "cx",
        "cg",
        "ntn",
        "trc",
        "sx",
        "cty",
        "ct",
        "cn",
        "cnv",
        "cbcnv",
        "cbnv",
        "nld",
        "nlđ",
        "ld",
        "lđ",
        "ql",
        "nv",
        "vd",
        "bn",
        "bh",
        "bjo",
        "bgio",
        "tg",
        "kq",
        "vc",
        "sdt",
        "sđt",
        "stk",
        "dt",
        "đt",
        "ck",
        "vk",
        "ae",
        "tks",
        "thks",
        "ib",
        "hix",
        "hic",
        "huhu",
        "uh",
        "uk",
        "ukm",
        "ừm",
        "ms",
        "lun",
        "wa",
        "wá",
        "oy",
        "roy",
        "nhìu",
        "bít",
        "gd",
        "gđ",
        "pgd",
        "bgd",
        "bgđ",
        "tgd",
        "tgđ",
        "tp",
        "pp",
        "cd",
        "cđ",
        "dv",
        "đv",
        "bch",
        "bhld",
        "bhlđ",
        "atld",
        "atlđ",
        "atvsld",
        "atvslđ",
        "pccc",
        "bhxh",
        "bhyt",
        "kcn",
        "xn",
        "px",
        "qd",
        "qđ",
        "tb",
        "tl",
        "tc",
        "thg",
    ]
)
"""Vietnamese chat abbreviations and workplace acronyms: "ko" (không), "dc" (được), "j" (gì),
"vs" (với), "cty" (công ty), "nld" (người lao động), "pccc" (phòng cháy chữa cháy)..."""

NEUTRAL_WORDS: Final = frozenset({"ok", "oke", "okie", "oki", "okay", "haha", "hihi", "hehe"})
"""Used the same way in both languages; ignored."""

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


# --- langdetect ---------------------------------------------------------------------


class _SparseProfiles:
    """langdetect's table of n-gram → probability in each language, stored sparsely.

    langdetect's own ``DetectorFactory.load_profile`` gives every n-gram (87,598 of them in
    its 55 profiles) a list of 55 floats, of which 2.1 on average are not zero: 62 MB of
    resident memory (langdetect 1.0.9), where this table takes 19. Its ``Detector`` only asks
    ``ngram in table`` and ``table[ngram][i]``; this answers both with the very same floats
    (so the same seed gives the same answers), building the 55-float list of one n-gram when
    it is asked for and keeping the last few thousand built (one detection samples a few
    dozen n-grams up to 7,000 times).

    The non-zero entries of all n-grams live in three flat arrays, chained per n-gram:
    ``_heads[ngram]`` is its first entry (-1: none), ``_next`` the entry after each one.
    """

    __slots__ = ("_built", "_heads", "_langs", "_next", "_probs", "languages")

    BUILT_MAX: Final = 4096  # lists of 55 floats kept built: about 2 MB

    def __init__(self) -> None:
        self.languages: list[str] = []
        self._heads: dict[str, int] = {}
        self._langs = array("H")
        self._next = array("l")
        self._probs = array("d")
        self._built: dict[str, list[float]] = {}

    def add_profile(self, name: str, freq: dict[str, int], n_words: list[int]) -> None:
        """What ``DetectorFactory.add_profile`` does, minus the zeros."""
        if name in self.languages:
            raise ValueError(f"duplicate langdetect profile {name!r}")
        index = len(self.languages)
        self.languages.append(name)
        heads = self._heads
        for word, count in freq.items():
            head = heads.setdefault(word, -1)
            if 1 <= len(word) <= 3:
                heads[word] = len(self._probs)
                self._langs.append(index)
                self._next.append(head)
                self._probs.append(1.0 * count / n_words[len(word) - 1])

    def __contains__(self, word: object) -> bool:
        return word in self._heads

    def __getitem__(self, word: str) -> list[float]:
        """The n-gram's probability in each language (a Detector only reads it)."""
        dense = self._built.get(word)
        if dense is None:
            if len(self._built) >= self.BUILT_MAX:
                self._built.clear()
            dense = self._built[word] = self._dense(word)
        return dense

    def _dense(self, word: str) -> list[float]:
        dense = [0.0] * len(self.languages)
        at = self._heads[word]
        while at >= 0:
            dense[self._langs[at]] = self._probs[at]
            at = self._next[at]
        return dense

    def __len__(self) -> int:
        return len(self._heads)


def _load_profiles(directory: str) -> _SparseProfiles:
    """Every profile in ``directory``, in the order (and so with the language indexes)
    langdetect's own ``load_profile`` would give them."""
    profiles = _SparseProfiles()
    for filename in os.listdir(directory):
        path = os.path.join(directory, filename)
        if filename.startswith(".") or not os.path.isfile(path):
            continue
        with open(path, encoding="utf-8") as file:
            data = json.load(file)
        profiles.add_profile(data["name"], data["freq"], data["n_words"])
    return profiles


_factory: DetectorFactory | None = None
_factory_lock: Final = threading.Lock()


def _get_factory() -> DetectorFactory:
    """Load langdetect's profiles once (about 0.1 s), on first use, thread-safely."""
    global _factory
    if _factory is None:
        with _factory_lock:
            if _factory is None:
                from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory

                profiles = _load_profiles(PROFILES_DIRECTORY)
                # Seeded so that the same text always gets the same answer.
                DetectorFactory.seed = 0
                factory = DetectorFactory()
                factory.set_seed(0)
                # What a Detector reads from its factory: the table and the language list.
                factory.word_lang_prob_map = profiles
                factory.langlist = profiles.languages
                _factory = factory
    return _factory


def _langdetect(text: str) -> tuple[str, float] | None:
    """langdetect's best guess as (ISO 639-1 code, probability), or None if it has none."""
    from langdetect.lang_detect_exception import LangDetectException

    detector = _get_factory().create()
    try:
        detector.append(text[:MAX_ANALYSED_CHARS])
        ranked = detector.get_probabilities()
    except LangDetectException:
        return None
    if not ranked:
        return None
    best = ranked[0]
    # langdetect answers "zh-cn"/"zh-tw"; ISO 639-1 is the part before the region.
    return str(best.lang).split("-")[0], float(best.prob)


def warm_up() -> None:
    """Load langdetect's profiles now (e.g. at start-up) instead of on the first message."""
    _get_factory()


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
    guess = _langdetect(text)
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
