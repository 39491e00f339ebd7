"""Generate (synchronously, and as the worker-thread job the modal operator runs),
preview, variations, Bake and Clear on a test rig and on the canonical rig; undo; cancel
mid-way; bad inputs report and change nothing."""
import json
import threading
import time

import numpy as np
import pytest

import rig_builders as rb
from panel_support import add_prompt, fcurves, fingerprint, run_job_to_end

STEPS = 2  # sampling steps in these tests (speed; the model's default is 10)


def setup_rig(bpy, spec=None, fps=30):
    scene = bpy.context.scene
    scene.render.fps, scene.frame_start, scene.frame_end = fps, 1, 250
    obj = rb.build_object(bpy, spec or rb.mixamo(prefix=""), name="Hero")
    s = scene.cadence
    s.target, s.steps = obj, STEPS
    return obj


def keyed_bones(action) -> set[str]:
    return {f.data_path.split('"')[1] for f in fcurves(action) if f.data_path.startswith("pose.bones")}


def test_generate_preview_variations_bake(blender, weights):
    bpy = blender
    obj = setup_rig(bpy)
    idle = bpy.data.actions.new("idle")  # the user's own action
    obj.animation_data_create().action = idle
    s = bpy.context.scene.cadence
    add_prompt(bpy, "a person walks forward", 1, 91)
    s.variations = 2
    before_range = (bpy.context.scene.frame_start, bpy.context.scene.frame_end)

    assert bpy.ops.cadence.generate() == {'FINISHED'}
    preview = s.preview_action
    assert preview is not None and preview.name == "Cadence Preview" and not preview.use_fake_user
    assert obj.animation_data.action == preview and s.preview_previous_action == idle
    assert (bpy.context.scene.frame_start, bpy.context.scene.frame_end) == before_range
    r = s.result
    assert (r.frames, r.variations, r.device) == (90, 2, "CPU") and r.seconds == pytest.approx(3.0, abs=0.05)
    assert r.readings.startswith("'a person walks forward' as walk (")  # how the prompt was read
    from cadence.panels import logic
    assert "Read 'a person walks forward' as walk" in " ".join(logic.summary_lines(bpy.context))
    assert "Fast Preview" not in " ".join(logic.summary_lines(bpy.context))
    curves = fcurves(preview)
    assert {"Hips", "LeftUpLeg", "RightArm"} <= keyed_bones(preview)
    hips_loc = [f for f in curves if f.data_path == 'pose.bones["Hips"].location']
    assert len(hips_loc) == 3
    assert all(len(f.keyframe_points) == 90 and f.keyframe_points[0].co[0] == 1 for f in curves)
    travel = abs(hips_loc[1].keyframe_points[-1].co[1] - hips_loc[1].keyframe_points[0].co[1]) + \
        abs(hips_loc[0].keyframe_points[-1].co[1] - hips_loc[0].keyframe_points[0].co[1]) + \
        abs(hips_loc[2].keyframe_points[-1].co[1] - hips_loc[2].keyframe_points[0].co[1])
    assert travel > 0.1  # it walks

    def values(action):
        f = next(f for f in fcurves(action) if f.data_path.endswith('"LeftUpLeg"].rotation_quaternion'))
        return np.array([k.co[1] for k in f.keyframe_points])

    first = values(preview)
    assert bpy.ops.cadence.step_variation(direction=1) == {'FINISHED'}
    assert s.variation_index == 1 and len([a for a in bpy.data.actions if "Preview" in a.name]) == 1
    assert not np.allclose(values(s.preview_action), first)  # another seed, another motion
    assert bpy.ops.cadence.step_variation(direction=1) == {'FINISHED'}  # wraps around
    assert s.variation_index == 0 and np.allclose(values(s.preview_action), first)

    # Regenerate replaces the preview.
    assert bpy.ops.cadence.generate() == {'FINISHED'}
    assert [a.name for a in bpy.data.actions if "Preview" in a.name] == ["Cadence Preview"]

    s.bake_name = "Hero walk"
    assert bpy.ops.cadence.bake() == {'FINISHED'}
    baked = obj.animation_data.action
    assert baked.name == "Hero walk" and baked.use_fake_user
    assert "Cadence Preview" not in bpy.data.actions and s.preview_action is None
    assert "idle" in bpy.data.actions and bpy.data.actions["idle"].use_fake_user  # the user's action kept
    assert json.loads(obj.data["cadence_bone_map"])["convention"] == "mixamo"
    assert len(fcurves(baked)) == len(curves) and "cadence_preview_restore" not in obj
    # A second bake keeps the first.
    assert bpy.ops.cadence.generate() == {'FINISHED'}
    assert bpy.ops.cadence.bake() == {'FINISHED'}
    assert {"Hero walk", "Hero walk.001", "idle"} <= set(bpy.data.actions.keys())
    assert s.preview_previous_action is None


