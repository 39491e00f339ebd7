"""Objects as targets in Blender (issue 22): the panel's Targets list (look at, reach with
a hand), applied by Generate in the frame the motion is baked in; the baked rig's hand is
on an (animated) Empty at its frame, the head turns towards the Camera; bad targets
report and change nothing; undo restores the list."""
import numpy as np
import pytest

import rig_builders as rb
from panel_support import Recorder, add_prompt, check_layout_calls, fingerprint, run_job_to_end

STEPS = 4
# A Mixamo rig stored Y up in centimetres, stood up and turned by its object transform,
# 1.2 m of leg ratio over the canonical body, away from the origin (as in test_blender_path).
TURNED = dict(data_rotation=rb.Y_UP, data_scale=100.0, object_euler=(np.pi / 2, 0.0, 0.7),
              object_scale=0.012, object_location=(1.0, -2.0, 0.0))
RIGS = {"canonical": None, "mixamo": dict(prefix=""), "mixamo_turned": dict(prefix="", **TURNED),
        "mixamo_long_arms": dict(prefix="", arm_angle=40.0)}


def long_arms(spec, factor=1.2):
    """``spec`` with both arms ``factor`` times the canonical length (legs as they are), so
    the rig is not a scaled copy of the canonical body: a reach must be fitted to it."""
    for side in ("Left", "Right"):
        pivot = spec.bones[f"{side}Arm"][1].copy()
        for name in spec.descendants(f"{side}Arm")[1:]:
            parent, head = spec.bones[name]
            spec.bones[name] = (parent, pivot + factor * (head - pivot))
    return spec
BONES = {"canonical": ("right_wrist", "right_shoulder", "head"),
         "mixamo": ("RightHand", "RightArm", "Head")}


def setup(bpy, rig="mixamo", fps=30):
    scene = bpy.context.scene
    scene.render.fps, scene.frame_start, scene.frame_end = fps, 1, 200
    if RIGS[rig] is None:
        from cadence.blender.armature import build_armature
        obj = build_armature(name="Hero")
    else:
        spec = rb.mixamo(**RIGS[rig])
        obj = rb.build_object(bpy, long_arms(spec) if rig == "mixamo_long_arms" else spec, name="Hero")
    s = scene.cadence
    s.target, s.steps = obj, STEPS
    bpy.context.view_layer.update()  # the object's world matrix as set
    return obj


def bones_of(rig: str):
    return BONES["canonical" if rig == "canonical" else "mixamo"]


def bone_head(bpy, obj, bone: str, frame: int) -> np.ndarray:
    bpy.context.scene.frame_set(frame)
    return np.array(obj.matrix_world @ obj.pose.bones[bone].head)


def empty(bpy, name="Empty", location=(0.0, 0.0, 0.0)):
    obj = bpy.data.objects.new(name, None)
    bpy.context.scene.collection.objects.link(obj)
    obj.location = location
    return obj


def add_target(bpy, kind, obj, start, end=None):
    item = bpy.context.scene.cadence.targets.add()
    item.kind, item.target, item.frame_start = kind, obj, start
    if end is not None:
        item.frame_end = end
    return item


# --- the coordinate conversion (no model) ---------------------------------------------------------

@pytest.mark.parametrize("rig", ["canonical", "mixamo_turned"])
def test_rig_world_is_where_blender_puts_the_bones(blender, rig):
    """solve_world's heads through the armature's placement are the evaluated pose bones'
    world heads, and a world point goes to canonical metres and back."""
    from cadence.blender.object_targets import placement_of, rig_world
    from cadence.blender.path_curve import ground_frame, rig_target
    from cadence.blender.rig_retarget import retarget_onto
    from cadence.motion.canonical_to_rig import RetargetOptions
    from cadence.motion.kinematics import rest_motion
    bpy = blender
    obj = setup(bpy, rig)
    motion = rest_motion(20)
    motion.root_positions[:, 0] += np.linspace(0, 1.5, 20)
    options = RetargetOptions()
    retarget_onto(obj, motion, options=options, start_frame=1)
    depsgraph = bpy.context.evaluated_depsgraph_get()
    target = rig_target(obj)
    world = rig_world(target, motion, options, placement_of(obj, target, depsgraph))
    hand, _, head = bones_of(rig)
    for f in (1, 12, 20):
        for name in (hand, head):
            bone = target.rig.index[name]
            np.testing.assert_allclose(world[f - 1, bone], bone_head(bpy, obj, name, f), atol=2e-3)
    frame = ground_frame(obj, depsgraph=depsgraph)
    point = np.array([0.3, -1.2, 1.4])
    np.testing.assert_allclose(frame.to_world(frame.to_canonical(point)), point, atol=1e-9)
    # canonical metres -> world metres by the leg ratio (1.2 for the turned rig)
    assert frame.metres == pytest.approx(1.2 if rig == "mixamo_turned" else 1.0, rel=1e-3)


