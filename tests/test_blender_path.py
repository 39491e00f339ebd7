"""Walking a drawn path in Blender (issue 22): a Curve object as a prompt's path, read in
the target's frame, generated, previewed, regenerated and baked; the hips follow the
curve in the world on plain and on scaled, rotated, moved armatures; bad paths report
and change nothing; undo."""
import numpy as np
import pytest
from test_blender_rigify_control import control_rig, rigify_file  # noqa: F401

import rig_builders as rb
from panel_support import Recorder, add_prompt, check_layout_calls, fcurves, fingerprint, run_job_to_end

S_CURVE = [(0.0, 0.0, 0.0), (0.0, -3.0, 0.0), (3.0, -4.5, 0.0), (3.0, -8.0, 0.0)]
L_CURVE = [(0.0, 0.0, 0.0), (0.0, -4.0, 0.0), (4.5, -4.0, 0.0)]
# A Mixamo rig stored Y up in centimetres, stood up and turned by its object transform,
# 1.2 m of leg ratio over the canonical body, away from the origin.
TURNED = dict(data_rotation=rb.Y_UP, data_scale=100.0, object_euler=(np.pi / 2, 0.0, 0.7),
              object_scale=0.012, object_location=(1.0, -2.0, 0.0))


def make_curve(bpy, points, kind='BEZIER', handles='AUTO', name="Path", location=(0.0, 0.0, 0.0)):
    """A Curve object with one spline through ``points`` (handles: AUTO or VECTOR)."""
    data = bpy.data.curves.new(name, 'CURVE')
    data.dimensions = '3D'
    obj = bpy.data.objects.new(name, data)
    bpy.context.scene.collection.objects.link(obj)
    obj.location = location
    if points is None:
        return obj
    spline = data.splines.new(kind)
    if kind == 'BEZIER':
        spline.bezier_points.add(len(points) - 1)
        for p, co in zip(spline.bezier_points, points):
            p.co = co
            p.handle_left_type = p.handle_right_type = handles
    else:
        spline.points.add(len(points) - 1)
        for p, co in zip(spline.points, points):
            p.co = (*co, 1.0)
    return obj


def setup(bpy, spec, fps=30, steps=0):
    scene = bpy.context.scene
    scene.render.fps, scene.frame_start, scene.frame_end = fps, 1, 300
    obj = rb.build_object(bpy, spec, name="Hero")
    s = scene.cadence
    s.target, s.steps = obj, steps
    return obj


def walk_figures(bpy, obj, curve, start: int, end: int, corners=(),
                 bones=("Hips", "LeftUpLeg", "RightUpLeg")) -> dict:
    """Hips (pelvis bone head) against the curve in the world, frame by frame over the
    prompt [start, end]: distance to it, arrival at its end on the end frame, and the
    facing (from the hip line) against the curve's tangent, away from ``corners``."""
    from cadence.blender.path_curve import curve_world_points
    from cadence.motion.ground_path import GroundPath
    scene = bpy.context.scene
    world = curve_world_points(curve, bpy.context.evaluated_depsgraph_get())[:, :2]
    path = GroundPath(world)
    dist, facing = [], []
    for frame in range(start, end + 1):
        scene.frame_set(frame)
        m = obj.matrix_world
        hips, left, right = (np.array((m @ obj.pose.bones[b].head)[:2]) for b in bones)
        dist.append(float(path.distance_to(hips)))
        k = int(np.argmin(np.linalg.norm(world - hips, axis=1)))
        if min((np.linalg.norm(world[k] - np.array(c[:2])) for c in corners), default=9.0) < 1.0:
            continue
        tangent = world[min(k + 5, len(world) - 1)] - world[max(k - 5, 0)]
        side = left - right
        forward = np.array([side[1], -side[0]])  # the character's left turned a quarter right
        cos = forward @ tangent / np.linalg.norm(forward) / np.linalg.norm(tangent)
        facing.append(float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))))
    scene.frame_set(end)
    hips = np.array((obj.matrix_world @ obj.pose.bones[bones[0]].head)[:2])
    return {"mean": float(np.mean(dist)), "max": float(np.max(dist)),
            "arrival": float(np.linalg.norm(hips - world[-1])), "facing": float(np.max(facing))}


