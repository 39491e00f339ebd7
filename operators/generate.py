"""Generate, cancel, step through variations, bake, clear the preview, add a rig.

Thin operators over ``blender/prompt_generation.py``, ``blender/runs.py``,
``blender/preview_action.py`` and ``blender/bake_preview.py``. Generate from a button runs modally:
sampling happens in a worker thread on plain numpy data (``inference/runtime/jobs.py``); a
timer polls it, shows progress in the status bar (text) and the panel (a bar), and only
the main thread applies the result. Esc (or the panel's Cancel) stops it and leaves the scene as
it was. Called from a script (``bpy.ops.cadence.generate()``), it runs synchronously.
"""
import bpy

from ..blender.armature import build_armature
from ..blender.bake_preview import bake_preview
from ..blender.panel_settings import InputError, settings_of
from ..blender.preview_action import clear_preview, current_run, finish_run, show_variation
from ..blender.prompt_generation import generate_now, prepare_generation
from ..blender.runs import active_run, cancel_active, end_job, start_job


def _tag_redraw(context: bpy.types.Context) -> None:
    for window in context.window_manager.windows:
        for area in window.screen.areas:
            if area.type in {'VIEW_3D', 'PROPERTIES'}:
                area.tag_redraw()


def _report_result(op: bpy.types.Operator, context: bpy.types.Context) -> None:
    run = current_run(settings_of(context))
    for warning in (run.context.warnings if run is not None else []):
        op.report({'WARNING'}, _message(warning))
    r = settings_of(context).result
    more = f", {r.variations} variations" if r.variations > 1 else ""
    op.report({'INFO'}, f"Generated {r.seconds:.1f} s ({r.frames} frames) in {r.seconds_taken:.1f} s "
                        f"on {r.device}{more}: previewing on {settings_of(context).preview_object.name!r}")


class GenerateOperator:
    """What Generate, Generate Face and Generate Gestures share (run in a worker thread,
    poll with a timer, Esc cancels). A plain mixin: Blender cannot register a subclass of
    a registered operator class, so each operator combines this with bpy.types.Operator."""

    only_active: bpy.props.BoolProperty(
        name="Only the Active Prompt", default=False, options={'SKIP_SAVE'},
        description="Regenerate only the selected prompt (with a new seed), keeping the rest "
                    "of the motion on preview")

    _timer = None
    _job = None
    _run = None

    @classmethod
    def description(cls, context, properties):
        if properties.only_active:
            return ("Regenerate only the selected prompt with the seed and sliders, keeping the "
                    "rest of the previewed motion (Esc cancels)")
        return cls.__doc__

    def execute(self, context: bpy.types.Context) -> set[str]:
        """Synchronous: for scripts and tests (the same functions as the modal path)."""
        try:
            generate_now(context, self.only_active)
        except InputError as exc:
            self.report({'ERROR'}, str(exc))
            return {'CANCELLED'}
        except (ValueError, RuntimeError, OSError) as exc:  # weights, model, device: own message
            self.report({'ERROR'}, _message(exc))
            return {'CANCELLED'}
        _report_result(self, context)
        return {'FINISHED'}

    def invoke(self, context: bpy.types.Context, event: bpy.types.Event) -> set[str]:
        if context.window is None or bpy.app.background:
            return self.execute(context)
        try:
            spec, run = prepare_generation(context, self.only_active)
        except InputError as exc:
            self.report({'ERROR'}, str(exc))
            return {'CANCELLED'}
        self._run = run
        self._job = start_job(spec, run)
        wm = context.window_manager
        self._timer = wm.event_timer_add(0.1, window=context.window)
        wm.modal_handler_add(self)
        self._status(context, "Cadence: loading the model (Esc to cancel)")
        return {'RUNNING_MODAL'}

    def modal(self, context: bpy.types.Context, event: bpy.types.Event) -> set[str]:
        job = self._job
        if event.type == 'ESC' and event.value == 'PRESS':
            job.cancel()
        elif event.type != 'TIMER':
            return {'PASS_THROUGH'}
        if job.cancel_requested:
            # The worker stops after its current step and drops its result; nothing of
            # it reaches the scene.
            self._end(context)
            self.report({'INFO'}, "Generation cancelled; the scene is unchanged")
            return {'CANCELLED'}
        self._status(context, f"Cadence: {job.message}, {job.progress:.0%} "
                              f"({job.elapsed:.0f} s, Esc to cancel)")
        _tag_redraw(context)
        if not job.done:
            return {'PASS_THROUGH'}
        self._end(context)
        if job.cancelled:
            self.report({'INFO'}, "Generation cancelled; the scene is unchanged")
            return {'CANCELLED'}
        if job.error is not None:
            self.report({'ERROR'}, _message(job.error))
            return {'CANCELLED'}
        return self._finish(context, job.result)

    def _finish(self, context: bpy.types.Context, result) -> set[str]:
        """Main thread, the worker done: apply its result (subclasses apply theirs)."""
        try:
            finish_run(context, self._run, result)
        except InputError as exc:
            self.report({'ERROR'}, str(exc))
            return {'CANCELLED'}
        _report_result(self, context)
        return {'FINISHED'}

    def cancel(self, context: bpy.types.Context) -> None:  # window closed, file loaded
        if self._job is not None:
            self._job.cancel()
        self._end(context)

    def _end(self, context: bpy.types.Context) -> None:
        wm = context.window_manager
        if self._timer is not None:
            wm.event_timer_remove(self._timer)
            self._timer = None
        self._status(context, None)
        if self._job is not None:
            end_job(self._job)
        _tag_redraw(context)

    @staticmethod
    def _status(context: bpy.types.Context, text: str | None) -> None:
        workspace = getattr(context, "workspace", None)
        if workspace is not None:
            workspace.status_text_set(text)