@pytest.mark.parametrize("rig", ["canonical", "mixamo_turned", "mixamo_long_arms"])
def test_a_reach_is_fitted_to_the_rigs_hand(blender, rig):
    """Without the model: a standing motion, an Empty in front of the right shoulder; the
    rig's wrist, retargeted and evaluated by Blender, is on it at the key frame."""
    from cadence.blender.object_targets import ObjectTarget, apply_object_targets, placement_of
    from cadence.blender.path_curve import ground_frame, rig_target
    from cadence.blender.rig_retarget import retarget_onto
    from cadence.motion.canonical_to_rig import RetargetOptions
    from cadence.motion.kinematics import rest_motion
    bpy = blender
    obj = setup(bpy, rig)
    depsgraph = bpy.context.evaluated_depsgraph_get()
    target, frame = rig_target(obj), ground_frame(obj, depsgraph=depsgraph)
    hand, shoulder, _ = bones_of(rig)
    motion = rest_motion(40)
    options = RetargetOptions()
    retarget_onto(obj, motion, options=options, start_frame=1)
    at = bone_head(bpy, obj, shoulder, 20) + frame.linear @ np.array([0.05, -0.35, -0.15])
    goal = ObjectTarget("right_hand", "target 1", 20, 20, at[None])
    fitted = apply_object_targets(motion, [goal], target, options, frame, placement_of(obj, target, depsgraph), 1)
    retarget_onto(obj, fitted, options=options, start_frame=1)
    assert np.linalg.norm(bone_head(bpy, obj, hand, 20) - at) < 0.005


# --- Generate with targets ------------------------------------------------------------------------

@pytest.mark.parametrize("rig", ["canonical", "mixamo", "mixamo_turned", "mixamo_long_arms"])
def test_the_hand_reaches_an_animated_empty_after_bake(blender, weights, rig):
    bpy = blender
    obj = setup(bpy, rig)
    hand, shoulder, _ = bones_of(rig)
    s = bpy.context.scene.cadence
    add_prompt(bpy, "a person stands still", 1, 121)
    goal = empty(bpy, "Empty.001")
    item = add_target(bpy, 'REACH_RIGHT', goal, 60)
    item.mute = True
    assert bpy.ops.cadence.generate() == {'FINISHED'}
    from cadence.blender.path_curve import ground_frame
    linear = ground_frame(obj).linear
    # in front of and above the right shoulder, as the muted run stands at frame 60
    at = bone_head(bpy, obj, shoulder, 60) + linear @ np.array([-0.05, -0.35, 0.12])
    goal.location = (at[0] + 3.0, at[1], at[2])  # elsewhere at frame 1, there at frame 60
    goal.keyframe_insert("location", frame=1)
    goal.location = tuple(at)
    goal.keyframe_insert("location", frame=60)
    bpy.context.scene.frame_set(1)
    muted = float(np.linalg.norm(bone_head(bpy, obj, hand, 60) - at))
    item.mute = False
    assert bpy.ops.cadence.generate() == {'FINISHED'}
    assert bpy.context.scene.frame_current == 60  # frame_set above; reading the Empty restored it
    s.bake_name = "Reach"
    assert bpy.ops.cadence.bake() == {'FINISHED'}
    assert obj.animation_data.action.name == "Reach"
    reached = float(np.linalg.norm(bone_head(bpy, obj, hand, 60) - at))
    assert reached < 0.05 and muted > 0.15, (reached, muted)
    print(f"\nreach on the {rig} rig: hand {reached * 1000:.1f} mm from the Empty at its frame "
          f"({muted * 100:.0f} cm muted)")


