"""The speech inputs of the Cadence panel, and the hook for speech-driven generators.

Face and gesture generators (their own modules and operators) plug into the panel's
Speech section through :data:`SPEECH_ACTIONS`: each entry names an operator and the
model files it needs in the weights folder; the panel shows the button only when both
exist, and disables it (with the reason) while the audio or the face mesh is missing.
A module adds its entry with :func:`register_speech_action` (idempotent) or by editing
the defaults below.

The panel's button runs the operator directly (EXEC_DEFAULT; INVOKE_DEFAULT for actions
with ``invoke``, which run in a worker thread) with the face mesh (or the target
armature) as the active object, and fills whichever of these operator properties
exist from the panel: ``filepath`` (the audio), ``start_frame`` (where the audio starts),
``emotion_<name>`` (the speech emotion sliders), ``transcript`` and ``semantic`` (the
Semantic Gestures slider); see :func:`operator_values`.
Operators may instead read the audio the user picked with :func:`speech_audio` (a file,
or a sound strip of the Video Sequencer with the frame it starts on), or mix in
:class:`SpeechOperatorMixin` whose ``speech_audio_or_report`` reports the problem and
returns None, so a missing audio gives a report and changes nothing.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import bpy

from ..errors import CadenceError
from ..face.expression import EMOTIONS
from ..inference.runtime.model_info import model_files
from ..preferences import weights_dir
from .panel_settings import effective_target


class SpeechInputError(CadenceError, ValueError):
    """The speech input is missing or unreadable; the message says what to pick."""


@dataclass(frozen=True)
class SpeechAction:
    idname: str                    # operator, e.g. "cadence.generate_face"
    label: str
    icon: str
    model_glob: str                # files in the weights folder the generator needs
    needs_face_mesh: bool = False  # disabled until the panel's Face mesh is set
    needs_armature: bool = False   # disabled until there is a target armature
    description: str = ""
    invoke: bool = False           # the button invokes it (a worker thread), not EXEC_DEFAULT


SPEECH_ACTIONS: list[SpeechAction] = [
    SpeechAction("cadence.generate_face", "Generate Face", 'SHAPEKEY_DATA', "face*.onnx",
                 needs_face_mesh=True, invoke=True,
                 description="Lip sync, expression, blinks and gaze on the face mesh"),
    SpeechAction("cadence.generate_gestures", "Generate Gestures", 'ARMATURE_DATA', "silero_vad.onnx",
                 needs_armature=True, invoke=True,
                 description="Body gestures in time with the speech on the target (and the face when set)"),
]


def register_speech_action(action: SpeechAction) -> None:
    """Add (or replace, by operator idname) a speech generator's button."""
    for i, existing in enumerate(SPEECH_ACTIONS):
        if existing.idname == action.idname:
            SPEECH_ACTIONS[i] = action
            return
    SPEECH_ACTIONS.append(action)


def operator_registered(idname: str) -> bool:
    module, _, name = idname.partition(".")
    return hasattr(bpy.types, f"{module.upper()}_OT_{name}")


def speech_models_present(action: SpeechAction, weights_dir: str | None) -> bool:
    return bool(model_files(weights_dir, action.model_glob))


@dataclass
class SpeechAudio:
    path: Path
    frame_start: int          # scene frame where the audio starts
    source: str               # "file" or the strip's name


def sound_strips(scene: bpy.types.Scene) -> list:
    editor = scene.sequence_editor
    if editor is None:
        return []
    strips = getattr(editor, "strips_all", None)
    if strips is None:
        strips = getattr(editor, "sequences_all", [])
    return [s for s in strips if s.type == 'SOUND']


def speech_audio(context: bpy.types.Context) -> SpeechAudio:
    """The audio the panel names; raises SpeechInputError when there is none usable."""
    settings = context.scene.cadence
    if settings.audio_source == 'STRIP':
        name = settings.audio_strip.strip()
        if not name:
            raise SpeechInputError("no sound strip chosen: pick one from the Video Sequencer, "
                                   "or switch the audio source to File")
        strip = next((s for s in sound_strips(context.scene) if s.name == name), None)
        if strip is None:
            raise SpeechInputError(f"there is no sound strip {name!r} in this scene's sequencer")
        if strip.sound is None:
            raise SpeechInputError(f"the sound strip {name!r} has no sound")
        path = Path(bpy.path.abspath(strip.sound.filepath, library=strip.sound.library))
        if not path.is_file():
            raise SpeechInputError(f"the sound of strip {name!r} is missing on disk ({path})"
                                   if not strip.sound.packed_file else
                                   f"the sound of strip {name!r} is packed in the .blend: unpack it "
                                   "(File > External Data > Unpack Resources)")
        return SpeechAudio(path, int(strip.frame_start), name)
    text = settings.audio_path.strip()
    if not text:
        raise SpeechInputError("no audio: choose a speech recording (Audio File) or a sound strip")
    path = Path(bpy.path.abspath(text))
    if not path.is_file():
        raise SpeechInputError(f"audio file not found: {path}")
    return SpeechAudio(path, int(context.scene.frame_start), "file")


