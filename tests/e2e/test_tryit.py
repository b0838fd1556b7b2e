"""The README's run command without a token: the try-it-out mode, driven through stdin.

The mode is started twice on the same data, as a newcomer coming back the next day
would: the second start must reach the prompt and work for a worker, a support member
and an official. The second session is driven line by line, the way a person types:
each line is sent only once the answer to the previous one has been printed, and stdin
stays open, so what arrives later (a chart, a spreadsheet) must be printed without
another Enter, and ``/quit`` must end the mode without one.
"""

from __future__ import annotations

import codecs
import os
import re
import subprocess
import sys
import threading
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
WAIT = 90.0  # seconds: a bound on a hang, not a measurement


def tryit_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_"))}
    env["TRYIT_DATABASE"] = str(tmp_path / "tryit.db")
    env["COLUMNS"] = "200"
    return env


class Typist:
    """The mode in a child process, fed one line at a time, its output read as it comes."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=ROOT,
        )
        self.out = ""
        self.err = b""
        self.seen = 0  # how far expect() has read
        self.changed = threading.Condition()
        threading.Thread(target=self._read_out, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()

    def _read_out(self) -> None:
        assert self.proc.stdout is not None
        decoder = codecs.getincrementaldecoder("utf-8")()
        while chunk := self.proc.stdout.read1(4096):
            with self.changed:
                self.out += decoder.decode(chunk)
                self.changed.notify_all()
        with self.changed:
            self.changed.notify_all()

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        self.err = self.proc.stderr.read()

    def type(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def expect(self, pattern: str) -> re.Match[str]:
        """Wait until the output after what was already matched has ``pattern`` (a regex)."""
        with self.changed:
            found = self.changed.wait_for(
                lambda: re.compile(pattern).search(self.out, self.seen) or self.proc.poll(),
                timeout=WAIT,
            )
            match = re.compile(pattern).search(self.out, self.seen)
        assert match is not None, (
            f"{pattern!r} never came\n--- out ---\n{self.out[-4000:]}\n"
            f"--- err ---\n{self.err.decode(errors='replace')[-4000:]}\n{found!r}"
        )
        self.seen = match.end()
        return match

    def quit(self) -> int:
        """/quit with stdin left open: the mode must end by itself."""
        self.type("/quit")
        try:
            return self.proc.wait(timeout=WAIT)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()


def first_start(env: dict[str, str]) -> str:
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
    assert "Traceback" not in result.stderr
    return out


def test_run_without_token_starts_a_terminal_chat(tmp_path: Path) -> None:
    out = first_start(tryit_env(tmp_path))
    assert re.search(r"#\d+\.1 CĐCS Công ty TNHH May mặc Nam Sài Gòn", out)  # buttons as choices
    assert "Mã sáng kiến: SK-2026-000001" in out
    # The support member (the other persona) got the card at once.
    assert "🤖 → Tổ hỗ trợ sáng kiến\n💡 SK-2026-000001 · 📨 Đã gửi, chờ xem xét" in out
    assert re.search(r"#\d+\.1 ✅ Duyệt", out)


def test_a_second_start_on_the_same_data_works_for_every_role(tmp_path: Path) -> None:
    env = tryit_env(tmp_path)
    first_start(env)
    chat = Typist(env)
    try:
        chat.expect(r"/as official")  # the help line names the third role
        chat.expect(r"› $")  # the prompt: the second start reached it
        chat.type("/myideas")
        chat.expect(r"SK-2026-000001")
        chat.type("/as support")
        chat.expect(r"You are now Tổ hỗ trợ sáng kiến")
        chat.type("/queue")
        chat.expect(r"SK-2026-000001")
        # The council's chair joined its council at start: /council answers as to one
        # (nothing approved yet), not as to someone outside it.
        chat.type("/as council")
        chat.expect(r"You are now Chủ tịch Hội đồng sáng kiến")
        chat.type("/council")
        chat.expect(r"Không có sáng kiến nào chờ Hội đồng chấm")
        chat.type("/as official")
        chat.expect(r"You are now Cán bộ công đoàn")
        chat.type("/progress")
        first = chat.expect(r"#(\d+)\.\d+ 📈 Biểu đồ").group(1)
        chat.type("/progress")
        second = chat.expect(r"#(\d+)\.(\d+) 📈 Biểu đồ")
        assert second.group(1) != first
        # The older message's button, by its number; its pop-up shows with this press.
        chat.type(f"#{first}.{second.group(2)}")
        chat.expect(r"\(📈 Đang vẽ biểu đồ, sẽ gửi ngay…\)")
        # The chart comes later, from the report worker: printed with no more typing.
        chat.expect(r"\[photo\]\n📈 Tỷ lệ đạt chỉ tiêu")
        chart = Path(chat.expect(r"saved to (\S+\.png)").group(1))
        assert (ROOT / chart).read_bytes().startswith(b"\x89PNG")
        chat.type("/export")
        chat.expect(r"\[document: [^\]]+\.xlsx\]")
        sheet = Path(chat.expect(r"saved to (\S+\.xlsx)").group(1))
        assert (ROOT / sheet).read_bytes().startswith(b"PK")
        assert chat.quit() == 0
    finally:
        if chat.proc.poll() is None:
            chat.proc.kill()
    assert "Traceback" not in chat.err.decode(errors="replace")
    assert "StandinTimeout" not in chat.err.decode(errors="replace")
