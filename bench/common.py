"""What every benchmark shares.

* the Bot API stand-in (:mod:`standins.telegram`) running in the benchmark's own event loop, with a
  :class:`WatchedWorld` that follows the stand-in's call log as calls finish, so a simulated
  person can wait for "the bot's next sendMessage to my chat" without polling;
* databases prepared once with the real CLI and copied fresh for every run;
* the bot (``python -m bot run``) and the bare echo bots as child processes, with their
  memory and CPU time read from ``/proc``;
* simulated people who act through the stand-in's own simulation functions (the ones its
  control API wraps) in process, one step after another;
* medians, percentiles, the results file and the Markdown table.

The load generator and the stand-in share this process; the bot runs in another. On a
two-core machine that is one core each, and the stand-in's CPU use is reported alongside so
a run where the stand-in, not the bot, was the bottleneck is visible.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import math
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

from standins.telegram import simulate
from standins.telegram.config import StandinConfig
from standins.telegram.models import CallRecord, UpdateRecord
from standins.telegram.server import StandinServer
from standins.telegram.state import World
from standins.telegram.webhook import WebhookDelivery

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
SAMPLE_TREE = ROOT / "storage" / "sample" / "union_tree.csv"
TOKEN = "123456789:AAHbenchTokenForTheStandInServer0001"
BOT_USERNAME = "sangkien_bot"
UNIT = "HCM-Q7-CTYMAY"
FRAMEWORKS = ("aiogram", "ptb")
# Person ids: workers from here up; the unit's support member below it.
FIRST_WORKER = 100_000
SUPPORT_USER = 99_999
# The bot's own send limits raised so the limiter never binds (throughput, latency, memory).
RAISED_SEND_LIMITS = {
    "SEND_PRIVATE_PER_SECOND": "1000",
    "SEND_PRIVATE_BURST": "1000",
    "SEND_GLOBAL_PER_SECOND": "100000",
    "SEND_GROUP_PER_MINUTE": "60000",
}
POLLING_TIMEOUT = "10"  # the echo bots' default long poll (aiogram and PTB both use 10 s)
READY_TIMEOUT = 60.0

JSON = dict[str, Any]


# ---------------------------------------------------------------- options and results


def default_workdir() -> Path:
    """A work directory of this run's own: runs at the same time must not share databases."""
    return RESULTS_DIR / "work" / f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{os.getpid()}"


@dataclass
class Options:
    quick: bool = False
    frameworks: tuple[str, ...] = FRAMEWORKS
    repeat: int | None = None  # None: each benchmark's own default
    workdir: Path = field(default_factory=lambda: default_workdir())
    # Sizes a test can shrink further than --quick; None: the benchmark's own choice.
    size: int | None = None
    seconds: float | None = None
    rate: float | None = None  # latency: offered updates per second (None: 200)
    verbose: bool = True
    profile: bool = False  # sample the bot with py-spy while a benchmark measures
    import_rounds: int | None = None  # start-up: runs under -X importtime (None: default)
    echo_reference: bool = True  # memory: also measure the bare echo bot's idle RSS
    memory_seed: bool | None = None  # memory: seed the forms (None: above 1,000 people)
    # throughput: which bots run ("echo", "form-echo", "bot"; None: all three)
    kinds: tuple[str, ...] | None = None

    def runs(self, full: int, quick: int) -> int:
        if self.repeat is not None:
            return max(1, self.repeat)
        return quick if self.quick else full

    def pick(self, full: int, quick: int) -> int:
        if self.size is not None:
            return self.size
        return quick if self.quick else full

    def log(self, message: str) -> None:
        if self.verbose:
            print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass
class Row:
    """One line of the summary table."""

    benchmark: str
    framework: str
    metric: str
    value: float | None
    unit: str
    runs: int
    target: str = ""
    met: bool | None = None
    note: str = ""

    def cell(self) -> str:
        if self.value is None:
            return "—"
        if abs(self.value) >= 100:
            return f"{self.value:,.0f}"
        if abs(self.value) >= 10:
            return f"{self.value:.1f}"
        return f"{self.value:.2f}"


@dataclass
class BenchResult:
    name: str
    rows: list[Row] = field(default_factory=list)
    raw: JSON = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> JSON:
        return {
            "name": self.name,
            "rows": [asdict(row) for row in self.rows],
            "raw": self.raw,
            "problems": self.problems,
        }


