"""Generate Gestures in mode Listening, headless Blender: the target listens to the
audio (nods on the neck and head, the body in place, no face) and bakes like any run."""
import numpy as np
import pytest
import soundfile as sf

import rig_builders as rb
from conftest import FIXTURES
from panel_support import fcurves


@pytest.fixture
def clip(tmp_path):
    x, sr = sf.read(FIXTURES / "facegood_1114_2_05_slice.flac", dtype="float32")
    path = tmp_path / "other.wav"
    sf.write(path, x[:8 * sr], sr)
    return path


def _world(bpy, obj, bone: str, frame: int) -> np.ndarray:
    bpy.context.scene.frame_set(frame)
    return np.array(obj.matrix_world @ obj.pose.bones[bone].matrix)


def test_listening_mode_nods_in_place_and_bakes(blender, weights, clip):
    from test_gesture_blender import face_mesh

    from cadence.inference.gesture.listening import place_nods
    from cadence.inference.speech.audio import load_audio
    from cadence.inference.speech.prosody import analyse
    from cadence.inference.speech.vad import detect_speech
    bpy = blender
    scene = bpy.context.scene
    scene.render.fps, scene.frame_start = 30, 1
    speaker = rb.build_object(bpy, rb.mixamo(prefix=""), name="Speaker")
    obj = rb.build_object(bpy, rb.mixamo(prefix=""), name="Listener")
    obj.cadence_gesture_mode = 'LISTENING'          # per character: the speaker keeps Speaking
    assert speaker.cadence_gesture_mode == 'SPEAKING'
    face = face_mesh(bpy)
    face.parent = obj
    s = scene.cadence
    s.target, s.face_mesh, s.steps = obj, face, 2
    s.audio_source, s.audio_path = 'FILE', str(clip)
    assert bpy.ops.cadence.generate_gestures(seed=2) == {'FINISHED'}   # the target's own mode
    preview = s.preview_action
    assert preview is not None and obj.animation_data.action == preview and s.result.frames == 240
    paths = {f.data_path.split('"')[1] for f in fcurves(preview) if f.data_path.startswith("pose.bones")}
    assert {"Neck", "Head", "Hips"} <= paths
    assert face.data.shape_keys.animation_data is None or face.data.shape_keys.animation_data.action is None
    audio = load_audio(clip)
    nods = place_nods(detect_speech(audio).segments, audio.duration, 2,
                      analyse(audio.samples).syllables, analyse(audio.samples).prominence)
    assert nods
    for nod in nods:   # the head pitches forward (-Y) by several degrees at the bottom of the nod
        before = _world(bpy, obj, "Head", 1 + int(nod.start * 30) - 1)
        bottom = _world(bpy, obj, "Head", 1 + int((nod.start + 0.4 * nod.seconds / (2 if nod.double else 1)) * 30))
        up0, up1 = before[:3, 1], bottom[:3, 1]     # the bone's own axis, neck -> top of the head
        angle = np.degrees(np.arccos(np.clip(up0 @ up1 / np.linalg.norm(up0) / np.linalg.norm(up1), -1, 1)))
        assert angle > 4.0 and up1[1] / np.linalg.norm(up1) < up0[1] / np.linalg.norm(up0)
    hips = np.array([_world(bpy, obj, "Hips", f)[:3, 3] for f in range(1, 241, 10)])
    assert np.ptp(hips[:, :2], axis=0).max() < 0.10                     # stays within 10 cm
    assert bpy.ops.cadence.bake() == {'FINISHED'}
    assert obj.animation_data.action is not None and obj.animation_data.action != preview
    listened = obj.animation_data.action
    s.target, s.face_mesh = speaker, None                 # the other character speaks the same clip
    assert bpy.ops.cadence.generate_gestures(recognise=False, seed=1) == {'FINISHED'}
    assert s.preview_object == speaker and obj.animation_data.action == listened


def test_the_panel_shows_the_targets_mode(blender, clip):
    from types import SimpleNamespace

    from cadence.panels import sidebar

    from panel_support import Recorder, check_layout_calls
    bpy = blender
    obj = rb.build_object(bpy, rb.mixamo(prefix=""), name="Listener")
    s = bpy.context.scene.cadence
    s.target, s.audio_source, s.audio_path = obj, 'FILE', str(clip)
    assert obj.bl_rna.properties["cadence_gesture_mode"].enum_items.keys() == ['SPEAKING', 'LISTENING']
    for mode, semantic in (('SPEAKING', True), ('LISTENING', False)):
        obj.cadence_gesture_mode = mode
        rec = Recorder()
        sidebar.CADENCE_PT_speech.draw(SimpleNamespace(layout=rec), bpy.context)
        check_layout_calls(bpy, rec.log)
        props = [args[1] for _, args, _ in rec.calls("prop")]
        assert "cadence_gesture_mode" in props and ("gesture_semantic" in props) == semantic
        assert "cadence.generate_gestures" in rec.operators()
