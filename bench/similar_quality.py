"""How well similar-idea matching tells a repeated idea from a different one:
``python -m bench.similar_quality``.

Reads the labelled pairs of ``tests/data/similar_pairs.csv`` (a, b, same, kind). Each
pair is looked up as the bot looks up a draft: ``a`` is the draft, ``b`` one of the
unit's ideas among all the other texts of the file (the rest of the unit), through
handlers.similar_score.best. ``b`` is found when it comes out at or above the
threshold. Prints precision and recall at the bot's threshold and around it, and
recall by kind of pair and the false matches by kind.
"""

from __future__ import annotations

import argparse
import csv
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from handlers import similar_score
from handlers.language import detect_language
from storage.similar_words import idea_hashes

PAIRS = Path(__file__).resolve().parent.parent / "tests" / "data" / "similar_pairs.csv"


@dataclass(frozen=True, slots=True)
class Pair:
    a: str
    b: str
    same: bool
    kind: str


@dataclass(frozen=True, slots=True)
class Quality:
    threshold: float
    precision: float
    recall: float
    true_pos: int
    false_pos: int
    false_neg: int
    missed: Counter[str]  # positives not found, by kind
    wrong: Counter[str]  # negatives found, by kind


def read_pairs(path: Path = PAIRS) -> list[Pair]:
    with path.open(encoding="utf-8", newline="") as f:
        return [Pair(r["a"], r["b"], r["same"] == "1", r["kind"]) for r in csv.DictReader(f)]


def words_of(text: str) -> bytes:
    """A text's matching words as the bot stores them (their hashes)."""
    return idea_hashes("", text, detect_language(text, default="vi"))


def scores(pairs: Sequence[Pair]) -> list[float]:
    """Each pair's score as the bot's lookup finds it: ``b`` among all the other texts
    of the file (0 when the lookup's first pass leaves it out)."""
    texts = sorted({p.a for p in pairs} | {p.b for p in pairs})
    words = {t: words_of(t) for t in texts}
    found: list[float] = []
    for pair in pairs:
        candidates = [words[pair.b], *(words[t] for t in texts if t not in (pair.a, pair.b))]
        found.append(dict(similar_score.scored(words[pair.a], candidates)).get(0, 0.0))
    return found


def quality(pairs: Sequence[Pair], found: Sequence[float], threshold: float) -> Quality:
    tp = fp = fn = 0
    missed: Counter[str] = Counter()
    wrong: Counter[str] = Counter()
    for pair, score in zip(pairs, found, strict=True):
        hit = score >= threshold
        if pair.same and hit:
            tp += 1
        elif pair.same:
            fn += 1
            missed[pair.kind] += 1
        elif hit:
            fp += 1
            wrong[pair.kind] += 1
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return Quality(threshold, precision, recall, tp, fp, fn, missed, wrong)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.similar_quality", description=__doc__)
    parser.add_argument("--show", action="store_true", help="print the pairs judged wrongly")
    args = parser.parse_args(argv)
    pairs = read_pairs()
    found = scores(pairs)
    kinds = Counter(p.kind for p in pairs)
    print(f"{len(pairs)} pairs ({sum(p.same for p in pairs)} the same idea): {dict(kinds)}")
    print("threshold  precision  recall  (bot's threshold marked *)")
    for t in sorted({step / 100 for step in range(30, 71, 5)} | {similar_score.THRESHOLD}):
        q = quality(pairs, found, t)
        mark = "*" if abs(t - similar_score.THRESHOLD) < 1e-9 else " "
        print(f"{mark} {t:.2f}      {q.precision:.3f}      {q.recall:.3f}")
    q = quality(pairs, found, similar_score.THRESHOLD)
    print(f"at {q.threshold}: missed by kind {dict(q.missed)}")
    print(f"false matches by kind {dict(q.wrong)}")
    if args.show:
        for pair, score in zip(pairs, found, strict=True):
            if (score >= q.threshold) != pair.same:
                print(f"{score:.2f} {pair.kind} same={pair.same}\n  a: {pair.a}\n  b: {pair.b}")


if __name__ == "__main__":
    main()