def assert_walks(figures: dict) -> None:
    assert figures["max"] < 0.25 and figures["mean"] < 0.10, figures
    assert figures["arrival"] < 0.30, figures
    assert figures["facing"] < 30.0, figures


# --- reading curves (no model) -------------------------------------------------------------------

@pytest.mark.parametrize("kind, order, endpoint, bezier, cyclic", [
    ('BEZIER', 0, False, False, False), ('BEZIER', 0, False, False, True), ('POLY', 0, False, False, False),
    ('NURBS', 4, True, False, False), ('NURBS', 4, False, False, False), ('NURBS', 3, False, True, False),
    ('NURBS', 5, False, False, True), ('NURBS', 4, True, False, True)])
def test_curves_are_read_as_blender_draws_them(blender, kind, order, endpoint, bezier, cyclic):
    """The first spline, evaluated from its own data in the world matrix, lies on the
    polyline Blender itself evaluates (to_mesh), and the other way round."""
    from cadence.blender.path_curve import curve_world_points
    bpy = blender
    rng = np.random.default_rng(order + 2 * endpoint + 3 * cyclic)
    obj = make_curve(bpy, [tuple(p) for p in rng.uniform(-3, 3, (7, 3))], kind)
    spline = obj.data.splines[0]
    spline.use_cyclic_u = cyclic
    obj.data.resolution_u = 64
    if kind == 'NURBS':
        spline.order_u, spline.use_endpoint_u, spline.use_bezier_u = order, endpoint, bezier
        for p, w in zip(spline.points, rng.uniform(0.5, 2.0, 7)):
            p.co[3] = w
    obj.location, obj.rotation_euler, obj.scale = (1, 2, 3), (0.3, 0.2, 1.0), (2, 2, 2)
    depsgraph = bpy.context.evaluated_depsgraph_get()
    evaluated = obj.evaluated_get(depsgraph)
    mesh = evaluated.to_mesh()
    m = np.array(obj.matrix_world)
    blender_points = np.array([v.co[:] for v in mesh.vertices]) @ m[:3, :3].T + m[:3, 3]
    evaluated.to_mesh_clear()
    second = obj.data.splines.new('POLY')  # a second spline is not the path
    second.points.add(2)
    for k, p in enumerate(second.points):
        p.co = (5.0, k, 0.0, 1.0)
    if cyclic:
        blender_points = np.concatenate([blender_points, blender_points[:1]])
    ours = curve_world_points(obj, depsgraph)

    def off(points, polyline):
        a, ab = polyline[:-1], np.diff(polyline, axis=0)
        t = np.clip(np.einsum("pkd,kd->pk", points[:, None] - a, ab) / np.sum(ab * ab, 1), 0, 1)
        return np.linalg.norm(points[:, None] - (a + t[..., None] * ab), axis=2).min(1)

    assert off(blender_points, ours).max() < 0.03 and off(ours[::5], blender_points).max() < 0.03
    if not cyclic:
        assert np.linalg.norm(ours[0] - blender_points[0]) < 0.01
        assert np.linalg.norm(ours[-1] - blender_points[-1]) < 0.01


def test_the_ground_frame_is_where_the_retargeter_puts_the_hips(blender):
    """Canonical metres -> world for a scaled, rotated, moved, Y-up armature: a canonical
    motion baked with the retargeter puts the hips where the frame says."""
    from cadence.blender.path_curve import ground_frame
    from cadence.blender.rig_retarget import retarget_onto
    from cadence.motion.canonical_to_rig import RetargetOptions
    from cadence.motion.kinematics import rest_motion
    bpy = blender
    obj = setup(bpy, rb.mixamo(prefix="", **TURNED))
    frame = ground_frame(obj, depsgraph=bpy.context.evaluated_depsgraph_get())
    assert frame.metres == pytest.approx(1.2, rel=1e-3)
    np.testing.assert_allclose(frame.up, [0, 0, 1], atol=1e-6)
    motion = rest_motion(20)
    t = np.linspace(0, 1, 20)
    motion.root_positions[:, 0] += 3.0 * t
    motion.root_positions[:, 1] -= 2.0 * t
    retarget_onto(obj, motion, options=RetargetOptions(foot_cleanup=False), start_frame=1)
    for f in (1, 10, 20):
        bpy.context.scene.frame_set(f)
        hips = np.array(obj.matrix_world @ obj.pose.bones["Hips"].head)
        np.testing.assert_allclose(hips, frame.to_world(motion.root_positions[f - 1]), atol=2e-3)
    # Facing: the canonical forward (-Y) is the armature's own forward in the world.
    forward = frame.linear @ np.array([0.0, -1.0, 0.0])
    assert forward[:2] / np.linalg.norm(forward[:2]) == pytest.approx([np.sin(0.7), -np.cos(0.7)], abs=1e-6)