def speech_audio_problem(context: bpy.types.Context) -> str | None:
    try:
        speech_audio(context)
    except SpeechInputError as exc:
        return str(exc)
    return None


def action_problem(context: bpy.types.Context, action: SpeechAction) -> str | None:
    """Why the action's button is disabled (None when it can run)."""
    problem = speech_audio_problem(context)
    if problem:
        return problem
    settings = context.scene.cadence
    if action.needs_face_mesh and settings.face_mesh is None:
        return "choose the Face mesh (with ARKit-style shape keys) in the Cadence panel"
    if action.needs_armature:
        if effective_target(context) is None:
            return "choose the Target armature in the Cadence panel"
    return None


def available_speech_actions(context: bpy.types.Context) -> list[tuple[SpeechAction, str | None]]:
    """The speech buttons to show (operator registered and model present), each with the
    reason it is disabled (None: enabled)."""
    wd = weights_dir(context)
    return [(a, action_problem(context, a)) for a in SPEECH_ACTIONS
            if operator_registered(a.idname) and speech_models_present(a, wd)]


def operator_values(context: bpy.types.Context, action: SpeechAction) -> dict[str, object]:
    """Properties the panel sets on the action's operator (only those it has)."""
    module, _, name = action.idname.partition(".")
    try:
        props = getattr(getattr(bpy.ops, module), name).get_rna_type().properties
    except (AttributeError, KeyError):
        return {}
    values: dict[str, object] = {f"emotion_{k}": v for k, v in speech_emotion_values(context).items()}
    settings = context.scene.cadence
    values.update(transcript=settings.speech_transcript, semantic=settings.gesture_semantic)
    try:
        audio = speech_audio(context)
        values.update(filepath=str(audio.path), start_frame=audio.frame_start)
    except SpeechInputError:
        pass
    return {k: v for k, v in values.items() if k in props}


def action_object(context: bpy.types.Context, action: SpeechAction):
    """The object the action works on (made active for its operator), or None."""
    settings = context.scene.cadence
    if action.needs_face_mesh:
        return settings.face_mesh
    if action.needs_armature:
        return effective_target(context)
    return None


def speech_emotion_names(weights_dir: str | None) -> tuple[str, ...]:
    """Emotion names from the first speech model's metadata (``emotions``), else BEAT's."""
    for action in SPEECH_ACTIONS:
        for onnx in model_files(weights_dir, action.model_glob):
            meta = onnx.with_suffix(".json")
            try:
                names = json.loads(meta.read_text(encoding="utf-8")).get("emotions")
            except (OSError, ValueError, AttributeError):
                continue
            if isinstance(names, list) and names:
                return tuple(str(n) for n in names)
    return EMOTIONS


def speech_emotion_values(context: bpy.types.Context) -> dict[str, float]:
    """The speech emotion sliders as {name: weight} (for the speech generators)."""
    return {s.name: float(s.value) for s in context.scene.cadence.speech_emotions}


class SpeechOperatorMixin:
    """For speech generator operators: ``audio = self.speech_audio_or_report(context)``;
    when it is None, return {'CANCELLED'} (the problem was reported, nothing changed)."""

    def speech_audio_or_report(self, context: bpy.types.Context) -> SpeechAudio | None:
        try:
            return speech_audio(context)
        except SpeechInputError as exc:
            self.report({'ERROR'}, str(exc))
            return None


__all__ = ["SPEECH_ACTIONS", "SpeechAction", "SpeechAudio", "SpeechInputError", "SpeechOperatorMixin",
           "action_object", "available_speech_actions", "operator_values", "register_speech_action",
           "speech_audio", "speech_audio_problem",
           "speech_emotion_names", "speech_emotion_values"]
