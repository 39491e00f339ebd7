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
    "preview": {"bpy", "onnxruntime", "torch"} | BLENDER_LAYER | {"training"},
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
