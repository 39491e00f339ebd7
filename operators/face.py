"""Operator: Generate Face -- speech audio (or a face CSV) onto the ARKit shape keys of
the active mesh and of every other mesh of its character that has some (the armature's
meshes, the selected meshes: ``blender/face_meshes.py``), with emotion sliders, blinks,
gaze; the head motion (and the jaw when the mesh has no jawOpen key) on the armature's
bones; reports which meshes were driven and which shapes were found.

The Speech panel invokes it with the face mesh active and fills ``filepath``,
``start_frame`` and ``emotion_<name>`` (blender/speech_input.py); with no ``filepath``
it reads the panel's audio itself, and the lip-sync method and transcript come from
the panel. Invoked, it runs in a worker thread (``inference/face/job.py``) with
progress in the status bar, Esc cancels and leaves the scene unchanged; from a script
it runs synchronously.
"""
from pathlib import Path

import bpy

from ..blender.face_generation import apply_face, prepare_face
from ..blender.face_meshes import face_report
from ..blender.face_rig import face_armature
from ..blender.panel_settings import InputError, settings_of
from ..blender.runs import active_run, start_job
from ..blender.speech_input import SpeechInputError, speech_audio, speech_audio_problem
from ..face.csv_io import FaceCsvError, read_face_csv
from ..face.expression import EMOTIONS
from ..inference.face.job import FaceJob, run_face
from ..preferences import weights_dir
from ..properties import FACE_METHOD_ITEMS
from .generate import GenerateOperator


def _face_mesh_ready(obj) -> bool:
    """A mesh with shape keys, or one an armature deforms (its jaw and head bones), or an
    armature with a mesh that has shape keys (cheap: poll runs on every redraw)."""
    if obj is None:
        return False
    if obj.type == 'ARMATURE':
        return any(o.type == 'MESH' and o.data.shape_keys is not None for o in obj.children_recursive)
    if obj.type != 'MESH':
        return False
    return obj.data.shape_keys is not None or face_armature(obj) is not None


