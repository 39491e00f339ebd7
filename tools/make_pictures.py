"""Regenerate the user guide's pictures (docs/images/*.png) headless with bpy.

Each picture is made from scratch: motion generated with the shipped weights (fixed
seeds), baked or retargeted in an empty scene, given stand-in bodies and faces
(blender/stand_ins.py), rendered with Workbench (blender/picture_render.py) and tiled
into a contact sheet. Run ``tools/make_pictures [NAME ...]`` (names below; default all).
Prints each picture's size and seconds.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import bpy
import numpy as np
from mathutils import Vector

from _bootstrap import ROOT

from cadence.blender import picture_render as R
from cadence.blender.action import bake_motion
from cadence.blender.armature import build_armature
from cadence.blender.path_curve import ground_frame
from cadence.blender.rig_retarget import retarget_onto
from cadence.blender.scene import reset_to_empty_file, scene_fps, set_frame_range
from cadence.blender.shape_keys import bake_face
from cadence.blender.stand_ins import add_body, add_face, material, mesh_object
from cadence.cli.demo import DEFAULT_AUDIO, DEFAULT_TIMELINE, DemoSettings, run_demo
from cadence.inference.face.generate import generate_face
from cadence.inference.motion.compose import compose
from cadence.inference.motion.model import GenerationRequest, MotionModel
from cadence.inference.motion.path_follow import PathFollow, clip_seconds
from cadence.inference.motion.timeline import Segment, Timeline, Track, load_timeline
from cadence.motion.ground_path import GroundPath
from cadence.pictures.characters import mixamo_character
from cadence.pictures.face_mesh import face_height
from cadence.pictures.sheet import evenly_spaced, write_png

IMAGES = ROOT / "docs" / "images"
TILE = (220, 280)
BLUE, ORANGE, GREEN = (0.35, 0.55, 0.80, 1.0), (0.90, 0.50, 0.30, 1.0), (0.40, 0.70, 0.45, 1.0)


def _generate(prompt: str, seconds: float, styles: dict | None = None, seed: int = 1):
    model = MotionModel.load()
    return model.generate(GenerationRequest(prompt, seconds, styles or {}, seed))[0].motion


def _stage(width: int, height: int):
    scene = reset_to_empty_file()
    R.setup_render(scene, width, height)
    R.add_floor(scene)
    camera = R.add_camera(scene)
    label = R.add_label(scene, camera, "", size=0.052)
    return scene, camera, label


def _canonical(motion, colour=BLUE, x: float = 0.0, name: str = "Cadence"):
    arm = build_armature(name=name)
    arm.location.x = x
    bake_motion(arm, motion, action_name=name, update_scene=True)
    add_body(arm, colour=colour)
    return arm


def _frames_of(scene, count: int, lead: int = 8) -> list[int]:
    return evenly_spaced(scene.frame_start + lead, scene.frame_end - 4, count)


def _seconds(scene, frame: int) -> float:
    return (frame - scene.frame_start) / scene_fps(scene)


def prompt(path: Path) -> None:
    """(a) One prompt on the canonical rig."""
    text = "a person waves with the right hand"
    scene, camera, label = _stage(*TILE)
    arm = _canonical(_generate(text, 4.0, seed=0))
    follow = R.follow(camera, arm, "pelvis", 2.4, 0.95)

    def view(f):
        follow(f)
        label.data.body = f"{_seconds(scene, f):.1f} s" + ("\n" + text.replace(" with", "\nwith")
                                                            if f == frames[0] else "")
    frames = _frames_of(scene, 6)
    write_png(path, R.contact_sheet([R.render_frames(scene, frames, view)]))


def retarget(path: Path) -> None:
    """(b) The same motion on two other rigs: Blender's human meta-rig and a
    Mixamo-named, A-posed, stocky character."""
    import addon_utils

    motion = _generate("a person walks forward happily", 4.0, {"happy": 0.8}, seed=1)
    scene, camera, label = _stage(300, 280)
    addon_utils.enable("rigify", default_set=True)
    bpy.ops.object.armature_human_metarig_add()
    meta = bpy.context.object
    meta.location.x = -0.55
    meta_map = retarget_onto(meta, motion, action_name="walk").bone_map
    add_body(meta, meta_map, colour=ORANGE)
    mixamo = build_armature(mixamo_character(), name="Mixamo_Character")
    mixamo.location.x = 0.55
    mixamo_map = retarget_onto(mixamo, motion, action_name="walk").bone_map
    add_body(mixamo, mixamo_map, colour=GREEN)
    hips = (meta, meta_map.bones["pelvis"]), (mixamo, mixamo_map.bones["pelvis"])

    def view(f):
        mid = sum(((a.matrix_world @ a.pose.bones[b].head) for a, b in hips), Vector()) / 2
        R.aim(camera, (mid.x, mid.y, 1.0), 2.5, direction=(0.2, -1.0, 0.15))
        label.data.body = f"{_seconds(scene, f):.1f} s" + (
            "\nBlender metarig | Mixamo names" if f == frames[0] else "")
    frames = _frames_of(scene, 5)
    write_png(path, R.contact_sheet([R.render_frames(scene, frames, view)]))


def timeline(path: Path) -> None:
    """(c) A timeline with overlapping tracks: the demo's (walk + wave, then raise)."""
    tl = load_timeline(DEFAULT_TIMELINE)
    motion = compose(MotionModel.load(), tl, seed=1).motion
    scene, camera, label = _stage(*TILE)
    arm = _canonical(motion)
    follow = R.follow(camera, arm, "pelvis", 2.4, 0.95)

    def view(f):
        follow(f)
        t = _seconds(scene, f)
        label.data.body = f"{t:.1f} s\n" + "\n".join(s.text for s in tl.segments() if s.start <= t < s.end)
    frames = _frames_of(scene, 6, lead=12)
    write_png(path, R.contact_sheet([R.render_frames(scene, frames, view)]))


