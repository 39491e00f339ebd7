"""Shared helpers for the tests that run Blender (bpy as a module).

Importing bpy takes a second or two, so it happens once per process, together with
registering the extension; each test then starts from an empty factory-settings file.
Test modules get the fixtures through conftest.py (``pytest_plugins``); helpers are imported by name.
"""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest

from cadence.motion import rotations as rot
from cadence.motion.bvh import write_bvh
from cadence.motion.kinematics import Motion, rest_motion
from cadence.motion.skeleton import CANONICAL


@functools.cache
def _registered_bpy():
    """Import bpy and register Cadence, once per process (registration survives
    read_factory_settings)."""
    import bpy

    import cadence
    cadence.register()
    return bpy


@pytest.fixture
def blender():
    """bpy, with Cadence registered and an empty file loaded."""
    pytest.importorskip("bpy")
    bpy = _registered_bpy()
    bpy.ops.wm.read_factory_settings(use_empty=True)
    return bpy


def random_motion(frames: int, seed: int = 0, fps: float = 30.0) -> Motion:
    """Arbitrary (not humanly plausible) rotations on every canonical joint."""
    rng = np.random.default_rng(seed)
    root = CANONICAL.offsets[0] + rng.normal(scale=0.3, size=(frames, 3))
    return Motion(rot.normalize(rng.normal(size=(frames, CANONICAL.num_joints, 4))), root, fps)


def waving_motion(frames: int = 24, fps: float = 30.0) -> Motion:
    """A plausible motion (arm waving, knee bending, walking forward) for BVH round trips."""
    motion = rest_motion(frames, fps=fps)
    t = np.linspace(0.0, 1.0, frames)
    motion.rotations[:, CANONICAL.index("left_shoulder")] = rot.axis_angle_to_quat(
        np.outer(np.sin(6 * t), [0.0, 1.0, 0.0]))
    motion.rotations[:, CANONICAL.index("right_knee")] = rot.axis_angle_to_quat(
        np.outer(t, [1.0, 0.0, 0.0]))
    motion.root_positions[:, 1] -= t
    return motion


def write_test_bvh(path: Path, frames: int = 24) -> Path:
    motion = waving_motion(frames)
    write_bvh(path, CANONICAL, motion.rotations, motion.root_positions, motion.fps)
    return path


def evaluated_pose(bpy, obj, frame: int, names=CANONICAL.names) -> tuple[np.ndarray, np.ndarray]:
    """World rotation matrices (J, 3, 3) and head positions (J, 3) of ``names`` at
    ``frame``, as Blender evaluates the pose."""
    bpy.context.scene.frame_set(frame)
    mats = [obj.matrix_world @ obj.pose.bones[n].matrix for n in names]
    return (np.array([m.to_3x3() for m in mats]),
            np.array([m.translation for m in mats]))


def rest_rotations(obj, names=CANONICAL.names) -> np.ndarray:
    return np.array([obj.data.bones[n].matrix_local.to_3x3() for n in names])
