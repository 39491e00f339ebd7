"""The demo (``./cadence demo``, run by tools/demo) on a short configuration: a
two-track timeline with sliders, retargeted onto the Mixamo-named character, a face
keyed from speech, saved and rendered."""

import numpy as np
import pytest
import soundfile as sf

from cadence.cli.demo import CHARACTER, DEFAULT_AUDIO, DemoSettings, run_demo
from cadence.cli.main import CliError

from panel_support import fcurves


@pytest.fixture
def short_inputs(tmp_path):
    timeline = tmp_path / "t.txt"
    timeline.write_text("walk forward # 0 # 2 # legs torso # happy=0.8\n"
                        "wave with the right hand # 0.5 # 1.5 # right_arm\n")
    samples, rate = sf.read(DEFAULT_AUDIO)
    audio = tmp_path / "speech.flac"
    sf.write(audio, samples[:rate], rate)  # one second
    return timeline, audio


def test_demo_makes_a_retargeted_scene_with_a_talking_face(blender, tmp_path, short_inputs):
    bpy = blender
    timeline, audio = short_inputs
    lines = []
    report = run_demo(DemoSettings(out_dir=tmp_path / "out", timeline=timeline, audio=audio,
                                   steps=4, preview_size=(64, 80), preview_frames=2),
                      log=lines.append)
    out = tmp_path / "out"
    assert {f.name for f in report.files} == {"demo.bvh", "demo.blend", "demo.png"}
    assert [name for name, _ in report.stages] == [
        "load models", "generate the timeline", "speech -> face (ARKit-52)",
        "start Blender (import bpy)", "retarget, body and face", "save the .blend",
        "render the preview"]
    assert all(seconds >= 0 for _, seconds in report.stages)
    assert any(line.startswith("made ") for line in lines) and "total" in lines[-1]
    png = (out / "demo.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert np.frombuffer(png[16:24], ">u4").tolist() == [2 * 64 + 3 * 4, 2 * 80 + 3 * 4]  # 2 x 2 tiles

    bpy.ops.wm.open_mainfile(filepath=str(out / "demo.blend"))
    scene = bpy.context.scene
    assert (scene.frame_start, scene.frame_end) == (1, 60)  # 2 s at 30 fps (speech is 1 s)
    rig = bpy.data.objects[CHARACTER]
    action = rig.animation_data.action
    assert action.name == "CadenceDemo"
    keyed = {p.split('"')[1] for p in _paths(action)}
    assert {"mixamorig:Hips", "mixamorig:RightForeArm", "mixamorig:LeftUpLeg"} <= keyed
    assert report.bones_mapped >= 22
    # the body follows the rig; the face rides on the head bone
    body = next(o for o in rig.children if o.type == 'MESH' and o.modifiers)
    assert body.modifiers[0].object == rig
    face = bpy.data.objects["CadenceFace"]
    assert face.parent == rig and face.parent_bone == "mixamorig:Head"
    face_action = face.data.shape_keys.animation_data.action
    assert face_action.name == "CadenceDemoFace"
    assert "jawOpen" in {p.split('"')[1] for p in _paths(face_action)}
    assert report.face_keys >= 40
    # the jaw moves with the speech
    jaw = face.data.shape_keys.key_blocks["jawOpen"]
    values = []
    for f in range(1, 31, 3):
        scene.frame_set(f)
        values.append(jaw.value)
    assert max(values) - min(values) > 0.05
    # the hips travel: the walk was retargeted, not just posed
    scene.frame_set(1)
    start = (rig.matrix_world @ rig.pose.bones["mixamorig:Hips"].head).copy()
    scene.frame_set(60)
    end = rig.matrix_world @ rig.pose.bones["mixamorig:Hips"].head
    assert (end - start).length > 0.5


def _paths(action) -> list[str]:
    return [fc.data_path for fc in fcurves(action)]


def test_demo_reports_bad_input(tmp_path, short_inputs):
    timeline, _ = short_inputs
    with pytest.raises(CliError, match="speech file not found"):
        run_demo(DemoSettings(out_dir=tmp_path, timeline=timeline, audio=tmp_path / "no.wav"),
                 log=lambda _: None)
    with pytest.raises(CliError, match="foo"):
        run_demo(DemoSettings(out_dir=tmp_path, timeline=timeline, audio=None, styles="foo=1"),
                 log=lambda _: None)
    bad = tmp_path / "bad.txt"
    bad.write_text("walk # 2 # 1\n")
    with pytest.raises(CliError, match="bad.txt"):
        run_demo(DemoSettings(out_dir=tmp_path, timeline=bad, audio=None), log=lambda _: None)
    assert not (tmp_path / "demo.blend").exists()
