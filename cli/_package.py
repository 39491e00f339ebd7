"""Load the repository root as the package ``cadence`` outside Blender.

Blender imports the extension as a package (``bl_ext.<repo>.cadence``) and every module
uses relative imports, so the CLI, the tests and the scripts in bench/, tools/ and
training/ must import it as a package too, whatever the checkout's folder is called.
This is the one place that knows how: the launcher ``./cadence`` and tests/conftest.py
call it directly, the scripts through the ``_bootstrap`` module next to them.
"""
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def load_package(root: Path = ROOT, name: str = "cadence") -> ModuleType:
    """Import ``root`` as the package ``name`` (once per process) and return it."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(
        name, root / "__init__.py", submodule_search_locations=[str(root)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
