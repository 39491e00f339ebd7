"""Headless renders of stand-ins: a lit scene with a floor, a camera that follows a
character, text labels, frames rendered to arrays and tiled into contact sheets.

The demo's picture and the user guide's pictures (``tools/make_pictures``) both
come from here. Workbench renders without a display (Blender creates an offscreen
EGL context; about 0.25 s for a small face close-up, 1.5-1.9 s for a body frame with
shadows on a busy 2-core machine; EEVEE took 71 s for its first frame); where it
cannot, the renders fall back to Cycles on the CPU with few samples. Set
``CADENCE_RENDER_ENGINE`` (BLENDER_WORKBENCH, CYCLES, BLENDER_EEVEE) to force one.
"""
from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import bpy
import numpy as np
from mathutils import Vector

from ..pictures.body import checker_floor
from ..pictures.sheet import tile
from .stand_ins import material, mesh_object

ENGINE_ENV = "CADENCE_RENDER_ENGINE"
BACKGROUND = (0.93, 0.94, 0.96)
LABEL_COLOUR = (0.05, 0.05, 0.08, 1.0)
SENSOR = 24.0  # mm, fitted vertically: what the camera shows is SENSOR / lens * distance high
LENS = 50.0


def setup_render(scene: bpy.types.Scene, width: int, height: int, engine: str | None = None) -> str:
    """Resolution, engine and look of ``scene``'s renders; returns the engine used."""
    engine = engine or os.environ.get(ENGINE_ENV) or 'BLENDER_WORKBENCH'
    scene.render.engine = engine
    scene.render.resolution_x, scene.render.resolution_y = width, height
    scene.render.resolution_percentage = 100
    scene.render.film_transparent = False
    scene.render.image_settings.file_format = 'PNG'
    scene.render.image_settings.color_mode = 'RGB'
    scene.render.image_settings.compression = 90
    scene.view_settings.view_transform = 'Standard'
    world = scene.world or bpy.data.worlds.new("CadenceWorld")
    scene.world = world
    world.color = BACKGROUND
    shading = scene.display.shading
    shading.light = 'STUDIO'
    shading.color_type = 'MATERIAL'
    shading.show_shadows = True
    shading.shadow_intensity = 0.35
    shading.show_cavity = False
    scene.display.light_direction = (0.4, -0.4, 0.8)
    if engine == 'CYCLES':
        use_cycles(scene)
    return engine


def use_cycles(scene: bpy.types.Scene) -> None:
    """Cycles on the CPU with few samples and a sun: the engine that needs no GPU context
    (the fallback where Workbench cannot render)."""
    scene.render.engine = 'CYCLES'
    scene.cycles.device = 'CPU'
    scene.cycles.samples = 8
    scene.cycles.use_denoising = False
    if not any(o.type == 'LIGHT' for o in scene.objects):
        sun = bpy.data.objects.new("CadenceSun", bpy.data.lights.new("CadenceSun", 'SUN'))
        sun.data.energy = 3.0
        sun.rotation_euler = (math.radians(40), 0.0, math.radians(30))
        scene.collection.objects.link(sun)


def add_floor(scene: bpy.types.Scene, half_size: float = 20.0, tile_size: float = 0.5) -> bpy.types.Object:
    """A grey checker floor on z = 0 (it shows travel and foot contacts)."""
    verts, faces, colours = checker_floor(half_size, max(1, int(round(2 * half_size / tile_size))))
    floor = mesh_object("CadenceFloor", verts, faces, scene.collection)
    floor.data.shade_flat()
    floor.data.materials.append(material("cadence_floor_light", (0.80, 0.80, 0.80, 1.0)))
    floor.data.materials.append(material("cadence_floor_dark", (0.66, 0.66, 0.68, 1.0)))
    floor.data.polygons.foreach_set("material_index", np.asarray(colours, dtype=np.int32))
    return floor


