"""Test setup: import the repository as the package ``cadence`` (cli/_package.py), and
offer the ``blender`` fixture of tests/bpy_support.py to every test module."""
import importlib
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "cli"))
importlib.import_module("_package").load_package(ROOT)

# A plugin, so test modules take the ``blender`` fixture as an argument without importing
# it (an import would only shadow the argument name). Loaded after the package: it
# imports cadence.
pytest_plugins = ["bpy_support"]

FIXTURES = ROOT / "tests" / "fixtures"


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES
