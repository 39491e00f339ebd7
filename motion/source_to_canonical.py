"""Retarget maths: from any source skeleton's world motion to the canonical skeleton.

The method (docs/retargeting.md):
1. Alignment. For every mapped canonical joint c with source joint s we find a constant
   rotation A_c with  G_canonical[c](t) = G_source[s](t) @ A_c  (world rotations). A_c
   is estimated once, from a *reference pose* of the source (its rest pose when that is
   a plausible T/A-pose, else its most neutral frame): we build the canonical pose that
   looks like the reference pose (pelvis and chest framed by the hip and shoulder lines,
   every other bone turned onto the source bone by the shortest arc from its parent, and
   bones without a length - hands, head, toes - kept straight relative to their parent
   as the source keeps them), then A_c = G_source_ref[s]^T @ P_c.
2. Transfer. World rotations carry over with A; canonical joints the source lacks are
   either interpolated inside a chain (spine2 between spine1 and spine3) or kept at
   rest relative to their parent; local rotations follow from world ones.
3. Root. The canonical hips' midpoint follows the source hips' midpoint, scaled by the
   ratio of leg lengths, so feet land where the source's feet land.

Because rotations are transferred in world space, bone rolls and rest-pose conventions
of the source never leak into the result.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import rotations as rot
from .kinematics import world_to_local
from .skeleton import CANONICAL, PRIMARY_CHILD, Skeleton

_TORSO_FRAMES = {  # joint -> (left joint, right joint) whose line gives its twist
    "pelvis": ("left_hip", "right_hip"),
    "spine3": ("left_collar", "right_collar"),
}
_TORSO_FALLBACK = {"left_collar": "left_shoulder", "right_collar": "right_shoulder"}


@dataclass
class Alignment:
    """Constant per-joint rotations A (canonical index -> 3x3) and the leg-length scale.

    ``axes`` is the source-to-canonical axes rotation the A were estimated under. Another
    file of the same skeleton may come out with other axes (the axes are found from the
    body, and a turning take has no single facing): :meth:`for_axes` re-expresses A for
    them, which only turns the whole motion about the up axis.
    """

    mapping: dict[int, int]          # canonical joint index -> source joint index
    rotations: dict[int, np.ndarray]  # canonical joint index -> A_c (3, 3)
    scale: float                      # source units -> canonical metres
    axes: np.ndarray | None = None   # (3, 3) source -> canonical axes used for A

    def for_axes(self, axes: np.ndarray) -> Alignment:
        if self.axes is None or np.allclose(axes, self.axes):
            return self
        # G_can = R G R^T A must equal R G (R_ref^T A_ref): so A = R R_ref^T A_ref.
        turn = axes @ self.axes.T
        return Alignment(self.mapping, {c: turn @ a for c, a in self.rotations.items()},
                         self.scale, axes)


def mapped_descendant(c: int, mapped: set[int], skeleton: Skeleton) -> tuple[int, list[int]]:
    """Follow PRIMARY_CHILD from c to the first mapped joint: (that joint, joints between)."""
    names = skeleton.names
    between: list[int] = []
    name = names[c]
    while name in PRIMARY_CHILD:
        child = skeleton.index(PRIMARY_CHILD[name])
        if child in mapped:
            return child, between
        between.append(child)
        name = names[child]
    return -1, between


def _mapped_ancestor(c: int, mapped: set[int], skeleton: Skeleton) -> int:
    p = skeleton.parents[c]
    while p >= 0 and p not in mapped:
        p = skeleton.parents[p]
    return p


def leg_length(skeleton: Skeleton, hip: int, knee: int, ankle: int) -> float:
    rest = skeleton.rest_positions()
    return float(np.linalg.norm(rest[knee] - rest[hip]) + np.linalg.norm(rest[ankle] - rest[knee]))


def estimate_alignment(mapping: dict[int, int], ref_world: np.ndarray, ref_positions: np.ndarray,
                       scale: float, target: Skeleton = CANONICAL,
                       axes: np.ndarray | None = None) -> Alignment:
    """Alignment from a source reference pose.

    mapping: canonical joint index -> source joint index.
    ref_world: (J_src, 3, 3) source world rotations at the reference pose, in canonical
    axes; ref_positions: (J_src, 3) source joint positions there, canonical axes.
    """
    mapped = set(mapping)
    rest = target.rest_positions()
    poses: dict[int, np.ndarray] = {}  # canonical world rotation at the reference
    align: dict[int, np.ndarray] = {}
    idx = {n: i for i, n in enumerate(target.names)}

    def src_vec(a: int, b: int) -> np.ndarray:
        return ref_positions[mapping[b]] - ref_positions[mapping[a]]

    def side_pair(c: int) -> tuple[int, int] | None:
        pair = _TORSO_FRAMES.get(target.names[c])
        if pair is None:
            return None
        left, right = (idx[p] for p in pair)
        if left not in mapped or right not in mapped:
            left, right = (idx[_TORSO_FALLBACK.get(p, p)] for p in pair)
        return (left, right) if left in mapped and right in mapped else None

    for c in sorted(mapped):  # parents precede children in the canonical order
        parent = _mapped_ancestor(c, mapped, target)
        parent_pose = poses[parent] if parent >= 0 else np.eye(3)
        child, _ = mapped_descendant(c, mapped, target)
        pair = side_pair(c)
        have_bone = child >= 0 and np.linalg.norm(src_vec(c, child)) * scale > 1e-5  # > 0.01 mm
        if child >= 0 and pair is not None:
            # Torso joints: bone direction and the left-right line fix the whole frame.
            src_frame = rot.frame_from_vectors(src_vec(c, child), src_vec(pair[1], pair[0]), 2, 0)
            can_frame = rot.frame_from_vectors(rest[child] - rest[c], rest[pair[0]] - rest[pair[1]], 2, 0)
            pose = src_frame @ can_frame.T
        elif child >= 0 and have_bone:
            bone_now = parent_pose @ (rest[child] - rest[c])
            swing = rot.quat_to_matrix(rot.quat_between(bone_now, src_vec(c, child)))
            pose = swing @ parent_pose
        else:
            # No bone to aim (hand, head, toes): straight relative to the parent, as the
            # source has it, i.e. the same A as the parent.
            if parent >= 0:
                align[c] = align[parent]
                poses[c] = ref_world[mapping[c]] @ align[c]
                continue
            pose = np.eye(3)
        poses[c] = pose
        align[c] = ref_world[mapping[c]].T @ pose
    return Alignment(dict(mapping), align, scale, axes)


def transfer(alignment: Alignment, src_world: np.ndarray, src_positions: np.ndarray,
             target: Skeleton = CANONICAL) -> tuple[np.ndarray, np.ndarray]:
    """Canonical local rotations (T, J, 4) and root positions (T, 3) for a source motion.

    src_world (T, J_src, 3, 3) and src_positions (T, J_src, 3) are in canonical axes and
    source units.
    """
    mapping, mapped = alignment.mapping, set(alignment.mapping)
    t = len(src_world)
    world = np.zeros((t, target.num_joints, 3, 3))
    done = np.zeros(target.num_joints, bool)
    for c in sorted(mapped):
        world[:, c] = src_world[:, mapping[c]] @ alignment.rotations[c]
        done[c] = True
    # Joints inside a mapped chain are blended between the chain's mapped ends.
    for c in sorted(mapped):
        child, between = mapped_descendant(c, mapped, target)
        if child < 0 or not between:
            continue
        qa = rot.matrix_to_quat(world[:, c])
        qb = rot.matrix_to_quat(world[:, child])
        for k, j in enumerate(between, start=1):
            frac = k / (len(between) + 1)
            world[:, j] = rot.quat_to_matrix(rot.quat_slerp(qa, qb, frac))
            done[j] = True
    for j, p in enumerate(target.parents):  # the rest: at rest relative to the parent
        if not done[j]:
            world[:, j] = world[:, p] if p >= 0 else np.eye(3)
    local = rot.matrix_to_quat(world_to_local(target.parents, world))
    root = _root_positions(alignment, world, src_positions, target)
    return rot.quat_continuous(local), root


def _root_positions(alignment: Alignment, world: np.ndarray, src_positions: np.ndarray,
                    target: Skeleton) -> np.ndarray:
    mapping = alignment.mapping
    pelvis = target.index("pelvis") if "pelvis" in target.names else 0
    hips = [target.index(n) for n in ("left_hip", "right_hip") if n in target.names]
    if all(h in mapping for h in hips) and hips:
        rest = target.rest_positions()
        src_mid = np.mean([src_positions[:, mapping[h]] for h in hips], axis=0) * alignment.scale
        can_mid = np.mean([rest[h] for h in hips], axis=0) - rest[pelvis]
        return src_mid - np.einsum("tij,j->ti", world[:, pelvis], can_mid)
    return src_positions[:, mapping[pelvis]] * alignment.scale
