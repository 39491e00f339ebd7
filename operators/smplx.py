"""Operators: File > Import / Export > "SMPL-X Motion (.npz)", and Bake Face onto SMPL-X
Body. Thin wrappers over ``blender/smplx_io.py`` and ``blender/smplx_body.py``;
``menu_import`` / ``menu_export`` are appended to Blender's File menus by registration.py."""
from pathlib import Path

import bpy
import numpy as np
from bpy_extras.io_utils import ImportHelper

from ..blender.bake_file import MotionFileError
from ..blender.export import ExportError
from ..blender.scene import scene_fps
from ..blender.smplx_body import bake_arkit_face, expression_keys
from ..blender.smplx_io import body_available, export_smplx, import_smplx
from ..face.arkit import ARKIT_NAMES
from ..face.csv_io import FaceCsvError, read_face_csv
from ..face.smplx_expression import ARKIT_MAPPING_FILE, load_arkit_offsets
from ..preferences import smplx_model_dir
from .export import _ActionExport

UP_ITEMS = (
    ('AUTO', "From File", "The axis a Cadence file stores, else the layout's default: Z for "
                          "AMASS, Y for BEAT2/EMAGE and split smplx keys"),
    ('Y', "Y Up", "SMPL-X's own frame (BEAT2/EMAGE, smplx package outputs)"),
    ('Z', "Z Up", "AMASS's convention"),
)
MENU_LABEL = "SMPL-X Motion (.npz)"


class CADENCE_OT_import_smplx(bpy.types.Operator, ImportHelper):
    """Import a SMPL-X / SMPL-H / SMPL motion file (AMASS, BEAT2/EMAGE, smplx outputs) onto
    a new Cadence armature, or onto a SMPL-X body made from your own model files"""

    bl_idname = "cadence.import_smplx"
    bl_label = "Import SMPL-X Motion"
    bl_options = {'REGISTER', 'UNDO'}

    filename_ext = ".npz"
    filter_glob: bpy.props.StringProperty(default="*.npz", options={'HIDDEN'})
    up: bpy.props.EnumProperty(name="Up Axis", items=UP_ITEMS, default='AUTO')
    source_fps: bpy.props.FloatProperty(
        name="File Frame Rate", default=0.0, min=0.0, max=1000.0,
        description="The file's frame rate, overriding its mocap_frame_rate; 0 reads it from "
                    "the file (30 when absent). The motion is resampled to the scene's")
    body: bpy.props.BoolProperty(
        name="SMPL-X Body", default=False,
        description="Build a skinned SMPL-X body (shape from the file's betas, expression shape "
                    "keys) from the model files set in Cadence's preferences")
    update_scene: bpy.props.BoolProperty(
        name="Update Scene Range", description="Set the scene's frame range to the motion",
        default=True)

    def draw(self, context):
        layout = self.layout
        layout.prop(self, "up")
        layout.prop(self, "source_fps")
        layout.prop(self, "update_scene")
        if body_available(smplx_model_dir(context)):
            layout.prop(self, "body")
        else:
            box = layout.box()
            box.label(text="SMPL-X body: needs your own model files", icon='INFO')
            box.label(text="Register at smpl-x.is.tue.mpg.de, download SMPL-X (npz),")
            box.label(text="then set the folder in Cadence's preferences")

    def execute(self, context: bpy.types.Context) -> set[str]:
        try:
            result = import_smplx(bpy.path.abspath(self.filepath) if self.filepath else "",
                                  fps=scene_fps(context.scene),
                                  up=None if self.up == 'AUTO' else self.up.lower(),
                                  source_fps=self.source_fps or None, body=self.body,
                                  model_dir=smplx_model_dir(context),
                                  update_scene=self.update_scene)
        except (MotionFileError, ValueError) as exc:
            self.report({'ERROR'}, str(exc))
            return {'CANCELLED'}
        for note in result.source.notes:
            self.report({'WARNING'}, note)
        source = result.source
        what = "SMPL-X body" if result.body else "armature"
        self.report({'INFO'}, f"Imported {source.motion.num_frames} frames ({source.layout}, "
                              f"{source.model_type}, {source.up.upper()} up) onto {what} "
                              f"{result.armature.name!r} as action {result.action.name!r}")
        return {'FINISHED'}


class CADENCE_OT_export_smplx(_ActionExport, bpy.types.Operator):
    """Export the active armature's current action as an AMASS-style SMPL-X motion file"""

    bl_idname = "cadence.export_smplx"
    bl_label = "Export SMPL-X Motion"
    bl_options = {'REGISTER'}

    filename_ext = ".npz"
    filter_glob: bpy.props.StringProperty(default="*.npz", options={'HIDDEN'})
    up: bpy.props.EnumProperty(name="Up Axis", items=UP_ITEMS[2:0:-1], default='Z')

    def execute(self, context: bpy.types.Context) -> set[str]:
        obj = context.active_object
        try:
            result = export_smplx(obj, bpy.path.abspath(self.filepath) if self.filepath else "",
                                  up=self.up.lower())
        except ExportError as exc:
            self.report({'ERROR'}, str(exc))
            return {'CANCELLED'}
        self.report({'INFO'}, f"Exported {result.frames} frames at {result.fps:g} fps of "
                              f"{obj.name!r} to {result.path}")
        return {'FINISHED'}


class CADENCE_OT_bake_smplx_face(bpy.types.Operator, ImportHelper):
    """Key a face CSV's ARKit curves onto the active SMPL-X body's expression shape keys,
    through your ARKit shapes on the SMPL-X mesh (SMPLX_ARKIT.npz beside the model files)"""

    bl_idname = "cadence.bake_smplx_face"
    bl_label = "Bake Face onto SMPL-X Body"
    bl_options = {'REGISTER', 'UNDO'}

    filename_ext = ".csv"
    filter_glob: bpy.props.StringProperty(default="*.csv", options={'HIDDEN'})

    @classmethod
    def poll(cls, context):
        return bool(expression_keys(context.active_object))

    def execute(self, context: bpy.types.Context) -> set[str]:
        obj = context.active_object
        scene = context.scene
        try:
            folder = smplx_model_dir(context)
            if not folder:
                raise ValueError("set the SMPL-X model folder in Cadence's preferences (it "
                                 f"holds {ARKIT_MAPPING_FILE}, see docs/smplx.md)")
            offsets = load_arkit_offsets(Path(folder) / ARKIT_MAPPING_FILE)
            anim = read_face_csv(bpy.path.abspath(self.filepath))
            action, fit = bake_arkit_face(obj, anim, offsets, action_name=f"{obj.name}Face",
                                          start_frame=scene.frame_start, fps=scene_fps(scene))
        except (FaceCsvError, ValueError) as exc:
            self.report({'ERROR'}, str(exc))
            return {'CANCELLED'}
        worst = int(fit.residual.argmax())
        self.report({'INFO'}, f"Keyed {anim.num_frames} frames of expressions on {obj.name!r} as "
                              f"{action.name!r}; least-squares residual median "
                              f"{float(np.median(fit.residual)):.0%}, worst "
                              f"{ARKIT_NAMES[worst]} {fit.residual[worst]:.0%}")
        return {'FINISHED'}


def menu_import(self, context):
    self.layout.operator(CADENCE_OT_import_smplx.bl_idname, text=MENU_LABEL)


def menu_export(self, context):
    self.layout.operator(CADENCE_OT_export_smplx.bl_idname, text=MENU_LABEL)


classes = (CADENCE_OT_import_smplx, CADENCE_OT_export_smplx, CADENCE_OT_bake_smplx_face)
