"""SMPL-family files written by the tests: motion arrays in each layout and a small
synthetic model file with the real SMPL-X key names and shapes (fewer vertices).

Nothing here comes from the licensed SMPL-X model: the synthetic body is four vertices
around each joint of Cadence's own canonical skeleton.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from cadence.motion.skeleton import CANONICAL, PARENTS

# Cadence (Z up, facing -Y) -> SMPL-X model frame (Y up, facing +Z): (x, y, z) -> (x, z, -y).
CADENCE_TO_MODEL = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
# SMPL-X's model frame is Y up; AMASS stores Z up by rotating the root +90 degrees about X.
AMASS_ROOT = np.array([np.pi / 2, 0.0, 0.0])
# Left arm (along +X in the T-pose) raised above the head: +90 degrees about the model's
# forward axis (+Z) takes +X to +Y (up).
RAISED_LEFT_SHOULDER = np.array([0.0, 0.0, np.pi / 2])
SHOULDER = CANONICAL.index("left_shoulder")
VERTS_PER_JOINT = 4
NUM_SHAPE, NUM_EXPR = 10, 10


def raised_arm_poses(frames: int, root: np.ndarray) -> np.ndarray:
    """(frames, 55, 3) axis-angle: the root as given, the left arm straight up."""
    aa = np.zeros((frames, 55, 3))
    aa[:, 0] = root
    aa[:, SHOULDER] = RAISED_LEFT_SHOULDER
    return aa


def write_npz(path: Path, **arrays) -> Path:
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    return path


def synthetic_model_arrays(seed: int = 0) -> dict[str, np.ndarray]:
    """SMPL-X model arrays (key names, dtypes and shapes of the real files, 220 vertices)."""
    rng = np.random.default_rng(seed)
    joints = CANONICAL.rest_positions() @ CADENCE_TO_MODEL.T
    joints[:, 1] -= 1.2  # the model's origin is not at the floor
    corners = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]]) * 0.01
    v_template = (joints[:, None] + corners[None]).reshape(-1, 3)
    count = len(v_template)
    j_regressor = np.zeros((55, count))
    weights = np.zeros((count, 55))
    faces = []
    for j in range(55):
        rows = np.arange(VERTS_PER_JOINT) + j * VERTS_PER_JOINT
        j_regressor[j, rows] = 1.0 / VERTS_PER_JOINT
        weights[rows, j] = 1.0
        faces += [rows[[0, 1, 2]], rows[[0, 2, 3]], rows[[0, 3, 1]], rows[[1, 3, 2]]]
    kintree = np.array([[2 ** 32 - 1 if p < 0 else p for p in PARENTS], list(range(55))],
                       dtype=np.uint32)
    comps = np.linalg.qr(rng.normal(size=(45, 45)))[0]
    joint2num = np.empty((), dtype=object)  # the real files pickle dicts like this one
    joint2num[()] = {"pelvis": 0}
    return {
        "joint2num": joint2num,
        "v_template": v_template, "f": np.array(faces, dtype=np.uint32),
        "shapedirs": rng.normal(scale=0.01, size=(count, 3, NUM_SHAPE + NUM_EXPR)),
        "J_regressor": j_regressor, "weights": weights, "kintree_table": kintree,
        "hands_componentsl": comps, "hands_componentsr": comps[::-1].copy(),
        "hands_meanl": rng.normal(scale=0.1, size=45), "hands_meanr": rng.normal(scale=0.1, size=45),
        "posedirs": np.zeros((count, 3, 486)),
    }


def write_synthetic_model(folder: Path, name: str = "SMPLX_NEUTRAL.npz", seed: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return write_npz(folder / name, **synthetic_model_arrays(seed))
