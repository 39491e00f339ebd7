"""A standing reference pose for BVH files used as target rigs.

The retargeter aligns a rig with its rest pose, and a BVH armature's rest pose is its
zero pose: all joint rotations zero. Many exporters write a zero pose that is not a
standing pose (Maya-style files such as the Bandai Namco set, every joint along X; iClone
/ Character Creator exports whose offsets put the legs above the hips), and retargeting
onto it bakes a character lying flat. When the zero pose does not stand, the file's own
most upright frame becomes the reference; when no frame stands either, the file is
refused with what to do.

Joints are recognised by the BVH namings (motion/bone_names.py) and, failing those, by
the rig namings (motion/rig_names.py: Character Creator, Unreal, VRM, ...).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import rotations as rot
from .body_frame import UPRIGHT_LIMIT_DEG, detect_axes, uprightness
from .bone_map import REQUIRED_JOINTS
from .bone_names import match_names
from .bvh import Bvh
from .convert import source_pose
from .rig_names import match_by_names


@dataclass
class StandingReference:
    """Which pose of a BVH stands: ``frame`` None for the zero pose, else a frame index;
    how far (degrees, worst of legs from straight down and spine from straight up) the
    zero pose and the chosen pose are from standing."""

    frame: int | None
    zero_pose_deg: float
    chosen_deg: float

    def describe(self, name: str) -> str:
        if self.frame is None:
            return f"rest reference: the zero pose of {name}"
        return (f"rest reference: frame {self.frame + 1} of {name} (its zero pose is "
                f"{self.zero_pose_deg:.0f} deg from standing; this frame {self.chosen_deg:.0f} deg)")


def bvh_joint_map(names: list[str] | tuple[str, ...]) -> dict[str, int]:
    """{canonical joint: joint index} of a BVH skeleton, by the BVH namings first, then
    by the rig namings. Raises ValueError when neither finds the pelvis and both legs."""
    index = {n: i for i, n in enumerate(names)}
    try:
        _, by_name = match_names(names)
    except ValueError as exc:
        _, by_name, _ = match_by_names(names)
        if any(j not in by_name for j in REQUIRED_JOINTS):
            raise exc
    return {j: index[n] for j, n in by_name.items()}


def standing_reference(bvh: Bvh) -> StandingReference | None:
    """The pose of ``bvh`` to retarget against; None when its skeleton is not recognised
    (the bone mapping then decides). Raises ValueError when neither the zero pose nor any
    frame stands."""
    try:
        names = bvh_joint_map(bvh.skeleton.names)
    except ValueError:
        return None
    raw = source_pose(bvh)
    axes = detect_axes(raw.positions, names)  # from the motion: it may stand where the zero pose does not
    zero = source_pose(bvh, axes, np.tile(rot.quat_identity(), (1, bvh.skeleton.num_joints, 1)))
    zero_deg = float(uprightness(zero.positions, names)[0])
    if zero_deg <= UPRIGHT_LIMIT_DEG:
        return StandingReference(None, zero_deg, zero_deg)
    per_frame = uprightness(raw.positions @ axes.T, names)
    best = int(np.argmin(per_frame))
    if per_frame[best] > UPRIGHT_LIMIT_DEG:
        raise ValueError(
            f"neither the zero pose ({zero_deg:.0f} deg from standing) nor any of the "
            f"{bvh.num_frames} frames (best {per_frame[best]:.0f} deg) stands upright, so there "
            "is no pose to retarget against: export the character in a standing T- or A-pose "
            "(or with a standing frame), or use its .fbx/.glb file")
    return StandingReference(best, zero_deg, float(per_frame[best]))


__all__ = ["StandingReference", "bvh_joint_map", "standing_reference"]
