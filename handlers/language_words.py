"""The word knowledge :mod:`handlers.language` weighs a text's words with.

* every folded Vietnamese syllable, generated from the spelling rules (onset + rime);
* the frequent ones (``data/vi_syllables.txt``) and English words (``data/en_words.txt``),
  read once at import;
* Vietnamese chat shortcuts and workplace acronyms, and words both languages use alike.

All sets hold folded (:func:`handlers.textnorm.fold`) or lower-case words.
"""

from __future__ import annotations

from importlib import resources
from typing import Final

from handlers.textnorm import fold

__all__ = [
    "COMMON_VI_SYLLABLES",
    "ENGLISH_WORDS",
    "NEUTRAL_WORDS",
    "VALID_SYLLABLES",
    "VI_SHORTCUTS",
    "is_valid_syllable",
]

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

# Chat abbreviations and workplace acronyms, as typed; folded below.
_SHORTCUTS: Final = """
    k ko kg kh khg hk hok hem hong hông kô khum dc đc dk đk j gj r z v zay dzay dzậy zị vs
    ng nc ns bt mk mik mn mng cx cg ntn trc sx cty ct cn cnv cbcnv cbnv nld nlđ ld lđ ql nv
    vd bn bh bjo bgio tg kq vc sdt sđt stk dt đt ck vk ae tks thks ib hix hic huhu uh uk ukm
    ừm ms lun wa wá oy roy nhìu bít gd gđ pgd bgd bgđ tgd tgđ tp pp cd cđ dv đv bch bhld
    bhlđ atld atlđ atvsld atvslđ pccc bhxh bhyt kcn xn px qd qđ tb tl tc thg
"""

VI_SHORTCUTS: Final = _fold_words(_SHORTCUTS)
"""Vietnamese chat abbreviations and workplace acronyms: "ko" (không), "dc" (được), "j" (gì),
"vs" (với), "cty" (công ty), "nld" (người lao động), "pccc" (phòng cháy chữa cháy)..."""

NEUTRAL_WORDS: Final = frozenset({"ok", "oke", "okie", "oki", "okay", "haha", "hihi", "hehe"})
"""Used the same way in both languages; ignored."""
