"""Run the benchmarks: ``python -m bench.run [--quick] [--only NAME ...] [--frameworks aiogram,ptb]
[--repeat N] [--profile]``.

Writes every figure and each run's raw data as JSON under ``bench/results/`` and prints a
Markdown table of medians. A framework whose runs fail (say, an adapter that does not work
yet) is reported as failed; the other framework's figures are kept. See docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shlex
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path

from bench import bots, flood, instances, latency, memory, sending, startup, throughput
from bench.common import (
    FRAMEWORKS,
    BenchResult,
    Options,
    Row,
    default_workdir,
    machine_info,
    markdown_table,
    save_results,
)

Measure = Callable[[Options], Awaitable[BenchResult]]
BENCHMARKS: dict[str, Measure] = {
    "startup": startup.measure,
    "throughput": throughput.measure,
    "latency": latency.measure,
    "sending": sending.measure,
    "memory": memory.measure,
    "instances": instances.measure,
    "flood": flood.measure,
    "bots": bots.measure,
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, fewer runs")
    parser.add_argument(
        "--only", nargs="+", choices=sorted(BENCHMARKS), metavar="NAME",
        help=f"run only these: {', '.join(BENCHMARKS)}",
    )  # fmt: skip
    parser.add_argument(
        "--frameworks", default=",".join(FRAMEWORKS), help="comma-separated: aiogram,ptb"
    )
    parser.add_argument("--repeat", type=int, help="runs per measurement (default: per benchmark)")
    parser.add_argument(
        "--profile", action="store_true", help="sample the bot with py-spy while it is measured"
    )
    parser.add_argument(
        "--rate", type=float, help="latency: offered updates per second (default: 200)"
    )
    parser.add_argument(
        "--size", type=int, help="the benchmark's size, e.g. throughput's workers (default: "
        "per benchmark: 200, quick 30)",
    )  # fmt: skip
    parser.add_argument(
        "--kinds", help="throughput: which bots run, comma-separated: echo,form-echo,bot "
        "(default: all; the ratios need all three)",
    )  # fmt: skip
    parser.add_argument(
        "--seconds", type=float, help="latency: seconds of offered load (default: 10, quick 3)"
    )
    parser.add_argument(
        "--workdir", type=Path, help="databases, logs, profiles (default: a new directory under "
        "bench/results/work/)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    frameworks = tuple(f.strip() for f in args.frameworks.split(",") if f.strip())
    unknown = [f for f in frameworks if f not in FRAMEWORKS]
    if unknown or not frameworks:
        parser.error(f"--frameworks takes {', '.join(FRAMEWORKS)}, not {args.frameworks!r}")
    args.frameworks = frameworks
    return args


async def run(args: argparse.Namespace, workdir: Path) -> list[BenchResult]:
    options = Options(
        quick=args.quick,
        frameworks=args.frameworks,
        repeat=args.repeat,
        workdir=workdir,
        profile=args.profile,
        rate=args.rate,
        seconds=args.seconds,
        size=args.size,
        kinds=tuple(k.strip() for k in args.kinds.split(",")) if args.kinds else None,
    )
    results = []
    for name in args.only or list(BENCHMARKS):
        combined = BenchResult(name)
        for framework in options.frameworks:
            started = time.monotonic()
            options.log(f"{name} on {framework} …")
            try:
                result = await BENCHMARKS[name](replace(options, frameworks=(framework,)))
            except Exception as error:
                detail = "".join(traceback.format_exception_only(error)).strip()
                options.log(f"{name} on {framework} FAILED: {detail}")
                combined.problems.append(f"{framework}: the benchmark failed: {detail[:2000]}")
                combined.rows.append(Row(name, framework, "failed (see problems)", None, "", 0))
                continue
            combined.rows += result.rows
            combined.problems += result.problems
            combined.raw[framework] = result.raw
            combined.raw[f"{framework}_loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
            options.log(f"{name} on {framework} done in {time.monotonic() - started:.0f} s")
        results.append(combined)
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    command = "python -m bench.run " + shlex.join(sys.argv[1:] if argv is None else argv)
    info = machine_info()
    workdir: Path = args.workdir or default_workdir()
    workdir.mkdir(parents=True, exist_ok=True)
    # The stand-in runs in this process; what its server logs (a bot hanging up mid-request
    # when it is stopped, say) goes to a file instead of between the progress lines.
    logging.basicConfig(filename=workdir / "standin.log", level=logging.WARNING)
    started = time.monotonic()
    results = asyncio.run(run(args, workdir))
    info["total_seconds"] = round(time.monotonic() - started)
    path = save_results(results, command.strip(), info)
    print(f"\n`{command.strip()}` on {info['nproc']} × {info['cpu']}, Python {info['python']}\n")
    print(markdown_table(row for result in results for row in result.rows))
    problems = [f"- {r.name}: {p}" for r in results for p in r.problems]
    if problems:
        print("\nProblems seen:\n" + "\n".join(problems))
    print(f"\nResults: {path}\nLogs, databases and profiles: {workdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
