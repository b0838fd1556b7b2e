"""How alike two ideas are, from their matching words (storage.similar_words).

An idea is the set of its words; two ideas are as alike as the cosine of those sets,
each word weighing more the rarer it is among the ideas looked through (an inverse
document frequency): two ideas about "máy ép số 3" share the machine's words, which
many ideas of that workshop have, and differ in what is done to it.

A lookup goes through a unit's ideas, thousands of them in the busiest units, in two
passes, so that it takes milliseconds:

1. each candidate's words that are also the draft's, weighed by how many candidates
   have them: the :data:`PRESELECT` candidates with the most weight in common;
2. the cosine of the draft with each of those, their other words weighed among them.

The threshold (:data:`THRESHOLD`) was chosen on the labelled pairs of
``tests/data/similar_pairs.csv`` (``python -m bench.similar_quality``;
docs/BENCHMARKS.md, "Similar ideas").
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import Counter
from collections.abc import Iterable, Sequence

#: The score from which two ideas are shown as possibly the same.
THRESHOLD = 0.47
#: How many candidates the first pass keeps for the second.
PRESELECT = 50


def _idf(count: int, total: int) -> float:
    return math.log((total + 1) / (count + 0.5)) + 1.0


def _weights(documents: Iterable[frozenset[str]]) -> tuple[Counter[str], int]:
    counts: Counter[str] = Counter()
    total = 0
    for document in documents:
        counts.update(document)
        total += 1
    return counts, total


def scored(query: str, candidates: Sequence[str]) -> list[tuple[int, float]]:
    """(index into ``candidates``, score) of the :data:`PRESELECT` most like ``query``
    (any score above 0), the most alike first. Each candidate is an idea's words, each
    word once (storage.similar_words.idea_words)."""
    mine = frozenset(query.split())
    if not mine or not candidates:
        return []
    common = mine.intersection
    shared = [common(c.split()) for c in candidates]
    counts = Counter(itertools.chain.from_iterable(shared))
    total = len(candidates) + 1  # and the draft itself
    rarity = {w: _idf(counts[w] + 1, total) for w in mine}
    weigh = rarity.__getitem__
    first = [
        (sum(map(weigh, found)) / math.sqrt(c.count(" ") + 1), i)
        for i, (found, c) in enumerate(zip(shared, candidates, strict=True))
        if found
    ]
    chosen = [i for _, i in heapq.nlargest(PRESELECT, first)]
    if not chosen:
        return []
    # The second pass: the draft's words weigh as among all the candidates, the chosen
    # candidates' other words as among the chosen.
    sets = {i: frozenset(candidates[i].split()) for i in chosen}
    pool, pool_total = _weights([mine, *sets.values()])

    def weight(word: str) -> float:
        return rarity[word] if word in rarity else _idf(pool[word], pool_total)

    mine_weight = sum(map(weight, mine))
    result = []
    for i in chosen:
        theirs = sets[i]
        together = sum(map(weight, theirs & mine))
        result.append((i, together / math.sqrt(mine_weight * sum(map(weight, theirs)))))
    return sorted(result, key=lambda pair: (-pair[1], pair[0]))


def best(query: str, candidates: Sequence[str]) -> list[tuple[int, float]]:
    """(index into ``candidates``, score) of those at or above :data:`THRESHOLD`, the
    most alike first."""
    return [(i, s) for i, s in scored(query, candidates) if s >= THRESHOLD]
