"""Similar-idea matching on the labelled pairs (issue #21): precision >= 0.9 at recall
>= 0.8 at the threshold the bot uses (handlers.similar_score.THRESHOLD), measured as
bench/similar_quality.py measures it; the labelled set is what the issue asks for; and
a few pairs told the ways the issue names are found, a near miss on the same machine
is not."""

from __future__ import annotations

from collections import Counter

import pytest

from bench.similar_quality import Pair, quality, read_pairs, scores, words_of
from handlers import similar_score
from handlers.language import detect_language


@pytest.fixture(scope="module")
def pairs() -> list[Pair]:
    return read_pairs()


def test_precision_and_recall_at_the_bots_threshold(pairs: list[Pair]) -> None:
    q = quality(pairs, scores(pairs), similar_score.THRESHOLD)
    assert q.precision >= 0.9, (q.precision, dict(q.wrong))
    assert q.recall >= 0.8, (q.recall, dict(q.missed))
    assert q.true_pos + q.false_neg == sum(p.same for p in pairs)


def test_the_labelled_set_is_what_the_issue_asks_for(pairs: list[Pair]) -> None:
    assert len(pairs) >= 200
    assert len({(p.a, p.b) for p in pairs}) == len(pairs)  # no pair twice
    labels = Counter(p.same for p in pairs)
    assert labels[True] >= 80 and labels[False] >= 80
    kinds = Counter(p.kind for p in pairs)
    for kind in ("no_diacritics", "abbreviations", "word_order", "short", "english"):
        assert kinds[kind] >= 10, kind
        assert all(p.same for p in pairs if p.kind == kind), kind
    for kind in ("near_machine", "near_workshop"):
        assert kinds[kind] >= 20, kind
        assert not any(p.same for p in pairs if p.kind == kind), kind
    texts = {p.a for p in pairs} | {p.b for p in pairs}
    language = {t: detect_language(t, default="?") for t in texts}
    accented = [t for t in texts if language[t] == "vi" and not t.isascii()]
    plain_vi = [t for t in texts if language[t] == "vi" and t.isascii()]
    english = [t for t in texts if language[t] == "en"]
    assert len(accented) >= 50
    assert len(plain_vi) >= 50
    assert len(english) >= 20
    # Both labels among English pairs: an English near miss too.
    english_pairs = [p for p in pairs if language[p.a] == language[p.b] == "en"]
    assert {p.same for p in english_pairs} == {True, False}


ORIGINAL = "Máy ép số 3 hay bị kẹt phôi, đề nghị lắp cảm biến để máy tự động dừng khi phôi bị lệch."
FAN = "Quạt thông gió ở xưởng hàn không đủ mát, công nhân không chịu được nóng vào buổi chiều."


@pytest.mark.parametrize(
    ("original", "draft"),
    [
        # Without diacritics.
        (
            ORIGINAL,
            "may ep so 3 hay bi ket phoi, de nghi lap cam bien de may tu dong dung"
            " khi phoi bi lech",
        ),
        # Chat abbreviations: "ko"/"k" for "không", "cn" for "công nhân", "dc" for "được".
        (FAN, "quat thong gio xuong han ko du mat, cn k chiu dc nong buoi chieu"),
        # Another order.
        (ORIGINAL, "Khi phôi bị lệch thì máy ép số 3 kẹt: lắp cảm biến để máy tự động dừng."),
        # A short version.
        (ORIGINAL, "cam bien phoi lech may ep so 3"),
    ],
)
def test_the_same_idea_told_the_ways_the_issue_names_is_found(
    pairs: list[Pair], original: str, draft: str
) -> None:
    assert _found(pairs, draft, original) >= similar_score.THRESHOLD


def test_a_near_miss_on_the_same_machine_is_not_found(pairs: list[Pair]) -> None:
    other = "Máy ép số 3 nên thay dầu thủy lực định kỳ hàng tháng, dầu cũ làm áp suất yếu."
    assert _found(pairs, "may ep so 3 bi ket phoi hoai, gan cam bien phoi lech", other) < (
        similar_score.THRESHOLD
    )
    # While the same draft finds the idea it repeats among the same candidates.
    assert _found(pairs, "may ep so 3 bi ket phoi hoai, gan cam bien phoi lech", ORIGINAL) >= (
        similar_score.THRESHOLD
    )


def _found(pairs: list[Pair], draft: str, original: str) -> float:
    """``original``'s score when ``draft`` is looked up among it and every text of the
    labelled set (a busy unit's ideas), as the bot's lookup scores it."""
    others = sorted({p.a for p in pairs} | {p.b for p in pairs})
    candidates = [words_of(original), *(words_of(t) for t in others if t != draft)]
    assert words_of(draft)
    return dict(similar_score.best(words_of(draft), candidates)).get(0, 0.0)
