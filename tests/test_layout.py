"""The house's layout: no import cycles, each room imports only downstream, and the README's folder map is the tree."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.helpers import ROOT

PACKAGES = ("pipeline", "bench", "tests")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules that `path` imports anywhere (top level or inside functions), plus its parent packages."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:  # `import a.b.c` where only a.b is ours
                target = target.rpartition(".")[0]
            if target:
                found.add(target)
    parent = name.rpartition(".")[0]
    while parent:  # importing a.b.c runs a/__init__ and a/b/__init__ first
        found.add(parent)
        parent = parent.rpartition(".")[0]
    return found - {name}


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
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

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    assert cycles(import_graph()) == []


def test_rooms_import_downstream_only():
    """pipeline imports neither bench nor tests; bench does not import tests; test modules import no other
    test module or conftest (shared helpers live in tests/helpers.py and tests/browser/helpers.py)."""
    graph = import_graph()
    wrong = []
    for name, targets in graph.items():
        for target in targets:
            leaf = target.rpartition(".")[2]
            if name.startswith("pipeline") and target.startswith(("bench", "tests")):
                wrong.append(f"{name} -> {target}")
            elif name.startswith("bench") and target.startswith("tests"):
                wrong.append(f"{name} -> {target}")
            elif name.startswith("tests") and (leaf.startswith("test_") or leaf == "conftest"):
                wrong.append(f"{name} -> {target}")
    assert wrong == []


def folder_map() -> list[str]:
    """The paths listed in the README's folder map (the fenced block after `<!-- folder-map -->`)."""
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- folder-map -->\s*```[^\n]*\n(.*?)```", readme, re.S)
    assert block, "README.md has no folder map (a fenced block after <!-- folder-map -->)"
    return [line.split()[0] for line in block.group(1).splitlines() if line.strip() and not line.startswith("#")]


def test_readme_folder_map_matches_the_tree():
    listed = folder_map()
    missing = [path for path in listed if not (ROOT / path).exists()]
    assert missing == [], "the README's folder map lists paths that do not exist"
    code = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "pipeline").rglob("*.py") if p.name != "__init__.py")
    folders = sorted(f"{p.relative_to(ROOT).as_posix()}/" for top in ("pipeline", "site_template", "tests", "bench")
                     for p in [ROOT / top, *(ROOT / top).rglob("*")] if p.is_dir() and "__pycache__" not in p.parts)
    unlisted = [path for path in code + folders if path not in listed]
    assert unlisted == [], "add these to the README's folder map"


def function_lengths() -> dict[str, int]:
    """'module.function' -> lines, from its first decorator to its last line, for every function in pipeline/."""
    lengths = {}
    for path in (ROOT / "pipeline").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                lengths[f"{module_name(path)}.{node.name}"] = node.end_lineno - first + 1
    return lengths


def test_functions_fit_on_a_screen():
    """The training loop reads top to bottom in one screen (<= 40 lines); nothing else in pipeline/ is over 60."""
    lengths = function_lengths()
    assert lengths["pipeline.train.loop.train"] <= 40
    assert {name: n for name, n in lengths.items() if n > 60} == {}
