"""Operator: Generate Gestures -- body gestures from the Speech section's audio on the
target armature (previewed like Generate, then Bake), and the face on the face mesh
when one is set (both from one click, in sync); in mode Listening the target is the
other character of the dialogue: idle, nods and posture shifts to the same audio.

From the panel's button it runs modally: the work happens in a worker thread
(``inference/gesture/job.py`` in ``inference/runtime/jobs.GenerationJob``), Esc cancels and
leaves the scene unchanged; from a script it runs synchronously. The thin layer over
``blender/gesture.py``.
"""
import bpy

from ..blender.gesture import finish_gestures, prepare_gestures
from ..blender.panel_settings import InputError, settings_of
from ..blender.runs import start_job
from ..face.expression import EMOTIONS
from ..inference.gesture.job import run_gestures
from ..inference.runtime.jobs import GenerationJob
from ..properties import GESTURE_MODE_ITEMS
from .generate import GenerateOperator, _message


def _report_gestures(op: bpy.types.Operator, context: bpy.types.Context, result, face, mode: str) -> None:
    r = settings_of(context).result
    if mode == 'LISTENING':
        for warning in result.warnings:
            op.report({'WARNING'}, warning)
        op.report({'INFO'}, f"Listening to {r.seconds:.1f} s of speech in {r.seconds_taken:.1f} s: "
                            f"{len(result.semantic)} nods ({'; '.join(result.semantic) or 'none'}); "
                            f"previewing on {settings_of(context).preview_object.name!r}")
        return
    style = ", ".join(f"{k}={v:.2f}" for k, v in result.styles.items()) or "neutral"
    style += " (from the voice)" if result.styles_estimated else ""
    for warning in result.warnings:
        op.report({'WARNING'}, warning)
    said = "; ".join(result.semantic) or "none"
    face_text = ""
    if face:                                   # one bake per shape-key datablock
        face_text = (f"; face keyed on {face[0].action.name!r}" if len(face) == 1 else
                     f"; face keyed on {len(face)} meshes ({', '.join(b.action.name for b in face)})")
    op.report({'INFO'}, f"Gestures for {r.seconds:.1f} s of speech in {r.seconds_taken:.1f} s, style "
                        f"{style}, semantic gestures: {said}{face_text}; previewing on "
                        f"{settings_of(context).preview_object.name!r}")


class CADENCE_OT_generate_gestures(GenerateOperator, bpy.types.Operator):
    """Body gestures in time with the speech on the target armature (and the face on the face mesh when set)"""

    bl_idname = "cadence.generate_gestures"
    bl_label = "Generate Gestures"
    bl_options = {'REGISTER', 'UNDO'}

    filepath: bpy.props.StringProperty(name="Audio", subtype='FILE_PATH',
                                       description="Speech audio; empty: the Speech section's audio")
    start_frame: bpy.props.IntProperty(name="Start Frame", default=1)
    transcript: bpy.props.StringProperty(
        name="Transcript", description="What is said (aligned to the audio); empty: recognised")
    recognise: bpy.props.BoolProperty(
        name="Recognise Words", default=True,
        description="Recognise English words for semantic gestures (off: beat gestures only)")
    semantic: bpy.props.FloatProperty(
        name="Semantic Gestures", default=0.5, min=0.0, max=1.0, subtype='FACTOR',
        description="How many gestures that mean something (wave, point, bow, nod...)")
    beat_strength: bpy.props.FloatProperty(
        name="Beat Strength", default=1.0, min=0.0, max=3.0,
        description="How strongly the arms follow the speech rhythm")
    seed: bpy.props.IntProperty(name="Seed", default=0, min=0)
    auto_style: bpy.props.BoolProperty(
        name="Style from Voice", default=True,
        description="When every style slider is zero, estimate the style from the voice")
    mode: bpy.props.EnumProperty(
        name="Mode", items=(('TARGET', "Target's Own", "The target armature's Gesture Mode (Speech panel)"),)
        + GESTURE_MODE_ITEMS, default='TARGET',
        description="Speaking: gestures for this speech; Listening: the other character, nodding to it")
    with_face: bpy.props.BoolProperty(
        name="With Face", default=True,
        description="Also animate the face mesh from the same audio when one is set")

    @classmethod
    def description(cls, context, properties):
        return cls.__doc__

    def _prepare(self, context):
        emotions = {n: getattr(self, f"emotion_{n}") for n in EMOTIONS if getattr(self, f"emotion_{n}") > 0}
        prepared = prepare_gestures(
            context, filepath=self.filepath, start_frame=self.start_frame if self.filepath else None,
            transcript=self.transcript, recognise=self.recognise, semantic_amount=self.semantic,
            beat_strength=self.beat_strength, seed=self.seed, auto_style=self.auto_style,
            with_face=self.with_face, face_emotions=emotions, mode=self.mode)
        self._mode = prepared[0].mode.upper()
        return prepared

    def execute(self, context: bpy.types.Context) -> set[str]:
        """Synchronous: for scripts and tests (the same functions as the modal path)."""
        try:
            spec, self._run, self._face = self._prepare(context)
            result = run_gestures(spec)
        except InputError as exc:
            self.report({'ERROR'}, str(exc))
            return {'CANCELLED'}
        except (ValueError, RuntimeError, OSError) as exc:  # audio, weights, recognition: own message
            self.report({'ERROR'}, _message(exc))
            return {'CANCELLED'}
        return self._finish(context, result)

    def invoke(self, context: bpy.types.Context, event: bpy.types.Event) -> set[str]:
        if context.window is None or bpy.app.background:
            return self.execute(context)
        try:
            spec, self._run, self._face = self._prepare(context)
        except InputError as exc:
            self.report({'ERROR'}, str(exc))
            return {'CANCELLED'}
        self._job = start_job(spec, self._run, GenerationJob(spec, runner=run_gestures))
        wm = context.window_manager
        self._timer = wm.event_timer_add(0.1, window=context.window)
        wm.modal_handler_add(self)
        self._status(context, "Cadence: listening to the speech (Esc to cancel)")
        return {'RUNNING_MODAL'}

    def _finish(self, context: bpy.types.Context, result) -> set[str]:
        try:
            _, face = finish_gestures(context, self._run, result, self._face)
        except InputError as exc:
            self.report({'ERROR'}, str(exc))
            return {'CANCELLED'}
        _report_gestures(self, context, result, face, self._mode)
        return {'FINISHED'}


for _name in EMOTIONS:  # the Speech section's emotion sliders, for the face
    CADENCE_OT_generate_gestures.__annotations__[f"emotion_{_name}"] = bpy.props.FloatProperty(
        name=_name.capitalize(), description=f"How {_name} the face looks (with the face)",
        default=0.0, min=0.0, max=1.0, subtype='FACTOR')

classes = (CADENCE_OT_generate_gestures,)
