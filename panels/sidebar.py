"""The Cadence tab in the 3D viewport's sidebar (N panel).

Panels: Cadence (target armature, rig type and mapping, face mesh) with Bone Map
(review/edit), Timeline (tracks and prompts), Targets (objects to look at or reach for),
Emotion & Style (sliders from the model,
strengths), Generate (seed, variations, progress, variations stepper, Bake, Clear,
summary) with Retarget options, and Speech (audio and the face/gesture buttons when
their models are installed). ``draw`` only lays out what ``panels/logic.py`` computes.
"""
import bpy

from ..blender import speech_input
from ..blender.object_targets import LABELS, targets_problem
from ..blender.panel_settings import effective_target, model_info
from ..blender.preview_action import has_preview
from ..blender.sliders import request_slider_sync, sliders_in_sync
from ..blender.timeline_build import segment_label, timeline_problem
from . import logic

CATEGORY = "Cadence"


def _placeholder(text: str) -> dict:
    """``placeholder=`` for text fields where this Blender's UILayout.prop takes it."""
    params = bpy.types.UILayout.bl_rna.functions["prop"].parameters
    return {"placeholder": text} if "placeholder" in params else {}


def _reason(layout: bpy.types.UILayout, state: "logic.ButtonState") -> None:
    if not state.enabled and state.reason:
        col = layout.column(align=True)
        col.scale_y = 0.8
        col.label(text=state.reason, icon='INFO')


class _CadencePanel:
    bl_space_type = 'VIEW_3D'
    bl_region_type = 'UI'
    bl_category = CATEGORY


class CADENCE_PT_main(_CadencePanel, bpy.types.Panel):
    bl_label = "Cadence"
    bl_idname = "CADENCE_PT_main"

    def draw(self, context):
        layout = self.layout
        settings = context.scene.cadence
        col = layout.column()
        col.prop(settings, "target", icon='OUTLINER_OB_ARMATURE')
        for text, icon in logic.target_lines(context):
            col.label(text=text, icon=icon)
        obj = effective_target(context)
        if obj is None:
            col.operator("cadence.add_rig", icon='ARMATURE_DATA')
        else:
            row = col.row(align=True)
            row.context_pointer_set("active_object", obj)
            row.operator("cadence.detect_bone_map", text="Check Rig", icon='VIEWZOOM')
            row.operator("cadence.load_bone_map", text="Load", icon='IMPORT')
            row.operator("cadence.save_bone_map", text="Save", icon='EXPORT')
        col.separator()
        col.prop(settings, "face_mesh", icon='SHAPEKEY_DATA')
        line = logic.face_meshes_line(context)
        if line is not None:
            col.label(text=line[0], icon=line[1])


class CADENCE_PT_bone_map(_CadencePanel, bpy.types.Panel):
    bl_label = "Bone Map"
    bl_idname = "CADENCE_PT_bone_map"
    bl_parent_id = "CADENCE_PT_main"
    bl_options = {'DEFAULT_CLOSED'}

    def draw(self, context):
        layout = self.layout
        obj = effective_target(context)
        rows = logic.bone_map_rows(obj) if obj is not None else []
        if not rows:
            layout.label(text="Check Rig to review and edit the bone map", icon='INFO')
            return
        box = layout.column(align=True)
        for line in logic.bone_map_summary(obj):
            box.label(text=line, icon='INFO' if line[0].isdigit() else 'QUESTION')
        col = layout.column(align=True)
        for joint, bone, icon in rows:
            row = col.row(align=True)
            split = row.split(factor=0.45, align=True)
            split.label(text=joint.replace("_", " ").title(), icon=icon)
            split.label(text=bone or "(unmapped)", icon='BONE_DATA' if bone else 'BLANK1')
            op = row.operator("cadence.edit_bone_map_entry", text="", icon='GREASEPENCIL')
            op.joint, op.bone = joint, bone
        layout.operator("cadence.save_bone_map", text="Save as Preset", icon='EXPORT')


class CADENCE_UL_tracks(bpy.types.UIList):
    """Timeline tracks"""

    def draw_item(self, context, layout, data, item, icon, active_data, active_property, index=0, flt_flag=0):
        row = layout.row(align=True)
        row.prop(item, "name", text="", emboss=False, icon='SEQUENCE')
        row.label(text=f"{len(item.segments)}")
        row.prop(item, "mute", text="", emboss=False, icon='HIDE_ON' if item.mute else 'HIDE_OFF')


