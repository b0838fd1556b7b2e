"""Start-up: from spawning ``python -m bot run`` to its first getUpdates at the stand-in.

Each run gets a fresh stand-in and a fresh database; the clock starts just before the process
is spawned and stops at the stand-in's timestamp of the first getUpdates (both ``time.time()``
in this process). The bare echo bot of the same framework is timed the same way, for reference.

Import costs are read with ``python -X importtime``: once for the bot's own start (the real
``python -m bot run`` up to its first getUpdates) and once for the framework package alone
(``import aiogram``, ``import telegram.ext``). Reported per top-level package: its own import
time (exclusive; these add up to the total) and the cumulative time of its outermost imports
(which include what it imports from other packages, so these overlap).

The bot's own log line "started in X s" counts from the start of ``python -m bot run``'s
command function, after the interpreter and the command line (``bot.cli``: typer, rich, the
configuration) are loaded; the rest of spawn → first getUpdates is that. The bot's RSS is read
when its first getUpdates arrives.

Modules only a report, a QR code or an undecided language needs (``LAZY_MODULES``) must not be
imported on the way to the first getUpdates: one that is shows up as a problem.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import (
    ROOT,
    BenchResult,
    Options,
    Process,
    Row,
    Template,
    bot_argv,
    bot_env,
    echo_argv,
    fresh_database,
    log_problems,
    median,
    rounded,
    standin,
    summarise_problems,
    template,
    wait_ready,
    watched,
)

NAME = "startup"
TARGET_SECONDS = 2.0
FRAMEWORK_IMPORT = {"aiogram": "import aiogram", "ptb": "import telegram, telegram.ext"}
# Imported only by the code that needs them (charts, spreadsheets, invite QR codes, language
# detection of text the bot cannot place by itself), never at start.
LAZY_MODULES = ("matplotlib", "numpy", "PIL", "openpyxl", "segno", "langdetect", "reportlab")
STARTED_IN = re.compile(r"started in (\d+(?:\.\d+)?) s")


@dataclass
class Start:
    seconds: float  # spawn → first getUpdates
    log: str
    rss_mb: float | None = None  # when the first getUpdates arrived

    @property
    def reported(self) -> float | None:
        """The bot's own "started in X s" (from its command function on), if it logged it."""
        found = STARTED_IN.search(self.log)
        return float(found.group(1)) if found else None


async def time_start(
    kind: str, framework: str, source: Template, directory: Path, importtime: bool = False
) -> Start:
    """Seconds from spawn to the first getUpdates, the process's log and its RSS then."""
    async with standin() as server:
        world = watched(server)
        if kind == "bot":
            db = fresh_database(source, directory)
            env = bot_env(server.base_url, db, framework)
            argv = bot_argv()
        else:
            env = bot_env(server.base_url, directory / "unused.db", framework)
            argv = echo_argv(framework, server.base_url)
        if importtime:
            argv = [argv[0], "-X", "importtime", *argv[1:]]
        name = f"{kind}-{framework}{'-importtime' if importtime else ''}.log"
        process = Process(argv, env, directory / name)
        await process.start()
        try:
            await wait_ready(world, process)
            assert world.first_poll_at is not None
            seconds = world.first_poll_at - process.spawned_at
            rss_mb = round(process.memory_kb()["VmRSS"] / 1024, 1)
        finally:
            await process.stop()
        return Start(seconds, process.log(), rss_mb)


def parse_importtime(text: str) -> dict[str, Any]:
    """Totals per top-level package from ``-X importtime`` output (microseconds in, ms out)."""
    entries: list[tuple[int, int, int, str]] = []  # self, cumulative, level, module
    for line in text.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        parts = line[len("import time:") :].split("|")
        if len(parts) != 3:
            continue
        name = parts[2]
        level = (len(name) - len(name.lstrip(" ")) - 1) // 2
        entries.append((int(parts[0]), int(parts[1]), level, name.strip()))
    own: dict[str, int] = defaultdict(int)
    outermost: dict[str, int] = defaultdict(int)
    stack: list[tuple[int, str]] = []  # (level, root) of the ancestors, walking backwards
    total = 0
    for self_us, cumulative_us, level, module in reversed(entries):
        root = module.split(".")[0]
        while stack and stack[-1][0] >= level:
            stack.pop()
        parent_root = stack[-1][1] if stack else None
        if level == 0:
            total += cumulative_us
        if parent_root != root:
            outermost[root] += cumulative_us
        own[root] += self_us
        stack.append((level, root))
    self_ms = {k: round(v / 1000, 1) for k, v in sorted(own.items(), key=lambda kv: -kv[1])}
    cumulative_ms = {
        k: round(v / 1000, 1) for k, v in sorted(outermost.items(), key=lambda kv: -kv[1])
    }
    return {
        "total_ms": round(total / 1000, 1),
        "self_ms": dict(list(self_ms.items())[:12]),
        "cumulative_ms": dict(list(cumulative_ms.items())[:12]),
    }


