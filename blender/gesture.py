"""Generate Gestures from the Speech section (main thread only; no maths here).

:func:`prepare_gestures` reads the panel (audio file or sound strip, target armature,
the style sliders, the face mesh) into a bpy-free ``inference.gesture.job.GestureSpec``
and a ``RunContext``; ``run_gestures`` makes the motion (and the face) in a worker
thread or synchronously; :func:`finish_gestures` previews the motion on the target
exactly like Generate (so Bake, Clear Preview and the retarget options apply) and
bakes the face curves onto the face mesh's shape keys and those of its character's other
meshes and the selected meshes, as Generate Face does (``blender/face_meshes.py``).

The Targets list (look at, reach) applies to the gestures as to Generate.

Each armature has its own Gesture Mode (``Object.cadence_gesture_mode``): Listening makes
it the other character of a dialogue, listening to the audio
(``inference/gesture/listening.py``): previewed and baked the same way, no face.

Styles: the same sliders as text generation (the Style panel). When every slider is
at zero and ``auto_style`` is on, the setting is estimated from the voice
(``inference/speech/style.py``).
"""
from __future__ import annotations

from pathlib import Path

import bpy

from ..face.expression import with_look
from ..face.shape_key_match import match_shape_keys
from ..inference.gesture.job import GestureSpec
from ..inference.runtime.model_info import model_files
from ..motion.canonical_to_rig import RetargetOptions
from ..preferences import get_preferences, weights_dir
from .face_generation import selected_objects
from .face_meshes import bake_face_meshes, face_meshes
from .object_targets import read_targets
from .panel_settings import InputError, settings_of
from .preview_action import finish_run
from .prompt_generation import check_can_start
from .runs import RunContext, kept_run
from .scene import scene_fps
from .shape_keys import shape_key_names
from .sliders import slider_values
from .speech_input import SpeechInputError, speech_audio

FACE_MODEL_GLOB = "face*.onnx"


def face_target(context: bpy.types.Context) -> bpy.types.Object | None:
    """The panel's face mesh when some of its shape keys are ARKit shapes and the face
    model is installed (then the face is made with the gestures), else None."""
    obj = settings_of(context).face_mesh
    if obj is None or obj.type != 'MESH' or not match_shape_keys(shape_key_names(obj)).keys:
        return None
    return obj if model_files(weights_dir(context) or None, FACE_MODEL_GLOB) else None


def prepare_gestures(context: bpy.types.Context, *, filepath: str = "", start_frame: int | None = None,
                     transcript: str = "", recognise: bool = True, semantic_amount: float = 0.5,
                     beat_strength: float = 1.0, seed: int = 0, auto_style: bool = True,
                     with_face: bool = True, face_emotions: dict[str, float] | None = None,
                     mode: str = 'TARGET'):
    """(GestureSpec, RunContext, face mesh name or "") from the panel; raises
    InputError (nothing changed). ``mode``: 'SPEAKING', 'LISTENING' (the target listens
    to the audio: idle, nods, posture shifts; no face) or 'TARGET' (the target's own
    ``cadence_gesture_mode``)."""
    settings, obj, info = check_can_start(context)
    if filepath:
        path = Path(bpy.path.abspath(filepath))
        if not path.is_file():
            raise InputError(f"audio file not found: {path}")
        origin = int(context.scene.frame_start if start_frame is None else start_frame)
    else:
        try:
            audio = speech_audio(context)
        except SpeechInputError as exc:
            raise InputError(str(exc)) from exc
        path, origin = audio.path, audio.frame_start
    styles = slider_values(settings.styles, info.styles)
    prefs = get_preferences(context)
    if mode == 'TARGET':
        mode = getattr(obj, "cadence_gesture_mode", 'SPEAKING')
    if mode not in ('SPEAKING', 'LISTENING'):
        raise InputError(f"the gesture mode is Speaking or Listening, not {mode!r}")
    face = face_target(context) if with_face and mode == 'SPEAKING' else None
    spec = GestureSpec(
        path, transcript.strip() or settings.speech_transcript.strip() or None, recognise,
        styles if styles or not auto_style else None,
        float(semantic_amount), float(beat_strength), int(seed), int(settings.steps) or None,
        weights_dir(context) or None, int(getattr(prefs, "threads", 0)) or None,
        str(getattr(prefs, "device", 'AUTO')), scene_fps(context.scene), face is not None,
        dict(face_emotions or {}), mode=mode.lower(),
        solver="distilled" if settings.fast_preview and mode == 'SPEAKING' else None)
    run = RunContext(context.scene.name, obj.name, origin, scene_fps(context.scene), [],
                         RetargetOptions(root_motion=settings.root_motion, foot_cleanup=settings.foot_cleanup),
                         bool(settings.allow_driven), bool(settings.play_preview))
    # The Targets list applies as for Generate: a speaker or a listener looks at the
    # camera or the other character, reaches for an object.
    run.targets = read_targets(context, audio_frames(path, origin, run.fps), "the audio's frames")
    return spec, run, face.name if face is not None else ""


def audio_frames(path: Path, origin: int, fps: float) -> tuple[int, int] | None:
    """(first, last) scene frames the gestures for the audio file cover (its length from
    the file's header), or None where the header cannot be read (the targets are then
    checked against the motion when it arrives)."""
    try:
        import soundfile
        seconds = float(soundfile.info(str(path)).duration)
    except (ImportError, RuntimeError, OSError, ValueError):
        return None
    return origin, origin + max(1, int(round(seconds * fps))) - 1


def finish_gestures(context: bpy.types.Context, run, result, face_name: str = ""
                    ) -> tuple[bpy.types.Action, list]:
    """Preview the gestures on the target (as Generate does) and bake the face, if any,
    on every ARKit mesh of the face mesh's character and the selection.

    Returns (preview action, face bake results: one per shape-key datablock, empty
    without a face); raises InputError."""
    fps = run.fps
    run.layout = [{"track": tr.name, "text": seg.text, "start": run.origin + int(round(seg.start * fps)),
                   "end": run.origin + int(round(seg.end * fps)), "index": [ti, si]}
                  for ti, tr in enumerate(result.timeline.tracks) for si, seg in enumerate(tr.segments)]
    face_obj = bpy.data.objects.get(face_name) if result.face is not None else None
    if result.face is not None and face_obj is None:
        raise InputError(f"the face mesh {face_name!r} is gone: generate again")
    action = finish_run(context, run, result)
    baked = []
    if face_obj is not None:   # its ARKit keys were checked when the run was prepared
        meshes = face_meshes(face_obj, selected_objects(context), context.scene)
        baked = bake_face_meshes(meshes, looking_face(run, result.face), start_frame=run.origin, fps=fps)
    return action, baked


def looking_face(run, face):
    """The face with its eyes on the run's Look At targets where the body looks
    (``face.expression.with_look``: the eyeLook shapes follow the body's eyes, turned
    by ``finish_run``; variation 0, the one previewed)."""
    kept = kept_run(run.token)
    looks = [t for t in getattr(run, "targets", None) or [] if t.kind == "look_at"]
    if kept is None or not looks:
        return face
    motion = kept.result.motions[0]         # frames from the run's origin, as fit_looks reads them
    seconds = [((t.first - run.origin) / motion.fps, (t.last - run.origin) / motion.fps) for t in looks]
    return with_look(face, motion, seconds)
