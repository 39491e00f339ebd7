"""Editing the panel's timeline and sliders: tracks and prompts (add, remove, duplicate,
reorder, set from the frame range), seed dice, slider reset, bone-map entry dialog.

Every operator changes data, so all are REGISTER + UNDO. New prompts snap to whole
scene frames and start where the track's last prompt ends (else at the scene's start).
"""
import random

import bpy

from ..blender.panel_settings import effective_target, model_info, settings_of
from ..blender.scene import scene_fps
from ..blender.sliders import reset_sliders, sync_scene_sliders
from .list_items import move_active, remove_active

DEFAULT_PROMPT_SECONDS = 4.0


def _active_track(settings):
    if not len(settings.tracks):
        return None
    settings.active_track_index = min(settings.active_track_index, len(settings.tracks) - 1)
    return settings.tracks[settings.active_track_index]


def _active_segment(settings):
    track = _active_track(settings)
    if track is None or not len(track.segments):
        return None
    track.active_segment_index = min(track.active_segment_index, len(track.segments) - 1)
    return track.segments[track.active_segment_index]


def new_track(settings):
    track = settings.tracks.add()
    track.name = f"Track {len(settings.tracks)}"
    settings.active_track_index = len(settings.tracks) - 1
    return track


def new_segment(track, scene: bpy.types.Scene, text: str = "", length: int | None = None):
    """A prompt after the track's last one (or at the scene's start), ``length`` frames
    (default 4 s at the scene's rate), kept inside the scene's range when it fits."""
    fps = scene_fps(scene)
    length = max(1, length or int(round(DEFAULT_PROMPT_SECONDS * fps)))
    start = max([scene.frame_start] + [s.frame_end for s in track.segments])
    end = start + length
    if start < scene.frame_end < end:
        end = scene.frame_end
    seg = track.segments.add()
    seg.text, seg.frame_start, seg.frame_end = text, start, end
    track.active_segment_index = len(track.segments) - 1
    return seg


def copy_segment(src, dst) -> None:
    # The path stays with the original: one prompt per generation may walk a path.
    dst.text, dst.frame_start, dst.frame_end = src.text, src.frame_start, src.frame_end
    dst.parts, dst.mute = set(src.parts), src.mute
    dst.styles.clear()
    for s in src.styles:
        item = dst.styles.add()
        item.name, item.value = s.name, s.value
    dst.use_style = src.use_style


class _ActiveSegmentOperator(bpy.types.Operator):
    """Base of the operators that act on the active prompt: available only when there is one."""

    @classmethod
    def poll(cls, context):
        return _active_segment_readonly(context) is not None


class CADENCE_OT_track_add(bpy.types.Operator):
    """Add a timeline track with one prompt (prompts on different tracks may overlap in time)"""

    bl_idname = "cadence.track_add"
    bl_label = "Add Track"
    bl_options = {'REGISTER', 'UNDO'}

    def execute(self, context):
        settings = settings_of(context)
        new_segment(new_track(settings), context.scene)
        return {'FINISHED'}


class CADENCE_OT_track_remove(bpy.types.Operator):
    """Remove the active track and its prompts"""

    bl_idname = "cadence.track_remove"
    bl_label = "Remove Track"
    bl_options = {'REGISTER', 'UNDO'}

    @classmethod
    def poll(cls, context):
        return len(context.scene.cadence.tracks) > 0

    def execute(self, context):
        removed = remove_active(settings_of(context), "tracks", "active_track_index")
        return {'FINISHED'} if removed else {'CANCELLED'}


class CADENCE_OT_track_move(bpy.types.Operator):
    """Move the active track up or down (on shared body parts, the later track wins ties)"""

    bl_idname = "cadence.track_move"
    bl_label = "Move Track"
    bl_options = {'REGISTER', 'UNDO'}

    direction: bpy.props.EnumProperty(
        name="Direction", items=(('UP', "Up", "Move up"), ('DOWN', "Down", "Move down")),
        description="Where to move the track")

    @classmethod
    def poll(cls, context):
        return len(context.scene.cadence.tracks) > 1

    def execute(self, context):
        moved = move_active(settings_of(context), "tracks", "active_track_index", self.direction)
        return {'FINISHED'} if moved else {'CANCELLED'}


class CADENCE_OT_segment_add(bpy.types.Operator):
    """Add a prompt to the active track, after its last prompt"""

    bl_idname = "cadence.segment_add"
    bl_label = "Add Prompt"
    bl_options = {'REGISTER', 'UNDO'}

    text: bpy.props.StringProperty(name="Prompt", default="", options={'SKIP_SAVE'},
                                   description="What the character does")

    def execute(self, context):
        settings = settings_of(context)
        track = _active_track(settings) or new_track(settings)
        new_segment(track, context.scene, self.text)
        return {'FINISHED'}


class CADENCE_OT_segment_remove(_ActiveSegmentOperator):
    """Remove the active prompt"""

    bl_idname = "cadence.segment_remove"
    bl_label = "Remove Prompt"
    bl_options = {'REGISTER', 'UNDO'}

    def execute(self, context):
        track = _active_track(settings_of(context))
        removed = track is not None and remove_active(track, "segments", "active_segment_index")
        return {'FINISHED'} if removed else {'CANCELLED'}


