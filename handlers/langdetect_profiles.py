"""langdetect, the statistical fallback of :mod:`handlers.language`, loaded lazily and sparsely.

langdetect is imported and its profiles are loaded only when a text first needs it (it is not
loaded at start-up; ``bench/startup.py`` checks that), then kept for the life of the process.
"""

from __future__ import annotations

import json
import os
import threading
from array import array
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from langdetect.detector_factory import DetectorFactory

__all__ = ["langdetect_guess", "warm_up"]


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


def langdetect_guess(text: str) -> tuple[str, float] | None:
    """langdetect's best guess as (ISO 639-1 code, probability), or None if it has none.

    The caller shortens very long texts; langdetect reads all it is given."""
    from langdetect.lang_detect_exception import LangDetectException

    detector = _get_factory().create()
    try:
        detector.append(text)
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
