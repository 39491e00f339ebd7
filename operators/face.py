"""Operator: Generate Face -- speech audio (or a face CSV) onto the active mesh's
ARKit shape keys, with emotion sliders, blinks, gaze; reports which shapes were found.

The Speech panel runs it with the face mesh active and fills ``filepath``,
``start_frame`` and ``emotion_<name>`` (blender/speech_input.py); with no ``filepath``
it reads the panel's audio itself. Generation is synchronous: about 0.3 s per minute of
speech on two CPU cores.
"""
import bpy

from ..face.expression import EMOTIONS


def _has_shape_keys(obj) -> bool:
    return obj is not None and obj.type == 'MESH' and obj.data.shape_keys is not None


class CADENCE_OT_generate_face(bpy.types.Operator):
    """Animate the active mesh's ARKit shape keys from a speech file (or a face CSV)"""

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

    @classmethod
    def poll(cls, context):
        return _has_shape_keys(context.active_object)

    def execute(self, context):
        from pathlib import Path

        from ..blender.shape_keys import bake_face
        from ..blender.scene import scene_fps
        from ..face.csv_io import FaceCsvError, read_face_csv
        from ..inference.audio import AudioError
        from ..inference.weights import WeightsError

        obj = context.active_object
        if not _has_shape_keys(obj):
            self.report({'ERROR'}, "select a mesh with ARKit shape keys (jawOpen, eyeBlinkLeft, ...)")
            return {'CANCELLED'}
        start_frame = self.start_frame
        if self.filepath:
            path = Path(bpy.path.abspath(self.filepath))
        else:  # the Speech panel's audio (a file or a sound strip)
            from ..blender.speech_input import SpeechInputError, speech_audio
            try:
                audio = speech_audio(context)
            except SpeechInputError as exc:
                self.report({'ERROR'}, str(exc))
                return {'CANCELLED'}
            path, start_frame = audio.path, audio.frame_start
        from ..preferences import weights_dir
        try:
            if path.suffix.lower() == ".csv":
                anim = read_face_csv(path)
            else:
                from ..inference.face import generate_face
                emotions = {n: getattr(self, f"emotion_{n}") for n in EMOTIONS
                            if getattr(self, f"emotion_{n}") > 0}
                anim = generate_face(path, emotions, seed=self.seed, blinks=self.blinks,
                                     gaze=self.gaze, fps=scene_fps(context.scene),
                                     weights_dir=weights_dir(context) or None)
            result = bake_face(obj, anim, action_name=f"{obj.name}Face",
                               start_frame=start_frame, update_scene=self.update_scene)
        except (AudioError, WeightsError, FaceCsvError, ValueError) as exc:
            self.report({'ERROR'}, str(exc))
            return {'CANCELLED'}
        key_map = result.key_map
        for warning in anim.warnings:
            self.report({'WARNING'}, warning)
        level = 'WARNING' if key_map.missing else 'INFO'
        self.report({level}, f"Keyed {result.frames} frames on {obj.name!r} as "
                             f"{result.action.name!r}: {key_map.summary()}")
        return {'FINISHED'}

    def invoke(self, context, event):
        context.window_manager.fileselect_add(self)
        return {'RUNNING_MODAL'}


for _name in EMOTIONS:
    CADENCE_OT_generate_face.__annotations__[f"emotion_{_name}"] = bpy.props.FloatProperty(
        name=_name.capitalize(), description=f"How {_name} the face looks", default=0.0,
        min=0.0, max=1.0, subtype='FACTOR')

classes = (CADENCE_OT_generate_face,)
