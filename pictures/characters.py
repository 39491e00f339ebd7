"""A second character for the demo and the guide: a Mixamo-named skeleton with its own
proportions and an A-pose, built from the canonical one (numpy only).

Retargeting is only convincing on a rig that differs from the canonical skeleton in
names, proportions and rest pose; shipping a third-party character file is not an
option, so the demo builds this one (``blender/armature.py`` turns the skeleton into
an armature). The names come from ``presets/mixamo.json``, the way Mixamo's FBX files
name their bones.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..motion import rotations as rot
from ..motion.skeleton import CANONICAL, Skeleton

PRESETS = Path(__file__).resolve().parent.parent / "presets"

# Segment length factors against the canonical adult: short legs, a long broad torso,
# a big head: a stocky cartoon build, about 1.66 m tall to the top of the head.
STOCKY = {"legs": 0.78, "torso": 1.12, "arms": 0.92, "width": 1.25, "head": 1.3}
_LEGS = ("knee", "ankle", "foot")
_ARMS = ("elbow", "wrist")
_TORSO = ("spine1", "spine2", "spine3", "neck")
_WIDE = ("collar", "shoulder")  # wider shoulders; hips stay (feet keep their spacing)


def _scale_of(joint: str, build: dict[str, float]) -> np.ndarray:
    if joint in _TORSO:
        return np.full(3, build["torso"])
    part = joint.split("_", 1)[-1]
    if part in _LEGS:
        return np.full(3, build["legs"])
    if part in _ARMS or part[-1:] in ("1", "2", "3"):  # forearm, hand and fingers
        return np.full(3, build["arms"])
    if joint == "head":
        return np.full(3, build["head"])
    if part in _WIDE:
        return np.array([build["width"], 1.0, 1.0])
    return np.ones(3)


def mixamo_character(build: dict[str, float] | None = None, arm_angle: float = 40.0) -> Skeleton:
    """The canonical skeleton renamed as Mixamo names it (joints the preset does not
    name are left out), segments scaled by ``build``, arms lowered ``arm_angle`` degrees
    from the T-pose, the pelvis lowered so the feet stay on the floor, and a head-top
    end site (Mixamo's HeadTop_End)."""
    build = build or STOCKY
    names = json.loads((PRESETS / "mixamo.json").read_text(encoding="utf-8"))["bones"]
    keep = [j for j, n in enumerate(CANONICAL.names) if n in names]
    sub = CANONICAL.subset(keep)
    offsets = np.array([off * _scale_of(n, build) for n, off in zip(sub.names, sub.offsets)])
    for side, sign in (("left", 1.0), ("right", -1.0)):
        # lower the arm about the shoulder: rest frames are world-aligned, so turning
        # every offset below the shoulder (elbow, wrist, fingers) turns the whole arm
        turn = rot.quat_to_matrix(rot.axis_rotation_quat("Y", sign * np.radians(arm_angle)))
        for k, n in enumerate(sub.names):
            part = n.split("_", 1)[-1]
            if n.startswith(side) and (part in _ARMS or part[-1:] in ("1", "2", "3")):
                offsets[k] = turn @ offsets[k]
    skeleton = Skeleton(tuple(names[n] for n in sub.names), sub.parents, offsets)
    rest = skeleton.rest_positions()
    offsets[0, 2] -= rest[:, 2].min() - 0.02 * build["legs"]  # toes' joints just above the floor
    head = sub.names.index("head")
    return Skeleton(skeleton.names, skeleton.parents, offsets,
                    end_sites={head: np.array([0.0, 0.0, 0.16 * build["head"]])})
