"""``./cadence bake`` and the bake workflow on the real BVH fixtures: the result plays
back the converted motion's FK within a millimetre."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cadence.blender.bake_file import bake_motion_file
from cadence.motion.convert import load_canonical_motion

from bpy_support import evaluated_pose

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = sorted((ROOT / "tests" / "fixtures").glob("*.bvh"))


def cadence(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "cadence"), *args],
                          capture_output=True, text=True, timeout=120)


def assert_plays_motion(bpy, rig, bvh: Path, fps: float = 30.0) -> None:
    motion = load_canonical_motion(bvh, fps=fps)
    scene = bpy.context.scene
    assert (scene.frame_start, scene.frame_end) == (1, motion.num_frames)
    assert rig.animation_data.action.name == bvh.stem
    _, positions = motion.forward_kinematics()
    for f in (0, motion.num_frames // 2, motion.num_frames - 1):
        _, heads = evaluated_pose(bpy, rig, f + 1)
        np.testing.assert_allclose(heads, positions[f], atol=1e-3)


def test_cli_bake_and_reopen(blender, tmp_path):
    # One subprocess only: each run spends a couple of seconds importing bpy.
    bvh, out = FIXTURES[0], tmp_path / "sub" / "scene.blend"
    result = cadence("bake", "--motion", str(bvh), "--out", str(out), "--fps", "25")
    assert result.returncode == 0, result.stderr
    assert f"frames at 25 fps -> {out}" in result.stdout
    blender.ops.wm.open_mainfile(filepath=str(out))
    assert blender.context.scene.render.fps == 25
    assert_plays_motion(blender, blender.data.objects["Cadence"], bvh, fps=25)


@pytest.mark.parametrize("bvh", FIXTURES, ids=lambda p: p.stem)
def test_bake_fixture(blender, bvh):
    result = bake_motion_file(bvh, fps=30)
    assert blender.context.scene.render.fps == 30
    assert_plays_motion(blender, result.armature, bvh)


@pytest.mark.parametrize("args, message", [
    (("--motion", "x.bvh", "--out", "x.txt"), "must be a .blend"),
    (("--motion", "x.bvh", "--out", "x.blend", "--fps", "0"), "must be between 1 and 240"),
])
def test_cli_argument_errors(tmp_path, args, message):
    result = cadence("bake", *(str(tmp_path / a) if "." in a else a for a in args))
    assert result.returncode == 2 and message in result.stderr
    assert not list(tmp_path.iterdir())
