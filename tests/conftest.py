"""Test setup: import the repository as the package ``cadence`` (cli/_package.py), and
offer the ``blender`` fixture of tests/bpy_support.py to every test module."""
import importlib
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "cli"))
importlib.import_module("_package").load_package(ROOT)

# Plugins, so test modules take the ``blender`` and ``weights`` fixtures as arguments
# without importing them (an import would only shadow the argument name). Loaded after
# the package: they import cadence.
pytest_plugins = ["bpy_support", "panel_support"]

FIXTURES = ROOT / "tests" / "fixtures"


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES
