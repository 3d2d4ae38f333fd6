"""The layout's rules, checked by reading every module's imports and calls (so a new file
cannot break them silently):

- imports run one way: realtime -> pipeline <- offline <- train.py, benchmarks above all;
- no import circle between modules (imports at module level; TYPE_CHECKING ones excluded);
- library code never prints or draws progress bars: `print` only in entry points, tqdm
  only in `offline.console`;
- no module much over 400 lines.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("pipeline", "realtime", "offline", "benchmarks")
# What each top-level part may import from the project (besides itself).
ALLOWED = {
    "pipeline": set(),
    "realtime": {"pipeline"},
    "offline": {"pipeline"},
    "train": {"pipeline", "offline"},
    "benchmarks": {"pipeline", "offline", "realtime", "train"},
}
ENTRY_POINTS = {"train.py", "realtime/cli.py", "offline/render/__main__.py", "offline/console.py"}
MAX_LINES = 450


def modules() -> dict[str, Path]:
    """Dotted module name -> file, for every project module."""
    found = {"train": REPO / "train.py"}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            parts = list(path.relative_to(REPO).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(path: Path, *, top_level_only: bool) -> set[str]:
    """Project modules imported by `path` (absolute imports; TYPE_CHECKING blocks skipped)."""
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and _is_type_checking(node):
                continue
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
                found.update(f"{node.module}.{a.name}" for a in node.names)
            if top_level_only:
                if isinstance(node, (ast.If, ast.Try, ast.With)):
                    for field in ("body", "orelse", "finalbody", "handlers"):
                        for child in getattr(node, field, []):
                            visit(
                                getattr(child, "body", [child]) if field == "handlers" else [child]
                            )
            else:
                visit([c for c in ast.iter_child_nodes(node) if isinstance(c, ast.stmt)])

    visit(tree.body)
    return {name for name in found if name.split(".")[0] in (*PACKAGES, "train")}


def part(module: str) -> str:
    return module.split(".")[0]


def test_imports_run_one_way() -> None:
    wrong = []
    for name, path in modules().items():
        for target in imports(path, top_level_only=False):
            if part(target) != part(name) and part(target) not in ALLOWED[part(name)]:
                wrong.append(f"{path.relative_to(REPO)} imports {target}")
    assert not wrong, "imports against the layout rules:\n" + "\n".join(wrong)


def test_no_import_circle() -> None:
    known = modules()

    def resolve(target: str) -> str | None:
        while target and target not in known:
            target = target.rpartition(".")[0]
        return target or None

    graph = {
        name: {m for t in imports(path, top_level_only=True) if (m := resolve(t)) and m != name}
        for name, path in known.items()
    }
    # a package's __init__ importing its own submodules is not a circle through them
    for name in graph:
        graph[name] = {m for m in graph[name] if not m.startswith(name + ".") or name == m}
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := walk(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := walk(node)):
            pytest.fail("import circle: " + " -> ".join(cycle))


def _calls(path: Path, name: str) -> list[int]:
    tree = ast.parse(path.read_text(), str(path))
    return [
        n.lineno
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == name
    ]


def test_library_code_never_prints_or_draws_progress_bars() -> None:
    wrong = []
    for name, path in modules().items():
        rel = path.relative_to(REPO).as_posix()
        if part(name) == "benchmarks" or rel in ENTRY_POINTS:
            continue
        wrong += [f"{rel}:{line} calls print" for line in _calls(path, "print")]
        wrong += [f"{rel} imports tqdm" for t in _all_imports(path) if t.split(".")[0] == "tqdm"]
    assert not wrong, "\n".join(wrong)


def _all_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
    return out


def test_no_module_is_much_over_400_lines() -> None:
    long = {
        path.relative_to(REPO).as_posix(): n
        for path in modules().values()
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_the_rules_catch_a_wrong_import(tmp_path: Path) -> None:
    """The checker itself: a pipeline module importing offline is reported."""
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import os\nfrom offline.labels import EMOTIONS\n\ndef f():\n    import realtime.cli\n"
    )
    assert imports(bad, top_level_only=False) == {
        "offline.labels", "offline.labels.EMOTIONS", "realtime.cli"
    }  # fmt: skip
    assert imports(bad, top_level_only=True) == {"offline.labels", "offline.labels.EMOTIONS"}
    guarded = tmp_path / "guarded.py"
    guarded.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import offline\n")
    assert imports(guarded, top_level_only=False) == set()