def test_variations_in_the_worker_and_regenerate_reach_too(blender, weights):
    """The modal operator's route (prepare, sample in a thread, targets applied on the main
    thread when the result arrives) with two variations, then Regenerate This Prompt."""

    from cadence.blender.preview_action import finish_run
    from cadence.blender.prompt_generation import prepare_generation
    bpy = blender
    obj = setup(bpy, "mixamo")
    s = bpy.context.scene.cadence
    s.variations = 2
    add_prompt(bpy, "a person stands still", 1, 91)
    add_prompt(bpy, "a person waves", 1, 91, ["head"], track=1)
    at = bone_head(bpy, obj, "RightArm", 20) + [-0.05, -0.35, 0.1]  # in front of the resting shoulder
    add_target(bpy, 'REACH_RIGHT', empty(bpy, location=tuple(at)), 20)
    spec, run = prepare_generation(bpy.context)
    assert len(run.targets) == 1 and run.targets[0].points.shape == (1, 3)
    job = run_job_to_end(spec, run)
    assert job.error is None and len(job.result.motions) == 2
    finish_run(bpy.context, run, job.result)
    goal = np.array(bpy.data.objects["Empty"].location)
    assert np.linalg.norm(bone_head(bpy, obj, "RightHand", 20) - goal) < 0.05
    assert bpy.ops.cadence.step_variation(direction=1) == {'FINISHED'}
    assert np.linalg.norm(bone_head(bpy, obj, "RightHand", 20) - goal) < 0.05
    s.active_track_index, s.seed = 1, 9
    assert bpy.ops.cadence.generate(only_active=True) == {'FINISHED'}  # the head prompt again
    assert np.linalg.norm(bone_head(bpy, obj, "RightHand", 20) - goal) < 0.05


def head_angles(bpy, obj, head: str, point: np.ndarray, frames) -> np.ndarray:
    """Degrees between the head's forward (the character's rest forward turned with the
    head bone) and the direction from the head to ``point``."""
    from cadence.blender.path_curve import ground_frame
    forward = ground_frame(obj).linear @ np.array([0.0, -1.0, 0.0])
    rest = np.array(obj.matrix_world.to_3x3() @ obj.data.bones[head].matrix_local.to_3x3())
    local = np.linalg.inv(rest) @ (forward / np.linalg.norm(forward))
    out = []
    for f in frames:
        bpy.context.scene.frame_set(f)
        pb = obj.pose.bones[head]
        now = np.array(obj.matrix_world.to_3x3() @ pb.matrix.to_3x3()) @ local
        want = point - np.array(obj.matrix_world @ pb.head)
        cos = now @ want / np.linalg.norm(now) / np.linalg.norm(want)
        out.append(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))
    return np.array(out)


@pytest.mark.parametrize("rig", ["canonical", "mixamo_turned", "mixamo_long_arms"])
def test_look_at_the_camera_turns_the_head(blender, weights, rig):
    bpy = blender
    obj = setup(bpy, rig)
    _, _, head = bones_of(rig)
    add_prompt(bpy, "a person stands still", 1, 121)
    from cadence.blender.path_curve import ground_frame
    frame = ground_frame(obj)
    where = frame.to_world(np.array([2.0, -3.0, 1.6]))  # front left, above the eyes
    camera = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    bpy.context.scene.collection.objects.link(camera)
    camera.location = tuple(where)
    add_target(bpy, 'LOOK_AT', camera, 30, 90)
    bpy.context.scene.cadence.targets[0].mute = True
    assert bpy.ops.cadence.generate() == {'FINISHED'}
    before = head_angles(bpy, obj, head, where, range(45, 76, 5))
    bpy.context.scene.cadence.targets[0].mute = False
    assert bpy.ops.cadence.generate() == {'FINISHED'}
    assert bpy.ops.cadence.bake() == {'FINISHED'}
    after = head_angles(bpy, obj, head, where, range(45, 76, 5))
    assert after.max() < 20.0 and before.mean() > 25.0, (after, before)
    print(f"\nlook at on the {rig} rig: head {after.max():.1f} deg off at worst "
          f"({before.mean():.0f} deg without)")