def _message(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text[0].upper() + text[1:]


class CADENCE_OT_generate(GenerateOperator, bpy.types.Operator):
    """Generate motion for the timeline's prompts with the emotion/style sliders and preview it on the target (Esc cancels)"""

    bl_idname = "cadence.generate"
    bl_label = "Generate"
    bl_options = {'REGISTER', 'UNDO'}


class CADENCE_OT_cancel_generation(bpy.types.Operator):
    """Stop the running generation; the scene stays as it was"""

    bl_idname = "cadence.cancel_generation"
    bl_label = "Cancel Generation"

    @classmethod
    def poll(cls, context):
        return active_run() is not None

    def execute(self, context: bpy.types.Context) -> set[str]:
        cancel_active()
        return {'FINISHED'}


class CADENCE_OT_step_variation(bpy.types.Operator):
    """Show another variation of the last generation in the preview"""

    bl_idname = "cadence.step_variation"
    bl_label = "Step Variation"
    bl_options = {'REGISTER', 'UNDO'}

    direction: bpy.props.IntProperty(
        name="Direction", default=1, min=-1, max=1, options={'SKIP_SAVE'},
        description="1: next variation, -1: previous one")

    @classmethod
    def description(cls, context, properties):
        return "Show the next variation" if properties.direction >= 0 else "Show the previous variation"

    def execute(self, context: bpy.types.Context) -> set[str]:
        settings = settings_of(context)
        try:
            show_variation(context, settings.variation_index + (1 if self.direction >= 0 else -1))
        except InputError as exc:
            self.report({'ERROR'}, str(exc))
            return {'CANCELLED'}
        self.report({'INFO'}, f"Variation {settings.variation_index + 1} of {settings.result.variations} "
                              f"(seed {settings.result.seed + settings.variation_index})")
        return {'FINISHED'}


class CADENCE_OT_bake(bpy.types.Operator):
    """Bake the preview into a named action on the armature (the armature's other actions are kept)"""

    bl_idname = "cadence.bake"
    bl_label = "Bake"
    bl_options = {'REGISTER', 'UNDO'}

    def execute(self, context: bpy.types.Context) -> set[str]:
        settings = settings_of(context)
        obj = settings.preview_object
        try:
            action = bake_preview(context)
        except InputError as exc:
            self.report({'ERROR'}, str(exc))
            return {'CANCELLED'}
        nla = " with NLA strips per prompt" if settings.bake_nla else ""
        self.report({'INFO'}, f"Baked action {action.name!r} onto {obj.name!r}{nla}")
        return {'FINISHED'}


class CADENCE_OT_clear_preview(bpy.types.Operator):
    """Remove the preview and give the armature back its own action and pose"""

    bl_idname = "cadence.clear_preview"
    bl_label = "Clear Preview"
    bl_options = {'REGISTER', 'UNDO'}

    def execute(self, context: bpy.types.Context) -> set[str]:
        if active_run() is not None:
            self.report({'ERROR'}, "A generation is running: cancel it first")
            return {'CANCELLED'}
        if not clear_preview(settings_of(context)):
            self.report({'INFO'}, "There is no preview to clear")
            return {'CANCELLED'}
        return {'FINISHED'}


class CADENCE_OT_add_rig(bpy.types.Operator):
    """Add Cadence's own rig (the canonical SMPL-X skeleton) and make it the target"""

    bl_idname = "cadence.add_rig"
    bl_label = "Add Cadence Rig"
    bl_options = {'REGISTER', 'UNDO'}

    @classmethod
    def poll(cls, context):
        return context.mode == 'OBJECT'

    def execute(self, context: bpy.types.Context) -> set[str]:
        obj = build_armature(name="Cadence Rig")
        settings_of(context).target = obj
        self.report({'INFO'}, f"Added {obj.name!r} as the target")
        return {'FINISHED'}


classes = (CADENCE_OT_generate, CADENCE_OT_cancel_generation, CADENCE_OT_step_variation,
           CADENCE_OT_bake, CADENCE_OT_clear_preview, CADENCE_OT_add_rig)