def add_camera(scene: bpy.types.Scene, name: str = "CadenceCamera") -> bpy.types.Object:
    cam = bpy.data.objects.new(name, bpy.data.cameras.new(name))
    cam.data.sensor_fit = 'VERTICAL'
    cam.data.sensor_height = SENSOR
    cam.data.lens = LENS
    cam.data.clip_start = 0.01
    scene.collection.objects.link(cam)
    scene.camera = cam
    return cam


def aim(camera: bpy.types.Object, target, view_height: float,
        direction=(0.55, -1.0, 0.18)) -> None:
    """Put ``camera`` so that ``target`` is in the middle of the picture and
    ``view_height`` metres around it are visible, looking from ``direction`` (from the
    target towards the camera; the default is front-left, slightly above)."""
    d = Vector(direction).normalized()
    distance = view_height / (SENSOR / camera.data.lens)
    camera.location = Vector(target) + d * distance
    camera.rotation_mode = 'QUATERNION'
    camera.rotation_quaternion = (-d).to_track_quat('-Z', 'Y')


def add_label(scene: bpy.types.Scene, camera: bpy.types.Object, text: str,
              size: float = 0.07) -> bpy.types.Object:
    """Text in the top-left corner of ``camera``'s picture (parented to the camera);
    ``size`` is the letters' height as a fraction of the picture's height."""
    curve = bpy.data.curves.new(f"label_{text[:20]}", 'FONT')
    curve.body = text
    distance = 1.0
    view_h = SENSOR / camera.data.lens * distance
    aspect = scene.render.resolution_x / scene.render.resolution_y
    curve.size = size * view_h
    label = bpy.data.objects.new(curve.name, curve)
    label.data.materials.append(material("cadence_label", LABEL_COLOUR))
    scene.collection.objects.link(label)
    label.parent = camera
    margin = 0.04 * view_h
    label.location = (-aspect * view_h / 2 + margin, view_h / 2 - margin - curve.size * 0.8, -distance)
    return label


def render_image(scene: bpy.types.Scene) -> np.ndarray:
    """Render the scene's current frame; (height, width, 4) floats, top row first.

    When Workbench or EEVEE cannot render (no GPU context on this machine), the scene
    switches to Cycles on the CPU (:func:`use_cycles`) and the frame is rendered again.
    """
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "frame.png"
        scene.render.filepath = str(path)
        try:
            bpy.ops.render.render(write_still=True)
            if not path.is_file():
                raise RuntimeError("the render wrote no picture")
        except RuntimeError:
            if scene.render.engine == 'CYCLES':
                raise
            use_cycles(scene)
            bpy.ops.render.render(write_still=True)
        image = bpy.data.images.load(str(path))
        try:
            w, h = image.size
            pixels = np.empty(w * h * 4, dtype=np.float32)
            image.pixels.foreach_get(pixels)
        finally:
            bpy.data.images.remove(image)
    return pixels.reshape(h, w, 4)[::-1].copy()


def render_frames(scene: bpy.types.Scene, frames: Iterable[int],
                  before: Callable[[int], None] | None = None) -> list[np.ndarray]:
    """Render each of ``frames``; ``before(frame)`` runs after the frame is set (to aim
    the camera, change a label...)."""
    out = []
    for f in frames:
        scene.frame_set(f)
        if before is not None:
            before(f)
        out.append(render_image(scene))
    return out


def follow(camera: bpy.types.Object, armature: bpy.types.Object, bone: str, view_height: float,
           centre_height: float, direction=(0.55, -1.0, 0.18)) -> Callable[[int], None]:
    """A ``before`` callback for :func:`render_frames`: keep ``bone`` (e.g. the hips)
    in the middle of the picture horizontally, at a fixed height."""
    def aim_at_bone(_frame: int) -> None:
        head = armature.matrix_world @ armature.pose.bones[bone].head
        aim(camera, (head.x, head.y, centre_height), view_height, direction)
    return aim_at_bone


def contact_sheet(rows: list[list[np.ndarray]], gap: int = 4) -> np.ndarray:
    """Rows of frames (each row the same length) as one picture."""
    columns = len(rows[0])
    return tile([f for row in rows for f in row], columns, gap, (1.0, 1.0, 1.0, 1.0))
