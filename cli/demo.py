"""``cadence demo``: everything Cadence does, end to end, in one run.

A prompt timeline with emotion/style sliders is generated (one model load, one
composed sampling), retargeted onto a character that is not the canonical skeleton (a
Mixamo-named, A-posed, stocky build from ``pictures/characters.py``), given a stand-in
body and a talking cartoon face (speech clip -> ARKit-52 -> shape keys), saved as a
.blend and rendered to a preview picture. Each stage's seconds are printed. The same
functions as the CLI and the operators do the work, in this one process.
"""
from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
DEFAULT_TIMELINE = EXAMPLES / "demo_timeline.txt"
DEFAULT_AUDIO = EXAMPLES / "speech_facegood_1114_2_05.flac"
CHARACTER = "Mixamo_Character"


@dataclass
class DemoSettings:
    out_dir: Path = Path("out")
    timeline: Path = DEFAULT_TIMELINE
    audio: Path | None = DEFAULT_AUDIO   # None: no face
    styles: str = ""                     # sliders for segments that have none
    emotion: str = "happy=0.6"           # the face's emotion sliders
    seed: int = 1
    steps: int | None = None
    preview: bool = True
    preview_size: tuple[int, int] = (240, 300)
    preview_frames: int = 4
    weights: Path | None = None


@dataclass
class DemoReport:
    files: list[Path] = field(default_factory=list)
    stages: list[tuple[str, float]] = field(default_factory=list)
    frames: int = 0
    bones_mapped: int = 0
    face_keys: int = 0
    engine: str | None = None


@contextmanager
def _stage(report: DemoReport, name: str, log: Callable[[str], None]):
    start = time.perf_counter()
    yield
    seconds = time.perf_counter() - start
    report.stages.append((name, seconds))
    log(f"  {name:<34} {seconds:6.2f} s")


def run_demo(settings: DemoSettings, log: Callable[[str], None] = print) -> DemoReport:
    """Run the demo; raises CliError with a one-line message on bad input."""
    from ..face.expression import parse_emotions
    from ..inference.face.generate import generate_face
    from ..inference.face.model import FaceSpeechModel
    from ..inference.motion.compose import compose
    from ..inference.motion.model import GenerationError, MotionModel, parse_styles
    from ..inference.motion.timeline import TimelineError, load_timeline
    from ..inference.runtime.weights import WeightsError
    from ..inference.speech.audio import AudioError
    from ..limits import MAX_SEED
    from ..motion.export import write_canonical_bvh
    from ..output_file import check_output
    from .main import CliError

    report = DemoReport()
    out = Path(settings.out_dir).expanduser().resolve()
    try:
        timeline = load_timeline(settings.timeline)
        styles = parse_styles(settings.styles)
        emotions = parse_emotions(settings.emotion)
    except (TimelineError, ValueError, OSError) as exc:
        raise CliError(f"{settings.timeline}: {exc}" if isinstance(exc, TimelineError) else str(exc)) from None
    if settings.audio is not None and not Path(settings.audio).is_file():
        raise CliError(f"speech file not found: {settings.audio}")
    if not 0 <= settings.seed <= MAX_SEED:
        raise CliError(f"--seed must be between 0 and {MAX_SEED}")
    if out.exists() and not out.is_dir():
        raise CliError(f"--out {out} is a file; the demo writes into a folder")
    if out.is_dir():  # the demo's files must not replace its inputs or a non-file
        for name in ("demo.bvh", "demo.blend", "demo.png"):
            check_output(out / name, [settings.timeline, settings.audio], "", f"{out}/{name}")
    segments = timeline.segments()
    log(f"cadence demo: {len(segments)} prompts on {len(timeline.tracks)} tracks, "
        f"{timeline.end:g} s, retargeted onto {CHARACTER}"
        + (f", face from {Path(settings.audio).name}" if settings.audio else ""))
    try:
        with _stage(report, "load models", log):
            model = MotionModel.load(settings.weights)
            face_model = FaceSpeechModel.load(settings.weights) if settings.audio else None
        model.style_vector(styles)  # unknown slider names fail before any work
        with _stage(report, "generate the timeline", log):
            result = compose(model, timeline, seed=settings.seed, steps=settings.steps, styles=styles)
        anim = None
        if settings.audio is not None:
            with _stage(report, "speech -> face (ARKit-52)", log):
                anim = generate_face(settings.audio, emotions, seed=settings.seed, model=face_model)
    except (GenerationError, WeightsError, AudioError, ValueError) as exc:
        raise CliError(str(exc)) from None
    out.mkdir(parents=True, exist_ok=True)
    write_canonical_bvh(out / "demo.bvh", result.motion)
    report.files.append(out / "demo.bvh")

    with _stage(report, "start Blender (import bpy)", log):
        try:
            import bpy  # noqa: F401  (slow; the scene stages need it)
        except ImportError as exc:
            raise CliError(f"the bpy module is required for the demo's scene: {exc}") from exc
    with _stage(report, "retarget, body and face", log):
        armature, face = _build_scene(result.motion, anim, report)
    with _stage(report, "save the .blend", log):
        from ..blender.scene import save_blend
        try:
            report.files.append(save_blend(out / "demo.blend"))
        except (OSError, RuntimeError) as exc:
            raise CliError(f"cannot save {out / 'demo.blend'}: {exc}") from exc
    if settings.preview:
        with _stage(report, "render the preview", log):
            report.engine = _render_preview(armature, face, timeline, settings, out / "demo.png")
            report.files.append(out / "demo.png")
    log(f"made {', '.join(_shown(f) for f in report.files)}")
    log(f"  {CHARACTER}: {report.frames} frames at {result.motion.fps:g} fps, "
        f"{report.bones_mapped} bones mapped"
        + (f"; face: {report.face_keys} ARKit shape keys keyed from speech" if anim is not None else "")
        + (f"; preview rendered with {report.engine}" if report.engine else ""))
    log(f"  total {sum(s for _, s in report.stages):.2f} s")
    return report


