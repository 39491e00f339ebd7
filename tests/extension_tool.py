"""Load tools/build_extension (a script without a .py suffix) and Blender's own extension
tool (blender_ext.py, from the bpy module) for the extension build and install tests."""
from __future__ import annotations

import functools
import importlib.machinery
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@functools.cache
def build_tool():
    loader = importlib.machinery.SourceFileLoader("cadence_build_extension",
                                                  str(ROOT / "tools" / "build_extension"))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


@functools.cache
def blender_ext():
    """Blender's extension tool: the manifest schema, builder and validator Blender uses."""
    tool = build_tool()
    return tool.load_blender_ext(tool.find_blender_ext())


def manifest_errors(manifest: dict) -> list[str]:
    """Everything Blender's strict validation (the one ``extension build``/``validate``
    runs) finds wrong with a manifest, tags included."""
    ext = blender_ext()
    errors = list(ext.pkg_manifest_is_valid_or_error_all(manifest, from_repo=False, strict=True) or ())
    tags = ext.pkg_manifest_tags_load_valid_map(str(build_tool().blender_tags_file(build_tool().find_blender_ext())))
    if isinstance(tags, str):
        return errors + [f"Blender's tag list: {tags}"]
    if (error := ext.pkg_manifest_tags_valid_or_error(tags, manifest["type"], manifest.get("tags", []))):
        errors.append(error)
    return errors


def wheels_for(manifest: dict, platform: str, python: tuple[int, int]) -> list[str]:
    """The manifest's wheels Blender would install on ``platform`` with ``python``."""
    ext = blender_ext()
    found = []
    for wheel in ext.paths_filter_wheels_by_platform(manifest.get("wheels", []), platform):
        versions = ext.python_versions_from_wheel(Path(wheel).name)
        if python in versions or (python[0],) in versions:
            found.append(wheel)
    return found


def distribution(wheel: str) -> str:
    return build_tool().wheel_name_and_version(Path(wheel).name)[0]