def markdown_table(rows: Iterable[Row]) -> str:
    lines = [
        "| benchmark | framework | metric | median | unit | runs | target | met |",
        "| --- | --- | --- | ---: | --- | ---: | --- | --- |",
    ]
    for row in rows:
        met = "—" if row.met is None else ("yes" if row.met else "**no**")
        note = f" ({row.note})" if row.note else ""
        lines.append(
            f"| {row.benchmark} | {row.framework} | {row.metric}{note} | {row.cell()} | "
            f"{row.unit} | {row.runs} | {row.target or '—'} | {met} |"
        )
    return "\n".join(lines)


def machine_info() -> JSON:
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    versions: dict[str, str | None] = {}
    for package in ("aiogram", "python-telegram-bot", "SQLAlchemy", "aiohttp", "pydantic"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    load = os.getloadavg()
    return {
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "cpu": cpu,
        "platform": platform.platform(),
        "loadavg_at_start": [round(x, 2) for x in load],
        "packages": versions,
    }


def save_results(results: Sequence[BenchResult], command: str, info: JSON) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    path = RESULTS_DIR / f"{stamp}.json"
    document = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command,
        "machine": info,
        "benchmarks": [result.to_json() for result in results],
    }
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return path


# ---------------------------------------------------------------- statistics


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100), linearly interpolated between closest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def rounded(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


# ---------------------------------------------------------------- databases


@dataclass(frozen=True)
class Template:
    """A database migrated, with the sample union tree and two invites, to copy for each run."""

    db: Path
    member_token: str
    support_token: str


_TEMPLATES: dict[Path, Template] = {}


def cli(env: Mapping[str, str], *args: str) -> str:
    """``python -m bot ARGS``, the real CLI; returns what it printed."""
    result = subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=dict(env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"bot {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def link_token(cli_output: str) -> str:
    match = re.search(r"\?start=([A-Za-z0-9_-]+)", cli_output)
    if match is None:
        raise RuntimeError(f"no invite link in {cli_output!r}")
    return match.group(1)


def template(workdir: Path) -> Template:
    """The prepared database for this work directory (made once per process)."""
    directory = workdir / "template"
    found = _TEMPLATES.get(directory)
    if found is not None and found.db.exists():
        return found
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    db = directory / "template.db"
    env = bot_env("http://127.0.0.1:9", db, "aiogram")
    cli(env, "migrate")
    cli(env, "units", "import", str(SAMPLE_TREE))
    invite = ("invite", "--unit", UNIT, "--bot-username", BOT_USERNAME, "--role")
    with ThreadPoolExecutor(2) as pool:  # two CLI starts at once: a second or two saved
        member_link = pool.submit(cli, env, *invite, "member")
        support_link = pool.submit(cli, env, *invite, "support")
        member = link_token(member_link.result())
        support = link_token(support_link.result())
    found = Template(db, member, support)
    _TEMPLATES[directory] = found
    return found


def fresh_database(source: Template, directory: Path) -> Path:
    """A copy of the template for one run: every run starts from the same fresh database."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / "bot.db"
    for suffix in ("", "-wal", "-shm"):
        stale = Path(f"{target}{suffix}")
        if stale.exists():
            stale.unlink()
        origin = Path(f"{source.db}{suffix}")
        if origin.exists():
            shutil.copyfile(origin, stale)
    return target


def bot_env(
    api_base: str, db: Path, framework: str, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    prefixes = ("TELEGRAM_", "DATABASE_", "SEND_", "RUNTIME_", "SANGKIEN_", "LOG_LEVEL", "WEB_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE=api_base,
        TELEGRAM_FRAMEWORK=framework,
        TELEGRAM_POLLING_TIMEOUT=POLLING_TIMEOUT,
        DATABASE_URL=f"sqlite+aiosqlite:///{db}",
        # The dashboard is on, as by default, on any free port: bots measured side by side
        # (several instances, a restarted one) never fight over web.port.
        WEB_PORT="0",
        LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.update(extra or {})
    return env


def bot_argv() -> list[str]:
    return [sys.executable, "-m", "bot", "run"]


def echo_argv(framework: str, api_base: str) -> list[str]:
    return [sys.executable, "-m", f"bench.echo_{framework}", api_base]


# ---------------------------------------------------------------- child processes


class Process:
    """A bot (or echo bot) process; its output goes to a log file."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str], log_path: Path) -> None:
        self.argv = list(argv)
        self.env = dict(env)
        self.log_path = log_path
        self.process: asyncio.subprocess.Process | None = None
        self.spawned_at = 0.0  # time.time() just before the spawn

    async def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.spawned_at = time.time()
            self.process = await asyncio.create_subprocess_exec(
                *self.argv, env=self.env, cwd=ROOT, stdout=log, stderr=log
            )

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError("not started")
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    def memory_kb(self) -> dict[str, int]:
        """VmRSS and VmHWM (peak RSS) from /proc/<pid>/status, in kB."""
        found: dict[str, int] = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                found[key] = int(value.split()[0])
        return found

    def threads(self) -> int:
        """Threads of the process (aiosqlite runs one per open database connection)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("Threads:"):
                return int(line.split()[1])
        return 0

    def memory_breakdown_kb(self) -> dict[str, int]:
        """What the resident set is made of, from /proc/<pid>/smaps_rollup, in kB: ``Rss``,
        ``Anonymous`` (the heap: Python's objects and what C extensions allocate), and the
        rest (``Rss`` minus ``Anonymous``: mapped files, mostly shared libraries)."""
        found: dict[str, int] = {}
        for line in Path(f"/proc/{self.pid}/smaps_rollup").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("Rss", "Anonymous", "Shared_Clean", "Private_Dirty"):
                found[key] = int(value.split()[0])
        if "Rss" in found and "Anonymous" in found:
            found["Files"] = found["Rss"] - found["Anonymous"]
        return found

    def cpu_seconds(self) -> float:
        """User plus system CPU time the process has used so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")

    def log(self) -> str:
        return self.log_path.read_text("utf-8", "replace") if self.log_path.exists() else ""

    async def stop(self, timeout: float = 30.0) -> int | None:
        if self.process is None:
            return None
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), timeout)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
                await self.process.wait()
        return self.process.returncode


def log_problems(text: str) -> list[str]:
    """Log lines that say something went wrong (warnings, errors, tracebacks)."""
    keep = []
    for line in text.splitlines():
        if "Received SIGTERM signal" in line:  # aiogram's own polling says so when stopped
            continue
        if re.search(r"\b(WARNING|ERROR|CRITICAL)\b|Traceback|Exception", line):
            keep.append(line.strip())
    return keep


def summarise_problems(lines: Sequence[str], limit: int = 8) -> list[str]:
    """The distinct problem lines (timestamps and numbers folded), most frequent first."""
    counts: Counter[str] = Counter(re.sub(r"\d+", "N", line) for line in lines)
    return [f"{count}× {line}" for line, count in counts.most_common(limit)]


# ---------------------------------------------------------------- the stand-in, watched


class WatchedWorld(World):
    """The stand-in's state, plus a watcher that sees every Bot API call as it finishes.

    ``changed()`` runs after every call the stand-in finishes (and when a call arrives), so
    the watcher looks at the new and still-open records there: O(new calls) per change.
    """

    def __init__(self, config: StandinConfig | None = None) -> None:
        self._seen_seq = 0
        self._open: list[CallRecord] = []
        self._expected: dict[tuple[int, str], deque[asyncio.Future[CallRecord]]] = {}
        self.first_poll_at: float | None = None
        self.first_poll = asyncio.Event()
        self.finished: Counter[tuple[str, int]] = Counter()
        self.unexpected: Counter[str] = Counter()
        self.keep: set[str] = set()  # methods whose finished records are kept in ``kept``
        self.kept: list[CallRecord] = []
        self.watchers: list[Callable[[CallRecord], None]] = []
        # When each update was first handed to the bot (end of the getUpdates that carried
        # it), and how many times updates were handed over in all.
        self.first_delivered: dict[int, float] = {}
        super().__init__(config)

    def changed(self) -> None:
        super().changed()
        self._scan()

    def expect(self, chat_id: int, method: str) -> asyncio.Future[CallRecord]:
        """A future for the next finished ``method`` call to ``chat_id`` from now on."""
        future: asyncio.Future[CallRecord] = asyncio.get_running_loop().create_future()
        self._expected.setdefault((chat_id, method), deque()).append(future)
        return future

    def reset_first_poll(self) -> None:
        """Forget the first getUpdates seen, so :func:`wait_ready` waits for the next bot
        process's first one (one stand-in serving a bot process after another)."""
        self.first_poll_at = None
        self.first_poll.clear()

    def reset_counts(self) -> None:
        self.finished.clear()
        self.unexpected.clear()
        self.kept.clear()

    def _scan(self) -> None:
        calls = self.calls
        index = len(calls)
        while index > 0 and calls[index - 1].seq > self._seen_seq:
            index -= 1
        if index < len(calls):
            fresh = calls[index:]
            self._seen_seq = fresh[-1].seq
            for record in fresh:
                if record.method == "getUpdates" and self.first_poll_at is None:
                    self.first_poll_at = record.time
                    self.first_poll.set()
            self._open.extend(fresh)
        if not self._open:
            return
        still_open = []
        for record in self._open:
            if record.status or record.response is not None:
                self._finish(record)
            else:
                still_open.append(record)
        self._open = still_open

    def _finish(self, record: CallRecord) -> None:
        self.finished[(record.method, record.status)] += 1
        if record.method in self.keep:
            self.kept.append(record)
        for watcher in self.watchers:
            watcher(record)
        if record.method == "getUpdates":
            response = record.response if isinstance(record.response, dict) else {}
            result = response.get("result")
            if isinstance(result, list):
                delivered = record.time + record.duration
                for update in result:
                    self.first_delivered.setdefault(int(update["update_id"]), delivered)
            return
        chat = record.chat_id
        if not isinstance(chat, int):
            if record.method != "answerCallbackQuery" and not record.method.startswith(
                ("getMe", "setMy", "getMy", "deleteWebhook", "close", "logOut")
            ):
                self.unexpected[record.method] += 1
            return
        waiters = self._expected.get((chat, record.method))
        while waiters:
            future = waiters.popleft()
            if not future.done():
                future.set_result(record)
                return
        self.unexpected[record.method] += 1
        # Someone in this chat waits for another reaction: the bot went off script.
        for (waiting_chat, method), others in self._expected.items():
            if waiting_chat != chat:
                continue
            while others:
                future = others.popleft()
                if not future.done():
                    text = _text_of(record)
                    future.set_exception(
                        StepFailed(
                            f"user {chat}: expected {method}, the bot made {record.method} "
                            f"({record.status}): {text[:120]!r}"
                        )
                    )
                    return


def _text_of(record: CallRecord) -> str:
    response = record.response if isinstance(record.response, dict) else {}
    result = response.get("result")
    if isinstance(result, dict):
        return str(result.get("text") or result.get("caption") or "")
    return str(response.get("description") or record.params.get("text") or "")


@contextlib.asynccontextmanager
async def standin(config: StandinConfig | None = None) -> AsyncIterator[StandinServer]:
    """A stand-in on a free loopback port whose world is a :class:`WatchedWorld`."""
    server = StandinServer(port=0, config=config)
    server.world = WatchedWorld(server.world.config)
    # The webhook delivery loop was made for the world just replaced: give it this one.
    server.delivery = WebhookDelivery(server.world)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def watched(server: StandinServer) -> WatchedWorld:
    world = server.world
    if not isinstance(world, WatchedWorld):
        raise TypeError("the stand-in was not started with bench.common.standin()")
    return world


async def wait_ready(world: WatchedWorld, process: Process, timeout: float = READY_TIMEOUT) -> None:
    """Until the process's first getUpdates reaches the stand-in."""
    deadline = time.monotonic() + timeout
    while not world.first_poll.is_set():
        if not process.running:
            raise RuntimeError(f"{process.argv} exited at start:\n{process.log()[-3000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{process.argv} did not poll within {timeout} s")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(world.first_poll.wait(), 0.1)


async def settled(
    process: Process, *, share: float = 0.05, window: float = 0.5, timeout: float = 20.0
) -> float:
    """Until ``process`` has used less than ``share`` of a core over a whole ``window`` (its
    start-up's work in the background done: the bot's first reminder pass loads the holiday
    calendar in a thread, a few hundred ms of CPU), at most ``timeout``; the seconds waited.
    A measurement that starts right after start-up otherwise counts that work against the
    updates it measures."""
    started = time.monotonic()
    used = process.cpu_seconds()
    while time.monotonic() - started < timeout:
        await asyncio.sleep(window)
        now = process.cpu_seconds()
        if now - used < share * window:
            break
        used = now
    return time.monotonic() - started


def add_people(world: World, user_ids: Iterable[int], language: str = "vi") -> None:
    for user_id in user_ids:
        simulate.upsert_user(
            world, user_id, {"first_name": f"Công nhân {user_id}", "language_code": language}
        )


# ---------------------------------------------------------------- simulated people

StepKind = Literal["text", "press"]


@dataclass(frozen=True)
class Step:
    """One update a person sends, and the bot call that completes the bot's reaction.

    A press takes the button whose callback data contains ``pick`` on the person's current
    message (the last one the bot sent or edited for them).
    """

    kind: StepKind
    text: str = ""
    pick: str = ""
    expect: str = "sendMessage"


class StepFailed(Exception):
    pass


class Person:
    def __init__(self, world: WatchedWorld, user_id: int) -> None:
        self.world = world
        self.id = user_id
        self.message_id: int | None = None
        # Per step: (update made available → handed to the bot by getUpdates,
        #            handed to the bot → the bot's reaction reaches the stand-in), seconds.
        self.timings: list[tuple[float, float]] = []

    def act(self, step: Step) -> tuple[asyncio.Future[CallRecord], UpdateRecord | None]:
        """Send the step's update now; the future completes with the bot's reaction."""
        world = self.world
        if step.kind == "text":
            future = world.expect(self.id, step.expect)
            return future, simulate.send(world, self.id, None, {"text": step.text}).update
        if self.message_id is None:
            raise StepFailed(f"user {self.id}: nothing to press")
        data = self.button(step.pick)
        future = world.expect(self.id, step.expect)
        _, update = simulate.press(world, self.id, self.id, self.message_id, data=data)
        return future, update

    async def do(self, step: Step, timeout: float) -> CallRecord:
        future, update = self.act(step)
        try:
            record = await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise StepFailed(f"user {self.id}: no {step.expect} within {timeout} s") from None
        if record.status != 200:
            raise StepFailed(f"user {self.id}: {step.expect} answered {record.status}")
        delivered = self.world.first_delivered.get(update.update_id) if update else None
        if update is not None and delivered is not None:
            self.timings.append((delivered - update.created, record.time - delivered))
        response = record.response if isinstance(record.response, dict) else {}
        result = response.get("result")
        if isinstance(result, dict) and "message_id" in result:
            self.message_id = int(result["message_id"])
        return record

    def button(self, pick: str) -> str:
        assert self.message_id is not None
        message = self.world.messages.get((self.id, self.message_id))
        markup = (message.reply_markup if message else None) or {}
        for row in markup.get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if isinstance(data, str) and pick in data:
                    return data
        raise StepFailed(f"user {self.id}: no button {pick!r} on message {self.message_id}")

    def current_text(self) -> str:
        if self.message_id is None:
            return ""
        message = self.world.messages.get((self.id, self.message_id))
        return (message.text or "") if message else ""


@dataclass
class PhaseResult:
    started: float
    ended: float
    updates: int
    people: int
    failures: list[str]
    waiting_ms: list[float] = field(default_factory=list)  # in the stand-in's queue
    in_bot_ms: list[float] = field(default_factory=list)  # handed over → reaction

    def breakdown(self) -> JSON:
        """Where a step's time went: waiting for getUpdates, then in the bot."""
        return {
            "waiting_for_getupdates_median_ms": rounded(median(self.waiting_ms), 2),
            "waiting_for_getupdates_p99_ms": rounded(percentile(self.waiting_ms, 99), 2),
            "in_bot_median_ms": rounded(median(self.in_bot_ms), 2),
            "in_bot_p99_ms": rounded(percentile(self.in_bot_ms, 99), 2),
        }

    @property
    def seconds(self) -> float:
        return self.ended - self.started

    @property
    def rate(self) -> float:
        return self.updates / self.seconds if self.seconds > 0 else 0.0


async def run_people(
    people: Sequence[Person],
    steps: Callable[[Person], Sequence[Step]],
    *,
    step_timeout: float = 60.0,
    concurrency: int | None = None,
    after: Callable[[Person], None] | None = None,
) -> PhaseResult:
    """Every person runs their steps one after another (send, wait for the bot, next); all
    people at once, or ``concurrency`` at a time. Counts the updates the bot answered."""
    done = 0
    failures: list[str] = []
    slots = asyncio.Semaphore(concurrency or len(people) or 1)

    async def one(person: Person) -> None:
        nonlocal done
        async with slots:
            try:
                for step in steps(person):
                    await person.do(step, step_timeout)
                    done += 1
                if after is not None:
                    after(person)
            except StepFailed as failure:
                failures.append(str(failure))

    for person in people:
        person.timings.clear()
    started = time.perf_counter()
    await asyncio.gather(*(one(person) for person in people))
    ended = time.perf_counter()
    result = PhaseResult(started, ended, done, len(people), failures)
    for person in people:
        for waiting, in_bot in person.timings:
            result.waiting_ms.append(waiting * 1000)
            result.in_bot_ms.append(in_bot * 1000)
    return result


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Keep this process's cyclic garbage collector still while the block runs.

    The stand-in shares this process with the load generator and keeps every call and
    update it saw: after a few thousand updates a full collection of that heap takes
    40-70 ms, during which no update becomes available and no answer is stamped, which
    the latency benchmark would charge to the bot. What is alive before the block is
    frozen (never scanned again), and nothing is collected during it.
    """
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


IDEA_TEXTS = (
    "De xuat lap mang che nang o bai xe de xe may cong nhan khong bi nong",
    "Gắn nhãn kệ phụ tùng theo từng máy để đổi chuyền nhanh hơn",
    "Thu hoi nhiet thua tu lo nung de say phoi, giam tien dien moi thang",
    "Làm đồ gá cố định cho máy may để đường may thẳng, giảm hàng lỗi",
    "Dat them thung rac phan loai o nha an ca de giam rac thai nhua",
)


def idea_text(user_id: int) -> str:
    return f"{IDEA_TEXTS[user_id % len(IDEA_TEXTS)]} (so {user_id})"


# ---------------------------------------------------------------- profiling


@contextlib.asynccontextmanager
async def profiled(options: Options, process: Process, name: str) -> AsyncIterator[None]:
    """With ``options.profile``, sample ``process`` with py-spy while the block runs.

    Writes ``<name>.txt`` (collapsed stacks, py-spy's raw format) and ``<name>.summary.txt``
    (the functions with the largest inclusive and own shares of the samples) under
    ``options.workdir / "profiles"``. Idle time (waiting in the event loop) is not sampled.
    """
    if not options.profile:
        yield
        return
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    directory = options.workdir / "profiles"
    directory.mkdir(parents=True, exist_ok=True)
    raw = directory / f"{name}.txt"
    recorder = await asyncio.create_subprocess_exec(
        spy, "record", "--pid", str(process.pid), "--format", "raw", "--rate", "100",
        "--nonblocking", "-o", str(raw),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    await asyncio.sleep(0.5)  # let py-spy attach
    try:
        yield
    finally:
        recorder.send_signal(signal.SIGINT)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(recorder.wait(), 30)
        if raw.exists():
            summary = summarise_profile(raw.read_text("utf-8", "replace"))
            (directory / f"{name}.summary.txt").write_text(summary, "utf-8")
            options.log(f"profile of {name}: {raw}")


def summarise_profile(collapsed: str, top: int = 40) -> str:
    """Inclusive and own shares per function from py-spy's collapsed stacks.

    Shares are of the main thread's busy samples: samples whose innermost frame is the event
    loop's ``select`` are idle and left out. The database driver's threads (aiosqlite runs
    each connection's SQLite calls in a thread) are reported apart.
    """
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    thread_own: Counter[str] = Counter()
    total = idle = busy = thread_busy = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [_short_frame(frame) for frame in stack.split(";")]
        if frames[0].startswith("Thread._bootstrap"):
            if not frames[-1].startswith("_connection_worker_thread"):  # not just waiting
                thread_busy += count
                thread_own[frames[-1]] += count
            continue
        if frames[-1].startswith(("EpollSelector.select", "select.epoll")):
            idle += count
            continue
        busy += count
        for frame in set(frames):
            inclusive[frame] += count
        own[frames[-1]] += count
    lines = [
        f"{total} samples at 100 Hz; main thread: {busy} busy, {idle} idle in the event loop;"
        f" database threads: {thread_busy} busy",
        "",
        "main thread, inclusive (% of its busy samples):",
    ]
    lines += [f"{100 * n / max(busy, 1):6.1f}%  {frame}" for frame, n in inclusive.most_common(top)]
    lines += ["", "main thread, own:"]
    lines += [f"{100 * n / max(busy, 1):6.1f}%  {frame}" for frame, n in own.most_common(top)]
    lines += ["", "database threads, own (% of their busy samples):"]
    lines += [
        f"{100 * n / max(thread_busy, 1):6.1f}%  {frame}"
        for frame, n in thread_own.most_common(top // 4)
    ]
    return "\n".join(lines) + "\n"


def _short_frame(frame: str) -> str:
    """``func (path/to/file.py:12)`` with site-packages and the project root cut off."""
    frame = re.sub(r"\S*/site-packages/", "", frame)
    frame = frame.replace(str(ROOT) + "/", "")
    frame = re.sub(r"/\S*/lib/python3\.\d+/", "", frame)
    return re.sub(r":\d+\)$", ")", frame)
