"""Install a built Cadence zip into a fresh user extension repository with Blender's own
operators, enable it, generate and bake, then disable and uninstall it.

Run by tests/test_extension_install.py in its own process (``python THIS ZIP WORKDIR``)
with BLENDER_USER_RESOURCES pointing into WORKDIR, so Blender's user settings, the
repository and the wheels' site-packages are all temporary, and nothing of the checkout
(which the other tests load as the package ``cadence``) is on the path. Prints one JSON
line of facts for the test to check; any failure raises (non-zero exit).

Blender's own Python has none of the bundled packages, but this one (the test venv) has:
``hide_this_pythons_copies`` makes them invisible first, so that onnxruntime, soundfile,
tokenizers and what they import can only come from the wheels Blender installs.
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import json
import os
import site
import sys
import zipfile
from pathlib import Path

REPO_MODULE = "cadence_install_test"
MODULE = f"bl_ext.{REPO_MODULE}.cadence"
BUNDLED = ("onnxruntime", "soundfile", "tokenizers")


class _HiddenFromThisPython(importlib.abc.MetaPathFinder):
    """Finds the hidden top-level modules only outside this Python's site-packages."""

    def __init__(self, names: set[str], hidden_dirs: set[str]):
        self.names, self.hidden_dirs = names, hidden_dirs

    def find_spec(self, fullname, path=None, target=None):
        if path is not None or fullname not in self.names:
            return None  # sub-modules follow their package
        search = [p for p in sys.path if os.path.realpath(p) not in self.hidden_dirs]
        spec = importlib.machinery.PathFinder.find_spec(fullname, search)
        if spec is None:
            raise ModuleNotFoundError(f"No module named {fullname!r} outside the bundled wheels",
                                      name=fullname)
        return spec


def wheel_top_level_modules(zip_path: Path) -> set[str]:
    """The importable top-level names the zip's wheels provide."""
    names = set()
    with zipfile.ZipFile(zip_path) as package:
        for wheel_name in (n for n in package.namelist() if n.endswith(".whl")):
            with package.open(wheel_name) as fh, zipfile.ZipFile(fh) as wheel:
                for entry in wheel.namelist():
                    top = entry.split("/", 1)[0]
                    if not top.endswith((".dist-info", ".data")):
                        names.add(top.split(".", 1)[0])
    return names


def hide_this_pythons_copies(zip_path: Path) -> set[str]:
    names = wheel_top_level_modules(zip_path)
    hidden = {os.path.realpath(p) for p in (*site.getsitepackages(), site.getusersitepackages())}
    sys.meta_path.insert(0, _HiddenFromThisPython(names, hidden))
    return names


def call(op, **kwargs) -> None:
    """Run an operator; Blender reports errors as RuntimeError, a cancel is a failure too."""
    result = op(**kwargs)
    if result != {'FINISHED'}:
        raise RuntimeError(f"{op.idname_py()} returned {result}")


def main(zip_path: Path, workdir: Path) -> dict:
    facts: dict = {"hidden_modules": sorted(hide_this_pythons_copies(zip_path))}
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

    # The speech/model libraries must come from the bundled wheels, not from this Python.
    import importlib
    facts["libraries"] = {name: importlib.import_module(name).__file__ for name in BUNDLED}

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
    return facts


def registered_names(bpy) -> list[str]:
    """Cadence's operators, panels and scene settings currently registered."""
    names = [f"bpy.ops.cadence.{op}" for op in dir(bpy.ops.cadence)]
    names += [name for name in dir(bpy.types) if name.startswith("CADENCE_")]
    names += ["Scene.cadence"] * hasattr(bpy.types.Scene, "cadence")
    return names


if __name__ == "__main__":
    print("CADENCE_FACTS " + json.dumps(main(Path(sys.argv[1]), Path(sys.argv[2]))))
