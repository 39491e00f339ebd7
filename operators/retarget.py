"""Operators for retargeting onto the user's armature: retarget the motion file, detect
the bone map (stored on the armature for review), load a preset into it, save it as a
preset. Thin wrappers over ``blender/rig_retarget.py`` and ``blender/presets.py``."""
import bpy

from ..blender.bake_file import MotionFileError
from ..blender.presets import available_presets, load_preset, save_preset
from ..blender.rig_retarget import (
    RigError,
    armature_problem,
    automatic_bone_map,
    current_bone_map,
    retarget_motion_file,
    store_bone_map,
)
from ..blender.scene import scene_fps
from ..motion.canonical_to_rig import RetargetOptions

ROOT_MOTION_ITEMS = (
    ('hips', "Hips", "The hips bone carries the travel"),
    ('root', "Root Bone", "A ground-level root bone carries the travel on the floor; the hips "
                          "carry the height"),
    ('in_place', "In Place", "The character stays in place (sway kept)"),
)


def _preset_items(_self, _context):
    return [(name, name, f"Bone map preset {name}") for name in sorted(available_presets())] or [
        ('NONE', "None", "No presets")]


class CADENCE_OT_retarget_motion(bpy.types.Operator):
    """Retarget the motion file onto the active armature (its stored bone map, a preset, or automatic matching)"""

    bl_idname = "cadence.retarget_motion"
    bl_label = "Retarget Motion onto Rig"
    bl_options = {'REGISTER', 'UNDO'}

    root_motion: bpy.props.EnumProperty(name="Root Motion", items=ROOT_MOTION_ITEMS, default='hips')
    bone_map: bpy.props.StringProperty(
        name="Bone Map", description="Preset name or bone-map JSON file; empty: the map stored "
                                     "on the armature, else automatic matching")
    foot_cleanup: bpy.props.BoolProperty(
        name="Clean Foot Contacts", default=True,
        description="Keep planted feet from sliding, floating or sinking (leg IK while the "
                    "source foot is planted)")
    allow_driven: bpy.props.BoolProperty(
        name="Allow Driven Bones", default=False,
        description="Bake even when constraints or drivers act on the bones the motion drives")
    update_scene: bpy.props.BoolProperty(
        name="Update Scene Range", default=True,
        description="Set the scene's frame range and rate to the motion")

    def execute(self, context: bpy.types.Context) -> set[str]:
        settings = context.scene.cadence
        obj = context.active_object
        try:
            bone_map = load_preset(self.bone_map) if self.bone_map.strip() else None
            result = retarget_motion_file(
                bpy.path.abspath(settings.motion_path), fps=scene_fps(context.scene), obj=obj,
                bone_map=bone_map, options=RetargetOptions(root_motion=self.root_motion,
                                                        foot_cleanup=self.foot_cleanup),
                allow_driven=self.allow_driven, update_scene=self.update_scene)
        except (MotionFileError, RigError, ValueError) as exc:
            self.report({'ERROR'}, str(exc))
            return {'CANCELLED'}
        for note in result.notes:
            self.report({'WARNING'}, note)
        self.report({'INFO'}, f"Retargeted {result.pose.num_frames} frames onto {obj.name!r} "
                              f"({result.bone_map.convention}, {len(result.bone_map.bones)} bones "
                              f"mapped) as action {result.action.name!r}")
        return {'FINISHED'}