def emotions(path: Path) -> None:
    """(d) One prompt, three slider settings: a row each."""
    text = "a person walks forward"
    settings = (("no sliders", {}), ("happy=1", {"happy": 1.0}), ("tired=1", {"tired": 1.0}))
    rows = []
    for name, styles in settings:
        scene, camera, label = _stage(*TILE)
        arm = _canonical(_generate(text, 4.0, styles, seed=3), colour=BLUE)
        follow = R.follow(camera, arm, "pelvis", 2.4, 0.95)
        frames = _frames_of(scene, 5)

        def view(f, name=name, follow=follow, label=label, scene=scene, first=frames[0]):
            follow(f)
            label.data.body = f"{name}\n{_seconds(scene, f):.1f} s" if f == first else f"{_seconds(scene, f):.1f} s"
        rows.append(R.render_frames(scene, frames, view))
    write_png(path, R.contact_sheet(rows))


def face(path: Path) -> None:
    """(e) A talking face: the example speech clip, neutral and with happy=1."""
    rows = []
    for name in ("neutral", "happy=1"):
        anim = generate_face(DEFAULT_AUDIO, "" if name == "neutral" else name, seed=0)
        scene, camera, label = _stage(180, 200)
        head = add_face()
        head.location.z = 1.6
        bake_face(head, anim, start_frame=1, update_scene=True)
        set_frame_range(scene, 1, anim.num_frames)
        R.aim(camera, (0.0, 0.0, 1.6), 1.5 * face_height(), direction=(0.3, -1.0, 0.08))
        frames = evenly_spaced(15, 75, 7)

        def view(f, name=name, label=label, scene=scene, frames=frames):
            label.data.body = f"{name}  {_seconds(scene, f):.2f} s" if f == frames[0] else f"{_seconds(scene, f):.2f} s"
        rows.append(R.render_frames(scene, frames, view))
    write_png(path, R.contact_sheet(rows))