def test_an_idle_prompt_stands_on_the_rig(blender, weights):
    """'idle' reads as a standing idle (the data has no idle take): the panel says so
    and the baked hips stay where they are (a walk moves them metres)."""
    bpy = blender
    obj = setup_rig(bpy)
    add_prompt(bpy, "idle", 1, 91)
    assert bpy.ops.cadence.generate() == {'FINISHED'}
    s = bpy.context.scene.cadence
    assert s.result.readings.startswith("'idle' as stand (") and "no known action" not in s.result.readings
    assert bpy.ops.cadence.bake() == {'FINISHED'}
    hips = [f for f in fcurves(obj.animation_data.action) if f.data_path == 'pose.bones["Hips"].location']
    spread = [np.ptp([k.co[1] for k in f.keyframe_points]) for f in hips]
    assert len(hips) == 3 and max(spread[0], spread[2]) < 0.03   # on the ground (the bone's Y is up)


def test_clear_preview_restores_action_and_pose(blender, weights):
    bpy = blender
    obj = setup_rig(bpy)
    obj.pose.bones["Spine"].rotation_mode = 'XYZ'
    obj.pose.bones["Spine"].rotation_euler = (0.3, 0.0, 0.0)
    idle = bpy.data.actions.new("idle")
    obj.animation_data_create().action = idle
    add_prompt(bpy, "a person waves", 1, 61)
    before = fingerprint(bpy)
    assert bpy.ops.cadence.generate() == {'FINISHED'}
    assert obj.pose.bones["Spine"].rotation_mode == 'QUATERNION'
    assert bpy.ops.cadence.clear_preview() == {'FINISHED'}
    pb = obj.pose.bones["Spine"]
    assert pb.rotation_mode == 'XYZ' and tuple(pb.rotation_euler) == pytest.approx((0.3, 0.0, 0.0))
    assert obj.animation_data.action == idle and "Cadence Preview" not in bpy.data.actions
    after = fingerprint(bpy)
    assert after[0] == before[0] and after[1] == before[1]  # objects, poses, actions as before
    with pytest.raises(RuntimeError, match="no preview"):
        bpy.ops.cadence.bake()


def test_timeline_with_tracks_and_nla_on_the_canonical_rig(blender, weights):
    from cadence.blender.armature import build_armature
    from cadence.motion.skeleton import CANONICAL
    bpy = blender
    scene = bpy.context.scene
    scene.render.fps, scene.frame_start, scene.frame_end = 24, 1, 200
    obj = build_armature(name="Canon")
    s = scene.cadence
    s.target, s.steps = obj, STEPS
    add_prompt(bpy, "walk forward", 1, 97, ["legs", "torso"])
    add_prompt(bpy, "run", 97, 145)
    add_prompt(bpy, "wave with the right hand", 25, 73, ["right_arm"], track=1)
    happy = add_prompt(bpy, "look around", 1, 145, ["head"], track=2)
    happy.use_style = True
    happy.styles["happy"].value = 1.0
    s.bake_nla, s.bake_name = True, "Canon take"
    assert bpy.ops.cadence.generate() == {'FINISHED'}
    assert s.result.frames == 144  # 6 s at 24 fps
    assert bpy.ops.cadence.bake() == {'FINISHED'}
    baked = bpy.data.actions["Canon take"]
    body = set(CANONICAL.names[:22])
    assert body <= keyed_bones(baked)
    assert all(len(f.keyframe_points) == 144 for f in fcurves(baked))
    anim = obj.animation_data
    assert anim.action is None  # played from the NLA
    tracks = {t.name: [(st.name, int(st.frame_start), int(st.frame_end)) for st in t.strips]
              for t in anim.nla_tracks}
    assert tracks["Canon take"] == [("Canon take", 1, 144)]
    assert tracks["Canon take: Track 1"] == [("walk forward", 1, 97), ("run", 97, 144)]
    assert tracks["Canon take: Track 2"] == [("wave with the right hand", 25, 73)]
    assert tracks["Canon take: Track 3"] == [("look around", 1, 144)]
    assert all(st.action == baked for t in anim.nla_tracks for st in t.strips)


