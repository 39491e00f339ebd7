"""Operators: export the active armature's current action as BVH (on its own skeleton or
on the canonical one) or glTF, and their File > Export menu entries. Thin wrappers over
``blender/export.py``."""
import bpy
from bpy_extras.io_utils import ExportHelper

from ..blender.export import ExportError, export_bvh, export_gltf, export_problem

SKELETON_ITEMS = (
    ('TARGET', "Armature", "The armature's own bones and rest pose (Y up, centimetres)"),
    ('CANONICAL', "Canonical", "Cadence's canonical (SMPL-X) skeleton, through the armature's "
                               "bone map"),
)


class _ActionExport(ExportHelper):
    """The file browser, opened on a name taken from the active armature's action, or a
    clear refusal when there is nothing to export."""

    def invoke(self, context, event):
        problem = export_problem(context.active_object)
        if problem:
            self.report({'ERROR'}, problem)
            return {'CANCELLED'}
        if not self.filepath:
            action = context.active_object.animation_data.action
            self.filepath = bpy.path.ensure_ext(bpy.path.clean_name(action.name), self.filename_ext)
        context.window_manager.fileselect_add(self)
        return {'RUNNING_MODAL'}


class CADENCE_OT_export_bvh(_ActionExport, bpy.types.Operator):
    """Export the active armature's current action as a BVH file"""

    bl_idname = "cadence.export_bvh"
    bl_label = "Export BVH"
    bl_options = {'REGISTER'}

    filename_ext = ".bvh"
    filter_glob: bpy.props.StringProperty(default="*.bvh", options={'HIDDEN'})
    skeleton: bpy.props.EnumProperty(name="Skeleton", items=SKELETON_ITEMS, default='TARGET')
    deform_only: bpy.props.BoolProperty(
        name="Deform Bones Only", default=False,
        description="Leave out bones that do not deform (controls, IK targets); their children "
                    "hang from the nearest exported bone")

    def execute(self, context: bpy.types.Context) -> set[str]:
        obj = context.active_object
        try:
            result = export_bvh(obj, bpy.path.abspath(self.filepath) if self.filepath else "",
                                skeleton=self.skeleton.lower(), deform_only=self.deform_only)
        except ExportError as exc:
            self.report({'ERROR'}, str(exc))
            return {'CANCELLED'}
        for note in result.notes:
            self.report({'WARNING'}, note)
        self.report({'INFO'}, f"Exported {result.frames} frames of {obj.name!r} ({result.joints} "
                              f"joints, {result.skeleton} skeleton) to {result.path}")
        return {'FINISHED'}


class CADENCE_OT_export_gltf(_ActionExport, bpy.types.Operator):
    """Export the scene with the active armature's current action as glTF (.glb, or .gltf with a .bin beside it)"""

    bl_idname = "cadence.export_gltf"
    bl_label = "Export glTF"
    bl_options = {'REGISTER'}

    filename_ext = ".glb"
    filter_glob: bpy.props.StringProperty(default="*.glb;*.gltf", options={'HIDDEN'})
    check_extension = None  # .glb and .gltf are both fine: the extension picks the format

    def execute(self, context: bpy.types.Context) -> set[str]:
        obj = context.active_object
        problem = export_problem(obj)
        path = bpy.path.abspath(self.filepath) if self.filepath else ""
        try:
            if problem or not path:
                raise ExportError(problem or "no output file given")
            written = export_gltf(path, animation_name=obj.animation_data.action.name)
        except ExportError as exc:
            self.report({'ERROR'}, str(exc))
            return {'CANCELLED'}
        self.report({'INFO'}, f"Exported {obj.name!r} ({obj.animation_data.action.name!r}) to {written}")
        return {'FINISHED'}


def menu_export(self, context) -> None:
    """File > Export entries (appended by registration.py)."""
    self.layout.operator(CADENCE_OT_export_bvh.bl_idname, text="Cadence Animation (.bvh)")
    self.layout.operator(CADENCE_OT_export_gltf.bl_idname, text="Cadence Animation (.glb/.gltf)")


classes = (CADENCE_OT_export_bvh, CADENCE_OT_export_gltf)
