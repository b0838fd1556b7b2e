"""The README's run command without a token: the try-it-out mode, driven through stdin."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.e2e.harness import ROOT

SCRIPT = "\n".join(
    [
        "/start",
        "may nam sai gon",  # the unit's name typed without diacritics
        "#1",  # pick it
        "#1",  # join
        "/idea",
        "Lap them quat thong gio o xuong may 2 de giam nong cho cong nhan",
        "#1",  # Done
        "#5",  # occupational safety
        "#1",  # saves cost
        "#1",  # skip the figure
        "#2",  # shareable
        "#1",  # submit
        "/quit",
        "",
    ]
)


def test_run_without_token_starts_a_terminal_chat(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_"))}
    env["TRYIT_DATABASE"] = str(tmp_path / "tryit.db")
    env["COLUMNS"] = "200"
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        input=SCRIPT,
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    out = result.stdout
    assert result.returncode == 0, result.stderr + out
    assert "try-it-out" in result.stderr + out
    assert "#1 CĐCS Công ty TNHH May mặc Nam Sài Gòn" in out  # buttons shown as choices
    assert "Mã sáng kiến: SK-2026-000001" in out
    # The support member (the other persona) got the card at once.
    assert "🤖 → Tổ hỗ trợ sáng kiến\n💡 SK-2026-000001 · 📨 Đã gửi, chờ xem xét" in out
    assert "#1 ✅ Công nhận" in out
    assert "Traceback" not in result.stderr