def test_generate_then_bake_is_undone_step_by_step(blender, weights):
    bpy = blender
    obj = setup_rig(bpy)
    obj.animation_data_create().action = bpy.data.actions.new("idle")
    add_prompt(bpy, "a person bows", 1, 61)
    bpy.ops.ed.undo_push(message="before Cadence")  # starts undo in background mode
    before = fingerprint(bpy)
    # undo=True: push the undo step as a click in the UI does for REGISTER/UNDO operators.
    assert bpy.ops.cadence.generate('EXEC_DEFAULT', True) == {'FINISHED'}
    previewed = fingerprint(bpy)
    assert bpy.ops.cadence.bake('EXEC_DEFAULT', True) == {'FINISHED'}
    assert "Cadence" in bpy.data.actions

    assert bpy.ops.ed.undo() == {'FINISHED'}  # Bake is one step
    assert "Cadence" not in bpy.data.actions
    assert bpy.data.objects["Hero"].animation_data.action.name == "Cadence Preview"
    assert fingerprint(bpy)[:2] == previewed[:2]
    assert bpy.ops.ed.undo() == {'FINISHED'}  # Generate is one step
    assert bpy.data.objects["Hero"].animation_data.action.name == "idle"
    assert "Cadence Preview" not in bpy.data.actions
    now = fingerprint(bpy)
    assert now[:2] == before[:2] and now[4:] == before[4:]


def test_cancel_mid_way_leaves_the_scene_unchanged(blender, weights):
    """The modal operator's path: prepare on the main thread, sample in a worker thread,
    cancel (Esc / Cancel button) after the first step."""
    from cadence.blender.prompt_generation import prepare_generation
    from cadence.blender.runs import active_run, cancel_active, end_job, start_job
    from cadence.blender.sliders import sync_scene_sliders
    from cadence.inference.runtime.jobs import GenerationJob, run_generation
    from cadence.panels import logic
    bpy = blender
    setup_rig(bpy)
    s = bpy.context.scene.cadence
    s.steps, s.variations = 10, 3
    add_prompt(bpy, "a person runs", 1, 121)
    sync_scene_sliders(bpy.context)
    before = fingerprint(bpy)

    reached = threading.Event()
    release = threading.Event()
    job_ref = []

    def runner(spec, progress):
        def gate(done, total):
            keep_going = progress(done, total)
            if done >= 1:
                reached.set()
                release.wait(30)
            return keep_going and not job_ref[0].cancel_requested
        return run_generation(spec, gate)

    spec, run = prepare_generation(bpy.context)
    job = GenerationJob(spec, runner)
    job_ref.append(job)
    start_job(spec, run, job)
    try:
        assert reached.wait(120), "the worker never reached the first step"
        assert not logic.generate_state(bpy.context).enabled  # one generation at a time
        factor, text = logic.progress_state()
        assert 0 < factor < 1 and "step" in text
        with pytest.raises(RuntimeError, match="already running"):
            bpy.ops.cadence.generate()
        assert cancel_active()
        assert logic.progress_state()[1] == "Cancelling..."
    finally:
        job.cancel()
        release.set()
    assert job.wait(120)
    end_job(job)
    assert job.cancelled and job.result is None and job.error is None
    assert fingerprint(bpy) == before
    assert active_run() is None and logic.generate_state(bpy.context).enabled


def test_worker_thread_result_is_applied_on_the_main_thread(blender, weights):
    from cadence.blender.preview_action import finish_run
    from cadence.blender.prompt_generation import prepare_generation
    bpy = blender
    obj = setup_rig(bpy)
    add_prompt(bpy, "a person jumps", 1, 46)
    spec, run = prepare_generation(bpy.context)
    job = run_job_to_end(spec, run)
    assert job.done and job.error is None and job.progress == 1.0
    assert "Preview" not in "".join(bpy.data.actions.keys())  # nothing applied by the thread
    finish_run(bpy.context, run, job.result)
    assert obj.animation_data.action.name == "Cadence Preview"
    assert bpy.context.scene.cadence.result.frames == 45