def imported_modules(text: str) -> list[str]:
    """Every module named in ``-X importtime`` output, in import order."""
    names = []
    for line in text.splitlines():
        parts = line[len("import time:") :].split("|") if line.startswith("import time:") else []
        if len(parts) == 3 and "imported package" not in parts[2]:
            names.append(parts[2].strip())
    return names


def lazy_modules_imported(text: str) -> list[str]:
    """The ``LAZY_MODULES`` (top-level packages) a start imported."""
    roots = {name.split(".")[0] for name in imported_modules(text)}
    return [module for module in LAZY_MODULES if module in roots]


def module_self_ms(text: str, module: str) -> float | None:
    for line in text.splitlines():
        parts = line[len("import time:") :].split("|") if line.startswith("import time:") else []
        if len(parts) == 3 and parts[2].strip() == module:
            return round(int(parts[0]) / 1000, 1)
    return None


def import_alone(framework: str) -> str:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", FRAMEWORK_IMPORT[framework]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stderr


async def measure(options: Options) -> BenchResult:
    result = BenchResult(NAME)
    rounds = options.runs(7, 2)
    import_rounds = options.import_rounds
    if import_rounds is None:
        import_rounds = 1 if options.quick else 3
    source = template(options.workdir)
    raw: dict[str, Any] = {}
    for framework in options.frameworks:
        directory = options.workdir / NAME / f"startup-{framework}"
        bot_times: list[float] = []
        reported: list[float] = []
        rss: list[float] = []
        echo_times: list[float] = []
        problems: list[str] = []
        for _ in range(rounds):  # interleaved: bot, echo, bot, echo …
            start = await time_start("bot", framework, source, directory)
            bot_times.append(start.seconds)
            if start.reported is not None:
                reported.append(start.reported)
            if start.rss_mb is not None:
                rss.append(start.rss_mb)
            problems += log_problems(start.log)
            echo = await time_start("echo", framework, source, directory)
            echo_times.append(echo.seconds)
        bot_imports = []
        alone_imports = []
        types_self: list[float] = []
        lazy_imported: set[str] = set()
        for _ in range(import_rounds):
            start = await time_start("bot", framework, source, directory, importtime=True)
            bot_imports.append(parse_importtime(start.log))
            lazy_imported.update(lazy_modules_imported(start.log))
            alone = await asyncio.to_thread(import_alone, framework)
            alone_imports.append(parse_importtime(alone))
            if framework == "aiogram":
                found = module_self_ms(alone, "aiogram.types")
                if found is not None:
                    types_self.append(found)
        raw[framework] = {
            "bot_seconds": [rounded(x) for x in bot_times],
            "bot_reported_seconds": reported,
            "bot_rss_at_first_poll_mb": rss,
            "echo_seconds": [rounded(x) for x in echo_times],
            "lazy_modules_imported_at_start": sorted(lazy_imported),
            "bot_importtime": bot_imports,
            "framework_import_alone": alone_imports,
            "aiogram_types_self_ms": types_self,
            "log_problems": summarise_problems(problems),
        }
        bot_median = median(bot_times)
        alone_ms = median([x["total_ms"] for x in alone_imports])
        result.rows += [
            Row(NAME, framework, "spawn → first getUpdates, full bot", bot_median, "s",
                len(bot_times), f"< {TARGET_SECONDS:.0f} s",
                None if bot_median is None else bot_median < TARGET_SECONDS),
            Row(NAME, framework, "of which after `bot.cli` is loaded (the bot's own log)",
                median(reported), "s", len(reported)),
            Row(NAME, framework, "RSS at the first getUpdates", median(rss), "MB", len(rss)),
            Row(NAME, framework, "spawn → first getUpdates, bare echo bot", median(echo_times),
                "s", len(echo_times)),
            Row(NAME, framework, "importtime total, full bot start",
                median([x["total_ms"] for x in bot_imports]), "ms", len(bot_imports)),
            Row(NAME, framework, f"importtime, `{FRAMEWORK_IMPORT[framework]}` alone",
                alone_ms, "ms", len(alone_imports)),
        ]  # fmt: skip
        if types_self:
            result.rows.append(
                Row(NAME, framework, "importtime, aiogram.types own (model_rebuild)",
                    median(types_self), "ms", len(types_self))
            )  # fmt: skip
        if problems:
            result.problems.append(f"{framework}: log {summarise_problems(problems)[:3]}")
        if lazy_imported:
            result.problems.append(
                f"{framework}: imported at start, though only reports or language detection "
                f"need them: {', '.join(sorted(lazy_imported))}"
            )
        options.log(
            f"{NAME} {framework:7} bot {bot_median:.2f} s, echo {median(echo_times) or 0:.2f} s,"
            f" `{FRAMEWORK_IMPORT[framework]}` {alone_ms} ms"
        )
    result.raw = raw
    return result
