"""Skeletons: a generic joint tree, and Cadence's one canonical skeleton.

The canonical skeleton uses SMPL-X joint names and order (22 body joints, jaw, two
eyes, 15 joints per hand = 55 joints) so that SMPL-X tools and our models agree on
indices. Its rest pose is a neutral T-pose in metres, Z up, the character facing -Y
(Blender's front view looks at its face), its left side at +X. Every joint's rest
frame is aligned with the world, so a local rotation of identity everywhere *is* the
T-pose. The proportions are those of a 1.72 m adult; the SMPL-X model files are
licensed and never needed.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Skeleton:
    """A joint tree: names, parent indices (-1 for the root), rest offsets.

    Offsets are each joint's rest position relative to its parent, expressed in the
    parent's rest frame (BVH semantics). Parents always precede children.
    """

    names: tuple[str, ...]
    parents: tuple[int, ...]
    offsets: np.ndarray  # (J, 3)
    end_sites: dict = field(default_factory=dict)  # joint index -> (3,) End Site offset

    def __post_init__(self) -> None:
        if len(self.names) != len(self.parents) or len(self.names) != len(self.offsets):
            raise ValueError("names, parents and offsets must have the same length")
        for i, p in enumerate(self.parents):
            if p >= i:
                raise ValueError(f"joint {self.names[i]!r}: parent must precede child")
        if len(set(self.names)) != len(self.names):
            raise ValueError("joint names must be unique")

    @property
    def num_joints(self) -> int:
        return len(self.names)

    def index(self, name: str) -> int:
        return self.names.index(name)

    def children(self, joint: int) -> list[int]:
        return [i for i, p in enumerate(self.parents) if p == joint]

    def rest_positions(self) -> np.ndarray:
        """World positions of the joints in the rest pose (zero rotations), (J, 3)."""
        pos = np.zeros((self.num_joints, 3))
        for j, p in enumerate(self.parents):
            pos[j] = self.offsets[j] if p < 0 else pos[p] + self.offsets[j]
        return pos

    def subset(self, joints: list[int]) -> Skeleton:
        """The sub-tree made of ``joints`` (closed under parents), offsets accumulated."""
        keep = sorted(joints)
        rest = self.rest_positions()
        parents = []
        for j in keep:
            p = self.parents[j]
            while p >= 0 and p not in keep:
                p = self.parents[p]
            parents.append(keep.index(p) if p >= 0 else -1)
        offsets = np.array([rest[j] - (rest[keep[q]] if q >= 0 else 0.0)
                            for j, q in zip(keep, parents)])
        return Skeleton(tuple(self.names[j] for j in keep), tuple(parents), offsets)


# --- the canonical skeleton -----------------------------------------------------------

_SIDES = ("left", "right")
_FINGERS = ("index", "middle", "pinky", "ring", "thumb")  # SMPL-X order

BODY_JOINT_NAMES: tuple[str, ...] = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
    "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck",
    "left_collar", "right_collar", "head", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist",
)
FACE_JOINT_NAMES: tuple[str, ...] = ("jaw", "left_eye_smplhf", "right_eye_smplhf")
HAND_JOINT_NAMES: dict[str, tuple[str, ...]] = {
    side: tuple(f"{side}_{f}{k}" for f in _FINGERS for k in (1, 2, 3)) for side in _SIDES
}
JOINT_NAMES: tuple[str, ...] = (BODY_JOINT_NAMES + FACE_JOINT_NAMES
                                + HAND_JOINT_NAMES["left"] + HAND_JOINT_NAMES["right"])

NUM_BODY_JOINTS = len(BODY_JOINT_NAMES)  # 22
NUM_JOINTS = len(JOINT_NAMES)  # 55

# SMPL-X kinematic tree (same as smplx.joint_names / kintree_table[0]).
PARENTS: tuple[int, ...] = (
    -1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19,
    15, 15, 15,
    20, 25, 26, 20, 28, 29, 20, 31, 32, 20, 34, 35, 20, 37, 38,
    21, 40, 41, 21, 43, 44, 21, 46, 47, 21, 49, 50, 21, 52, 53,
)

# Rest offsets of the left side and the centre line, metres, Z up, facing -Y, left = +X.
_LEFT_BODY = {
    "hip": (0.090, 0.000, -0.075),      # from pelvis
    "knee": (0.005, 0.000, -0.405),     # from hip
    "ankle": (0.000, 0.020, -0.405),    # from knee
    "foot": (0.000, -0.125, -0.060),    # ball of the foot, from ankle
    "collar": (0.070, 0.015, 0.115),    # from spine3
    "shoulder": (0.115, 0.005, 0.030),  # from collar
    "elbow": (0.265, 0.000, 0.000),     # from shoulder
    "wrist": (0.250, 0.000, 0.000),     # from elbow
}
_CENTRE = {
    "pelvis": (0.000, 0.000, 0.955),    # from the origin (floor under the character)
    "spine1": (0.000, 0.010, 0.105),
    "spine2": (0.000, 0.000, 0.130),
    "spine3": (0.000, -0.005, 0.060),
    "neck": (0.000, 0.015, 0.205),
    "head": (0.000, -0.010, 0.095),
    "jaw": (0.000, -0.030, -0.015),
}
_LEFT_EYE = (0.032, -0.085, 0.070)      # from head
# Fingers (left hand, palm down, fingers along +X, thumb towards -Y): base from wrist,
# then segment lengths along the finger.
_LEFT_FINGERS = {
    "index": ((0.095, -0.025, 0.005), (0.038, 0.025, 0.022)),
    "middle": ((0.097, -0.005, 0.005), (0.042, 0.028, 0.024)),
    "pinky": ((0.078, 0.035, -0.003), (0.028, 0.020, 0.018)),
    "ring": ((0.090, 0.016, 0.000), (0.038, 0.026, 0.022)),
    "thumb": ((0.025, -0.030, -0.015), (0.032, 0.030, 0.026)),
}
_THUMB_DIR = np.array([0.7, -0.7, 0.0]) / np.linalg.norm([0.7, -0.7, 0.0])


def _canonical_offsets() -> np.ndarray:
    off = np.zeros((NUM_JOINTS, 3))
    idx = {n: i for i, n in enumerate(JOINT_NAMES)}
    for name, v in _CENTRE.items():
        off[idx[name]] = v
    for part, v in _LEFT_BODY.items():
        off[idx[f"left_{part}"]] = v
        off[idx[f"right_{part}"]] = (-v[0], v[1], v[2])
    off[idx["left_eye_smplhf"]] = _LEFT_EYE
    off[idx["right_eye_smplhf"]] = (-_LEFT_EYE[0], _LEFT_EYE[1], _LEFT_EYE[2])
    for finger, (base, lengths) in _LEFT_FINGERS.items():
        direction = _THUMB_DIR if finger == "thumb" else np.array([1.0, 0.0, 0.0])
        for sign, side in ((1.0, "left"), (-1.0, "right")):
            mirror = np.array([sign, 1.0, 1.0])
            off[idx[f"{side}_{finger}1"]] = np.array(base) * mirror
            for k, length in ((2, lengths[0]), (3, lengths[1])):
                off[idx[f"{side}_{finger}{k}"]] = direction * length * mirror
    return off


CANONICAL = Skeleton(JOINT_NAMES, PARENTS, _canonical_offsets(),
                     end_sites={JOINT_NAMES.index("head"): np.array([0.0, 0.0, 0.17])})
CANONICAL_BODY = CANONICAL.subset(list(range(NUM_BODY_JOINTS)))

# The child each joint's bone points to (its "primary" child); leaves point nowhere.
PRIMARY_CHILD: dict[str, str] = {
    "pelvis": "spine1", "spine1": "spine2", "spine2": "spine3", "spine3": "neck",
    "neck": "head",
    **{f"{s}_{a}": f"{s}_{b}" for s in _SIDES for a, b in (
        ("hip", "knee"), ("knee", "ankle"), ("ankle", "foot"), ("collar", "shoulder"),
        ("shoulder", "elbow"), ("elbow", "wrist"), ("wrist", "middle1"))},
    **{f"{s}_{f}{k}": f"{s}_{f}{k + 1}" for s in _SIDES for f in _FINGERS for k in (1, 2)},
}

# Body-part groups used by the timeline (STMC-style parts). The root trajectory goes
# with the legs. Every joint belongs to exactly one group.
BODY_PARTS: dict[str, tuple[str, ...]] = {
    "legs": ("pelvis", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
             "right_ankle", "left_foot", "right_foot"),
    "torso": ("spine1", "spine2", "spine3"),
    "left_arm": ("left_collar", "left_shoulder", "left_elbow", "left_wrist"),
    "right_arm": ("right_collar", "right_shoulder", "right_elbow", "right_wrist"),
    "head": ("neck", "head", "jaw", "left_eye_smplhf", "right_eye_smplhf"),
    "left_hand": HAND_JOINT_NAMES["left"],
    "right_hand": HAND_JOINT_NAMES["right"],
}
# Names animators use for sets of parts.
PART_ALIASES: dict[str, tuple[str, ...]] = {
    "full_body": tuple(BODY_PARTS),
    "arms": ("left_arm", "right_arm", "left_hand", "right_hand"),
    "hands": ("left_hand", "right_hand"),
}

# The parts the motion model composes separately (its feature channels are grouped by
# them): the timeline, the gesture planner and the panel's part buttons all use these.
# A hand has no channels of its own there: it follows its arm.
MODEL_PARTS: tuple[str, ...] = ("legs", "torso", "left_arm", "right_arm", "head")
HAND_TO_ARM: dict[str, str] = {"left_hand": "left_arm", "right_hand": "right_arm"}

FOOT_JOINTS: tuple[str, ...] = ("left_ankle", "right_ankle", "left_foot", "right_foot")


def part_joint_indices(parts: list[str] | tuple[str, ...]) -> list[int]:
    """Canonical joint indices of body parts (part names or aliases), sorted."""
    names: set[str] = set()
    for part in parts:
        for group in PART_ALIASES.get(part, (part,)):
            if group not in BODY_PARTS:
                valid = sorted(BODY_PARTS) + sorted(PART_ALIASES)
                raise ValueError(f"unknown body part {part!r}; valid: {', '.join(valid)}")
            names.update(BODY_PARTS[group])
    return sorted(JOINT_NAMES.index(n) for n in names)