def test_the_eyes_of_a_rig_with_eye_bones_look_at_the_camera(blender, weights):
    """A Mixamo character with LeftEye / RightEye bones, stood up and turned by its object
    transform: after Generate and Bake its eye bones aim at the Camera."""
    bpy = blender
    scene = bpy.context.scene
    scene.render.fps, scene.frame_start, scene.frame_end = 30, 1, 200
    spec = rb.mixamo(prefix="", eyes=True, **TURNED)
    obj = rb.build_object(bpy, spec, name="Hero")
    scene.cadence.target, scene.cadence.steps = obj, STEPS
    bpy.context.view_layer.update()
    add_prompt(bpy, "a person stands still", 1, 121)
    from cadence.blender.path_curve import ground_frame
    where = ground_frame(obj).to_world(np.array([2.0, -8.0, 1.7]))  # ahead, left: never walked past
    camera = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    scene.collection.objects.link(camera)
    camera.location = tuple(where)
    add_target(bpy, 'LOOK_AT', camera, 30, 90)
    assert bpy.ops.cadence.generate() == {'FINISHED'}
    assert bpy.ops.cadence.bake() == {'FINISHED'}
    rotation = np.array(obj.matrix_world.to_3x3())
    forward_rest = rotation @ spec.data_rotation @ np.array([0.0, -1.0, 0.0])  # the body's front at rest
    for bone in ("LeftEye", "RightEye"):
        rest = rotation @ np.array(obj.data.bones[bone].matrix_local.to_3x3())
        for frame in range(40, 81, 10):
            scene.frame_set(frame)
            posed = rotation @ np.array(obj.pose.bones[bone].matrix.to_3x3())
            look = posed @ np.linalg.inv(rest) @ forward_rest
            eye = np.array(obj.matrix_world @ obj.pose.bones[bone].head)
            d = (where - eye) / np.linalg.norm(where - eye)
            angle = np.degrees(np.arccos(np.clip(look @ d / np.linalg.norm(look), -1, 1)))
            assert angle < 3.0, (bone, frame, angle)


# --- refusals, panel, undo --------------------------------------------------------------------------

