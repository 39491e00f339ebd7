"""Operator: bake the scene's motion file (``scene.cadence.motion_path``) onto the
target armature, building the canonical rig when there is none."""
import bpy

from ..blender.bake_file import MotionFileError, bake_motion_file
from ..blender.scene import scene_fps


class CADENCE_OT_bake_motion_file(bpy.types.Operator):
    """Bake the motion file onto the target armature (a new Cadence rig if none)"""

    bl_idname = "cadence.bake_motion_file"
    bl_label = "Bake Motion File"
    bl_options = {'REGISTER', 'UNDO'}

    update_scene: bpy.props.BoolProperty(
        name="Update Scene Range",
        description="Set the scene's frame range to the baked motion",
        default=True,
    )

    def execute(self, context: bpy.types.Context) -> set[str]:
        settings = context.scene.cadence
        try:
            result = bake_motion_file(bpy.path.abspath(settings.motion_path),
                                      fps=scene_fps(context.scene), target=settings.target,
                                      update_scene=self.update_scene)
        except (MotionFileError, ValueError) as exc:
            self.report({'ERROR'}, str(exc))
            return {'CANCELLED'}
        if result.built_armature:
            settings.target = result.armature
        self.report({'INFO'}, f"Baked {result.motion.num_frames} frames onto "
                              f"{result.armature.name!r} as action {result.action.name!r}")
        return {'FINISHED'}
