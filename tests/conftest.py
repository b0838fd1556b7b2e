from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--full-size",
        action="store_true",
        default=False,
        help="run the reliability tests (crash, limits) at the full size the issues name",
    )


@pytest.fixture
def full_size(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--full-size"))