def test_timed_over_the_segment(weights):
    """Without times, a path is walked at a steady pace from the segment's first frame to
    its last (the frame before its end)."""
    from cadence.inference.motion.timeline import Segment, Timeline, Track
    from cadence.inference.runtime.jobs import segment_path, timed_over
    from cadence.motion.ground_path import GroundPath, PathError
    from cadence.motion.representation import FEATURE_DIM, Normalizer

    class Model:
        fps, normalizer = 30.0, Normalizer(np.zeros(FEATURE_DIM), np.ones(FEATURE_DIM), "test")

    path = GroundPath(np.array(L_CURVE)[:, :2])
    timed = timed_over(path, 4.0)
    np.testing.assert_allclose(timed.times, [0.0, 4.0 * 4.0 / 8.5, 4.0])
    assert timed_over(timed, 9.0) is timed  # a path with times keeps them
    timeline = Timeline([Track([Segment("bow", 0.0, 1.0), Segment("walk", 1.0, 5.0)])])
    follow = segment_path(Model, timeline, 1, path)
    assert (follow.first, follow.last) == (30, 150) and follow.path.duration == pytest.approx(119 / 30)
    with pytest.raises(PathError, match="segment 3"):
        segment_path(Model, timeline, 2, path)


# --- generating along a curve ---------------------------------------------------------------------

def test_walks_an_s_curve_then_regenerates_and_bakes(blender, weights):
    bpy = blender
    obj = setup(bpy, rb.mixamo(prefix=""))
    curve = make_curve(bpy, S_CURVE, location=(1.0, 0.5, 0.0))
    seg = add_prompt(bpy, "a person walks forward", 1, 211)
    seg.path = curve
    s = bpy.context.scene.cadence
    assert bpy.ops.cadence.generate() == {'FINISHED'}
    assert s.result.frames == 210
    first = walk_figures(bpy, obj, curve, 1, 211)
    assert_walks(first)
    knee = next(f for f in fcurves(s.preview_action) if f.data_path == 'pose.bones["LeftLeg"].rotation_quaternion')
    before = [k.co[1] for k in knee.keyframe_points]
    s.seed = 7
    assert bpy.ops.cadence.generate(only_active=True) == {'FINISHED'}  # Regenerate This Prompt
    knee = next(f for f in fcurves(s.preview_action) if f.data_path == 'pose.bones["LeftLeg"].rotation_quaternion')
    assert not np.allclose([k.co[1] for k in knee.keyframe_points], before, atol=1e-3)  # another take
    assert_walks(walk_figures(bpy, obj, curve, 1, 211))
    s.bake_name = "Hero path"
    assert bpy.ops.cadence.bake() == {'FINISHED'}
    assert obj.animation_data.action.name == "Hero path"
    baked = walk_figures(bpy, obj, curve, 1, 211)
    assert_walks(baked)
    print(f"\nS curve, plain rig: {first}\nafter regenerate + bake: {baked}")


def test_walks_an_l_on_a_turned_scaled_rig_after_a_gap(blender, weights):
    """A Y-up centimetre rig scaled 0.012 and turned 40 degrees, away from the origin; 24
    fps; the path's prompt starts at frame 13 (the model fills the frames before it)."""
    bpy = blender
    obj = setup(bpy, rb.mixamo(prefix="", **TURNED), fps=24)
    curve = make_curve(bpy, L_CURVE, handles='VECTOR', location=(-1.0, 1.0, 0.0))
    add_prompt(bpy, "a person walks", 13, 205).path = curve
    assert bpy.ops.cadence.generate() == {'FINISHED'}
    assert bpy.ops.cadence.bake() == {'FINISHED'}
    figures = walk_figures(bpy, obj, curve, 13, 205, corners=[(-1.0, -3.0)])
    assert_walks(figures)
    print(f"\nL curve, turned rig: {figures}")


