"""The panel's Targets list: add and remove an object to look at or reach for
(``scene.cadence.targets``; applied by Generate, ``blender/object_targets.py``).

Both change data, so both are REGISTER + UNDO. A new target takes the active object
when it is not the character itself, and frames inside the timeline.
"""
import bpy

from ..blender.object_targets import timeline_frames
from ..blender.panel_settings import effective_target, settings_of
from ..blender.scene import scene_fps
from ..timeline_properties import TARGET_KIND_ITEMS
from .list_items import remove_active

LOOK_SECONDS = 2.0


class CADENCE_OT_target_add(bpy.types.Operator):
    """Add a target: an object the character looks at (over frames) or reaches for with a
    hand (at a frame); the active object is picked when it is not the character"""

    bl_idname = "cadence.target_add"
    bl_label = "Add Target"
    bl_options = {'REGISTER', 'UNDO'}

    kind: bpy.props.EnumProperty(name="Kind", items=TARGET_KIND_ITEMS, default='LOOK_AT',
                                 description="Look at the object, or reach it with a hand")

    def execute(self, context):
        settings = settings_of(context)
        scene = context.scene
        item = settings.targets.add()
        item.kind = self.kind
        obj = context.active_object
        character = effective_target(context)
        if obj is not None and obj != character and obj.type != 'ARMATURE':
            item.target = obj
        first, last = timeline_frames(settings, scene) or (scene.frame_start, scene.frame_end)
        current = min(max(scene.frame_current, first), last)
        if self.kind == 'LOOK_AT':
            length = int(round(LOOK_SECONDS * scene_fps(scene)))
            item.frame_start = max(first, min(current, last - 1))
            item.frame_end = min(last, item.frame_start + length)
        else:
            item.frame_start = current
        settings.active_target_index = len(settings.targets) - 1
        return {'FINISHED'}


class CADENCE_OT_target_remove(bpy.types.Operator):
    """Remove the selected target"""

    bl_idname = "cadence.target_remove"
    bl_label = "Remove Target"
    bl_options = {'REGISTER', 'UNDO'}

    @classmethod
    def poll(cls, context):
        return len(context.scene.cadence.targets) > 0

    def execute(self, context):
        removed = remove_active(settings_of(context), "targets", "active_target_index")
        return {'FINISHED'} if removed else {'CANCELLED'}


classes = (CADENCE_OT_target_add, CADENCE_OT_target_remove)