class CADENCE_UL_segments(bpy.types.UIList):
    """Prompts of the active track"""

    def draw_item(self, context, layout, data, item, icon, active_data, active_property, index=0, flt_flag=0):
        row = layout.row(align=True)
        row.prop(item, "text", text="", emboss=False, **_placeholder("Describe the motion"),
                 icon='OUTLINER_DATA_GP_LAYER' if item.text else 'ERROR')
        sub = row.row(align=True)
        sub.alignment = 'RIGHT'
        if item.path is not None:
            sub.label(text="", icon='CURVE_PATH')
        sub.label(text=f"{item.frame_start}-{item.frame_end}")
        row.prop(item, "mute", text="", emboss=False, icon='HIDE_ON' if item.mute else 'HIDE_OFF')


class CADENCE_PT_timeline(_CadencePanel, bpy.types.Panel):
    bl_label = "Timeline"
    bl_idname = "CADENCE_PT_timeline"

    def draw(self, context):
        layout = self.layout
        settings = context.scene.cadence
        col = _list_with_buttons(layout, "CADENCE_UL_tracks", settings, "tracks", "active_track_index", 2)
        col.operator("cadence.track_add", text="", icon='ADD')
        col.operator("cadence.track_remove", text="", icon='REMOVE')
        _move_buttons(col, "cadence.track_move")
        if not len(settings.tracks):
            layout.operator("cadence.segment_add", text="Add Prompt", icon='ADD')
            return
        track = settings.tracks[min(settings.active_track_index, len(settings.tracks) - 1)]
        col = _list_with_buttons(layout, "CADENCE_UL_segments", track, "segments", "active_segment_index", 3)
        col.operator("cadence.segment_add", text="", icon='ADD')
        col.operator("cadence.segment_remove", text="", icon='REMOVE')
        col.operator("cadence.segment_duplicate", text="", icon='DUPLICATE')
        _move_buttons(col, "cadence.segment_move")
        if not len(track.segments):
            return
        seg = track.segments[min(track.active_segment_index, len(track.segments) - 1)]
        box = layout.box()
        box.prop(seg, "text", text="", **_placeholder("e.g. walks forward, then waves"))
        row = box.row(align=True)
        row.prop(seg, "frame_start")
        row.prop(seg, "frame_end")
        row.operator("cadence.segment_from_frame_range", text="", icon='PREVIEW_RANGE')
        box.label(text=f"{logic.segment_frames_label(seg, context.scene)}, {segment_label(seg)}", icon='TIME')
        grid = box.grid_flow(columns=3, even_columns=True, align=True)
        grid.prop(seg, "parts")
        box.prop(seg, "path", icon='CURVE_PATH')
        if seg.path is not None:
            box.prop(seg, "path_facing", icon='EMPTY_SINGLE_ARROW')
        walk = logic.segment_path_line(seg, context.scene)
        if walk is not None:
            box.label(text=walk[0], icon=walk[1])
        box.prop(seg, "use_style")
        if seg.use_style:
            _sliders(box, seg.styles, context)
        if logic.progress_state() is None and has_preview(settings):
            regen = logic.regenerate_state(context)
            row = box.row()
            row.enabled = regen.enabled
            op = row.operator("cadence.generate", text="Regenerate This Prompt", icon='FILE_REFRESH')
            op.only_active = True
            _reason(box, regen)
        problem = timeline_problem(context)
        if problem:
            layout.label(text=logic._sentence(problem), icon='ERROR')


class CADENCE_UL_targets(bpy.types.UIList):
    """Objects the character looks at or reaches for"""

    def draw_item(self, context, layout, data, item, icon, active_data, active_property, index=0, flt_flag=0):
        row = layout.row(align=True)
        name = item.target.name if item.target is not None else "(no object)"
        row.label(text=f"{LABELS[item.kind]}: {name}",
                  icon='HIDE_OFF' if item.kind == 'LOOK_AT' else 'VIEW_PAN')
        sub = row.row(align=True)
        sub.alignment = 'RIGHT'
        sub.label(text=f"{item.frame_start}-{item.frame_end}" if item.kind == 'LOOK_AT' else f"{item.frame_start}")
        row.prop(item, "mute", text="", emboss=False, icon='HIDE_ON' if item.mute else 'HIDE_OFF')


