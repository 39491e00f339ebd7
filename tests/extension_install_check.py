"""Install a built Cadence zip into a fresh user extension repository with Blender's own
operators, enable it, generate and bake, then disable and uninstall it.

Run by tests/test_extension_install.py in its own process
(``python THIS ZIP WORKDIR MODULE,MODULE,...``, the modules of the bundled wheels)
with BLENDER_USER_RESOURCES pointing into WORKDIR, so Blender's user settings, the
repository and the wheels' site-packages are all temporary, and nothing of the checkout
(which the other tests load as the package ``cadence``) is on the path. Prints one JSON
line of facts for the test to check; any failure raises (non-zero exit).

This venv has far more installed than Blender's own Python (torch, onnxruntime, soundfile,
tokenizers, packaging, protobuf, ...): ``python_like_blenders`` makes every package in its
site-packages invisible except the ones Blender ships (the bpy module's own requirements),
so Cadence's libraries and whatever they import can only come from the installed wheels.
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import json
import os
import site
import sys
from pathlib import Path

REPO_MODULE = "cadence_install_test"
MODULE = f"bl_ext.{REPO_MODULE}.cadence"


# What Blender's Python ships that the bpy module declares (bpy 5.0.1: cython, numpy,
# requests, zstandard, with requests' own dependencies), and bpy itself.
BLENDER_SHIPS = frozenset({"bpy", "numpy", "requests", "certifi", "charset_normalizer", "idna",
                           "urllib3", "zstandard", "Cython", "cython", "pyximport"})


class _OnlyWhatBlenderShips(importlib.abc.MetaPathFinder):
    """Placed just before the path finder: a top-level module that exists only in this
    Python's site-packages, and is not one Blender ships, cannot be imported."""

    def __init__(self, hidden_dirs: set[str]):
        self.hidden_dirs, self.refused = hidden_dirs, set()

    def find_spec(self, fullname, path=None, target=None):
        if path is not None or fullname in BLENDER_SHIPS:
            return None  # sub-modules follow their package; Blender's own modules as usual
        search = [p for p in sys.path if os.path.realpath(p) not in self.hidden_dirs]
        spec = importlib.machinery.PathFinder.find_spec(fullname, search)
        if spec is None and importlib.machinery.PathFinder.find_spec(fullname) is not None:
            self.refused.add(fullname)
            raise ModuleNotFoundError(f"No module named {fullname!r} in Blender's Python", name=fullname)
        return spec


def python_like_blenders() -> _OnlyWhatBlenderShips:
    hidden = {os.path.realpath(p) for p in (*site.getsitepackages(), site.getusersitepackages())}
    finder = _OnlyWhatBlenderShips(hidden)
    index = sys.meta_path.index(importlib.machinery.PathFinder)
    sys.meta_path.insert(index, finder)
    return finder


def call(op, **kwargs) -> None:
    """Run an operator; Blender reports errors as RuntimeError, a cancel is a failure too."""
    result = op(**kwargs)
    if result != {'FINISHED'}:
        raise RuntimeError(f"{op.idname_py()} returned {result}")


def main(zip_path: Path, workdir: Path, bundled: list[str]) -> dict:
    finder = python_like_blenders()
    facts: dict = {}
    import bpy
    prefs = bpy.context.preferences
    repo_dir = workdir / "repo"
    repo = prefs.extensions.repos.new(name="Cadence install test", module=REPO_MODULE,
                                      custom_directory=str(repo_dir), source='USER')
    repo_index = list(prefs.extensions.repos).index(repo)
    facts["repo_directory"] = repo.directory

    call(bpy.ops.extensions.package_install_files, filepath=str(zip_path), repo=REPO_MODULE,
         enable_on_install=True)
    facts["enabled"] = MODULE in prefs.addons
    facts["installed_files"] = sorted(p.name for p in (repo_dir / "cadence").iterdir())
    module = sys.modules[MODULE]
    facts["module_file"] = module.__file__

    # Every bundled library imports, from the installed wheels.
    import importlib
    facts["libraries"] = {name: importlib.import_module(name).__file__ for name in bundled}

    # A generation and a bake through the installed add-on's operators.
    scene = bpy.context.scene
    scene.render.fps, scene.frame_start, scene.frame_end = 30, 1, 120
    call(bpy.ops.cadence.add_rig)  # Cadence's own rig, made the target
    settings = scene.cadence
    rig, settings.steps = settings.target, 2
    track = settings.tracks.add()
    segment = track.segments.add()
    segment.text, segment.frame_start, segment.frame_end = "a person walks forward", 1, 61
    call(bpy.ops.cadence.generate)
    facts["generated_frames"] = settings.result.frames
    facts["device"] = settings.result.device
    settings.bake_name = "Installed walk"
    call(bpy.ops.cadence.bake)
    action = rig.animation_data.action
    facts["baked_action"] = action.name
    facts["baked_fake_user"] = action.use_fake_user

    wheel_site = Path(sys.modules["onnxruntime"].__file__).parents[1]
    facts["wheel_site_packages"] = str(wheel_site)

    # Disable (the checkbox): everything Cadence registered is gone, Blender keeps the module.
    call(bpy.ops.preferences.addon_disable, module=MODULE)
    facts["disabled"] = MODULE not in prefs.addons
    facts["registered_after_disable"] = registered_names(bpy)
    # Enable again, then Uninstall (which disables and unloads): modules, files, wheels gone.
    call(bpy.ops.preferences.addon_enable, module=MODULE)
    facts["registered_after_enable"] = registered_names(bpy)
    call(bpy.ops.extensions.package_uninstall, repo_index=repo_index, pkg_id="cadence")
    facts["enabled_after_uninstall"] = MODULE in prefs.addons
    facts["package_dir_left"] = (repo_dir / "cadence").exists()
    facts["modules_left"] = sorted(m for m in sys.modules if m.startswith(MODULE))
    facts["wheel_files_left"] = sorted(p.name for p in wheel_site.iterdir()) if wheel_site.exists() else []
    facts["refused_imports"] = sorted(finder.refused)
    return facts


def registered_names(bpy) -> list[str]:
    """Cadence's operators, panels and scene settings currently registered."""
    names = [f"bpy.ops.cadence.{op}" for op in dir(bpy.ops.cadence)]
    names += [name for name in dir(bpy.types) if name.startswith("CADENCE_")]
    names += ["Scene.cadence"] * hasattr(bpy.types.Scene, "cadence")
    return names


if __name__ == "__main__":
    print("CADENCE_FACTS " + json.dumps(main(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3].split(","))))
