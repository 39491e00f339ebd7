"""Generate Gestures in headless Blender: speech -> preview on the armature and the face
on the face mesh in one click; bad input reports and changes nothing."""
import numpy as np
import pytest
import soundfile as sf

import rig_builders as rb
from conftest import FIXTURES
from panel_support import fcurves, fingerprint


@pytest.fixture
def clip(tmp_path):
    x, sr = sf.read(FIXTURES / "facegood_1114_2_05_slice.flac", dtype="float32")
    path = tmp_path / "speech.wav"
    sf.write(path, x[:int(2.5 * sr)], sr)
    return path


def face_mesh(bpy, name="Face", keys=("jawOpen", "eyeBlinkLeft", "eyeBlinkRight")):
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata([(0, 0, 0), (1, 0, 0), (1, 0, 1)], [], [(0, 1, 2)])
    obj = bpy.data.objects.new(name, mesh)
    bpy.context.scene.collection.objects.link(obj)
    obj.shape_key_add(name="Basis")
    for k in keys:
        obj.shape_key_add(name=k, from_mix=False)
    return obj


def test_generate_gestures_with_face(blender, weights, clip):
    bpy = blender
    scene = bpy.context.scene
    scene.render.fps, scene.frame_start = 30, 1
    obj = rb.build_object(bpy, rb.mixamo(prefix=""), name="Hero")
    face = face_mesh(bpy)
    teeth = face_mesh(bpy, "Teeth", ("jawOpen",))    # the character's other face mesh
    face.parent = teeth.parent = obj
    s = scene.cadence
    s.target, s.face_mesh, s.steps = obj, face, 2
    s.audio_source, s.audio_path = 'FILE', str(clip)
    assert bpy.ops.cadence.generate_gestures(recognise=False, seed=1) == {'FINISHED'}
    preview = s.preview_action
    assert preview is not None and s.preview_object == obj and obj.animation_data.action == preview
    paths = {f.data_path.split('"')[1] for f in fcurves(preview) if f.data_path.startswith("pose.bones")}
    assert {"RightArm", "LeftForeArm", "Hips"} <= paths
    assert s.result.frames == 75
    key_action = face.data.shape_keys.animation_data.action
    assert key_action is not None and key_action.name.startswith("FaceFace")
    jaw = next(f for f in fcurves(key_action) if "jawOpen" in f.data_path)
    assert max(k.co[1] for k in jaw.keyframe_points) > 0.2
    teeth_jaw = next(f for f in fcurves(teeth.data.shape_keys.animation_data.action) if "jawOpen" in f.data_path)
    assert [k.co[:] for k in teeth_jaw.keyframe_points] == [k.co[:] for k in jaw.keyframe_points]
    # Bake works on the gesture preview as on any generation
    assert bpy.ops.cadence.bake() == {'FINISHED'}


def test_generate_gestures_bad_input_changes_nothing(blender, weights, tmp_path):
    bpy = blender
    obj = rb.build_object(bpy, rb.mixamo(prefix=""), name="Hero")
    s = bpy.context.scene.cadence
    s.target = obj
    before = fingerprint(bpy)
    s.audio_source, s.audio_path = 'FILE', str(tmp_path / "missing.wav")
    with pytest.raises(RuntimeError, match="audio file not found"):
        bpy.ops.cadence.generate_gestures()
    (tmp_path / "notes.wav").write_text("not audio\n" * 50)
    with pytest.raises(RuntimeError, match="not an audio file"):
        bpy.ops.cadence.generate_gestures(filepath=str(tmp_path / "notes.wav"))
    sf.write(tmp_path / "quiet.wav", np.zeros(16000, np.float32), 16000)
    with pytest.raises(RuntimeError, match="silent"):
        bpy.ops.cadence.generate_gestures(filepath=str(tmp_path / "quiet.wav"))
    s.target = None
    with pytest.raises(RuntimeError):
        bpy.ops.cadence.generate_gestures(filepath=str(tmp_path / "quiet.wav"))
    s.target = obj
    assert fingerprint(bpy) == before and s.preview_action is None


def test_panel_fills_the_gesture_operator(blender, clip):
    from cadence.blender.speech_input import SPEECH_ACTIONS, operator_values
    s = blender.context.scene.cadence
    s.audio_source, s.audio_path = 'FILE', str(clip)
    s.speech_transcript, s.gesture_semantic = "hello there", 0.8
    action = next(a for a in SPEECH_ACTIONS if a.idname == "cadence.generate_gestures")
    assert action.invoke and action.needs_armature
    values = operator_values(blender.context, action)
    assert values["semantic"] == pytest.approx(0.8) and values["transcript"] == "hello there"
    assert values["filepath"] == str(clip) and values["start_frame"] == blender.context.scene.frame_start