@pytest.mark.parametrize("case, message", [
    ("no_armature", "no armature selected"),
    ("mesh_target", "is a mesh, not an armature"),
    ("unknown_rig", "cannot recognise the rig"),
    ("empty_timeline", "the timeline is empty"),
    ("all_muted", "every prompt is muted"),
    ("empty_text", "the prompt is empty"),
    ("overlap", "overlaps"),
    ("end_before_start", "is not after its start"),
    ("no_parts", "no body parts"),
    ("no_weights", "no motion model"),
])
def test_bad_inputs_report_and_change_nothing(blender, weights, monkeypatch, tmp_path, case, message):
    bpy = blender
    obj = setup_rig(bpy)
    s = bpy.context.scene.cadence
    seg = add_prompt(bpy, "walk forward", 1, 90)
    if case == "no_armature":
        s.target = None
        bpy.context.view_layer.objects.active = None
    elif case == "mesh_target":
        mesh = bpy.data.objects.new("Body", bpy.data.meshes.new("Body"))
        bpy.context.scene.collection.objects.link(mesh)
        s.target = mesh
    elif case == "unknown_rig":
        chain = rb.RigSpec("chain", {f"c{k}": (f"c{k - 1}" if k else None, [0, 0, 0.3 * k])
                                     for k in range(3)}, {})
        s.target = rb.build_object(bpy, chain, name="Chain")
    elif case == "empty_timeline":
        s.tracks.clear()
    elif case == "all_muted":
        s.tracks[0].mute = True
    elif case == "empty_text":
        seg.text = "  "
    elif case == "overlap":
        add_prompt(bpy, "wave", 60, 120)
    elif case == "end_before_start":
        seg.frame_end = 1
    elif case == "no_parts":
        seg.parts = set()
    elif case == "no_weights":
        monkeypatch.setenv("CADENCE_WEIGHTS_DIR", str(tmp_path))
    before = fingerprint(bpy)
    with pytest.raises(RuntimeError, match="(?i)" + message):
        bpy.ops.cadence.generate()
    assert fingerprint(bpy) == before
    assert obj.animation_data is None or obj.animation_data.action is None


def test_fast_preview_samples_one_prompt_with_the_student(blender, weights, monkeypatch):
    from cadence.blender import prompt_generation
    bpy = blender
    obj = setup_rig(bpy)
    s = bpy.context.scene.cadence
    add_prompt(bpy, "a person walks forward", 1, 61)
    s.fast_preview, s.steps = True, 0
    seen = []
    real = prompt_generation.run_generation
    monkeypatch.setattr(prompt_generation, "run_generation",
                        lambda spec, *a, **k: seen.append(spec.solver) or real(spec, *a, **k))
    assert bpy.ops.cadence.generate() == {'FINISHED'}
    assert seen == ["distilled"]
    assert s.result.frames == 60 and obj.animation_data.action == s.preview_action
    from cadence.panels import logic
    assert "Fast Preview" in logic.summary_lines(bpy.context)[1]  # the animator sees which model ran
    hips = [f for f in fcurves(s.preview_action) if f.data_path == 'pose.bones["Hips"].location']
    assert max(abs(f.keyframe_points[-1].co[1] - f.keyframe_points[0].co[1]) for f in hips) > 0.1  # it walks
    s.text_guidance = 4.0  # the student has the default strengths built in: a report, nothing changed
    before = fingerprint(bpy)
    with pytest.raises(RuntimeError, match="built in"):
        bpy.ops.cadence.generate()
    assert fingerprint(bpy) == before


def test_generate_failure_after_sampling_changes_nothing(blender, weights):
    """The rig is deleted while the worker samples: the result is refused, nothing changes."""
    from cadence.blender.panel_settings import InputError
    from cadence.blender.preview_action import finish_run
    from cadence.blender.prompt_generation import prepare_generation
    from cadence.inference.runtime.jobs import run_generation
    bpy = blender
    obj = setup_rig(bpy)
    add_prompt(bpy, "walk", 1, 31)
    spec, run = prepare_generation(bpy.context)
    result = run_generation(spec)
    bpy.data.objects.remove(obj)
    before = fingerprint(bpy)
    with pytest.raises(InputError, match="is gone"):
        finish_run(bpy.context, run, result)
    assert fingerprint(bpy) == before


def test_run_generation_progress_and_cancel(weights):
    """bpy-free: progress reports every step of every variation; False cancels."""
    from cadence.inference.motion.sampler import GenerationCancelled
    from cadence.inference.motion.timeline import Segment, Timeline, Track
    from cadence.inference.runtime.jobs import GenerationSpec, run_generation, single_prompt
    one = Timeline([Track([Segment("walk", 0.0, 1.0)])])
    two = Timeline([Track([Segment("walk", 0.0, 1.0, ("legs",))]), Track([Segment("wave", 0.2, 0.8, ("right_arm",))])])
    assert single_prompt(one) and not single_prompt(two)
    for timeline in (one, two):
        seen = []
        res = run_generation(GenerationSpec(timeline, seed=3, variations=2, steps=2, weights_dir=weights, fps=24),
                             lambda d, t, seen=seen: seen.append((d, t)))  # called before the loop moves on
        assert seen[0] == (0, 4) and seen[-1] == (4, 4) and len(res.motions) == 2
        assert res.motions[0].fps == 24 and res.motions[0].num_frames == 24
        with pytest.raises(GenerationCancelled):
            run_generation(GenerationSpec(timeline, steps=3, weights_dir=weights), lambda d, t: d < 1)