def test_worker_thread_variations_walk_the_path_too(blender, weights):
    """The modal operator's route (prepare, sample in a thread, apply on the main thread)
    with two variations: each walks the curve; a prompt on another track regenerated
    alone leaves the walk on it."""

    from cadence.blender.preview_action import finish_run
    from cadence.blender.prompt_generation import prepare_generation
    bpy = blender
    obj = setup(bpy, rb.mixamo(prefix=""), steps=4)
    s = bpy.context.scene.cadence
    s.variations = 2
    curve = make_curve(bpy, S_CURVE)
    add_prompt(bpy, "a person walks", 1, 211, ["legs", "torso"]).path = curve
    add_prompt(bpy, "waves with the right hand", 60, 120, ["right_arm"], track=1)
    spec, run = prepare_generation(bpy.context)
    assert spec.path is not None and spec.path[0] == 0
    job = run_job_to_end(spec, run)
    assert job.error is None and len(job.result.motions) == 2
    finish_run(bpy.context, run, job.result)
    assert_walks(walk_figures(bpy, obj, curve, 1, 211))
    assert bpy.ops.cadence.step_variation(direction=1) == {'FINISHED'}
    assert_walks(walk_figures(bpy, obj, curve, 1, 211))
    s.active_track_index, s.seed = 1, 5
    assert bpy.ops.cadence.generate(only_active=True) == {'FINISHED'}  # the wave again
    assert_walks(walk_figures(bpy, obj, curve, 1, 211))


def test_walks_on_a_generated_rigify_control_rig(control_rig, blender, weights):  # noqa: F811 (a fixture)
    """The controls are keyed; the DEF bones, which follow them, walk the curve."""
    bpy = blender
    scene = bpy.context.scene
    scene.render.fps, scene.frame_start, scene.frame_end = 30, 1, 300
    control_rig.location, control_rig.rotation_euler = (0.5, -1.0, 0.0), (0.0, 0.0, 2.5)
    s = scene.cadence
    s.target, s.steps = control_rig, 0
    s.tracks.clear()
    curve = make_curve(bpy, S_CURVE, location=(-2.0, 1.0, 0.0))
    add_prompt(bpy, "a person walks", 1, 211).path = curve
    assert bpy.ops.cadence.generate() == {'FINISHED'}
    assert bpy.ops.cadence.bake() == {'FINISHED'}
    figures = walk_figures(bpy, control_rig, curve, 1, 211, bones=("DEF-spine", "DEF-thigh.L", "DEF-thigh.R"))
    assert_walks(figures)
    print(f"\nS curve, Rigify control rig: {figures}")


def test_a_curve_off_the_ground_is_projected_with_a_warning(blender, weights):
    from cadence.blender.prompt_generation import prepare_generation
    bpy = blender
    obj = setup(bpy, rb.mixamo(prefix=""), steps=2)
    high = make_curve(bpy, [(0, 0, 2.0), (0, -3, 2.0), (2, -5, 2.0)], location=(0.0, 0.0, 0.0))
    seg = add_prompt(bpy, "walk", 1, 121)
    seg.path = high
    _, run = prepare_generation(bpy.context)
    assert len(run.warnings) == 1 and "2.00 m above the character's floor" in run.warnings[0]
    assert bpy.ops.cadence.generate() == {'FINISHED'}
    bpy.context.scene.frame_set(120)
    hips = np.array(obj.matrix_world @ obj.pose.bones["Hips"].head)
    assert np.linalg.norm(hips[:2] - [2.0, -5.0]) < 0.3 and hips[2] < 1.2  # on the floor, at the end
    seg.path = make_curve(bpy, [(0, 0, 0.0), (0, -3, 0.5), (2, -5, 1.0)], name="Slope")
    _, run = prepare_generation(bpy.context)
    assert len(run.warnings) == 1 and "is not flat (its height varies by 100 cm)" in run.warnings[0]


