"""CADENCE_OT_bake_motion_file: bakes the scene's motion file; bad files change nothing."""
import numpy as np
import pytest

from cadence.motion.convert import load_canonical_motion
from cadence.motion.skeleton import CANONICAL

from bpy_support import evaluated_pose, write_test_bvh


def data_counts(bpy) -> tuple[int, ...]:
    return (len(bpy.data.objects), len(bpy.data.actions), len(bpy.data.armatures),
            bpy.context.scene.frame_end)


@pytest.mark.parametrize("content", [None, "", "HIERARCHY\nROOT hip\n{\n  OFFSET 0 0\n"])
def test_bad_file_reports_and_changes_nothing(blender, tmp_path, content):
    path = tmp_path / "bad.bvh"
    if content is not None:
        path.write_text(content)
    blender.context.scene.cadence.motion_path = str(path)
    before = data_counts(blender)
    # In background mode an ERROR report makes bpy.ops raise with the message.
    with pytest.raises(RuntimeError, match="bad.bvh"):
        blender.ops.cadence.bake_motion_file()
    assert data_counts(blender) == before


def test_no_file_set(blender):
    with pytest.raises(RuntimeError, match="no motion file"):
        blender.ops.cadence.bake_motion_file()
    assert len(blender.data.objects) == 0


def test_bakes_onto_new_rig_then_onto_target(blender, tmp_path):
    path = write_test_bvh(tmp_path / "wave.bvh", frames=10)
    settings = blender.context.scene.cadence
    settings.motion_path = str(path)
    blender.context.scene.render.fps = 30  # the file's rate: no resampling
    assert blender.ops.cadence.bake_motion_file() == {'FINISHED'}
    rig = settings.target
    assert rig is not None and rig.animation_data.action.name == "wave"
    scene = blender.context.scene
    assert (scene.frame_start, scene.frame_end) == (1, 10)

    motion = load_canonical_motion(path, fps=30)
    _, positions = motion.forward_kinematics()
    _, heads = evaluated_pose(blender, rig, 4)
    np.testing.assert_allclose(heads, positions[3], atol=1e-4)

    # A second run reuses the target and keeps the first action.
    assert blender.ops.cadence.bake_motion_file() == {'FINISHED'}
    assert len(blender.data.objects) == 1 and len(blender.data.actions) == 2
    assert len(rig.data.bones) == CANONICAL.num_joints