class _FakeEvent:
    def __init__(self, type_, value='NOTHING'):
        self.type, self.value = type_, value


def _modal_operator(bpy, job, run):
    """The Generate operator's modal handler on a stand-in instance (headless Blender has
    no event loop to drive the real one)."""
    from cadence.operators.generate import GenerateOperator

    class FakeOperator(GenerateOperator):
        def __init__(self):
            self._job, self._run, self._timer, self.reports = job, run, None, []

        def report(self, level, message):
            self.reports.append((set(level).pop(), message))

    return FakeOperator()


def test_modal_handler_polls_applies_and_cancels(blender, weights):
    from cadence.blender.prompt_generation import prepare_generation
    from cadence.blender.runs import active_run, start_job
    bpy = blender
    obj = setup_rig(bpy)
    add_prompt(bpy, "a person waves", 1, 46)
    before = fingerprint(bpy)

    # Esc: cancelled at once, nothing applied, the worker's late result is dropped.
    spec, run = prepare_generation(bpy.context)
    job = start_job(spec, run)
    op = _modal_operator(bpy, job, run)
    assert op.modal(bpy.context, _FakeEvent('MOUSEMOVE')) == {'PASS_THROUGH'}
    assert op.modal(bpy.context, _FakeEvent('ESC', 'PRESS')) == {'CANCELLED'}
    assert active_run() is None and ('INFO', "Generation cancelled; the scene is unchanged") in op.reports
    assert job.wait(120) and job.result is None
    assert fingerprint(bpy) == before

    # Timer ticks until the worker is done, then the preview is applied.
    spec, run = prepare_generation(bpy.context)
    job = start_job(spec, run)
    op = _modal_operator(bpy, job, run)
    deadline = time.time() + 120
    outcome = {'PASS_THROUGH'}
    while outcome == {'PASS_THROUGH'} and time.time() < deadline:
        time.sleep(0.05)
        outcome = op.modal(bpy.context, _FakeEvent('TIMER'))
    assert outcome == {'FINISHED'}, op.reports
    assert obj.animation_data.action.name == "Cadence Preview" and active_run() is None
    assert op.reports[-1][0] == 'INFO' and op.reports[-1][1].startswith("Generated 1.5 s (45 frames)")


def test_regenerate_only_the_active_prompt(blender, weights):
    from cadence.panels import logic
    bpy = blender
    obj = setup_rig(bpy)
    s = bpy.context.scene.cadence
    add_prompt(bpy, "walk forward", 1, 121, ["legs", "torso"])
    add_prompt(bpy, "wave with the right hand", 31, 61, ["right_arm"], track=1)
    assert not logic.regenerate_state(bpy.context).enabled  # nothing generated yet
    with pytest.raises(RuntimeError, match="generate the whole timeline first"):
        bpy.ops.cadence.generate(only_active=True)
    assert bpy.ops.cadence.generate() == {'FINISHED'}

    def curve(bone):
        f = next(f for f in fcurves(obj.animation_data.action)
                 if f.data_path == f'pose.bones["{bone}"].rotation_quaternion' and f.array_index == 1)
        return np.array([k.co[1] for k in f.keyframe_points])

    arm, leg = curve("RightArm"), curve("LeftUpLeg")
    s.active_track_index, s.seed = 1, 7
    assert logic.regenerate_state(bpy.context).enabled
    assert bpy.ops.cadence.generate(only_active=True) == {'FINISHED'}
    new_arm, new_leg = curve("RightArm"), curve("LeftUpLeg")
    assert len(new_arm) == len(arm) == 120
    assert np.abs(new_arm[30:60] - arm[30:60]).max() > 1e-3  # the wave changed
    assert np.allclose(new_arm[90:], arm[90:], atol=1e-5)    # far from it, nothing moved
    # The legs too: where the previous take is kept, its foot-locked motion is kept
    # exactly (the foot lock used to carry a planted foot across the window's edge and
    # move the legs up to 4 degrees for a second after it).
    assert np.allclose(new_leg[90:], leg[90:], atol=1e-5)
    # A longer timeline cannot keep the old take.
    s.tracks[0].segments[0].frame_end = 151
    assert "length changed" in logic.regenerate_state(bpy.context).reason
    s.tracks[0].segments[0].frame_end = 121
    s.fast_preview = True  # the student samples whole timelines, not one prompt inside a kept take
    before = fingerprint(bpy)
    with pytest.raises(RuntimeError, match="Fast Preview samples whole timelines"):
        bpy.ops.cadence.generate(only_active=True)
    assert fingerprint(bpy) == before