class CADENCE_PT_targets(_CadencePanel, bpy.types.Panel):
    bl_label = "Targets"
    bl_idname = "CADENCE_PT_targets"

    def draw(self, context):
        layout = self.layout
        settings = context.scene.cadence
        col = _list_with_buttons(layout, "CADENCE_UL_targets", settings, "targets", "active_target_index", 2)
        col.operator_menu_enum("cadence.target_add", "kind", text="", icon='ADD')
        col.operator("cadence.target_remove", text="", icon='REMOVE')
        if not len(settings.targets):
            layout.label(text="Look at or reach for an object (Empty, Camera...)", icon='INFO')
            return
        item = settings.targets[min(settings.active_target_index, len(settings.targets) - 1)]
        box = layout.box()
        box.prop(item, "kind", text="")
        box.prop(item, "target", icon='OBJECT_DATA')
        row = box.row(align=True)
        if item.kind == 'LOOK_AT':
            row.prop(item, "frame_start", text="Start")
            row.prop(item, "frame_end")
        else:
            row.prop(item, "frame_start")
        problem = targets_problem(context)
        if problem:
            layout.label(text=logic._sentence(problem), icon='ERROR')


def _list_with_buttons(layout, list_type: str, owner, collection: str, index: str, rows: int):
    """A panel list with the column beside it for its buttons (returned, to fill)."""
    row = layout.row()
    row.template_list(list_type, "", owner, collection, owner, index, rows=rows)
    return row.column(align=True)


def _move_buttons(col, operator: str) -> None:
    col.separator()
    col.operator(operator, text="", icon='TRIA_UP').direction = 'UP'
    col.operator(operator, text="", icon='TRIA_DOWN').direction = 'DOWN'


def _sliders(layout, collection, context) -> None:
    if not len(collection):
        info = model_info(context)
        layout.label(text=info.problem if not info.available else "Loading the sliders...", icon='INFO')
    col = layout.column(align=True)
    for slider in collection:
        col.prop(slider, "value", text=slider.name.replace("-", " ").title(), slider=True)


class CADENCE_PT_style(_CadencePanel, bpy.types.Panel):
    bl_label = "Emotion & Style"
    bl_idname = "CADENCE_PT_style"

    def draw(self, context):
        layout = self.layout
        settings = context.scene.cadence
        if not sliders_in_sync(context):
            request_slider_sync(context)
        _sliders(layout, settings.styles, context)
        layout.operator("cadence.reset_styles", icon='LOOP_BACK')
        col = layout.column(align=True)
        col.use_property_split = True
        col.prop(settings, "text_guidance")
        col.prop(settings, "style_guidance")
        col.prop(settings, "fast_preview")
        col.prop(settings, "steps")


class CADENCE_PT_generate(_CadencePanel, bpy.types.Panel):
    bl_label = "Generate"
    bl_idname = "CADENCE_PT_generate"

    def draw(self, context):
        layout = self.layout
        settings = context.scene.cadence
        row = layout.row(align=True)
        row.prop(settings, "seed")
        row.operator("cadence.randomize_seed", text="", icon='FILE_REFRESH')
        layout.prop(settings, "variations")

        progress = logic.progress_state()
        state = logic.generate_state(context)
        if progress is not None:
            row = layout.row(align=True)
            row.progress(factor=progress[0], type='BAR', text=progress[1])
            row.operator("cadence.cancel_generation", text="", icon='CANCEL')
        else:
            row = layout.row()
            row.scale_y = 1.5
            row.enabled = state.enabled
            row.operator("cadence.generate", icon='ARMATURE_DATA')
            _reason(layout, state)

        step, label = logic.variation_state(context)
        if settings.result.variations > 1:
            row = layout.row(align=True)
            sub = row.row(align=True)
            sub.enabled = step.enabled
            sub.operator("cadence.step_variation", text="", icon='TRIA_LEFT').direction = -1
            row.label(text=label)
            sub = row.row(align=True)
            sub.enabled = step.enabled
            sub.operator("cadence.step_variation", text="", icon='TRIA_RIGHT').direction = 1
            _reason(layout, step)

        col = layout.column(align=True)
        col.prop(settings, "bake_name", icon='ACTION')
        col.prop(settings, "bake_nla", icon='NLA')
        row = layout.row(align=True)
        bake = logic.bake_state(context)
        sub = row.row(align=True)
        sub.enabled = bake.enabled
        sub.operator("cadence.bake", icon='KEYINGSET')
        clear = logic.clear_state(context)
        sub = row.row(align=True)
        sub.enabled = clear.enabled
        sub.operator("cadence.clear_preview", icon='X')
        if progress is None and state.enabled:
            _reason(layout, bake)

        lines = logic.summary_lines(context)
        if lines:
            box = layout.box()
            col = box.column(align=True)
            col.scale_y = 0.8
            for i, line in enumerate(lines):
                col.label(text=line, icon='INFO' if i == 0 else 'BLANK1')


