"""Baking face curves onto shape keys (blender/shape_keys.py) and the Generate Face operator."""
import numpy as np
import pytest

from cadence.face.animation import FaceAnimation
from cadence.face.arkit import ARKIT_NAMES, INDEX
from cadence.face.csv_io import write_face_csv

KEYS = ["jawOpen", "EyeBlink_L", "eye_blink_right", "mouthFunnel", "mouthSmile", "Extra"]


def face_mesh(bpy, keys=KEYS, name="Face"):
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata([(0, 0, 0), (1, 0, 0), (1, 0, 1), (0, 0, 1)], [], [(0, 1, 2, 3)])
    obj = bpy.data.objects.new(name, mesh)
    bpy.context.scene.collection.objects.link(obj)
    if keys:
        obj.shape_key_add(name="Basis")
        for k in keys:
            obj.shape_key_add(name=k, from_mix=False)
    bpy.context.view_layer.objects.active = obj
    obj.select_set(True)
    return obj


def animation(frames=30, fps=30.0):
    t = np.arange(frames) / fps
    w = np.zeros((frames, 52), np.float32)
    w[:, INDEX["jawOpen"]] = 0.5 + 0.5 * np.sin(2 * np.pi * t)
    w[:, INDEX["eyeBlinkLeft"]] = np.linspace(0, 1, frames)
    w[:, INDEX["eyeBlinkRight"]] = np.linspace(1, 0, frames)
    w[:, INDEX["mouthSmileLeft"]] = 0.8
    w[:, INDEX["mouthSmileRight"]] = 0.4
    return FaceAnimation(w, None, None, fps)


def test_bake_keys_by_name(blender):
    from cadence.blender.shape_keys import bake_face
    obj = face_mesh(blender)
    anim = animation()
    obj.data.shape_keys.key_blocks["Extra"].value = 0.25
    result = bake_face(obj, anim, fps=30.0, update_scene=True)
    assert result.frames == 30 and result.key_map.missing == [
        n for n in ARKIT_NAMES if n not in ("jawOpen", "eyeBlinkLeft", "eyeBlinkRight", "mouthFunnel",
                                            "mouthSmileLeft", "mouthSmileRight")]
    key = obj.data.shape_keys
    assert key.animation_data.action == result.action
    scene = blender.context.scene
    assert (scene.frame_start, scene.frame_end) == (1, 30)
    for frame in (1, 8, 30):
        scene.frame_set(frame)
        k = frame - 1
        assert key.key_blocks["jawOpen"].value == pytest.approx(anim.weights[k, INDEX["jawOpen"]], abs=1e-5)
        assert key.key_blocks["EyeBlink_L"].value == pytest.approx(anim.weights[k, INDEX["eyeBlinkLeft"]], abs=1e-5)
        assert key.key_blocks["eye_blink_right"].value == pytest.approx(
            anim.weights[k, INDEX["eyeBlinkRight"]], abs=1e-5)
        assert key.key_blocks["mouthSmile"].value == pytest.approx(0.6, abs=1e-5)  # both sides
        assert key.key_blocks["Extra"].value == 0.25  # not an ARKit key: untouched


def test_bake_resamples_to_the_scene_rate(blender):
    from cadence.blender.shape_keys import bake_face
    obj = face_mesh(blender)
    blender.context.scene.render.fps = 24
    result = bake_face(obj, animation(frames=60))
    assert result.frames == 48
    first = bake_face(obj, animation()).action
    assert first.use_fake_user and result.action.name in blender.data.actions


def test_bake_errors(blender):
    from cadence.blender.shape_keys import bake_face
    with pytest.raises(ValueError, match="no shape keys"):
        bake_face(face_mesh(blender, keys=[], name="Plain"), animation())
    with pytest.raises(ValueError, match="none of the 2 shape keys"):
        bake_face(face_mesh(blender, keys=["Smile2", "Frown2"], name="Other"), animation())


def test_operator_bakes_a_csv_and_reports_missing(blender, tmp_path):
    obj = face_mesh(blender)
    path = write_face_csv(tmp_path / "f.csv", animation())
    assert "UNDO" in blender.types.CADENCE_OT_generate_face.bl_options
    result = blender.ops.cadence.generate_face(filepath=str(path))
    assert result == {'FINISHED'}
    assert obj.data.shape_keys.animation_data.action.name.startswith("FaceFace")