class CADENCE_OT_generate_face(GenerateOperator, bpy.types.Operator):
    """Animate the ARKit shape keys of the active mesh and of its character's other meshes (teeth, eyes, lashes, the selected meshes) from a speech file (or a face CSV)"""

    bl_idname = "cadence.generate_face"
    bl_label = "Generate Face"
    bl_options = {'REGISTER', 'UNDO'}

    filepath: bpy.props.StringProperty(
        name="Audio or CSV",
        description="Speech audio (WAV, FLAC, OGG, MP3, ...) or a face CSV from `cadence face`",
        subtype='FILE_PATH',
    )
    seed: bpy.props.IntProperty(name="Seed", description="Another seed, other blinks and glances",
                                default=0, min=0)
    blinks: bpy.props.BoolProperty(name="Blinks", default=True)
    gaze: bpy.props.BoolProperty(name="Eye Movement", default=True)
    start_frame: bpy.props.IntProperty(name="Start Frame", default=1)
    update_scene: bpy.props.BoolProperty(
        name="Update Scene Range", description="Set the scene's frame range to the speech",
        default=True)
    all_meshes: bpy.props.BoolProperty(
        name="Whole Character",
        description="Also drive the ARKit shape keys of the character's other meshes (teeth, eyes, "
                    "lashes: the armature's meshes) and of the selected meshes; off: the active mesh only",
        default=True)

    method: bpy.props.EnumProperty(
        name="Lip Sync", items=(('PANEL', "As in the Panel", "The Speech section's choice"),) + FACE_METHOD_ITEMS,
        default='PANEL')
    transcript: bpy.props.StringProperty(
        name="Transcript", description="What is said, in English (aligned for the phonemes); "
                                       "empty: the Speech section's, else recognised")

    @classmethod
    def poll(cls, context):
        return _face_mesh_ready(context.active_object)

    @classmethod
    def description(cls, context, properties):
        return cls.__doc__

    # -- inputs ----------------------------------------------------------------------------
    def _source(self, context):
        """(path, start frame) of the audio or CSV; raises InputError."""
        if self.filepath:
            return Path(bpy.path.abspath(self.filepath)), self.start_frame
        try:
            audio = speech_audio(context)
        except SpeechInputError as exc:
            raise InputError(str(exc)) from None
        return audio.path, audio.frame_start

    def _prepare(self, context, path, start_frame):
        settings = settings_of(context)
        method = self.method if self.method != 'PANEL' else getattr(settings, "face_method", 'BLEND')
        transcript = self.transcript or getattr(settings, "speech_transcript", "")
        emotions = {n: getattr(self, f"emotion_{n}") for n in EMOTIONS if getattr(self, f"emotion_{n}") > 0}
        return prepare_face(context, str(path), start_frame=start_frame, emotions=emotions,
                            seed=self.seed, blinks=self.blinks, gaze=self.gaze, head=True,
                            method=method, transcript=transcript, update_scene=self.update_scene,
                            weights_dir=weights_dir(context) or None, all_meshes=self.all_meshes)

    # -- synchronous ------------------------------------------------------------------------
    def execute(self, context):
        try:
            path, start_frame = self._source(context)
            spec, run = self._prepare(context, path, start_frame)
            if path.suffix.lower() == ".csv":
                anim = read_face_csv(path)
            else:
                anim = run_face(spec)
        except (InputError, FaceCsvError, ValueError, RuntimeError, OSError) as exc:
            self.report({'ERROR'}, str(exc))
            return {'CANCELLED'}
        return self._apply(context, run, anim)

    def _apply(self, context, run, anim):
        try:
            done = apply_face(context, run, anim)
        except (InputError, ValueError) as exc:
            self.report({'ERROR'}, str(exc))
            return {'CANCELLED'}
        for warning in list(anim.warnings) + done.notes:
            self.report({'WARNING'}, warning)
        text, missing = face_report(done.meshes, done.bakes, done.frames, anim.info.get("method", "csv"))
        if done.rig is not None:
            text += (f"; bones of {done.rig.armature!r} ({done.rig.summary()}) on NLA track "
                     f"'Cadence Face'")
        self.report({'WARNING' if missing else 'INFO'}, text)
        return {'FINISHED'}

    # -- worker thread ----------------------------------------------------------------------
    def invoke(self, context, event):
        if not self.filepath:
            if speech_audio_problem(context):             # nothing picked: ask for a file
                context.window_manager.fileselect_add(self)
                return {'RUNNING_MODAL'}
        if context.window is None or bpy.app.background:
            return self.execute(context)
        try:
            path, start_frame = self._source(context)
            if path.suffix.lower() == ".csv":
                return self.execute(context)
            spec, self._run = self._prepare(context, path, start_frame)
            if active_run() is not None:
                raise InputError("a generation is running: wait for it or press Esc")
        except InputError as exc:
            self.report({'ERROR'}, str(exc))
            return {'CANCELLED'}
        self._job = start_job(spec, None, FaceJob(spec))
        wm = context.window_manager
        self._timer = wm.event_timer_add(0.1, window=context.window)
        wm.modal_handler_add(self)
        self._status(context, "Cadence: reading the speech (Esc to cancel)")
        return {'RUNNING_MODAL'}

    def _finish(self, context, result):
        """Main thread, the worker done (the modal loop is Generate's): bake the face."""
        return self._apply(context, self._run, result)


for _name in EMOTIONS:
    CADENCE_OT_generate_face.__annotations__[f"emotion_{_name}"] = bpy.props.FloatProperty(
        name=_name.capitalize(), description=f"How {_name} the face looks", default=0.0,
        min=0.0, max=1.0, subtype='FACTOR')

classes = (CADENCE_OT_generate_face,)