def path_blender(path: Path) -> None:
    """(f) Walking a drawn path in Blender: an S curve as a prompt's Path (the panel's
    Generate and Bake), on a Mixamo-named character standing elsewhere, turned and
    scaled by its object transform; seen from above at five moments."""
    import cadence
    cadence.register()  # the panel's settings and operators
    scene, camera, label = _stage(300, 280)
    scene.render.fps = 30
    set_frame_range(scene, 1, 240)
    hero = build_armature(mixamo_character(), name="Mixamo_Character")
    hero.location, hero.rotation_euler, hero.scale = (2.5, 0.5, 0.0), (0.0, 0.0, 2.0), (1.1, 1.1, 1.1)
    data = bpy.data.curves.new("Path", 'CURVE')
    data.dimensions, data.bevel_depth = '3D', 0.03
    spline = data.splines.new('BEZIER')
    spline.bezier_points.add(3)
    for p, co in zip(spline.bezier_points, [(0, 2, 0.02), (0, -1, 0.02), (3, -2.5, 0.02), (3, -6, 0.02)]):
        p.co, p.handle_left_type, p.handle_right_type = co, 'AUTO', 'AUTO'
    curve = bpy.data.objects.new("Path", data)
    scene.collection.objects.link(curve)
    data.materials.append(material("cadence_path", ORANGE))
    s = scene.cadence
    s.target, s.seed, s.play_preview = hero, 2, False
    seg = s.tracks.add().segments.add()
    seg.text, seg.frame_start, seg.frame_end, seg.path = "a person walks", 1, 241, curve
    result = bpy.ops.cadence.generate()
    if result != {'FINISHED'}:
        raise RuntimeError(f"Generate did not finish: {result}")
    bpy.ops.cadence.bake()
    add_body(hero, colour=BLUE)
    R.aim(camera, (1.5, -2.2, 0.4), 8.5, direction=(0.3, -0.75, 1.0))

    def view(f):
        label.data.body = f"{_seconds(scene, f):.1f} s" + ("\nPath: a Bezier curve" if f == frames[0] else "")
    frames = [1, 60, 120, 180, 240]
    write_png(path, R.contact_sheet([R.render_frames(scene, frames, view)]))


# In canonical metres: an S (one full sine), and the bench's "L left 8 m" (bench/path_control.py).
_S = np.linspace(0, 2 * np.pi, 60)
WALKED_PATHS = {"S-curve 11 m": np.stack([1.5 * np.sin(_S), -_S * 1.4], axis=1),
                "L left 8 m": np.array([[0, 0], [0, -4.0], [-4.0, -4.0]])}
PATH_COLOUR, TRAIL_COLOUR = (1.0, 0.30, 0.0, 1.0), (0.05, 0.05, 0.10, 1.0)


def _strip(name: str, xy: np.ndarray, width: float, z: float, colour) -> None:
    """A flat ribbon ``width`` wide along the polyline ``xy`` (N, 2), ``z`` above the floor."""
    d = np.gradient(xy, axis=0)
    n = np.stack([-d[:, 1], d[:, 0]], axis=1) / np.linalg.norm(d, axis=1, keepdims=True) * width / 2
    verts = np.concatenate([np.column_stack([xy + n, np.full(len(xy), z)]),
                            np.column_stack([xy - n, np.full(len(xy), z)])])
    k = len(xy)
    strip = mesh_object(name, verts, [(i, i + 1, k + i + 1, k + i) for i in range(k - 1)])
    strip.data.materials.append(material(name, colour))


def _dots(name: str, xy: np.ndarray, radius: float, z: float, colour) -> None:
    """A flat octagonal dot of ``radius`` at each point of ``xy`` (N, 2)."""
    a = np.linspace(0, 2 * np.pi, 8, endpoint=False)
    ring = radius * np.stack([np.cos(a), np.sin(a)], axis=1)
    verts, faces = [], []
    for i, p in enumerate(xy):
        verts += [(*p, z)] + [(*(p + r), z) for r in ring]
        faces += [(9 * i, 9 * i + 1 + j, 9 * i + 1 + (j + 1) % 8) for j in range(8)]
    dots = mesh_object(name, np.array(verts), faces)
    dots.data.materials.append(material(name, colour))


def _strobe(scene, body, frames: list[int]) -> None:
    """Freeze ``body`` (an armature-deformed mesh) at each of ``frames`` as a static copy,
    pale to full colour with time, and hide the live one."""
    for i, f in enumerate(frames):
        scene.frame_set(f)
        mesh = bpy.data.meshes.new_from_object(body.evaluated_get(bpy.context.evaluated_depsgraph_get()))
        ghost = bpy.data.objects.new(f"{body.name}_{f}", mesh)
        ghost.matrix_world = body.matrix_world.copy()
        w = (i + 1) / len(frames)
        mesh.materials.clear()
        mesh.materials.append(material(f"ghost_{i}", tuple(0.8 * (1 - w) + c * w for c in (0.15, 0.35, 0.85)) + (1.0,)))
        scene.collection.objects.link(ghost)
    body.hide_render = True


