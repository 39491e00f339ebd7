"""A rig's animation as BVH on the rig's own skeleton (bpy-free).

Input: the rig's rest data (``RestRig``, armature space), its posed bone matrices per
frame (Blender's ``PoseBone.matrix``, armature space) and the armature object's world
matrix per frame (``RigSamples``); ``blender/export.py`` reads them back from the
evaluated armature, :func:`pose_matrices` computes them from a ``RigPose`` without
Blender.

Output: a BVH skeleton with one joint per bone (or per selected bone, the hierarchy
collapsed onto the selected ancestors), in world space so the object transform (0.01
scale, a 90-degree rotation, placement) is applied, then Y up in centimetres like
``motion/export.py``:

- offsets are the bones' rest heads relative to the parent's head, End Sites the leaf
  bones' tails;
- joint frames are world-aligned at rest (BVH's meaning), so a bone's local rotation is
  ``D_parent^T D_bone`` with ``D = (posed world rotation) (rest world rotation)^T``, the
  world-space delta from rest: bone rolls never enter;
- the root gets position channels; any other joint whose translation from its parent
  moves (a root bone and a hips bone that both carry motion, bones with location keys,
  selected bones below unselected moving ones) gets position channels too, so the file
  reproduces every bone head exactly;
- several root bones hang from a joint at the origin named after the armature; names
  with whitespace or braces (which BVH cannot hold) get underscores, and stay unique.

:func:`rig_to_canonical` takes the same samples onto the canonical skeleton through
``motion/convert.py``, using the rig's bone map for the names.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..output_file import write_text
from . import rotations as rot
from .bvh import format_bvh, parse_bvh
from .convert import bvh_to_canonical
from .export import to_y_up_cm, vectors_to_y_up_cm
from .kinematics import Motion
from .rest_rig import RestRig, RigSamples
from .skeleton import Skeleton

# A joint's translation from its parent that moves by more than this fraction of the
# rig's size gets position channels (float32 pose matrices are good to ~1e-7).
_MOVING_TOLERANCE = 1e-5
_SCALE_TOLERANCE = 1e-4
_BAD_NAME_CHARS = re.compile(r"[\s{}]+")
REQUIRED_FOR_CANONICAL = ("pelvis", "left_hip", "left_knee", "right_hip", "right_knee")


@dataclass
class RigMotion:
    """The rig's animation on a BVH-ready skeleton, world space (Z up, metres).

    motion: local rotations and root positions on a skeleton of the exported joints;
    joint_positions: non-root joint -> (T, 3) translation in its parent's frame, for
    joints whose translation moves; bones: the bone each joint stands for ("" for an
    added root); notes: what the file cannot carry.
    """

    motion: Motion
    joint_positions: dict[int, np.ndarray]
    bones: list[str]
    notes: list[str] = field(default_factory=list)

    def joint_of_bone(self) -> dict[str, str]:
        """Bone name -> its (sanitised) joint name in the file."""
        return {b: n for b, n in zip(self.bones, self.motion.skeleton.names) if b}


def bvh_names(names: list[str], taken: set[str] | None = None) -> list[str]:
    """Names BVH can hold: whitespace and braces become ``_``; duplicates get ``_1``..."""
    used = set(taken or ())
    out = []
    for name in names:
        base = _BAD_NAME_CHARS.sub("_", name.strip()) or "bone"
        candidate, k = base, 1
        while candidate in used:
            candidate, k = f"{base}_{k}", k + 1
        used.add(candidate)
        out.append(candidate)
    return out


def rig_motion(samples: RigSamples, bones: list[str] | None = None,
               root_name: str = "Root") -> RigMotion:
    """The sampled rig as joints with world-aligned rest frames, Z up, metres.

    bones: the bones to export (default all); the others are left out and their
    children hang from the nearest exported ancestor. root_name: the joint added at the
    origin when several bones are roots.
    """
    rig = samples.rig
    keep_set = set(range(rig.num_bones)) if bones is None else {rig.index[b] for b in bones
                                                               if b in rig.index}
    if bones is not None and len(keep_set) != len(set(bones)):
        missing = sorted(set(bones) - set(rig.names))
        raise ValueError(f"no bones named {', '.join(map(repr, missing[:5]))}")
    if not keep_set:
        raise ValueError("no bones to export")
    keep = [b for b in rig.order if b in keep_set]  # parents first

    world = samples.world
    linear0 = world[0, :3, :3]
    if np.linalg.det(linear0) <= 0:
        raise ValueError("the armature's object transform mirrors it (negative scale): "
                         "BVH cannot hold a mirrored skeleton; apply the scale first")
    notes: list[str] = []
    sv = np.linalg.svd(world[:, :3, :3], compute_uv=False)
    if np.any(sv.max(-1) - sv.min(-1) > _SCALE_TOLERANCE * sv.max(-1)):
        notes.append("the armature object is scaled unevenly: bone rotations are exported "
                     "without the shear")

    # Rest, world space: heads, tails, bone orientations. Rotations: the object's
    # (scale taken out, per frame: few SVDs) times the bones' (columns normalised, which
    # takes out pose-bone scale; an SVD per bone and frame would dominate the run time).
    object_rot = rot.orthonormalize(world[:, :3, :3])
    heads = rig.heads @ linear0.T + world[0, :3, 3]
    tails = rig.tails @ linear0.T + world[0, :3, 3]
    rest = object_rot[0] @ rot.orthonormalize(rig.matrices[keep])
    # Posed, world space.
    pose = samples.pose[:, keep]
    scales = np.linalg.norm(pose[..., :3, :3], axis=-2)  # (T, K, 3) column lengths
    if np.any(np.abs(scales - 1.0) > _SCALE_TOLERANCE):
        notes.append("some bones are scaled in the pose: BVH has no scale channels, the "
                     "file keeps their rotations and head positions")
    posed = object_rot[:, None] @ (pose[..., :3, :3] / scales[..., None, :])
    x = np.einsum("tij,tnj->tni", world[:, :3, :3], pose[..., :3, 3]) + world[:, None, :3, 3]
    delta = posed @ np.swapaxes(rest, -1, -2)[None]  # (T, K, 3, 3) world delta from rest

    col = {b: k for k, b in enumerate(keep)}
    kept_parent = []
    for b in keep:
        p = rig.parents[b]
        while p >= 0 and p not in col:
            p = rig.parents[p]
        kept_parent.append(col[p] if p >= 0 else -1)
    roots = [k for k, p in enumerate(kept_parent) if p < 0]
    added_root = len(roots) > 1
    shift = 1 if added_root else 0

    t = samples.num_frames
    count = len(keep) + shift
    names = bvh_names([rig.names[b] for b in keep])
    if added_root:
        names = bvh_names([root_name], taken=set(names)) + names
    parents = [-1] * count
    offsets = np.zeros((count, 3))
    local = np.empty((t, count, 3, 3))
    translation = np.zeros((t, count, 3))
    if added_root:
        local[:, 0] = np.eye(3)
    for k, b in enumerate(keep):
        j, p = k + shift, kept_parent[k]
        if p >= 0:
            parents[j] = p + shift
            offsets[j] = heads[b] - heads[keep[p]]
            local[:, j] = np.swapaxes(delta[:, p], -1, -2) @ delta[:, k]
            translation[:, j] = np.einsum("tji,tj->ti", delta[:, p], x[:, k] - x[:, p])
        else:
            parents[j] = 0 if added_root else -1
            offsets[j] = heads[b]
            local[:, j] = delta[:, k]
            translation[:, j] = x[:, k]
    end_sites = {}
    has_child = set(parents)
    for k, b in enumerate(keep):
        if k + shift not in has_child:
            end_sites[k + shift] = tails[b] - heads[b]

    size = max(float(np.ptp(heads[keep], axis=0).max()), 1e-9)
    root = 0
    joint_positions = {}
    for j in range(count):
        if parents[j] < 0:
            continue
        if np.abs(translation[:, j] - offsets[j]).max() > _MOVING_TOLERANCE * size:
            joint_positions[j] = translation[:, j]
    skeleton = Skeleton(tuple(names), tuple(parents), offsets, end_sites)
    motion = Motion(rot.quat_continuous(rot.matrix_to_quat(local)), translation[:, root],
                    samples.fps, skeleton)
    bone_names = ([""] if added_root else []) + [rig.names[b] for b in keep]
    return RigMotion(motion, joint_positions, bone_names, notes)


def _y_up_cm(rm: RigMotion) -> tuple[Skeleton, np.ndarray, np.ndarray, dict[int, np.ndarray]]:
    skeleton, rotations, root = to_y_up_cm(rm.motion)
    positions = {j: vectors_to_y_up_cm(v) for j, v in rm.joint_positions.items()}
    return skeleton, rotations, root, positions


def format_rig_bvh(rm: RigMotion, order: str = "ZXY") -> str:
    """BVH text of ``rm``, Y up, centimetres (``motion/export.py``'s convention)."""
    skeleton, rotations, root, positions = _y_up_cm(rm)
    return format_bvh(skeleton, rotations, root, rm.motion.fps, order, joint_positions=positions)


def write_rig_bvh(path: str | Path, samples: RigSamples, bones: list[str] | None = None,
                  root_name: str = "Root", order: str = "ZXY") -> RigMotion:
    """Write the sampled rig as BVH on its own skeleton (Y up, cm); atomic (a failed
    write leaves no file). Returns what was written."""
    rm = rig_motion(samples, bones, root_name)
    text = format_rig_bvh(rm, order)
    write_text(path, text, what="", example="out.bvh")
    return rm


def rig_to_canonical(samples: RigSamples, joint_bones: dict[str, str], fps: float | None = None,
                     fix_floor: bool = True) -> Motion:
    """The sampled rig's animation on the canonical skeleton.

    joint_bones: canonical joint -> bone (a bone map's ``bones``). The rig's own BVH is
    converted like any BVH (``motion/convert.py``: axes from the body, scale from the
    legs, alignment from the rest pose when upright), the names given by the map.
    """
    missing = [j for j in REQUIRED_FOR_CANONICAL if j not in joint_bones]
    if missing:
        raise ValueError("the bone map lacks " + ", ".join(missing)
                         + ": the canonical skeleton needs the pelvis and both legs")
    rm = rig_motion(samples)
    joint_of = rm.joint_of_bone()
    unknown = sorted(b for b in joint_bones.values() if b not in joint_of)
    if unknown:
        raise ValueError(f"the bone map names bones the rig lacks: {', '.join(unknown[:5])}")
    bvh = parse_bvh(format_rig_bvh(rm), source="<rig>")
    names = {j: joint_of[b] for j, b in joint_bones.items()}
    return bvh_to_canonical(bvh, fps=fps, fix_floor=fix_floor, names=names)


def pose_matrices(rig: RestRig, bones: list[str], rotations: np.ndarray,
                  locations: dict[str, np.ndarray]) -> np.ndarray:
    """Armature-space posed bone matrices (T, N, 4, 4) for pose-space keys, evaluated as
    Blender does (unkeyed bones at rest, connected bones ignore their location): the
    retarget maths' result without Blender (``RigPose.bones/rotations/locations``)."""
    rotations = np.asarray(rotations, dtype=float)
    t = len(rotations)
    rest = rot.orthonormalize(rig.matrices)
    col = {rig.index[n]: k for k, n in enumerate(bones)}
    out = np.zeros((t, rig.num_bones, 4, 4))
    out[..., 3, 3] = 1.0
    for b in rig.order:
        q = rot.quat_to_matrix(rotations[:, col[b]]) if b in col else np.eye(3)
        loc = locations.get(rig.names[b])
        local_head = rig.heads[b] + (0.0 if loc is None or rig.connected[b]
                                     else np.asarray(loc) @ rest[b].T)
        p = rig.parents[b]
        if p < 0:
            out[:, b, :3, :3] = rest[b] @ q
            out[:, b, :3, 3] = np.broadcast_to(local_head, (t, 3))
        else:
            to_parent = out[:, p, :3, :3] @ rest[p].T
            out[:, b, :3, :3] = to_parent @ rest[b] @ q
            out[:, b, :3, 3] = out[:, p, :3, 3] + np.einsum(
                "tij,tj->ti", to_parent, np.broadcast_to(local_head - rig.heads[p], (t, 3)))
    return out
