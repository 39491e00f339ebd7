"""Scene-level helpers: empty files for command-line runs, fps, frame range, saving."""
from __future__ import annotations

from pathlib import Path

import bpy


def reset_to_empty_file() -> bpy.types.Scene:
    """Start from factory settings with no objects, so a CLI run does not depend on the
    user's startup file; returns the (only) scene."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    return bpy.context.scene


def set_scene_fps(scene: bpy.types.Scene, fps: float) -> None:
    """Blender stores fps as an integer and a divisor: 29.97 becomes 30 / 1.001."""
    rounded = max(1, int(round(fps)))
    scene.render.fps = rounded
    scene.render.fps_base = rounded / fps


def scene_fps(scene: bpy.types.Scene) -> float:
    return scene.render.fps / scene.render.fps_base


def set_frame_range(scene: bpy.types.Scene, start: int, end: int) -> None:
    # Blender pushes frame_end up to a later frame_start, so start then end is safe.
    scene.frame_start = start
    scene.frame_end = end


def save_blend(path: str | Path) -> Path:
    """Save the current file to ``path`` (absolute; parent folders created) and make it
    the current file, as "Save As" does."""
    path = Path(path).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    bpy.ops.wm.save_as_mainfile(filepath=str(path), copy=False)
    return path