def test_paces_and_prompts_that_do_not_walk_are_warned_about(blender, weights):
    from cadence.blender.preview_action import current_run
    from cadence.blender.prompt_generation import prepare_generation
    bpy = blender
    setup(bpy, rb.mixamo(prefix=""), steps=2)
    seg = add_prompt(bpy, "a person bows politely", 1, 31)
    seg.path = make_curve(bpy, L_CURVE, handles='VECTOR')
    _, run = prepare_generation(bpy.context)
    assert run.warnings == ["Track 1, 'a person bows politely' walks 8.5 m in 1.0 s (8.8 m/s), "
                            "faster than a sprint: lengthen the prompt or shorten the path"]
    seg.frame_end = 151
    assert bpy.ops.cadence.generate() == {'FINISHED'}  # a warning, not an error
    warnings = current_run(bpy.context.scene.cadence).context.warnings
    assert len(warnings) == 1 and warnings[0].startswith("'a person bows politely' reads as 'bow', not a walk")


@pytest.mark.parametrize("case, message", [
    ("mesh", "'Cube' is a mesh, not a curve"),
    ("no_points", "has no points: draw the path in it"),
    ("one_point", "fewer than two distinct points"),
    ("same_points", "fewer than two distinct points"),
    ("vertical", "is 1 cm long on the ground"),
    ("no_legs", "must drive the legs"),
    ("two_paths", "only one prompt may walk a path in a generation, and 2 have one: 'walk' (track 'Track 1', "
                  "prompt 1), 'run' (track 'Track 2', prompt 1)"),
    ("in_place", "Root Motion is In Place"),
    ("standing", "reads as a standing idle ('stand'): it cannot walk a path"),
])
def test_bad_paths_report_and_change_nothing(blender, weights, case, message):
    from cadence.panels import logic
    bpy = blender
    obj = setup(bpy, rb.mixamo(prefix=""), steps=2)
    s = bpy.context.scene.cadence
    seg = add_prompt(bpy, "walk", 1, 91)
    seg.path = make_curve(bpy, L_CURVE)
    if case == "mesh":
        cube = bpy.data.objects.new("Cube", bpy.data.meshes.new("Cube"))
        bpy.context.scene.collection.objects.link(cube)
        seg.path = cube  # a script can set what the panel's picker would not offer
    elif case == "no_points":
        seg.path = make_curve(bpy, None)
    elif case == "one_point":
        seg.path = make_curve(bpy, [(1.0, 1.0, 0.0)], 'POLY')
    elif case == "same_points":
        seg.path = make_curve(bpy, [(1.0, 1.0, 0.0), (1.0, 1.0, 0.0), (1.0, 1.0, 2.0)], 'POLY')
    elif case == "vertical":
        seg.path = make_curve(bpy, [(0.0, 0.0, 0.0), (0.01, 0.0, 3.0)], 'POLY')
    elif case == "no_legs":
        seg.parts = {"torso", "right_arm"}
    elif case == "two_paths":
        add_prompt(bpy, "run", 1, 91, track=1).path = make_curve(bpy, S_CURVE, name="Other")
    elif case == "in_place":
        s.root_motion = 'in_place'
    elif case == "standing":      # read in the worker: refused when sampling starts, not in the panel
        seg.text = "idle"
    before = fingerprint(bpy)
    with pytest.raises(RuntimeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        bpy.ops.cadence.generate()
    assert fingerprint(bpy) == before
    assert obj.animation_data is None or obj.animation_data.action is None
    if case not in ("in_place", "standing"):  # the panel says so before Generate is clicked
        state = logic.generate_state(bpy.context)
        assert not state.enabled and message.split(" (")[0].lower() in state.reason.lower()


def test_generate_along_a_path_is_undone_in_one_step(blender, weights):
    bpy = blender
    obj = setup(bpy, rb.mixamo(prefix=""), steps=2)
    obj.animation_data_create().action = bpy.data.actions.new("idle")
    curve = make_curve(bpy, L_CURVE)
    add_prompt(bpy, "walk", 1, 121).path = curve
    bpy.ops.ed.undo_push(message="before Cadence")
    before = fingerprint(bpy)
    assert bpy.ops.cadence.generate('EXEC_DEFAULT', True) == {'FINISHED'}
    assert bpy.data.objects["Hero"].animation_data.action.name == "Cadence Preview"
    assert bpy.ops.ed.undo() == {'FINISHED'}
    assert bpy.data.objects["Hero"].animation_data.action.name == "idle"
    now = fingerprint(bpy)
    assert now[:2] == before[:2] and now[4:] == before[4:]
    assert bpy.context.scene.cadence.tracks[0].segments[0].path.name == "Path"


def test_the_panel_shows_the_path_and_its_pace(blender, weights, tmp_path):
    from types import SimpleNamespace

    from cadence.panels import logic, sidebar
    bpy = blender
    setup(bpy, rb.mixamo(prefix=""))
    seg = add_prompt(bpy, "walk", 1, 211)
    seg.path = make_curve(bpy, L_CURVE, handles='VECTOR')
    assert logic.segment_path_line(seg, bpy.context.scene) == (
        "Walks 8.5 m in 7.0 s (1.2 m/s, a walk's pace)", 'INFO')
    seg.frame_end = 31
    assert "faster than a sprint" in logic.segment_path_line(seg, bpy.context.scene)[0]
    rec = Recorder()
    sidebar.CADENCE_PT_timeline.draw(SimpleNamespace(layout=rec), bpy.context)
    track = bpy.context.scene.cadence.tracks[0]
    sidebar.CADENCE_UL_segments.draw_item(None, bpy.context, rec, track, seg, 0, track, "active_segment_index")
    check_layout_calls(bpy, rec.log)
    assert any(e[0] == "prop" and e[1][1] == "path" for e in rec.log)
    assert any(text.startswith("Walks 8.5 m in 1.0 s") for text in rec.labels())
    assert bpy.ops.cadence.segment_duplicate() == {'FINISHED'}  # the copy walks no path
    assert track.segments[1].path is None and logic.generate_state(bpy.context).enabled
    path = tmp_path / "path.blend"  # the path is kept in the file
    bpy.ops.wm.save_as_mainfile(filepath=str(path))
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.wm.open_mainfile(filepath=str(path))
    assert bpy.context.scene.cadence.tracks[0].segments[0].path.name == "Path"


def test_arrive_facing_an_object_curves_the_walk_into_the_end(blender, weights):
    """A straight 4 m curve with Arrive Facing a door 3 m to the side of its end: the walk
    curves round over its last metres and the character reaches the end facing the door
    (it would face along the curve, 90 degrees off, without it)."""
    bpy = blender
    obj = setup(bpy, rb.mixamo(prefix=""), steps=2)
    curve = make_curve(bpy, [(0.0, 0.0, 0.0), (0.0, -4.0, 0.0)], handles='VECTOR')
    door = bpy.data.objects.new("Door", None)
    bpy.context.scene.collection.objects.link(door)
    door.location = (-3.0, -4.0, 1.0)
    seg = add_prompt(bpy, "a person walks", 1, 151)
    seg.path, seg.path_facing = curve, door
    assert bpy.ops.cadence.generate() == {'FINISHED'}
    assert bpy.ops.cadence.bake() == {'FINISHED'}
    scene = bpy.context.scene
    offs = []
    for frame in range(120, 151, 3):
        scene.frame_set(frame)
        m = obj.matrix_world
        hips, left, right = (np.array((m @ obj.pose.bones[b].head)[:2]) for b in ("Hips", "LeftUpLeg", "RightUpLeg"))
        side = left - right
        forward = np.array([side[1], -side[0]])
        to_door = np.array([-3.0, -4.0]) - hips
        offs.append(np.degrees(np.arccos(forward @ to_door / np.linalg.norm(forward) / np.linalg.norm(to_door))))
    assert max(offs[-8:]) < 15.0 and offs[-1] < 5.0 and np.linalg.norm(hips - [0.0, -4.0]) < 0.3, (offs, hips)
    door.location = (0.0, -4.0, 1.0)                          # on the end: refused, nothing changes
    before = fingerprint(bpy)
    with pytest.raises(RuntimeError, match="the point to face is where the path ends"):
        bpy.ops.cadence.generate()
    assert fingerprint(bpy) == before
