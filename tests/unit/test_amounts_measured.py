"""A measured benefit or a reward (issue #18): the forms accepted, and why others are refused."""

from __future__ import annotations

import pytest

from handlers.amounts import (
    MAX_MEASURED_VND,
    AmountProblem,
    format_amount,
    parse_amount,
    read_amount,
)


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("200.000.000", 200_000_000),
        ("200 triệu", 200_000_000),
        ("200 trieu", 200_000_000),
        ("1,5 tỷ", 1_500_000_000),
        ("1.5 ty", 1_500_000_000),
        ("1,5 tỷ đồng/năm", 1_500_000_000),
        ("2 tỷ", 2_000_000_000),
        ("200,000,000", 200_000_000),
        ("1 000 000", 1_000_000),
        ("0", 0),
        ("1.000.000 tỷ", MAX_MEASURED_VND),  # the limit itself is taken
    ],
)
def test_measured_figures_are_read(text: str, amount: int) -> None:
    assert read_amount(text, limit=MAX_MEASURED_VND, allow_zero=True).amount == amount


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("-5 triệu", AmountProblem.NEGATIVE),
        ("−5 triệu", AmountProblem.NEGATIVE),  # a typographic minus
        ("âm 5 triệu", AmountProblem.NEGATIVE),
        ("1.000.001 tỷ", AmountProblem.TOO_LARGE),
        ("9" * 40, AmountProblem.TOO_LARGE),
        ("nhiều lắm", AmountProblem.NOT_A_NUMBER),
        ("10^15", AmountProblem.NOT_A_NUMBER),
        ("1e9", AmountProblem.NOT_A_NUMBER),
        ("5 trieu 6", AmountProblem.NOT_A_NUMBER),
        ("-", AmountProblem.NOT_A_NUMBER),
        ("", AmountProblem.NOT_A_NUMBER),
    ],
)
def test_refusals_say_why(text: str, problem: AmountProblem) -> None:
    reading = read_amount(text, limit=MAX_MEASURED_VND, allow_zero=True)
    assert reading.amount is None and reading.problem is problem


def test_zero_only_where_allowed() -> None:
    assert read_amount("0").problem is AmountProblem.ZERO
    assert read_amount("0", allow_zero=True).amount == 0


def test_the_idea_forms_estimate_keeps_its_own_limit() -> None:
    """parse_amount (the worker's estimate) is unchanged: above zero, at most 10^14."""
    assert parse_amount("100000 tỷ") == 10**14
    assert parse_amount("100001 tỷ") is None
    assert parse_amount("0") is None
    assert parse_amount("-5 triệu") is None


def test_format() -> None:
    assert format_amount(1_500_000_000, "vi") == "1.500.000.000 đ"
    assert format_amount(1_500_000_000, "en") == "1,500,000,000 VND"
