"""Money figures as workers type them, approximate ones included."""

from __future__ import annotations

import pytest

from handlers.amounts import parse_amount


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("20 trieu", 20_000_000),
        ("khoảng 20 triệu", 20_000_000),
        ("khoang 20 trieu", 20_000_000),
        ("tầm 5tr", 5_000_000),
        ("tam 5 tr", 5_000_000),
        ("chừng 500k", 500_000),
        ("Khoảng 1,5 tỷ", 1_500_000_000),
        ("khoảng 20 triệu đồng/năm", 20_000_000),
        ("5 củ", 5_000_000),
        ("tam 5 cu", 5_000_000),
        ("~5 triệu", 5_000_000),
        ("about 5 million", 5_000_000),
        ("around 2.5 million", 2_500_000),
        ("approximately 300,000", 300_000),
        ("approx. 5m", 5_000_000),
        ("roughly 5 million VND", 5_000_000),
        ("5 million", 5_000_000),
        ("khoảng 5 triệu mỗi năm", 5_000_000),
    ],
)
def test_approximate_figures_are_read(text: str, amount: int) -> None:
    assert parse_amount(text) == amount


@pytest.mark.parametrize(
    "text", ["khoảng", "about", "khoảng nhiều tiền", "lots of money", "tầm tầm 5", "5 trieu 6"]
)
def test_words_without_a_figure_are_still_refused(text: str) -> None:
    assert parse_amount(text) is None