class CADENCE_PT_retarget_options(_CadencePanel, bpy.types.Panel):
    bl_label = "Retarget"
    bl_idname = "CADENCE_PT_retarget_options"
    bl_parent_id = "CADENCE_PT_generate"
    bl_options = {'DEFAULT_CLOSED'}

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        settings = context.scene.cadence
        layout.prop(settings, "root_motion")
        layout.prop(settings, "foot_cleanup")
        layout.prop(settings, "allow_driven")
        layout.prop(settings, "play_preview")


class CADENCE_PT_speech(_CadencePanel, bpy.types.Panel):
    bl_label = "Speech"
    bl_idname = "CADENCE_PT_speech"
    bl_options = {'DEFAULT_CLOSED'}

    def draw(self, context):
        layout = self.layout
        settings = context.scene.cadence
        layout.row().prop(settings, "audio_source", expand=True)
        if settings.audio_source == 'FILE':
            layout.prop(settings, "audio_path", text="", icon='SOUND')
        elif context.scene.sequence_editor is not None:
            editor = context.scene.sequence_editor
            layout.prop_search(settings, "audio_strip", editor,
                               "strips_all" if hasattr(editor, "strips_all") else "sequences_all",
                               text="", icon='SPEAKER')
        else:
            layout.label(text="No sound strips: add one in the Video Sequencer", icon='INFO')
        problem = speech_input.speech_audio_problem(context)
        if problem:
            layout.label(text=logic._sentence(problem), icon='INFO')
        if len(settings.speech_emotions):
            layout.label(text="Emotion")
            col = layout.column(align=True)
            for slider in settings.speech_emotions:
                col.prop(slider, "value", text=slider.name.title(), slider=True)
        actions = speech_input.available_speech_actions(context)
        shown = {action.idname for action, _ in actions}
        if "cadence.generate_face" in shown:
            layout.prop(settings, "face_method")
        if shown & {"cadence.generate_face", "cadence.generate_gestures"}:
            layout.prop(settings, "speech_transcript", icon='TEXT')
        if "cadence.generate_gestures" in shown:
            target = effective_target(context)        # its part in the dialogue, stored on it
            if target is not None:
                layout.row().prop(target, "cadence_gesture_mode", expand=True)
            if target is None or target.cadence_gesture_mode == 'SPEAKING':
                layout.prop(settings, "gesture_semantic", slider=True)
        if not actions:
            layout.label(text="Face and gesture models are not installed", icon='INFO')
        for action, reason in actions:
            row = layout.row()
            row.enabled = reason is None
            # the panel provides the audio; gestures invoke (a worker thread, Esc cancels)
            row.operator_context = 'INVOKE_DEFAULT' if action.invoke else 'EXEC_DEFAULT'
            obj = speech_input.action_object(context, action)
            if obj is not None:
                row.context_pointer_set("active_object", obj)
                row.context_pointer_set("object", obj)
            op = row.operator(action.idname, text=action.label, icon=action.icon)
            for key, value in speech_input.operator_values(context, action).items():
                setattr(op, key, value)
            if action.idname == "cadence.generate_face" and reason is None:
                line = logic.face_meshes_line(context)          # which meshes it will drive
                if line is not None:
                    layout.label(text=line[0], icon=line[1])
            if reason:
                _reason(layout, logic.ButtonState(False, logic._sentence(reason)))


classes = (CADENCE_UL_tracks, CADENCE_UL_segments, CADENCE_UL_targets, CADENCE_PT_main, CADENCE_PT_bone_map,
           CADENCE_PT_timeline, CADENCE_PT_targets, CADENCE_PT_style, CADENCE_PT_generate, CADENCE_PT_retarget_options,
           CADENCE_PT_speech)
