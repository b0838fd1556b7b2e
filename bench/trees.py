"""Generated union trees of any size, for benchmarks and the larger tests."""

from __future__ import annotations

import csv
import random
from pathlib import Path


def generate_tree(path: Path, count: int, seed: int = 7) -> None:
    """A national tree of ``count`` units, written in random order."""
    rng = random.Random(seed)
    rows: list[tuple[str, str, str, str]] = [
        ("VN", "Tổng Liên đoàn Lao động Việt Nam", "national", "")
    ]
    levels: list[list[str]] = [["VN"]]
    plan = [("province", 63), ("district", 700), ("grassroots", count), ("team", count)]
    for kind, size in plan:
        parents = levels[-1]
        level: list[str] = []
        for i in range(size):
            if len(rows) >= count:
                break
            code = f"{kind[0].upper()}{i:06d}"
            rows.append((code, f"Công đoàn {kind} số {i} – Đồng Nai", kind, rng.choice(parents)))
            level.append(code)
        levels.append(level)
    body = rows[1:]
    rng.shuffle(body)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["code", "name", "kind", "parent_code"])
        writer.writerows([rows[0], *body])