def test_operator_errors_change_nothing(blender, tmp_path):
    face_mesh(blender)
    before = len(blender.data.actions)
    with pytest.raises(RuntimeError, match="no such file"):
        blender.ops.cadence.generate_face(filepath=str(tmp_path / "missing.wav"))
    with pytest.raises(RuntimeError, match="no audio"):  # nor any in the Speech panel
        blender.ops.cadence.generate_face()
    (tmp_path / "silent.wav").write_bytes(b"")
    with pytest.raises(RuntimeError, match="empty"):
        blender.ops.cadence.generate_face(filepath=str(tmp_path / "silent.wav"))
    assert len(blender.data.actions) == before
    face_mesh(blender, keys=[], name="Plain")
    assert not blender.ops.cadence.generate_face.poll()


def test_operator_generates_from_audio_with_emotion(blender):
    from conftest import FIXTURES
    obj = face_mesh(blender, keys=list(ARKIT_NAMES))
    blender.context.scene.render.fps = 30
    result = blender.ops.cadence.generate_face(filepath=str(FIXTURES / "facegood_1114_2_05_slice.flac"),
                                               emotion_happy=0.9, start_frame=10)
    assert result == {'FINISHED'}
    key = obj.data.shape_keys
    scene = blender.context.scene
    assert (scene.frame_start, scene.frame_end) == (10, 249)
    jaw, smile = [], []
    for frame in range(10, 250, 3):
        scene.frame_set(frame)
        jaw.append(key.key_blocks["jawOpen"].value)
        smile.append(key.key_blocks["mouthSmileLeft"].value)
    assert max(jaw) > 0.3 and min(jaw) < 0.05 and min(smile) > 0.3


def face_rig(bpy, with_keys=False):
    """A Mixamo-named body rig with a jaw bone, its armature data Y-up under a 90-degree
    object rotation (like an FBX import), deforming a face mesh without (or with) ARKit keys."""
    from rig_builders import Y_UP, J, P, build_object, mixamo
    spec = mixamo(data_rotation=Y_UP, object_euler=(np.pi / 2, 0.0, 0.0))
    spec.bones["mixamorig:Jaw"] = ("mixamorig:Head", P[J["jaw"]])
    arm = build_object(bpy, spec, "FaceRig")
    mesh = face_mesh(bpy, keys=["eyeBlinkLeft", "eyeBlinkRight"] if with_keys else [], name="RigFace")
    mesh.parent = arm
    mesh.modifiers.new("Armature", 'ARMATURE').object = arm
    bpy.context.view_layer.objects.active = mesh
    return arm, mesh


def rig_animation(frames=30):
    w = np.zeros((frames, 52), np.float32)
    w[:, INDEX["jawOpen"]] = np.linspace(0, 1, frames)
    head = np.zeros((frames, 3), np.float32)
    head[:, 0] = np.linspace(0, 20, frames)          # turn toward the character's left
    head[10, :] = (0, 15, 0)                          # chin up at frame 11
    return FaceAnimation(w, head, None, 30.0)


def world_direction(arm, bone, local):
    m = arm.matrix_world @ arm.pose.bones[bone].matrix
    v = (m.to_3x3() @ arm.data.bones[bone].matrix_local.to_3x3().inverted()
         @ arm.matrix_world.to_3x3().inverted() @ local)
    return np.array(v.normalized())


def test_rig_bake_turns_the_head_and_opens_the_jaw(blender, tmp_path):
    from mathutils import Vector
    arm, mesh = face_rig(blender)
    scene = blender.context.scene
    scene.render.fps = 30
    path = tmp_path / "rig.csv"
    write_face_csv(path, rig_animation())
    result = blender.ops.cadence.generate_face(filepath=str(path), start_frame=1)
    assert result == {'FINISHED'}
    track = arm.animation_data.nla_tracks["Cadence Face"]
    assert track.strips[0].blend_type == 'COMBINE'
    forward = Vector((0, -1, 0))
    scene.frame_set(1)
    rest_face = world_direction(arm, "mixamorig:Head", forward)
    assert np.allclose(rest_face, (0, -1, 0), atol=1e-4)
    scene.frame_set(30)                              # yaw 20 degrees: the face turns toward +X
    face = world_direction(arm, "mixamorig:Head", forward)
    assert face[0] == pytest.approx(np.sin(np.radians(20)), abs=0.01) and abs(face[2]) < 0.01
    neck = world_direction(arm, "mixamorig:Neck", forward)
    assert 0.05 < neck[0] < face[0]                   # the neck takes a share
    scene.frame_set(11)                              # pitch 15 degrees: the face looks up
    assert world_direction(arm, "mixamorig:Head", forward)[2] == pytest.approx(np.sin(np.radians(15)), abs=0.01)
    # the jaw (no jawOpen key on the mesh) swings the chin down, in the head's frame
    jaw = arm.pose.bones["mixamorig:Jaw"]
    scene.frame_set(1)
    assert jaw.rotation_quaternion.angle == pytest.approx(0.0, abs=1e-4)
    scene.frame_set(30)
    from cadence.face.head_pose import JAW_MAX_DEGREES
    assert np.degrees(jaw.rotation_quaternion.angle) == pytest.approx(JAW_MAX_DEGREES, abs=0.5)
    chin = arm.matrix_world.to_3x3() @ (jaw.matrix.to_3x3() @ Vector((0, 1, 0)))
    chin_rest = arm.matrix_world.to_3x3() @ (arm.data.bones["mixamorig:Jaw"].matrix_local.to_3x3() @ Vector((0, 1, 0)))
    assert chin.z < chin_rest.z - 0.2                 # the jaw bone points further down


