"""The layers of docs/architecture.md ("who imports whom"), checked on the source: a
module that imports what its layer must never import fails here, whether the import is
at the top or inside a function (issue 20: bpy must not reach the bpy-free packages,
torch must not reach the add-on)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLENDER_LAYER = {"blender", "operators", "panels", "properties", "registration", "timeline_properties",
                 "preferences"}
# package (first path component) -> modules it must never import (top-level names, or
# first-party packages of the repository)
NEVER = {
    "motion": {"bpy", "onnxruntime", "torch"} | BLENDER_LAYER | {"inference", "training"},
    "face": {"bpy", "onnxruntime", "torch"} | BLENDER_LAYER | {"inference", "training"},
    "inference": {"bpy", "torch"} | BLENDER_LAYER | {"training"},
    "dataset": {"bpy", "torch"} | BLENDER_LAYER | {"training"},
    "pictures": {"bpy", "onnxruntime", "torch"} | BLENDER_LAYER | {"training"},
    "blender": {"torch", "training"},
    "operators": {"torch", "training"},
    "panels": {"torch", "training"},
    "cli": {"torch"},
    "training": BLENDER_LAYER,
    "errors": {"numpy", "bpy", "onnxruntime", "torch"},
    "limits": {"numpy", "bpy", "onnxruntime", "torch"},
    "output_file": {"numpy", "bpy", "onnxruntime", "torch"},
}
FIRST_PARTY = {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()} | {
    p.stem for p in ROOT.glob("*.py")}


def layer_of(path: Path) -> str:
    rel = path.relative_to(ROOT)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def imported(path: Path) -> set[str]:
    """First components of everything ``path`` imports: third-party top-level names, and
    first-party packages/modules (relative imports resolved against the repository)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = list(path.relative_to(ROOT).parts[:-1])
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                first = alias.name.split(".")[0]
                out.add(first if first != "cadence" else alias.name.split(".")[1])
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                parts = (node.module or "").split(".")
                out.add(parts[1] if parts[0] == "cadence" and len(parts) > 1 else parts[0])
                continue
            base = package[:len(package) - (node.level - 1)] if node.level > 1 else list(package)
            target = base + (node.module.split(".") if node.module else [])
            if target:
                out.add(target[0])
            else:  # "from .. import x" at the root: x are first-party modules
                out.update(alias.name for alias in node.names)
    return out


def sources() -> list[Path]:
    skip = {".venv", ".git", "tests", "bench", "tools", ".cache", "dist", "out", "docs", "weights", "presets",
            "examples"}
    return sorted(p for p in ROOT.rglob("*.py") if not skip & set(p.relative_to(ROOT).parts))


def test_every_layer_imports_only_what_it_may():
    bad = []
    for path in sources():
        layer = layer_of(path)
        never = NEVER.get(layer)
        if never is None:
            continue
        for name in sorted(imported(path) & never):
            bad.append(f"{path.relative_to(ROOT)} imports {name} ({layer} must not)")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("source, expected", [
    ("import bpy\n", {"bpy"}),
    ("def f():\n    from ..blender import scene\n", {"blender"}),
    ("from .rotations import quat_mul\n", {"motion"}),
    ("from cadence.training.loop import train\n", {"training"}),
])
def test_the_checker_sees_imports_anywhere(tmp_path, monkeypatch, source, expected):
    """The checker itself: imports inside functions and relative ones are seen (a
    checker that saw nothing would pass every layer)."""
    module = ROOT / "motion" / "_probe_for_test.py"
    monkeypatch.setattr(Path, "read_text", lambda self, encoding=None: source)
    assert expected <= imported(module)


# The order of the layers, lowest first (docs/architecture.md draws it): a module may import
# its own layer and any lower one, never a higher one. The PropertyGroup and preferences
# modules are data definitions below the Blender workflow that reads them.
RANK = {"errors": 0, "limits": 0, "output_file": 0,
        "motion": 1, "face": 1,
        "inference": 2, "dataset": 2, "pictures": 2,
        "properties": 3, "timeline_properties": 3, "preferences": 3, "training": 3,
        "blender": 4, "operators": 5, "cli": 6, "panels": 6, "registration": 7, "__init__": 8}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" and len(parts) > 1 else parts)


def first_party_imports(path: Path, modules: set[str]) -> set[str]:
    """The repository's modules that ``path`` imports, at the top or inside a function
    ("from pkg import name" counts as the module pkg.name when that is a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    name = module_name(path)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 0:
                parts = (node.module or "").split(".")
                if parts[0] != "cadence":
                    continue
                base = parts[1:]
            else:
                base = package[:len(package) - (node.level - 1)] if node.level > 1 else list(package)
                base = base + (node.module.split(".") if node.module else [])
            for alias in node.names:
                candidate = ".".join([*base, alias.name])
                if candidate in modules:
                    out.add(candidate)
                elif ".".join(base) in modules:
                    out.add(".".join(base))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "cadence" and ".".join(parts[1:]) in modules:
                    out.add(".".join(parts[1:]))
    out.discard(name)
    return out


def import_graph() -> dict[str, set[str]]:
    paths = {module_name(p): p for p in sources()}
    return {name: first_party_imports(path, set(paths)) for name, path in paths.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
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
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
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


def test_cycle_finder_finds_a_circle_and_accepts_a_tree():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []


def test_the_import_graph_has_no_circles():
    """Issue 20: imports inside functions used to hold four circles open; none may return."""
    assert cycles(import_graph()) == []


def test_no_import_runs_up_the_layers():
    graph = import_graph()
    assert set(RANK) >= {name.split(".")[0] for name in graph}, "a new top-level package needs a rank"
    upward = [f"{name} -> {dep}" for name, deps in sorted(graph.items()) for dep in sorted(deps)
              if RANK[dep.split(".")[0]] > RANK[name.split(".")[0]]]
    assert upward == []


# Tables of data, not code: the hand-written paraphrases the prompt matcher trains on.
LONG_ALLOWED = {"training/prompts.py"}
MAX_LINES = 500


def test_no_source_file_is_over_500_lines():
    """Issue 20: a module that outgrows 500 lines is doing more than one job; split it."""
    skip = {".venv", ".git", ".cache", "dist", "out"}
    long = [f"{p.relative_to(ROOT)}: {n} lines" for p in sorted(ROOT.rglob("*.py"))
            if not skip & set(p.relative_to(ROOT).parts) and str(p.relative_to(ROOT)) not in LONG_ALLOWED
            and (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES]
    assert long == []
