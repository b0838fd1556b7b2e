"""The similar ideas' scoring: plain Python for a small unit, numpy arrays for a large one,
the same answer either way (handlers.similar_score).

A worker sees the same "possibly the same idea" list whichever way their unit's size sends the
lookup, and a bot whose units are all small never loads numpy.
"""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap

import pytest

from bench.similar_small import corpus
from handlers import similar_score
from handlers.similar_score import PRESELECT, SMALL, scored
from storage.similar_words import word_hashes


@pytest.fixture(scope="module")
def texts() -> list[bytes]:
    return corpus()


def _same(small: list[tuple[int, float]], arrays: list[tuple[int, float]]) -> None:
    assert [i for i, _ in small] == [i for i, _ in arrays]
    for (_, a), (_, b) in zip(small, arrays, strict=True):
        assert a == pytest.approx(b, rel=0, abs=1e-12)


@pytest.mark.parametrize("size", [1, 2, 7, 25, SMALL])
def test_a_small_unit_gets_what_numpy_gives(texts: list[bytes], size: int) -> None:
    rnd = random.Random(size)
    found = 0
    for _ in range(60):
        draft, *candidates = rnd.sample(texts, size + 1)
        small = scored(draft, candidates)
        _same(small, similar_score._scored_arrays(draft, candidates))
        found += len(small)
    assert found  # the labelled texts share words: the comparison compared something


def test_a_near_copy_scores_above_the_threshold_and_an_unrelated_idea_below(
    texts: list[bytes],
) -> None:
    draft = word_hashes("lap cam bien may ep so 3 tu dung khi phoi lech")
    near = word_hashes("may ep so 3 lap cam bien tu dung phoi lech")
    unrelated = word_hashes("thay den led xuong may 2 tiet kiem dien")
    result = scored(draft, [unrelated, near, *texts[:10]])
    assert result[0][0] == 1 and result[0][1] >= similar_score.THRESHOLD
    assert dict(result).get(0, 0.0) < similar_score.THRESHOLD
    assert [i for i, _ in similar_score.best(draft, [unrelated, near])] == [1]


def test_nothing_to_compare_finds_nothing() -> None:
    words = word_hashes("may ep so 3")
    assert scored(b"", [words]) == []
    assert scored(words, []) == []
    assert scored(words, [b"", word_hashes("den led")]) == []
    # a word repeated in the draft counts once
    assert scored(word_hashes("may may ep"), [words]) == scored(word_hashes("may ep"), [words])


def test_a_large_unit_is_scored_over_arrays(texts: list[bytes]) -> None:
    rnd = random.Random(5)
    draft, *candidates = rnd.sample(texts, SMALL + 2)
    assert len(candidates) > SMALL
    result = scored(draft, candidates)
    assert result == similar_score._scored_arrays(draft, candidates)
    assert 0 < len(result) <= PRESELECT


def _run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_a_bot_whose_units_are_small_never_loads_numpy() -> None:
    out = _run(f"""
        import sys
        from handlers.similar_score import scored
        from storage.similar_words import word_hashes
        ideas = [word_hashes(f"may ep so {{i}} ket phoi") for i in range({SMALL})]
        print(len(scored(word_hashes("may ep ket phoi"), ideas)), "numpy" in sys.modules)
    """)
    assert out == f"{min(SMALL, PRESELECT)} False"
    out = _run(f"""
        import sys
        from handlers.similar_score import scored
        from storage.similar_words import word_hashes
        ideas = [word_hashes(f"may ep so {{i}} ket phoi") for i in range({SMALL + 1})]
        print(len(scored(word_hashes("may ep ket phoi"), ideas)), "numpy" in sys.modules)
    """)
    assert out == f"{PRESELECT} True"


def test_plain_python_never_has_to_choose_among_equal_first_scores() -> None:
    # Above PRESELECT candidates sharing words, numpy keeps any of equal first scores.
    assert SMALL <= PRESELECT
