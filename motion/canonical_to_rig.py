"""Retarget a canonical :class:`~motion.kinematics.Motion` onto any rig (bpy-free).

The inverse direction of ``motion/source_to_canonical.py`` (docs/retargeting.md, "Target rigs"):

1. **Axes and scale.** The rig's own body gives its up and left directions in armature
   space (the BVH import's ``detect_axes``, snapped to the nearest axes), so an armature
   stored Y up (FBX, glTF) or facing +Y works, and the object transform (0.01 scale, a
   90-degree rotation) applies on top untouched. Root motion is scaled by the ratio of
   leg lengths (target units per canonical metre).
2. **Alignment.** The rig's rest pose is the reference pose: ``estimate_alignment``
   builds the canonical pose P that looks like it (pelvis and chest framed by the hip and
   collar lines, every other bone turned onto the target bone by the shortest arc), with
   the target's joint frames taken as world-aligned at rest. A target bone b mapped to
   joint c then moves by the world-space delta ``D_b(t) = G_c(t) P_c^T`` from its rest:
   at P (the canonical posed like the rig) the rig is at rest; at the canonical T-pose
   an A-posed rig raises its arms to horizontal. Bone rolls never enter: D does not
   depend on them, and the pose-space rotation is ``B^T (D_parent^T D_b) B``
   (``motion/pose_space.py``).
3. **Unmapped bones** keep their rest pose relative to their parent (twist bones, face
   bones, IK helpers); extra bones inside the spine and neck (a five-bone spine, a
   two-bone neck) get the rotation distributed: slerp between the chain's mapped ends
   by distance along the chain.
4. **Root.** The midpoint of the target hips follows the canonical hips' midpoint,
   scaled, from the target's rest position; it is carried by the common ancestor of the
   hips and spine (the hips bone on most rigs, the centre bone on MMD rigs). Options:
   ``in_place`` (the travelled path is removed, sway kept) and ``root`` (a ground-level
   root bone carries the horizontal part).

What is fixed per rig (axes, scale, P, the distributed bones, the carrier) is worked out
once by :func:`motion.rig_target.prepare_target`; this module plays a motion through it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import rotations as rot
from .foot_contact import clean_foot_contacts
from .kinematics import Motion, motion_world
from .pose_space import root_location_to_pose_space, to_pose_space
from .rest_rig import RestRig
from .rig_target import RigTarget, driven_bones, fill_rigid
from .skeleton import CANONICAL
from .smoothing import moving_average

ROOT_MOTION_MODES = ("hips", "root", "in_place")


@dataclass
class RetargetOptions:
    """root_motion: "hips" (the hips carry all translation), "root" (a ground-level root
    bone carries the horizontal part), "in_place" (no travel; sway kept).
    scale: target units per canonical metre; None = ratio of leg lengths.
    foot_cleanup: while a foot is planted in the source, keep the rig's foot moving only
    as the source's does (no extra sliding, no floating or sinking), by leg IK and, where
    a leg cannot reach, lowering the hips (``motion/foot_contact.py``)."""

    root_motion: str = "hips"
    scale: float | None = None
    foot_cleanup: bool = True

    def __post_init__(self) -> None:
        if self.root_motion not in ROOT_MOTION_MODES:
            raise ValueError(f"root_motion must be one of {', '.join(ROOT_MOTION_MODES)}, "
                             f"got {self.root_motion!r}")
        if self.scale is not None and not self.scale > 0:
            raise ValueError("scale must be positive")


@dataclass
class RigPose:
    """The result: pose-space keys for a rig (what Blender's pose bones hold).

    bones: names of the bones with rotation keys; rotations: (T, len(bones), 4)
    quaternions (w, x, y, z), sign-continuous; locations: bone name -> (T, 3) pose-space
    locations; rest_bones: unkeyed bones that must sit at rest for the result to hold
    (ancestors of keyed bones).
    """

    bones: list[str]
    rotations: np.ndarray
    locations: dict[str, np.ndarray]
    rest_bones: list[str]
    fps: float
    scale: float

    @property
    def num_frames(self) -> int:
        return len(self.rotations)


def world_deltas(target: RigTarget, motion: Motion,
                 fk: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Per bone, the world-space rotation from its rest pose as quaternions (T, N, 4),
    canonical axes. ``fk``: :func:`motion_world` of the motion when already computed."""
    if motion.skeleton is not CANONICAL and motion.skeleton.names != CANONICAL.names:
        raise ValueError("retargeting onto a rig needs a motion on the canonical skeleton")
    world, positions = fk if fk is not None else motion_world(motion)
    rig, heads = target.rig, target.heads
    t = motion.num_frames
    deltas = np.empty((t, rig.num_bones, 4))
    for c, b in target.joint_bone.items():
        deltas[:, b] = rot.quat_mul(world[:, c], rot.quat_conjugate(rot.matrix_to_quat(target.pose[c])))

    def aim(bones: list[int], chain: list[int], c: int, c_next: int) -> None:
        """Swing ``bones`` about the chain's base so the chain's chord points from joint c
        to joint c_next as in the canonical motion."""
        now = sum(rot.quat_rotate(deltas[:, k], np.broadcast_to(heads[n] - heads[k], (t, 3)))
                  for k, n in zip(chain[:-1], chain[1:]))
        swing = rot.quat_between(now, positions[:, c_next] - positions[:, c])
        for k in bones:
            deltas[:, k] = rot.quat_mul(swing, deltas[:, k])

    for b, (c, c_next, b_next) in target.skips.items():
        aim([b], [b, b_next], c, c_next)
    chains: dict[tuple[int, int], list[int]] = {}
    for b in rig.order:
        if b in target.distributed:
            lo, hi, frac = target.distributed[b]
            deltas[:, b] = rot.quat_slerp(deltas[:, lo], deltas[:, hi], frac)
            chains.setdefault((lo, hi), []).append(b)
    bone_joint = {b: c for c, b in target.joint_bone.items()}
    for (lo, hi), inner in chains.items():  # keep the upper end where the motion puts it
        aim([lo] + inner, [lo] + inner + [hi], bone_joint[lo], bone_joint[hi])
    fill_rigid(target, deltas)
    return deltas


def _continuous(q: np.ndarray) -> np.ndarray:
    """Sign-continuous quaternions along time (axis 0), vectorised."""
    dots = np.sum(q[1:] * q[:-1], axis=-1)
    signs = np.cumprod(np.where(dots < 0, -1.0, 1.0), axis=0)
    out = q.copy()
    out[1:] *= signs[..., None]
    return out


def carrier_positions(target: RigTarget, positions: np.ndarray, deltas: np.ndarray,
                      scale: float) -> np.ndarray:
    """Head of the translation carrier over time (canonical axes, target units) such that
    the rig's hips midpoint follows the canonical one (``positions``: the motion's joint
    positions), scaled."""
    rig, heads = target.rig, target.heads
    ci = {n: i for i, n in enumerate(CANONICAL.names)}
    pos = positions
    can_rest = CANONICAL.rest_positions()
    hips = [ci["left_hip"], ci["right_hip"]]
    can_mid = pos[:, hips].mean(1)
    can_rest_mid = can_rest[hips].mean(0)
    hip_bones = [target.joint_bone[c] for c in hips]
    want = heads[hip_bones].mean(0) + scale * (can_mid - can_rest_mid)
    offset = np.zeros_like(want)  # hips midpoint minus carrier head, through the chain
    for h in hip_bones:
        k = h
        while k != target.carrier:
            p = rig.parents[k]
            offset += rot.quat_rotate(deltas[:, p], np.broadcast_to(heads[k] - heads[p], want.shape)
                                      ) / len(hip_bones)
            k = p
    return want - offset


@dataclass
class WorldPose:
    """The retarget in world terms, before it becomes pose-space keys: what every bone of
    the target rig does (canonical axes, target units). Rigs whose animated bones are not
    the ones that deform (a generated Rigify control rig) key their controls from this.

    deltas: (T, N, 4) world rotations of every bone from its rest orientation;
    carrier_head: (T, 3) head of the translation carrier relative to its parent's rest
    (after ``root_motion``: without the part the root bone carries); root_offset: (T, 3)
    displacement of the root bone, or None when the hips carry all of it.
    """

    deltas: np.ndarray
    carrier_head: np.ndarray
    root_offset: np.ndarray | None
    scale: float
    fps: float

    def heads(self, target: RigTarget) -> np.ndarray:
        """Heads of every bone over time, (T, N, 3), canonical axes: the carrier at
        ``carrier_head``, its descendants through the deltas, its ancestors at rest (the
        root bone moved by ``root_offset``)."""
        rig, rest = target.rig, target.heads
        t = len(self.deltas)
        out = np.empty((t, rig.num_bones, 3))
        for b in rig.order:
            p = rig.parents[b]
            if rig.is_ancestor(b, target.carrier) or p < 0:
                out[:, b] = self.carrier_head if b == target.carrier else rest[b]
                if self.root_offset is not None and rig.is_ancestor(target.root_bone, b):
                    out[:, b] += self.root_offset
            else:
                out[:, b] = out[:, p] + rot.quat_rotate(
                    self.deltas[:, p], np.broadcast_to(rest[b] - rest[p], (t, 3)))
        return out


def solve_world(target: RigTarget, motion: Motion,
                options: RetargetOptions | None = None) -> WorldPose:
    """World-space rotations of every bone and the carrier's path that make ``target``'s
    rig play ``motion`` (foot clean-up and root-motion mode applied)."""
    options = options or RetargetOptions()
    scale = options.scale or target.scale
    fk = motion_world(motion)
    deltas = world_deltas(target, motion, fk)
    head = carrier_positions(target, fk[1], deltas, scale)
    if options.foot_cleanup:
        head = clean_foot_contacts(target, fk[1], deltas, head, scale, motion.fps)

    rest_head = target.heads[target.carrier]
    disp = head - rest_head
    root_disp = None
    horizontal = np.array([1.0, 1.0, 0.0])
    if options.root_motion == "in_place":
        window = max(1, int(round(motion.fps)))
        disp = disp - moving_average(disp, window) * horizontal
    elif options.root_motion == "root":
        if target.root_bone < 0:
            target.notes.append("no root bone above the hips: root motion stays on the hips")
        else:
            root_disp = disp * horizontal
            disp = disp - root_disp
    return WorldPose(deltas, rest_head + disp, root_disp, scale, motion.fps)


def retarget_to_rig(target: RigTarget, motion: Motion,
                    options: RetargetOptions | None = None) -> RigPose:
    """Pose-space keys that make ``target``'s rig play ``motion``."""
    rig = target.rig
    world = solve_world(target, motion, options)
    deltas = world.deltas

    keyed = sorted(driven_bones(target), key=rig.order.index)
    rest = target.rest
    parents = [rig.parents[b] for b in keyed]
    parent_deltas = np.where(np.array(parents)[None, :, None] >= 0,
                             deltas[:, [max(p, 0) for p in parents]], (1.0, 0.0, 0.0, 0.0))
    local = rot.quat_mul(rot.quat_conjugate(parent_deltas), deltas[:, keyed])
    quats = _continuous(to_pose_space(local, rest[keyed]))

    heads = target.heads
    carrier = target.carrier
    locations = {rig.names[carrier]: root_location_to_pose_space(
        world.carrier_head, heads[carrier], rest[carrier])}
    if world.root_offset is not None:
        r = target.root_bone
        locations[rig.names[r]] = root_location_to_pose_space(heads[r] + world.root_offset,
                                                              heads[r], rest[r])
    need_rest = set()
    for b in keyed + [carrier]:
        need_rest.update(a for a in rig.ancestors(b) if a not in keyed)
    need_rest -= {rig.index[n] for n in locations}
    return RigPose([rig.names[b] for b in keyed], quats, locations,
                   [rig.names[b] for b in sorted(need_rest, key=rig.order.index)],
                   motion.fps, world.scale)


def pose_heads(rig: RestRig, pose: RigPose) -> np.ndarray:
    """Armature-space bone heads (T, N, 3) of ``pose`` on ``rig``, computed the way Blender
    evaluates pose bones (unkeyed bones at rest); for checks without Blender."""
    return pose_matrices(rig, pose)[1]


def pose_matrices(rig: RestRig, pose: RigPose) -> tuple[np.ndarray, np.ndarray]:
    """Armature-space bone orientations (T, N, 3, 3) and heads (T, N, 3) of ``pose`` on
    ``rig``, as Blender evaluates them (see ``pose_heads``)."""
    t = pose.num_frames
    rest = rot.orthonormalize(rig.matrices)
    col = {rig.index[n]: k for k, n in enumerate(pose.bones)}
    orient = np.empty((t, rig.num_bones, 3, 3))
    heads = np.empty((t, rig.num_bones, 3))
    for b in rig.order:
        q = rot.quat_to_matrix(pose.rotations[:, col[b]]) if b in col else np.eye(3)
        loc = pose.locations.get(rig.names[b])
        local_head = rig.heads[b] + (0.0 if loc is None or rig.connected[b] else loc @ rest[b].T)
        p = rig.parents[b]
        if p < 0:
            orient[:, b] = rest[b] @ q
            heads[:, b] = np.broadcast_to(local_head, (t, 3))
        else:
            to_parent = orient[:, p] @ rest[p].T  # armature rest -> posed, about the parent's head
            orient[:, b] = to_parent @ rest[b] @ q
            heads[:, b] = heads[:, p] + np.einsum("tij,tj->ti", to_parent,
                                                  np.broadcast_to(local_head - rig.heads[p], (t, 3)))
    return orient, heads
