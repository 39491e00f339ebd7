"""Bone-map presets: JSON files shipped in the add-on's ``presets/`` folder and saved by
the user in the extension's user directory.

The user directory is ``bpy.utils.extension_path_user(<package>, path="presets")`` when
Cadence runs as an installed extension; outside one (command line, tests) it falls back
to Blender's user config folder (``.../config/cadence/presets``), and the environment
variable ``CADENCE_PRESET_DIR`` overrides both. A user preset with a shipped preset's
name takes precedence.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import bpy

from ..motion.bone_map import BoneMap

SHIPPED_DIR = Path(__file__).resolve().parents[1] / "presets"
ENV_DIR = "CADENCE_PRESET_DIR"
_ADDON_PACKAGE = __package__.rpartition(".")[0]  # "bl_ext.<repo>.cadence" or "cadence"


def user_preset_dir(create: bool = True) -> Path:
    """Where user presets are saved (created when ``create``)."""
    override = os.environ.get(ENV_DIR)
    if override:
        path = Path(override)
    else:
        try:
            path = Path(bpy.utils.extension_path_user(_ADDON_PACKAGE, path="presets", create=create))
        except ValueError:  # not running as an installed extension
            path = Path(bpy.utils.user_resource('CONFIG', path="cadence/presets", create=create))
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def available_presets() -> dict[str, Path]:
    """Preset name -> file, shipped first, then the user's (which win on equal names)."""
    out = {p.stem: p for p in sorted(SHIPPED_DIR.glob("*.json"))}
    user = user_preset_dir(create=False)
    if user.is_dir():
        out.update({p.stem: p for p in sorted(user.glob("*.json"))})
    return out


def load_preset(name_or_path: str | Path) -> BoneMap:
    """A preset by name, or any bone-map JSON file by path. Raises ValueError."""
    path = Path(str(name_or_path)).expanduser()
    if path.suffix.lower() == ".json" or path.is_file():
        if not path.is_file():
            raise ValueError(f"bone map file not found: {path}")
        return BoneMap.load(path)
    presets = available_presets()
    if str(name_or_path) not in presets:
        raise ValueError(f"no bone map preset named {str(name_or_path)!r} (presets: "
                         + ", ".join(sorted(presets)) + ")")
    return BoneMap.load(presets[str(name_or_path)])


def preset_file_name(name: str) -> str:
    """A safe file name for a preset name (letters, digits, - and _ kept)."""
    cleaned = re.sub(r"[^\w\-]+", "_", name.strip(), flags=re.UNICODE).strip("_")
    if not cleaned:
        raise ValueError("the preset needs a name")
    return cleaned + ".json"


def save_preset(name: str, bone_map: BoneMap) -> Path:
    """Save ``bone_map`` as a user preset; returns the file."""
    return bone_map.save(user_preset_dir() / preset_file_name(name))