def test_rig_with_shape_keys_keeps_the_jaw_bone_still(blender, tmp_path):
    arm, mesh = face_rig(blender, with_keys=True)
    mesh.data.shape_keys.key_blocks["eyeBlinkLeft"].name = "jawOpen"
    blender.context.scene.render.fps = 30
    path = tmp_path / "rig.csv"
    write_face_csv(path, rig_animation())
    assert blender.ops.cadence.generate_face(filepath=str(path)) == {'FINISHED'}
    blender.context.scene.frame_set(30)
    assert arm.pose.bones["mixamorig:Jaw"].rotation_quaternion.angle == pytest.approx(0.0, abs=1e-5)
    assert arm.pose.bones["mixamorig:Head"].rotation_quaternion.angle > 0.1
    assert mesh.data.shape_keys.key_blocks["jawOpen"].value == pytest.approx(1.0, abs=1e-4)


def test_face_job_thread_progress_and_cancel():
    from cadence.inference.face.job import FaceJob, FaceSpec

    from conftest import FIXTURES
    spec = FaceSpec(FIXTURES / "english_bear.flac", method="phoneme")
    job = FaceJob(spec).start()
    assert job.wait(60) and job.error is None and not job.cancelled
    assert job.progress == 1.0 and job.result.num_frames == 101 and job.result.info["method"] == "phoneme"
    cancelled = FaceJob(FaceSpec(FIXTURES / "english_bear.flac", method="blend"))
    cancelled.cancel()
    cancelled.start()
    assert cancelled.wait(60) and cancelled.cancelled and cancelled.result is None


def test_operator_takes_the_panels_method_and_transcript(blender):
    from conftest import FIXTURES
    obj = face_mesh(blender, keys=list(ARKIT_NAMES), name="PanelFace")
    settings = blender.context.scene.cadence
    blender.context.scene.render.fps = 30
    path = str(FIXTURES / "english_bear.flac")

    def mouth_close_peak():
        key = obj.data.shape_keys
        values = []
        for frame in range(1, 100, 2):
            blender.context.scene.frame_set(frame)
            values.append(key.key_blocks["mouthClose"].value)
        return max(values)

    settings.face_method, settings.speech_transcript = 'LEARNED', ""
    assert blender.ops.cadence.generate_face(filepath=path) == {'FINISHED'}
    assert mouth_close_peak() < 0.01                 # the learned model never seals the lips
    settings.face_method = 'PHONEME'
    settings.speech_transcript = "The big brown bear jumped over a bubbling brook."
    assert blender.ops.cadence.generate_face(filepath=path) == {'FINISHED'}
    assert mouth_close_peak() > 0.03                 # aligned p/b/m close them


def test_face_job_on_a_long_file_uses_the_phone_workers(tmp_path):
    """From the job's worker thread (as in Blender), a file of several segments goes
    through the phone-loop worker processes and gives what one process gives."""
    import soundfile as sf

    from cadence.inference.face.job import FaceJob, FaceSpec
    from cadence.inference.speech import sphinx_pool, transcribe

    from conftest import FIXTURES
    samples, rate = sf.read(str(FIXTURES / "english_bear.flac"), dtype="float32")
    gap = np.zeros(int(rate), np.float32)
    path = tmp_path / "long.wav"
    sf.write(str(path), np.concatenate([np.concatenate([samples, gap])] * 7), rate)   # 30 s
    sphinx_pool.shutdown()
    seen = []
    job = FaceJob(FaceSpec(path, method="phoneme"))
    job.start()
    while not job.wait(0.05):
        seen.append(job.progress)
    assert job.error is None and job.result is not None
    assert seen == sorted(seen)
    assert "phones" in sphinx_pool._POOLS                       # decoded by the workers
    workers = transcribe.SPHINX_WORKERS
    try:
        transcribe.SPHINX_WORKERS = 0
        alone = FaceJob(FaceSpec(path, method="phoneme")).start()
        assert alone.wait(120) and alone.error is None
    finally:
        transcribe.SPHINX_WORKERS = workers
    assert np.array_equal(job.result.weights, alone.result.weights)
