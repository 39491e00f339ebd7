"""Import this first in a script run from this folder (``python tools/script.py``): it
loads the checkout as the package ``cadence``, so that the script's ``from cadence...``
imports work. The loading itself lives once, in cli/_package.py; ROOT is the checkout.
"""
import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
_package = importlib.import_module("_package")
ROOT: Path = _package.ROOT
_package.load_package()