@pytest.mark.parametrize("case, message", [
    ("no_object", "target 1 (Reach Right Hand (no object), frame 60): pick the object to reach"),
    ("outside", "target 1 (Look At 'Empty', frames 100-150) is outside the generated frames 1-120"),
    ("backwards", "its End is not after its Start"),
    ("far", "target 1 (Reach Right Hand 'Empty', frame 60): the object is"),
])
def test_bad_targets_report_and_change_nothing(blender, weights, case, message):
    from cadence.panels import logic
    bpy = blender
    obj = setup(bpy, "mixamo")
    add_prompt(bpy, "a person stands still", 1, 121)
    thing = empty(bpy, location=(0.0, 4.0, 4.0))  # behind and high above
    if case == "no_object":
        add_target(bpy, 'REACH_RIGHT', None, 60)
    elif case == "outside":
        add_target(bpy, 'LOOK_AT', thing, 100, 150)
    elif case == "backwards":
        add_target(bpy, 'LOOK_AT', thing, 50, 40)
    else:
        add_target(bpy, 'REACH_RIGHT', thing, 60)
    before = fingerprint(bpy)
    with pytest.raises(RuntimeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        bpy.ops.cadence.generate()
    assert fingerprint(bpy) == before
    assert obj.animation_data is None or obj.animation_data.action is None
    if case == "far":
        far = r"is [4-9]\.\d\d m from the shoulder at that frame, the arm reaches 0\.\d\d m"
        with pytest.raises(RuntimeError, match=far):
            bpy.ops.cadence.generate()
    else:  # said under the list and on Generate before it is clicked
        state = logic.generate_state(bpy.context)
        assert not state.enabled and message.lower() in state.reason.lower()


def test_add_remove_undo_and_the_panel(blender, weights):
    from types import SimpleNamespace

    from cadence.panels import sidebar
    bpy = blender
    setup(bpy, "mixamo")
    add_prompt(bpy, "a person stands still", 1, 121)
    camera = empty(bpy, "Look here")
    bpy.context.view_layer.objects.active = camera
    s = bpy.context.scene.cadence
    bpy.ops.ed.undo_push(message="before Cadence")
    assert bpy.ops.cadence.target_add('EXEC_DEFAULT', True, kind='LOOK_AT') == {'FINISHED'}
    item = bpy.context.scene.cadence.targets[0]
    assert item.target.name == "Look here" and item.kind == 'LOOK_AT'
    assert 1 <= item.frame_start < item.frame_end <= 120
    assert bpy.ops.cadence.target_add('EXEC_DEFAULT', True, kind='REACH_LEFT') == {'FINISHED'}
    assert len(bpy.context.scene.cadence.targets) == 2
    assert bpy.ops.ed.undo() == {'FINISHED'}
    assert len(bpy.context.scene.cadence.targets) == 1
    assert bpy.ops.ed.undo() == {'FINISHED'}
    assert len(bpy.context.scene.cadence.targets) == 0
    assert bpy.ops.ed.redo() == {'FINISHED'}
    s = bpy.context.scene.cadence
    assert len(s.targets) == 1 and s.targets[0].target.name == "Look here"
    assert bpy.ops.cadence.target_remove('EXEC_DEFAULT', True) == {'FINISHED'}
    assert len(bpy.context.scene.cadence.targets) == 0
    assert bpy.ops.ed.undo() == {'FINISHED'}
    s = bpy.context.scene.cadence
    assert len(s.targets) == 1
    rec = Recorder()
    sidebar.CADENCE_PT_targets.draw(SimpleNamespace(layout=rec), bpy.context)
    sidebar.CADENCE_UL_targets.draw_item(None, bpy.context, rec, s, s.targets[0], 0, s, "active_target_index")
    check_layout_calls(bpy, rec.log)
    assert "Look At: Look here" in rec.labels()
    s.targets[0].target = None
    rec = Recorder()
    sidebar.CADENCE_PT_targets.draw(SimpleNamespace(layout=rec), bpy.context)
    assert any(text.startswith("Target 1 (Look At (no object)") for text in rec.labels())


def test_bake_to_nla_lays_the_targets_out_as_a_track(blender, weights):
    """With NLA Strips, Bake adds Targets tracks beside the prompts' tracks: a strip per
    look (its Start to its End) and per reach (its frame, eased in and out over 15 frames),
    on a second track where they overlap."""
    bpy = blender
    obj = setup(bpy)
    s = bpy.context.scene.cadence
    s.steps = 2
    add_prompt(bpy, "a person stands still", 1, 121)
    from cadence.blender.path_curve import ground_frame
    camera = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    bpy.context.scene.collection.objects.link(camera)
    camera.location = tuple(ground_frame(obj).to_world(np.array([2.0, -3.0, 1.6])))
    add_target(bpy, 'LOOK_AT', camera, 30, 90)
    goal = empty(bpy, "Goal", tuple(ground_frame(obj).to_world(np.array([-0.25, -0.35, 1.4]))))
    add_target(bpy, 'REACH_RIGHT', goal, 60)
    assert bpy.ops.cadence.generate() == {'FINISHED'}
    s.bake_name, s.bake_nla = "Scene", True
    assert bpy.ops.cadence.bake() == {'FINISHED'}
    tracks = {t.name: t for t in obj.animation_data.nla_tracks}
    strips = {st.name: (name, round(st.frame_start), round(st.frame_end), st.action.name)
              for name in ("Scene: Targets", "Scene: Targets 2") for st in tracks[name].strips}
    assert strips == {"Look At Camera": ("Scene: Targets", 30, 90, "Scene"),
                      "Reach Right Hand Goal": ("Scene: Targets 2", 45, 75, "Scene")}, strips


def test_a_reach_past_the_arm_leans_the_rig_and_keeps_its_feet(blender, weights):
    """An Empty 0.6 m ahead of and below the shoulder (the arm reaches ~0.5 m): the spine
    bends towards it, the hand gets there, the feet do not move; far past any lean it is
    refused as before."""
    bpy = blender
    obj = setup(bpy)
    hand, shoulder, _ = bones_of("mixamo")
    s = bpy.context.scene.cadence
    s.steps = 2
    add_prompt(bpy, "a person stands still", 1, 121)
    goal = empty(bpy, "Goal")
    item = add_target(bpy, 'REACH_RIGHT', goal, 60)
    item.mute = True
    assert bpy.ops.cadence.generate() == {'FINISHED'}
    from cadence.blender.path_curve import ground_frame
    at = bone_head(bpy, obj, shoulder, 60) + ground_frame(obj).linear @ np.array([-0.1, -0.55, -0.25])
    goal.location = tuple(at)
    feet = [bone_head(bpy, obj, foot, f) for foot in ("LeftFoot", "RightFoot") for f in (40, 60, 80)]
    item.mute = False
    assert bpy.ops.cadence.generate() == {'FINISHED'}
    assert bpy.ops.cadence.bake() == {'FINISHED'}
    assert float(np.linalg.norm(bone_head(bpy, obj, hand, 60) - at)) < 0.05
    after = [bone_head(bpy, obj, foot, f) for foot in ("LeftFoot", "RightFoot") for f in (40, 60, 80)]
    assert max(float(np.linalg.norm(a - b)) for a, b in zip(after, feet)) < 0.01