class CADENCE_OT_detect_bone_map(bpy.types.Operator):
    """Check Rig: match the active armature's bones to the body (by name, then by limb shape) and store the map on the armature for review before anything is baked"""

    bl_idname = "cadence.detect_bone_map"
    bl_label = "Check Rig"
    bl_options = {'REGISTER', 'UNDO'}

    def execute(self, context: bpy.types.Context) -> set[str]:
        obj = context.active_object
        try:
            problem = armature_problem(obj)
            if problem:
                raise RigError(problem)
            bone_map = store_bone_map(obj, automatic_bone_map(obj))
        except (RigError, ValueError) as exc:
            self.report({'ERROR'}, str(exc))
            return {'CANCELLED'}
        for note in bone_map.notes:
            self.report({'INFO'}, note)
        summary = bone_map.summary()
        self.report({'WARNING'} if len(summary) > 1 else {'INFO'},
                    f"{obj.name!r}: " + "; ".join(summary) + f"; {len(bone_map.bones)} bones in all, "
                    "stored on the armature for review (Bone Map panel)")
        return {'FINISHED'}


class CADENCE_OT_load_bone_map(bpy.types.Operator):
    """Load a bone-map preset onto the active armature (stored there for review and retargeting)"""

    bl_idname = "cadence.load_bone_map"
    bl_label = "Load Bone Map Preset"
    bl_options = {'REGISTER', 'UNDO'}
    bl_property = "preset"

    preset: bpy.props.EnumProperty(name="Preset", items=_preset_items)

    def invoke(self, context, event):
        context.window_manager.invoke_search_popup(self)
        return {'RUNNING_MODAL'}

    def execute(self, context: bpy.types.Context) -> set[str]:
        obj = context.active_object
        try:
            bone_map = store_bone_map(obj, load_preset(self.preset))
        except (RigError, ValueError) as exc:
            self.report({'ERROR'}, str(exc))
            return {'CANCELLED'}
        for note in bone_map.notes[:5]:
            self.report({'WARNING'}, note)
        self.report({'INFO'}, f"{obj.name!r}: preset {self.preset!r}, {len(bone_map.bones)} bones mapped")
        return {'FINISHED'}


class CADENCE_OT_save_bone_map(bpy.types.Operator):
    """Save the active armature's bone map (stored or automatic) as a user preset"""

    bl_idname = "cadence.save_bone_map"
    bl_label = "Save Bone Map Preset"

    name: bpy.props.StringProperty(name="Name", description="Preset name")

    def invoke(self, context, event):
        if not self.name and context.active_object is not None:
            self.name = context.active_object.name
        return context.window_manager.invoke_props_dialog(self)

    def execute(self, context: bpy.types.Context) -> set[str]:
        try:
            path = save_preset(self.name, current_bone_map(context.active_object))
        except (RigError, ValueError, OSError) as exc:
            self.report({'ERROR'}, str(exc))
            return {'CANCELLED'}
        self.report({'INFO'}, f"Saved bone map preset {path.stem!r} to {path}")
        return {'FINISHED'}


class CADENCE_OT_set_bone_map_entry(bpy.types.Operator):
    """Map a canonical joint to a bone of the active armature (empty bone: unmap it); the edited map is stored on the armature"""

    bl_idname = "cadence.set_bone_map_entry"
    bl_label = "Set Bone Map Entry"
    bl_options = {'REGISTER', 'UNDO'}

    joint: bpy.props.StringProperty(name="Joint", description="Canonical (SMPL-X) joint name")
    bone: bpy.props.StringProperty(name="Bone", description="Bone of the armature; empty unmaps")

    def execute(self, context: bpy.types.Context) -> set[str]:
        obj = context.active_object
        try:
            bone_map = current_bone_map(obj)
            if self.bone and self.bone not in obj.data.bones:
                raise ValueError(f"{obj.name!r} has no bone {self.bone!r}")
            bone_map = store_bone_map(obj, bone_map.with_bone(self.joint, self.bone or None))
        except (RigError, ValueError) as exc:
            self.report({'ERROR'}, str(exc))
            return {'CANCELLED'}
        self.report({'INFO'}, f"{self.joint} -> {self.bone or 'unmapped'}")
        return {'FINISHED'}


classes = (CADENCE_OT_retarget_motion, CADENCE_OT_set_bone_map_entry, CADENCE_OT_detect_bone_map, CADENCE_OT_load_bone_map,
           CADENCE_OT_save_bone_map)