class CADENCE_OT_segment_duplicate(_ActiveSegmentOperator):
    """Duplicate the active prompt after the track's last prompt"""

    bl_idname = "cadence.segment_duplicate"
    bl_label = "Duplicate Prompt"
    bl_options = {'REGISTER', 'UNDO'}

    def execute(self, context):
        settings = settings_of(context)
        src = _active_segment(settings)
        if src is None:
            return {'CANCELLED'}
        track = _active_track(settings)
        length = src.frame_end - src.frame_start
        start = max(s.frame_end for s in track.segments)
        dst = track.segments.add()
        copy_segment(src, dst)
        dst.frame_start, dst.frame_end = start, start + max(1, length)
        track.active_segment_index = len(track.segments) - 1
        return {'FINISHED'}


class CADENCE_OT_segment_move(bpy.types.Operator):
    """Move the active prompt up or down in the list (its frames decide when it plays)"""

    bl_idname = "cadence.segment_move"
    bl_label = "Move Prompt"
    bl_options = {'REGISTER', 'UNDO'}

    direction: bpy.props.EnumProperty(
        name="Direction", items=(('UP', "Up", "Move up"), ('DOWN', "Down", "Move down")),
        description="Where to move the prompt")

    @classmethod
    def poll(cls, context):
        track = _active_track_readonly(context)
        return track is not None and len(track.segments) > 1

    def execute(self, context):
        track = _active_track(settings_of(context))
        moved = move_active(track, "segments", "active_segment_index", self.direction)
        return {'FINISHED'} if moved else {'CANCELLED'}


class CADENCE_OT_segment_from_frame_range(_ActiveSegmentOperator):
    """Set the active prompt's start and end to the scene's frame range (the preview range when it is on)"""

    bl_idname = "cadence.segment_from_frame_range"
    bl_label = "Set from Frame Range"
    bl_options = {'REGISTER', 'UNDO'}

    def execute(self, context):
        scene = context.scene
        seg = _active_segment(settings_of(context))
        if seg is None:
            return {'CANCELLED'}
        if scene.use_preview_range:
            seg.frame_start, seg.frame_end = scene.frame_preview_start, scene.frame_preview_end
        else:
            seg.frame_start, seg.frame_end = scene.frame_start, scene.frame_end
        return {'FINISHED'}


class CADENCE_OT_randomize_seed(bpy.types.Operator):
    """Roll a new random seed: another performance of the same prompts"""

    bl_idname = "cadence.randomize_seed"
    bl_label = "Random Seed"
    bl_options = {'REGISTER', 'UNDO'}

    def execute(self, context):
        settings = settings_of(context)
        old = settings.seed
        while settings.seed == old:
            settings.seed = random.randrange(100000)
        return {'FINISHED'}


class CADENCE_OT_reset_styles(bpy.types.Operator):
    """Set every emotion/style slider to 0 and the strengths and steps to the model's defaults"""

    bl_idname = "cadence.reset_styles"
    bl_label = "Reset Sliders"
    bl_options = {'REGISTER', 'UNDO'}

    def execute(self, context):
        reset_sliders(context)
        return {'FINISHED'}


class CADENCE_OT_sync_styles(bpy.types.Operator):
    """Bring the sliders in line with the styles the installed model knows"""

    bl_idname = "cadence.sync_styles"
    bl_label = "Update Sliders"
    bl_options = {'REGISTER', 'UNDO'}

    def execute(self, context):
        info = model_info(context)
        sync_scene_sliders(context)
        if not info.available:
            self.report({'WARNING'}, info.problem)
        return {'FINISHED'}


class CADENCE_OT_edit_bone_map_entry(bpy.types.Operator):
    """Choose the bone of the target armature that a canonical joint drives (empty: unmapped)"""

    bl_idname = "cadence.edit_bone_map_entry"
    bl_label = "Edit Bone Map Entry"
    bl_options = {'REGISTER', 'UNDO'}

    joint: bpy.props.StringProperty(name="Joint", description="Canonical (SMPL-X) joint name")
    bone: bpy.props.StringProperty(name="Bone", description="Bone of the armature; empty unmaps the joint")

    def invoke(self, context, event):
        obj = effective_target(context)
        if obj is None:
            self.report({'ERROR'}, "No target armature")
            return {'CANCELLED'}
        return context.window_manager.invoke_props_dialog(self)

    def draw(self, context):
        obj = effective_target(context)
        self.layout.label(text=self.joint.replace("_", " ").title())
        if obj is not None:
            self.layout.prop_search(self, "bone", obj.data, "bones", text="Bone")

    def execute(self, context):
        obj = effective_target(context)
        if obj is None:
            self.report({'ERROR'}, "No target armature")
            return {'CANCELLED'}
        with context.temp_override(active_object=obj, object=obj):
            try:
                bpy.ops.cadence.set_bone_map_entry(joint=self.joint, bone=self.bone)
            except RuntimeError as exc:
                self.report({'ERROR'}, str(exc).removeprefix("Error: ").strip())
                return {'CANCELLED'}
        return {'FINISHED'}


def _active_track_readonly(context):
    settings = context.scene.cadence
    if not len(settings.tracks):
        return None
    return settings.tracks[min(settings.active_track_index, len(settings.tracks) - 1)]


def _active_segment_readonly(context):
    track = _active_track_readonly(context)
    if track is None or not len(track.segments):
        return None
    return track.segments[min(track.active_segment_index, len(track.segments) - 1)]


classes = (CADENCE_OT_track_add, CADENCE_OT_track_remove, CADENCE_OT_track_move,
           CADENCE_OT_segment_add, CADENCE_OT_segment_remove, CADENCE_OT_segment_duplicate,
           CADENCE_OT_segment_move, CADENCE_OT_segment_from_frame_range, CADENCE_OT_randomize_seed,
           CADENCE_OT_reset_styles, CADENCE_OT_sync_styles, CADENCE_OT_edit_bone_map_entry)
