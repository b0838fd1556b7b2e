#!/usr/bin/env bash
# Every check and test: ruff (lint and format), mypy, pytest.
# Extra arguments go to pytest (e.g. scripts/check.sh -k idea -x).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
echo "== ruff" >&2
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy" >&2
.venv/bin/mypy
echo "== pytest" >&2
# The slowest tests are listed at the end: the suite is a cost every session pays.
exec .venv/bin/pytest --durations=30 "$@"
