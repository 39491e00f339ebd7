"""Issue 20: one exception base class. Every exception class the package defines derives
from ``errors.CadenceError``, so the command line and Blender can report any of them in
one line. Read from the source (no import: blender/ needs bpy), so a new class that
forgets the base fails here."""
from __future__ import annotations

import ast
import builtins
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIPPED = {"tests", ".venv", ".cache", "out", "dist", "shared"}
BUILTIN_EXCEPTIONS = {name for name, value in vars(builtins).items()
                      if isinstance(value, type) and issubclass(value, BaseException)}


def _package_files() -> list[Path]:
    files = list(ROOT.glob("*.py"))
    for folder in sorted(ROOT.iterdir()):
        if folder.is_dir() and folder.name not in SKIPPED and not folder.name.startswith("."):
            files += [p for p in folder.rglob("*.py") if "__pycache__" not in p.parts]
    return files


def _base_name(node: ast.expr) -> str:
    return node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")


def _classes() -> list[tuple[str, str, set[str]]]:
    """Every class the package defines: (where, name, its base names)."""
    found = []
    for path in _package_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                found.append((f"{path.relative_to(ROOT)}:{node.lineno}", node.name,
                              {_base_name(b) for b in node.bases}))
    return found


def test_every_exception_class_is_a_cadence_error():
    classes = _classes()
    # Grow the two sets from their roots until nothing changes: a class is an exception
    # when a base is one, and in the hierarchy when a base is.
    exceptions, hierarchy = set(BUILTIN_EXCEPTIONS), {"CadenceError"}
    while True:
        before = len(exceptions), len(hierarchy)
        for _, name, bases in classes:
            if bases & exceptions:
                exceptions.add(name)
            if bases & hierarchy and name not in BUILTIN_EXCEPTIONS:
                hierarchy.add(name)
        if (len(exceptions), len(hierarchy)) == before:
            break
    defined = [(where, name, bases) for where, name, bases in classes if bases & exceptions]
    assert len(defined) > 20
    strays = [f"{where} {name}" for where, name, bases in defined
              if name != "CadenceError" and not bases & hierarchy]
    assert strays == [], "exception classes outside the CadenceError hierarchy"
