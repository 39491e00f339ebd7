"""A rig prepared for the canonical-to-rig retarget (bpy-free; docs/retargeting.md).

:func:`prepare_target` resolves a bone map on a rig once: its axes and scale, the
canonical pose that looks like its rest pose, the bones that share a spine or neck
chain's rotation, and the bone that carries the root translation. Both the retarget
(``motion/canonical_to_rig.py``) and the foot clean-up (``motion/foot_contact.py``) work
on the :class:`RigTarget` it returns, so it lives below both.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import rotations as rot
from .bone_map import REQUIRED_JOINTS, BoneMap
from .rest_rig import RestRig
from .rig_geometry import body_axes
from .skeleton import CANONICAL
from .source_to_canonical import estimate_alignment, mapped_descendant

_DISTRIBUTED = {"spine1", "spine2", "spine3", "neck", "head"}  # chains whose extra bones share rotation


@dataclass
class RigTarget:
    """A rig prepared for retargeting: its bone map resolved and its rest pose aligned."""

    rig: RestRig
    bone_map: BoneMap
    joint_bone: dict[int, int]          # canonical joint index -> bone index
    axes: np.ndarray                    # (3, 3): canonical-axes vector = axes @ armature vector
    scale: float                        # target units per canonical metre (leg ratio)
    pose: dict[int, np.ndarray]         # canonical joint -> P_c (3, 3)
    distributed: dict[int, tuple[int, int, float]]  # bone -> (lower bone, upper bone, fraction)
    skips: dict[int, tuple[int, int, int]]  # bone -> (its joint, next mapped joint, its bone)
    carrier: int                        # bone carrying the root translation
    root_bone: int                      # ground-level root bone or -1
    notes: list[str] = field(default_factory=list)

    @property
    def heads(self) -> np.ndarray:
        """Rest heads in canonical axes, target units."""
        return self.rig.heads @ self.axes.T

    @property
    def rest(self) -> np.ndarray:
        """Bone rest rotations in canonical axes, (N, 3, 3)."""
        return self.axes @ rot.orthonormalize(self.rig.matrices)


def _leg_length(heads: np.ndarray, jb: dict[str, int], side: str) -> float | None:
    names = [f"{side}_{p}" for p in ("hip", "knee", "ankle")]
    if not all(n in jb for n in names):
        return None
    h, k, a = (heads[jb[n]] for n in names)
    return float(np.linalg.norm(k - h) + np.linalg.norm(a - k))


def prepare_target(rig: RestRig, bone_map: BoneMap) -> RigTarget:
    """Resolve ``bone_map`` on ``rig`` and align the rig's rest pose with the canonical
    skeleton. Raises ValueError with a readable reason when the map cannot drive the rig."""
    bone_map = bone_map.resolve(rig.names)
    by_name = {j: rig.index[b] for j, b in bone_map.bones.items()}
    missing = [j for j in REQUIRED_JOINTS if j not in by_name]
    if missing:
        raise ValueError("the bone map has no bones for the " + ", ".join(j.replace("_", " ") for j in missing)
                         + ": pick them (Check Rig in the Cadence tab) or load another preset")
    for joint, bone in by_name.items():  # a mapped joint below its mapped parent joint
        p = CANONICAL.parents[CANONICAL.index(joint)]
        while p >= 0 and CANONICAL.names[p] not in by_name:
            p = CANONICAL.parents[p]
        if p >= 0 and rig.is_ancestor(bone, by_name[CANONICAL.names[p]]):
            raise ValueError(f"bone {rig.names[bone]!r} ({joint}) is an ancestor of "
                             f"{rig.names[by_name[CANONICAL.names[p]]]!r} ({CANONICAL.names[p]})")
    axes = body_axes(rig, by_name)
    heads = rig.heads @ axes.T
    legs = [x for x in (_leg_length(heads, by_name, s) for s in ("left", "right")) if x]
    can_rest = CANONICAL.rest_positions()
    ci = {n: i for i, n in enumerate(CANONICAL.names)}
    if legs:
        can_leg = _leg_length(can_rest, ci, "left")
        scale = float(np.mean(legs)) / can_leg
    else:  # no ankles: thighs
        thigh = lambda h, j, s: np.linalg.norm(h[j[f"{s}_knee"]] - h[j[f"{s}_hip"]])  # noqa: E731
        scale = float(np.mean([thigh(heads, by_name, s) for s in ("left", "right")])
                      / thigh(can_rest, ci, "left"))
    if not scale > 0:
        raise ValueError("the rig's legs have no length")

    # Reference positions for the alignment. A pelvis bone whose head sits on the spine's
    # (MMD's lower body) is framed from the hips' midpoint instead.
    ref = heads.copy()
    hips_mid = 0.5 * (heads[by_name["left_hip"]] + heads[by_name["right_hip"]])
    up_child = next((by_name[j] for j in ("spine1", "spine2", "spine3", "neck") if j in by_name), None)
    if up_child is not None and np.linalg.norm(heads[up_child] - heads[by_name["pelvis"]]) < 0.05 * scale:
        ci_hips = [ci["left_hip"], ci["right_hip"]]
        ref[by_name["pelvis"]] = hips_mid + scale * (can_rest[ci["pelvis"]] - can_rest[ci_hips].mean(0))
    joint_bone = {ci[j]: b for j, b in by_name.items()}
    identity = np.tile(np.eye(3), (rig.num_bones, 1, 1))
    alignment = estimate_alignment(joint_bone, identity, ref, 1.0 / scale)

    distributed = _distributed_bones(rig, joint_bone, heads)
    carrier = rig.common_ancestor([by_name[j] for j in ("pelvis", "left_hip", "right_hip")]
                                  + ([up_child] if up_child is not None else []))
    while carrier >= 0 and rig.connected[carrier] and rig.parents[carrier] >= 0:
        carrier = rig.parents[carrier]
    outside = [j for j, b in by_name.items() if carrier < 0 or not rig.is_ancestor(carrier, b)]
    if outside:
        raise ValueError(
            "the bone map puts " + ", ".join(f"{j.replace('_', ' ')} on {rig.names[by_name[j]]!r}" for j in outside)
            + (", which does not hang below the hips" if carrier >= 0 else
               ": the pelvis and legs are in separate hierarchies")
            + " (an IK control or a helper, not a body bone?): pick the body's own bones for them "
              "(Check Rig in the Cadence tab) or fix the preset")
    root_bone = -1
    if bone_map.root and rig.index[bone_map.root] in rig.ancestors(carrier):
        root_bone = rig.index[bone_map.root]
    elif rig.ancestors(carrier):
        root_bone = rig.ancestors(carrier)[-1]
    # Bones whose next mapped joint skips canonical joints (MMD's upper body spans
    # spine1..spine3): they aim at that joint rather than copy their own joint's rotation.
    skips = {}
    for c, b in joint_bone.items():
        child, between = mapped_descendant(c, set(joint_bone), CANONICAL)
        if child >= 0 and between and np.linalg.norm(heads[joint_bone[child]] - heads[b]) > 1e-3 * scale:
            skips[b] = (c, child, joint_bone[child])
    notes = list(bone_map.notes)
    return RigTarget(rig, bone_map, joint_bone, axes, scale, alignment.rotations, distributed,
                     skips, carrier, root_bone, notes)


def _distributed_bones(rig: RestRig, joint_bone: dict[int, int],
                       heads: np.ndarray) -> dict[int, tuple[int, int, float]]:
    """Unmapped bones between two mapped spine/neck bones: (lower, upper, fraction)."""
    bone_joint = {b: c for c, b in joint_bone.items()}
    out = {}
    for upper, c in bone_joint.items():
        if CANONICAL.names[c] not in _DISTRIBUTED:
            continue
        between = []
        a = rig.parents[upper]
        while a >= 0 and a not in bone_joint:
            between.append(a)
            a = rig.parents[a]
        if a < 0 or not between or CANONICAL.names[bone_joint[a]] not in _DISTRIBUTED | {"pelvis"}:
            continue
        if CANONICAL.names[bone_joint[a]] == "pelvis":
            continue  # below spine1: the pelvis bone's own segment, rigid
        chain = [a] + between[::-1] + [upper]
        seg = np.linalg.norm(np.diff(heads[chain], axis=0), axis=1)
        total = max(seg.sum(), 1e-12)
        dist = np.cumsum(seg)[:-1]
        for b, d in zip(chain[1:-1], dist):
            out[b] = (a, upper, float(d / total))
    return out


def driven_bones(target: RigTarget) -> set[int]:
    """Bones whose rotation the motion sets (mapped and distributed); the others follow
    their parent rigidly."""
    return set(target.joint_bone.values()) | set(target.distributed)


def fill_rigid(target: RigTarget, deltas: np.ndarray) -> None:
    """Give every bone the motion does not drive its parent's delta (at rest relative to
    the parent), in place."""
    rig, driven = target.rig, driven_bones(target)
    for b in rig.order:
        if b not in driven:
            p = rig.parents[b]
            deltas[:, b] = deltas[:, p] if p >= 0 else (1.0, 0.0, 0.0, 0.0)
