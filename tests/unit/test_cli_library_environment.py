"""``python -m bot`` keeps numpy's OpenBLAS to the one thread the bot needs (bot.cli.main).

The bot is one event loop and does no linear algebra; OpenBLAS would start a thread per
core at numpy's first import (the first similar-ideas lookup) and spin it after use. Each
check runs in a fresh interpreter: numpy reads the setting once, at its import.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

AFTER_MAIN = textwrap.dedent(
    """
    import json, os, sys
    from bot.cli import main
    sys.argv = ["bot", "--help"]
    try:
        main()
    except SystemExit:
        pass
    import numpy  # what the first similar-ideas lookup does
    print(json.dumps({
        "setting": os.environ.get("OPENBLAS_NUM_THREADS"),
        "threads": len(os.listdir("/proc/self/task")),
    }))
    """
)


def after_main(**env: str) -> dict[str, object]:
    base = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    done = subprocess.run(
        [sys.executable, "-c", AFTER_MAIN],
        cwd=ROOT,
        env=base | env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert isinstance(out, dict)
    return out


def test_numpy_starts_no_thread_of_its_own_in_the_bot() -> None:
    assert after_main() == {"setting": "1", "threads": 1}


def test_an_operators_own_setting_is_kept() -> None:
    assert after_main(OPENBLAS_NUM_THREADS="2")["setting"] == "2"
