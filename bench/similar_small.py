"""Where plain Python scores a small unit's ideas as fast as numpy: ``python -m bench.similar_small
[--rounds N]``.

``handlers.similar_score.scored`` runs its two passes in plain Python up to ``SMALL``
candidates and over numpy arrays above, so that a bot whose units are all small never
imports numpy (19 MB, about 60 ms of CPU the first time). This times both on the same lookups,
side by side: the candidates are the idea texts of ``tests/data/similar_pairs.csv`` (real ideas
of several workshops, with and without diacritics) drawn at random, the draft another of them;
each size is ``--rounds`` lookups, each timed on both in turn (medians, µs). It also checks that
both give the same candidates in the same order with scores within 1e-12, and times numpy's
import in a fresh interpreter.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import time

from bench.similar_quality import read_pairs, words_of
from handlers import similar_score

SIZES = (10, 25, 50, 100, 200, 400)


def corpus() -> list[bytes]:
    """Each text of the labelled pairs once, as the bot stores its words."""
    return [words_of(text) for text in sorted({t for p in read_pairs() for t in (p.a, p.b)})]


def agree(small: list[tuple[int, float]], arrays: list[tuple[int, float]]) -> bool:
    return [i for i, _ in small] == [i for i, _ in arrays] and all(
        abs(a - b) < 1e-12 for (_, a), (_, b) in zip(small, arrays, strict=True)
    )


def numpy_import_ms() -> float:
    code = "import time; t = time.perf_counter(); import numpy; print(time.perf_counter() - t)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"OPENBLAS_NUM_THREADS": "1", "PATH": ""},
    )
    return float(out.stdout) * 1000


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.similar_small", description=__doc__)
    parser.add_argument("--rounds", type=int, default=200, help="lookups at each size")
    args = parser.parse_args(argv)
    texts = corpus()
    rnd = random.Random(21)
    print(f"`python -m bench.similar_small --rounds {args.rounds}`, {len(texts)} texts")
    print("numpy's import in a fresh interpreter: " + ", ".join(
        f"{numpy_import_ms():.0f}" for _ in range(3)) + " ms")  # fmt: skip
    print()
    print("| candidates | plain Python µs | numpy µs | plain ÷ numpy | results agree |")
    print("| ---: | ---: | ---: | ---: | --- |")
    for size in SIZES:
        small, arrays, same = [], [], True
        for _ in range(args.rounds):
            picked = rnd.sample(texts, min(size + 1, len(texts)))
            draft, candidates = picked[0], picked[1:]
            while len(candidates) < size:  # more candidates than texts: repeat some
                candidates.append(rnd.choice(texts))
            started = time.perf_counter()
            one = similar_score._scored_small(draft, candidates)
            small.append(time.perf_counter() - started)
            started = time.perf_counter()
            other = similar_score._scored_arrays(draft, candidates)
            arrays.append(time.perf_counter() - started)
            same = same and agree(one, other)
        a, b = statistics.median(small) * 1e6, statistics.median(arrays) * 1e6
        print(f"| {size} | {a:.0f} | {b:.0f} | {a / b:.2f} | {'yes' if same else 'NO'} |")
    print(f"\nSMALL = {similar_score.SMALL}")


if __name__ == "__main__":
    main()
