"""The shape of the house: who may import whom, no circles, no oversized files.

The rules (docs/ARCHITECTURE.md, "Layers"):

- only bot/ knows a messenger framework; handlers/ knows no bot/; storage/ knows nobody;
- bot/runtime/ is messenger-neutral: no framework, no channel (bot.telegram, bot.zalo);
- the channels never import each other, in the product and in the stand-ins;
- the product (bot, handlers, storage) never imports the stand-ins (standins/), which
  depend on it; the command line finds the try-it-out mode by its entry point;
- SQL is written in storage/ only: elsewhere SQLAlchemy is seen only as the engine and
  session types of ``sqlalchemy.ext.asyncio``;
- no import circles, counting imports made inside functions, which would only hide one;
- no product file over ``MAX_PRODUCT_LINES``.

Each rule reads every import in a file, at module level or inside a function, so a rule
cannot be dodged by moving an import into a function.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("bot", "handlers", "storage")
PACKAGES = (*PRODUCT, "standins")
FRAMEWORKS = {"aiogram", "telegram", "zalo_bot"}
CHANNELS = ("bot.telegram", "bot.zalo")
MAX_PRODUCT_LINES = 600
# Generated once per schema version and never edited: not held to the product's rules.
EXEMPT = ("storage/migrations/versions/",)


@dataclass(frozen=True)
class Rule:
    """Modules under ``where`` may not import anything under ``forbidden``."""

    where: str
    forbidden: frozenset[str]
    why: str


RULES = (
    Rule("handlers", frozenset(FRAMEWORKS | {"aiohttp", "bot", "standins"}), "the core is neutral"),
    Rule("storage", frozenset(FRAMEWORKS | {"aiohttp", "bot", "handlers", "standins"}), "inmost"),
    Rule("bot", frozenset({"standins"}), "the product never imports its test doubles"),
    Rule("bot.runtime", frozenset(FRAMEWORKS | set(CHANNELS)), "the runtime is channel-neutral"),
    Rule("bot.telegram", frozenset({"bot.zalo", "zalo_bot"}), "channels are independent"),
    Rule("bot.zalo", frozenset(FRAMEWORKS | {"bot.telegram"}), "channels are independent"),
    Rule("standins.telegram", frozenset({"standins.zalo"}), "stand-ins are independent"),
    Rule("standins.zalo", frozenset({"standins.telegram"}), "stand-ins are independent"),
)
# Outside storage/, SQLAlchemy may appear only as the engine and session types.
SQL_ALLOWED_OUTSIDE_STORAGE = {"sqlalchemy.ext.asyncio"}


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, module: str) -> set[str]:
    """Every module a file imports, anywhere in it, relative imports made absolute.

    ``from a.b import c`` yields both ``a.b`` and ``a.b.c`` (``c`` may be a module).
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def project_files(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            if not any(part in str(path.relative_to(root)) for part in EXEMPT):
                files[module_name(path, root)] = path
    return files


def under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def import_graph(files: Mapping[str, Path]) -> dict[str, set[str]]:
    """Module → the project's modules it imports (names resolved to the nearest module)."""

    def resolve(name: str) -> str | None:
        while name and name not in files:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        targets = {resolve(name) for name in imports_of(path, module)}
        graph[module] = {t for t in targets if t is not None and t != module}
    return graph


def circles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


FILES = project_files(ROOT, PACKAGES)


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: f"{rule.where}: {rule.why}")
def test_layer_imports_only_what_it_may(rule: Rule) -> None:
    checked = {m: p for m, p in FILES.items() if under(m, rule.where)}
    assert checked, f"no modules under {rule.where}"
    offences = {
        module: sorted(
            name
            for name in imports_of(path, module)
            if any(under(name, forbidden) for forbidden in rule.forbidden)
        )
        for module, path in checked.items()
    }
    assert {m: names for m, names in offences.items() if names} == {}


def test_sql_is_written_in_storage_only() -> None:
    offences = {
        module: sorted(
            name
            for name in imports_of(path, module)
            if under(name, "sqlalchemy")
            and not any(under(name, allowed) for allowed in SQL_ALLOWED_OUTSIDE_STORAGE)
        )
        for module, path in FILES.items()
        if not under(module, "storage")
    }
    assert {m: names for m, names in offences.items() if names} == {}


def test_no_import_circles() -> None:
    assert circles(import_graph(FILES)) == []


@pytest.mark.parametrize("package", PRODUCT)
def test_no_oversized_product_file(package: str) -> None:
    sizes = {
        str(path.relative_to(ROOT)): len(path.read_text(encoding="utf-8").splitlines())
        for module, path in FILES.items()
        if under(module, package)
    }
    assert {name: n for name, n in sizes.items() if n > MAX_PRODUCT_LINES} == {}


def test_the_installed_product_still_offers_the_try_it_out_mode() -> None:
    (entry,) = entry_points(group="sangkien_bot.modes", name="tryit")
    assert entry.module.split(".")[0] == "standins"
    assert callable(entry.load())


# The checks must see what they are there to see.


def write(root: Path, files: Mapping[str, str]) -> dict[str, Path]:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return project_files(root, ["pkg"])


def test_the_checks_see_imports_inside_functions_and_relative_ones(tmp_path: Path) -> None:
    files = write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "import aiogram.types\nfrom telegram import Bot\nfrom . import b\n",
            "pkg/b.py": "def later():\n    from pkg.sub.c import thing\n",
            "pkg/sub/__init__.py": "",
            "pkg/sub/c.py": "from ..a import x\n",
        },
    )
    assert imports_of(files["pkg.a"], "pkg.a") >= {"aiogram.types", "telegram", "pkg.b"}
    assert "pkg.sub.c" in imports_of(files["pkg.b"], "pkg.b")
    assert "pkg.a" in imports_of(files["pkg.sub.c"], "pkg.sub.c")
    assert circles(import_graph(files)) == [["pkg.a", "pkg.b", "pkg.sub.c"]]


def test_a_line_of_imports_without_a_circle_is_no_circle(tmp_path: Path) -> None:
    files = write(
        tmp_path,
        {"pkg/__init__.py": "", "pkg/a.py": "from pkg import b\n", "pkg/b.py": "import os\n"},
    )
    assert circles(import_graph(files)) == []
    assert import_graph(files) == {"pkg": set(), "pkg.a": {"pkg", "pkg.b"}, "pkg.b": set()}