def test_fast_preview_samples_speaking_gestures_with_the_student(blender, weights, clip):
    from cadence.blender.gesture import prepare_gestures
    bpy = blender
    bpy.context.scene.render.fps = 30
    obj = rb.build_object(bpy, rb.mixamo(prefix=""), name="Hero")
    s = bpy.context.scene.cadence
    s.target, s.steps = obj, 0
    s.audio_source, s.audio_path = 'FILE', str(clip)
    s.fast_preview = True
    spec, _, _ = prepare_gestures(bpy.context, recognise=False, mode='SPEAKING')
    assert spec.solver == "distilled"
    listener, _, _ = prepare_gestures(bpy.context, recognise=False, mode='LISTENING')
    assert listener.solver is None  # the listener's idle and nods keep the full model
    assert bpy.ops.cadence.generate_gestures(recognise=False, seed=1) == {'FINISHED'}
    assert s.result.frames == 75 and obj.animation_data.action == s.preview_action and s.result.fast


def test_generate_gestures_applies_the_targets(blender, weights, clip):
    """A speaker looks at the camera over frames 20-60 of a 2.5 s clip: the head turns to
    it (as Generate's targets do); a target outside the audio's frames is refused."""
    from test_blender_targets import add_target, head_angles
    bpy = blender
    scene = bpy.context.scene
    scene.render.fps, scene.frame_start = 30, 1
    obj = rb.build_object(bpy, rb.mixamo(prefix=""), name="Hero")
    s = scene.cadence
    s.target, s.steps = obj, 2
    s.audio_source, s.audio_path = 'FILE', str(clip)
    from cadence.blender.path_curve import ground_frame
    where = ground_frame(obj).to_world(np.array([2.0, -3.0, 1.6]))     # front left, above the eyes
    camera = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    scene.collection.objects.link(camera)
    camera.location = tuple(where)
    target = add_target(bpy, 'LOOK_AT', camera, 20, 60)
    target.mute = True
    assert bpy.ops.cadence.generate_gestures(recognise=False, seed=1) == {'FINISHED'}
    before = head_angles(bpy, obj, "Head", where, range(35, 56, 5))
    target.mute = False
    assert bpy.ops.cadence.generate_gestures(recognise=False, seed=1) == {'FINISHED'}
    after = head_angles(bpy, obj, "Head", where, range(35, 56, 5))
    assert after.max() < 20.0 and before.mean() > 25.0, (after, before)
    target.frame_end = 120                                       # past the 75 frames of audio
    before_bad = fingerprint(bpy)
    with pytest.raises(RuntimeError, match="outside the generated frames 1-75: move it inside the audio's"):
        bpy.ops.cadence.generate_gestures(recognise=False, seed=1)
    assert fingerprint(bpy) == before_bad


def test_a_look_turns_the_faces_eyelook_shapes_with_the_eyes(blender, weights, clip):
    """A speaker looks at a camera past the neck's turn (far to the left, a little behind)
    over frames 20-60: the face's eyeLook shape keys turn both eyes to the left, as the
    body's eyes do, instead of following the speech's own fixations (issue 22)."""
    from test_blender_targets import add_target

    from cadence.blender.path_curve import ground_frame
    bpy = blender
    scene = bpy.context.scene
    scene.render.fps, scene.frame_start = 30, 1
    obj = rb.build_object(bpy, rb.mixamo(prefix=""), name="Hero")
    looks = ("eyeLookOutLeft", "eyeLookInLeft", "eyeLookInRight", "eyeLookOutRight")
    face = face_mesh(bpy, keys=("jawOpen",) + looks)
    face.parent = obj
    s = scene.cadence
    s.target, s.face_mesh, s.steps = obj, face, 2
    s.audio_source, s.audio_path = 'FILE', str(clip)
    camera = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    scene.collection.objects.link(camera)
    camera.location = tuple(ground_frame(obj).to_world(np.array([3.0, 0.5, 1.6])))
    add_target(bpy, 'LOOK_AT', camera, 20, 60)
    assert bpy.ops.cadence.generate_gestures(recognise=False, seed=1) == {'FINISHED'}
    curves = {f.data_path.split('"')[1]: f for f in fcurves(face.data.shape_keys.animation_data.action)}
    for frame in (30, 40, 50):       # the neck's 80 degrees leave the eyes 10-20: a third to two thirds
        out_left, in_left, in_right, out_right = (curves[n].evaluate(frame) for n in looks)
        assert out_left > 0.25 and in_right > 0.25, (frame, out_left, in_right)
        assert in_left < 0.02 and out_right < 0.02, (frame, in_left, out_right)
