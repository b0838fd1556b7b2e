"""How alike two ideas are, from their matching words (storage.similar_words).

An idea is the set of its words; two ideas are as alike as the cosine of those sets,
each word weighing more the rarer it is among the ideas looked through (an inverse
document frequency): two ideas about "máy ép số 3" share the machine's words, which
many ideas of that workshop have, and differ in what is done to it.

A lookup goes through a unit's ideas, thousands of them in the busiest units, in two
passes, so that it takes milliseconds. Each idea comes as the 32-bit hashes of its
words (storage.similar_words.word_hashes), and the first pass runs over all of them at
once as numpy arrays; a loop in Python over 8,000 ideas' words took 70 ms, this 10
(docs/BENCHMARKS.md, "Similar ideas"). Most units have far fewer ideas: up to
:data:`SMALL` candidates the same two passes run in plain Python, as quick there as numpy
with its per-call overhead, and a bot whose units are all small never imports numpy
(19 MB, and 60 ms of CPU the first time):

1. each candidate's words that are also the draft's, weighed by how many candidates
   have them: the :data:`PRESELECT` candidates with the most weight in common;
2. the cosine of the draft with each of those, their other words weighed among them.

The threshold (:data:`THRESHOLD`) was chosen on the labelled pairs of
``tests/data/similar_pairs.csv`` (``python -m bench.similar_quality``;
docs/BENCHMARKS.md, "Similar ideas").
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from storage.similar_words import HASH_BYTES, HASH_DTYPE, hashes_of

if TYPE_CHECKING:
    import numpy as np

#: The score from which two ideas are shown as possibly the same.
THRESHOLD = 0.47
#: How many candidates the first pass keeps for the second.
PRESELECT = 50
#: Up to how many candidates a lookup runs in plain Python rather than numpy (where the
#: two take about the same time, ``python -m bench.similar_small``; docs/BENCHMARKS.md).
SMALL = 50


def _idf(count: np.ndarray, total: int) -> np.ndarray:
    """The weight of words found in ``count`` of ``total`` ideas (a smoothed IDF)."""
    import numpy as np

    return np.log((total + 1) / (count + 0.5)) + 1.0


def scored(query: bytes, candidates: Sequence[bytes]) -> list[tuple[int, float]]:
    """(index into ``candidates``, score) of the :data:`PRESELECT` most like ``query``
    (any score above 0), the most alike first. Each is an idea's word hashes, each word
    once (storage.similar_words.word_hashes)."""
    if len(candidates) <= SMALL:
        return _scored_small(query, candidates)
    return _scored_arrays(query, candidates)


def _weights(counts: Counter[int], total: int) -> dict[int, float]:
    """:func:`_idf` of each word counted: a logarithm for each count, not each word."""
    by_count = {
        count: math.log((total + 1) / (count + 0.5)) + 1.0 for count in set(counts.values())
    }
    return {word: by_count[count] for word, count in counts.items()}


def _scored_small(query: bytes, candidates: Sequence[bytes]) -> list[tuple[int, float]]:
    """:func:`_scored_arrays`'s two passes in plain Python: the same candidates, the same
    scores (to the last bit where ``math.log`` and numpy's agree). Among more than
    :data:`PRESELECT` candidates sharing words, equal first scores at the last place kept
    would be decided by index here and arbitrarily by numpy: :data:`SMALL` is no more
    than :data:`PRESELECT`, so it never comes to that."""
    mine = sorted(set(hashes_of(query)))
    if not mine or not candidates:
        return []
    own = set(mine)
    theirs = [hashes_of(data) for data in candidates]
    # The first pass: the draft's words weighed by how many candidates have them.
    having = Counter(mine)
    sharing = []
    for i, words in enumerate(theirs):
        common = own.intersection(words)
        if common:
            having.update(common)
            sharing.append(i)
    rarity = _weights(having, len(candidates) + 1)
    first = {
        i: sum([rarity[w] for w in theirs[i] if w in own]) / math.sqrt(len(theirs[i]))
        for i in sharing
    }
    chosen = sorted(sharing, key=lambda i: (-first[i], i))[:PRESELECT]
    # The second pass: the cosine, the chosen candidates' other words weighed among them.
    pooled = Counter(mine)
    for i in chosen:
        pooled.update(theirs[i])
    weight = _weights(pooled, len(chosen) + 1)
    weight.update(rarity)
    weigh = weight.__getitem__
    own_weight = sum(map(weigh, own))
    result = []
    for i in chosen:
        other = theirs[i]
        common_weight = sum(map(weigh, own.intersection(other)))
        result.append((i, common_weight / math.sqrt(own_weight * sum(map(weigh, other)))))
    return sorted(result, key=lambda pair: (-pair[1], pair[0]))


def _scored_arrays(query: bytes, candidates: Sequence[bytes]) -> list[tuple[int, float]]:
    """The two passes over numpy arrays. numpy is imported here, at the first lookup of
    more than :data:`SMALL` candidates: the bot starts without it
    (tests/bench/test_bench_smoke.py, start-up)."""
    import numpy as np

    mine = np.unique(np.frombuffer(query, dtype=HASH_DTYPE))
    count = len(candidates)
    if not len(mine) or not count:
        return []
    sizes = np.fromiter(map(len, candidates), dtype=np.int64, count=count) // HASH_BYTES
    words = np.frombuffer(b"".join(candidates), dtype=HASH_DTYPE)
    hits = np.flatnonzero(np.isin(words, mine))
    if not len(hits):
        return []
    owner = np.repeat(np.arange(count), sizes)[hits]  # the candidate of each shared word
    which = np.searchsorted(mine, words[hits])  # which of the draft's words it is
    total = count + 1  # and the draft itself
    # The first pass: the draft's words weighed by how many candidates have them.
    rarity = _idf(np.bincount(which, minlength=len(mine)) + 1, total)
    first = np.bincount(owner, weights=rarity[which], minlength=count) / np.sqrt(
        np.maximum(sizes, 1)
    )
    sharing = np.flatnonzero(first)
    if len(sharing) > PRESELECT:
        sharing = sharing[np.argpartition(-first[sharing], PRESELECT - 1)[:PRESELECT]]
    chosen = [int(i) for i in sharing]
    # The second pass: the cosine, the chosen candidates' other words weighed among them.
    theirs = {i: np.frombuffer(candidates[i], dtype=HASH_DTYPE) for i in chosen}
    pooled, counts = np.unique(np.concatenate([mine, *theirs.values()]), return_counts=True)
    weight = dict(zip(pooled.tolist(), _idf(counts, len(chosen) + 1).tolist(), strict=True))
    weight.update(zip(mine.tolist(), rarity.tolist(), strict=True))
    own = set(mine.tolist())
    # The sums as plain ones, in the same order (the scores to the last bit), without a
    # generator each: map over the weights' lookup.
    weigh = weight.__getitem__
    own_weight = sum(map(weigh, own))
    result = []
    for i in chosen:
        other = theirs[i].tolist()
        common = sum(map(weigh, own.intersection(other)))
        result.append((i, common / math.sqrt(own_weight * sum(map(weigh, other)))))
    return sorted(result, key=lambda pair: (-pair[1], pair[0]))


def best(query: bytes, candidates: Sequence[bytes]) -> list[tuple[int, float]]:
    """(index into ``candidates``, score) of those at or above :data:`THRESHOLD`, the
    most alike first."""
    return [(i, s) for i, s in scored(query, candidates) if s >= THRESHOLD]