def _walk_panel(name: str, drawn: np.ndarray, width: int, height: int, seed: int = 0):
    """Render "a person walks" along ``drawn`` (canonical metres) on the Mixamo-named
    character, seen from high up: the path, the hips' trail, 7 poses. Returns the frame
    and the hips' distance to the path (the bench's figures and on the rig, cm)."""
    text, path = "a person walks", GroundPath(drawn)
    model = MotionModel.load()
    follow = PathFollow(path, model.normalizer, model.fps)  # as bench/path_control.py and the CLI
    tl = Timeline([Track([Segment(text, 0.0, float(clip_seconds(path, "walk")))])])
    r = compose(model, tl, seed=seed, path=follow)
    keep = follow.trimmed(r)
    r.motion = r.motion.slice(0, keep)
    bench = path.distance_to(r.motion.root_positions[:, :2])
    scene, camera, label = _stage(width, height)
    hero = build_armature(mixamo_character(), name="Mixamo_Character")
    result = retarget_onto(hero, r.motion, action_name="walk")
    frame = ground_frame(hero)  # where canonical metres land on this character (its leg ratio)
    world = frame.to_world(np.column_stack([path.points, np.zeros(len(path.points))]))[:, :2]
    pelvis = hero.pose.bones[result.bone_map.bones["pelvis"]]
    trail = []
    for f in range(scene.frame_start, scene.frame_end + 1):
        scene.frame_set(f)
        trail.append((hero.matrix_world @ pelvis.head).xy)
    trail = np.array(trail)
    on_rig = GroundPath(world).distance_to(trail)
    _strip("cadence_path", world, 0.10, 0.004, PATH_COLOUR)
    _dots("cadence_trail", trail[::3], 0.025, 0.008, TRAIL_COLOUR)
    scene.view_settings.exposure = 0.5  # seen from above, the studio light leaves the floor dim
    _strobe(scene, add_body(hero, result.bone_map, colour=BLUE), evenly_spaced(scene.frame_start, scene.frame_end, 7))
    # Look across the path, start on the left and end on the right, from high up.
    along = (world[-1] - world[0]) / np.linalg.norm(world[-1] - world[0])
    side = np.array([along[1], -along[0]])
    u, v = (world - world.mean(0)) @ along, (world - world.mean(0)) @ side
    centre = world.mean(0) + along * (u.max() + u.min()) / 2 + side * (v.max() + v.min()) / 2
    view_h = 1.2 * max((np.ptp(u) + 1.6) * height / width, 0.85 * np.ptp(v) + 1.8)
    R.aim(camera, (*centre, 0.8), view_h, direction=(*(0.6 * side), 1.0))
    label.data.body = (f"{name}: \"{text}\", seed {seed}\nhips to path {100 * bench.mean():.1f} / "
                       f"{100 * bench.max():.1f} cm (mean / max)\norange: the path; dots: the hips every 0.1 s")
    scene.frame_set(scene.frame_end)
    return R.render_image(scene), (name, bench, on_rig, frame.metres, r.motion.num_frames / r.motion.fps)


def path_follow(path: Path) -> None:
    """(g) The command line's path following (an S-curve and the bench's L-turn, seed 0)
    on the Mixamo-named character, seen from above: the drawn path (orange), where the
    hips went (dark dots, every 0.1 s) and seven poses, pale to full blue with time."""
    rows = []
    for name, drawn in WALKED_PATHS.items():
        image, (name, bench, on_rig, metres, seconds) = _walk_panel(name, drawn, 560, 300)
        rows.append([image])
        print(f"{name}: {seconds:.1f} s; hips to path {100 * bench.mean():.1f} / {100 * bench.max():.1f} cm "
              f"(bench); on the rig (x{metres:.2f}) {100 * on_rig.mean():.1f} / {100 * on_rig.max():.1f} cm")
    write_png(path, R.contact_sheet(rows))


def demo(path: Path) -> None:
    """The demo's own preview (tools/demo makes the same picture as out/demo.png)."""
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        run_demo(DemoSettings(out_dir=Path(tmp)), log=lambda _line: None)
        shutil.copyfile(Path(tmp) / "demo.png", path)


PICTURES = {"prompt": prompt, "retarget": retarget, "timeline": timeline,
            "emotions": emotions, "face": face, "path_blender": path_blender,
            "path_follow": path_follow, "demo": demo}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"pictures to make ({', '.join(PICTURES)}; default all)")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in PICTURES]
    if unknown:
        parser.error(f"unknown picture {unknown[0]!r}; choose from {', '.join(PICTURES)}")
    for name in args.names or list(PICTURES):
        path = IMAGES / f"{name}.png"
        start = time.perf_counter()
        PICTURES[name](path)
        print(f"{path.relative_to(ROOT)}: {path.stat().st_size / 1024:.0f} KB in "
              f"{time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