def _shown(path: Path) -> str:
    """``path`` relative to the working folder when it is inside it (out/demo.blend)."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _build_scene(motion, anim, report: DemoReport):
    """The character with its Action, body and (with ``anim``) a keyed face."""
    import bpy

    from ..blender.armature import build_armature
    from ..blender.rig_retarget import retarget_onto
    from ..blender.scene import reset_to_empty_file, set_frame_range, set_scene_fps
    from ..blender.shape_keys import bake_face
    from ..blender.stand_ins import add_body, add_face_on_head
    from ..pictures.characters import mixamo_character

    scene = reset_to_empty_file()
    set_scene_fps(scene, motion.fps)
    armature = build_armature(mixamo_character(), name=CHARACTER)
    retarget = retarget_onto(armature, motion, action_name="CadenceDemo")
    report.bones_mapped = len(retarget.bone_map.bones)
    report.frames = retarget.pose.num_frames
    add_body(armature, retarget.bone_map, with_head=anim is None)
    face = None
    if anim is not None:
        face = add_face_on_head(armature, retarget.bone_map)
        baked = bake_face(face, anim, action_name="CadenceDemoFace", start_frame=scene.frame_start)
        report.face_keys = len(baked.key_map.keys)
        report.frames = max(report.frames, baked.frames)
    set_frame_range(scene, scene.frame_start, scene.frame_start + report.frames - 1)
    bpy.context.view_layer.objects.active = armature
    return armature, face


def _render_preview(armature, face, timeline, settings: DemoSettings, path: Path) -> str:
    """A strip of the character over time, and under it the face at the same times."""
    import bpy
    from mathutils import Vector

    from ..blender import picture_render as R
    from ..blender.rig_retarget import current_bone_map
    from ..blender.scene import scene_fps
    from ..pictures.face_mesh import face_height
    from ..pictures.sheet import evenly_spaced, write_png

    scene = bpy.context.scene
    width, height = settings.preview_size
    R.setup_render(scene, width, height)
    R.add_floor(scene)
    camera = R.add_camera(scene)
    label = R.add_label(scene, camera, "", size=0.055)
    fps = scene_fps(scene)
    frames = evenly_spaced(scene.frame_start + 10, scene.frame_end - 5, settings.preview_frames)
    hips = current_bone_map(armature).bones["pelvis"]
    height_m = armature.dimensions.z or 1.7
    follow = R.follow(camera, armature, hips, 1.7 * height_m, 0.5 * height_m)

    def body_view(frame: int) -> None:
        follow(frame)
        t = (frame - scene.frame_start) / fps
        active = [s.text for s in timeline.segments() if s.start <= t < s.end]
        label.data.body = f"{t:.1f} s\n" + "\n".join(active)

    rows = [R.render_frames(scene, frames, body_view)]
    if face is not None:
        def face_view(frame: int) -> None:
            m = face.matrix_world
            front = m.to_3x3().normalized() @ Vector((0.3, -1.0, 0.08))
            R.aim(camera, m.translation, 1.5 * face_height() * m.to_scale().x, tuple(front))
            label.data.body = f"{(frame - scene.frame_start) / fps:.1f} s speech"
        rows.append(R.render_frames(scene, frames, face_view))
    write_png(path, R.contact_sheet(rows))
    return scene.render.engine  # Cycles if Workbench could not render here


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the whole pipeline on the built-in example",
                       description="Generate the example timeline with its sliders, retarget it "
                                   "onto a Mixamo-named character, animate a face from the "
                                   "example speech clip, save OUT/demo.blend and render "
                                   "OUT/demo.png, printing each stage's time.")
    p.add_argument("--out", type=Path, default=Path("out"), help="output folder (default out/)")
    p.add_argument("--timeline", type=Path, default=DEFAULT_TIMELINE,
                   help="prompt timeline (default examples/demo_timeline.txt; docs/timeline.md)")
    p.add_argument("--audio", type=Path, default=DEFAULT_AUDIO,
                   help="speech clip for the face (default: the example clip)")
    p.add_argument("--no-face", action="store_true", help="leave out the talking face")
    p.add_argument("--emotion", default="happy=0.6", help="the face's emotion sliders (default happy=0.6)")
    p.add_argument("--style", default="", help="sliders for prompts without their own, NAME=WEIGHT,...")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--steps", type=int, default=None, help="sampling steps (default from the model)")
    p.add_argument("--no-preview", action="store_true", help="do not render OUT/demo.png")
    p.add_argument("--weights", type=Path, default=None, help="weights folder (default: weights/)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    run_demo(DemoSettings(out_dir=args.out, timeline=args.timeline,
                          audio=None if args.no_face else args.audio, styles=args.style,
                          emotion=args.emotion, seed=args.seed, steps=args.steps,
                          preview=not args.no_preview, weights=args.weights))
    return 0
