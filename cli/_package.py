"""Load the repository root as the package ``cadence`` outside Blender.

Blender imports the extension as a package (``bl_ext.<repo>.cadence``) and every module
uses relative imports, so the CLI and the tests must import it as a package too,
whatever the checkout's folder is called.
"""
import importlib.util
import sys
from pathlib import Path


def load_package(root: Path, name: str = "cadence"):
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(
        name, root / "__init__.py", submodule_search_locations=[str(root)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
