"""The dependency rule: only bot/ knows a messenger framework; storage/ knows nobody.

That rule is what lets the same flows run on aiogram, python-telegram-bot and
Zalo; this test keeps it from eroding one import at a time.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FRAMEWORKS = {"aiogram", "telegram", "zalo_bot", "aiohttp"}
FORBIDDEN = {
    "handlers": FRAMEWORKS | {"bot"},
    "storage": FRAMEWORKS | {"bot", "handlers"},
}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layer_imports_only_inward(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"no Python files under {package}/"
    offences = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & FORBIDDEN[package])
        for path in files
    }
    assert {k: v for k, v in offences.items() if v} == {}


def test_the_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import aiogram.types\nfrom telegram import Bot\nfrom . import x\n")
    assert imported_packages(sample) == {"aiogram", "telegram"}
