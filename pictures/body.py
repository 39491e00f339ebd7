"""A stand-in body for any armature: one capsule per bone segment, rigidly skinned.

Renders do not show bones, so previews and the demo give each character a simple body
built from its rest pose: a tapered tube from every mapped joint to its nearest mapped
descendant (following the canonical hierarchy, so a rig without, say, ``spine2`` still
gets a closed torso), balls at the joints, a head. Every vertex belongs to exactly one
bone (the segment's start), which is what rigid skinning needs.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..motion.skeleton import BODY_JOINT_NAMES, CANONICAL

# Capsule radius (m) at each joint of a 1.72 m character; scaled with the rig's height.
_RADIUS = {
    "pelvis": 0.11, "spine1": 0.10, "spine2": 0.105, "spine3": 0.11, "neck": 0.045,
    "head": 0.05, "collar": 0.05, "shoulder": 0.05, "elbow": 0.04, "wrist": 0.035,
    "hip": 0.075, "knee": 0.055, "ankle": 0.045, "foot": 0.035,
}
_LEAF_END = {"wrist": 0.7, "foot": 1.0}  # hand and toe tips: this fraction of the bone
_CANONICAL_HEIGHT = 1.72


def joint_radius(joint: str, scale: float = 1.0) -> float:
    part = joint.split("_", 1)[-1]
    return _RADIUS[part] * scale


@dataclass
class MeshData:
    """Vertices (V, 3), faces (lists of vertex indices) and, per vertex, its owner."""
    vertices: np.ndarray
    faces: list[tuple[int, ...]]
    owners: np.ndarray  # (V,) index into the caller's list of owners (bones)

    @staticmethod
    def join(parts: list[MeshData]) -> MeshData:
        verts, faces, owners, base = [], [], [], 0
        for p in parts:
            verts.append(p.vertices)
            owners.append(p.owners)
            faces += [tuple(i + base for i in f) for f in p.faces]
            base += len(p.vertices)
        return MeshData(np.concatenate(verts), faces, np.concatenate(owners))


def _frame(axis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors perpendicular to ``axis`` and to each other."""
    helper = np.array([0.0, 0.0, 1.0]) if abs(axis[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    u = np.cross(axis, helper)
    u /= np.linalg.norm(u)
    return u, np.cross(axis, u)


def sphere(centre, radius: float, owner: int, rings: int = 6, segments: int = 10) -> MeshData:
    """A UV sphere (poles + ``rings - 1`` latitude rings)."""
    c = np.asarray(centre, float)
    theta = np.linspace(0.0, np.pi, rings + 1)[1:-1]
    phi = np.linspace(0.0, 2 * np.pi, segments, endpoint=False)
    ring = np.stack([np.sin(theta)[:, None] * np.cos(phi), np.sin(theta)[:, None] * np.sin(phi),
                     np.repeat(np.cos(theta)[:, None], segments, axis=1)], axis=-1).reshape(-1, 3)
    verts = np.concatenate([[c + [0, 0, radius]], c + radius * ring, [c - [0, 0, radius]]])
    last = len(verts) - 1
    faces = [(0, 1 + (s + 1) % segments, 1 + s) for s in range(segments)]
    for r in range(rings - 2):
        a, b = 1 + r * segments, 1 + (r + 1) * segments
        faces += [(a + s, a + (s + 1) % segments, b + (s + 1) % segments, b + s) for s in range(segments)]
    a = 1 + (rings - 2) * segments
    faces += [(last, a + s, a + (s + 1) % segments) for s in range(segments)]
    faces = [f[::-1] for f in faces]  # counter-clockwise seen from outside: normals out
    return MeshData(verts, faces, np.full(len(verts), owner))


def tube(start, end, r_start: float, r_end: float, owner: int, sides: int = 10) -> MeshData:
    """An open tapered tube from ``start`` to ``end`` (the balls at the joints close it)."""
    a, b = np.asarray(start, float), np.asarray(end, float)
    axis = b - a
    length = np.linalg.norm(axis)
    if length < 1e-6:
        return MeshData(np.zeros((0, 3)), [], np.zeros(0, int))
    u, v = _frame(axis / length)
    phi = np.linspace(0.0, 2 * np.pi, sides, endpoint=False)
    circle = np.cos(phi)[:, None] * u + np.sin(phi)[:, None] * v
    verts = np.concatenate([a + r_start * circle, b + r_end * circle])
    faces = [(s, (s + 1) % sides, sides + (s + 1) % sides, sides + s) for s in range(sides)]
    return MeshData(verts, faces, np.full(len(verts), owner))


def body_mesh(heads: dict[str, np.ndarray], tails: dict[str, np.ndarray],
              with_head: bool = True) -> tuple[MeshData, list[str]]:
    """Capsules for the canonical body joints present in ``heads`` (joint -> rest head of
    its bone, in the armature's space; ``tails`` likewise). Returns the mesh and the joint
    each owner index stands for.
    """
    joints = [j for j in BODY_JOINT_NAMES if j in heads]
    if "pelvis" not in joints or "head" not in joints:
        raise ValueError("a body needs at least the pelvis and the head mapped")
    scale = body_scale(heads)
    owner = {j: k for k, j in enumerate(joints)}
    parts: list[MeshData] = []
    for j in joints:
        parent = _mapped_ancestor(j, owner)
        r = joint_radius(j, scale)
        if parent is not None:
            parts.append(tube(heads[parent], heads[j], joint_radius(parent, scale), r, owner[parent]))
        part = j.split("_", 1)[-1]
        if j == "head":
            if with_head:
                centre, radius = head_ball(heads, tails)
                parts.append(sphere(centre, radius, owner[j], rings=8, segments=14))
            continue
        parts.append(sphere(heads[j], r, owner[j]))
        if part in _LEAF_END and not _has_mapped_child(j, owner):
            end = heads[j] + _LEAF_END[part] * (tails[j] - heads[j])
            parts.append(tube(heads[j], end, r, 0.8 * r, owner[j]))
            parts.append(sphere(end, 0.8 * r, owner[j]))
    return MeshData.join(parts), joints


def body_scale(heads: dict[str, np.ndarray]) -> float:
    """The character's size against the canonical adult (head bone to ankle height)."""
    z = [h[2] for h in heads.values()]
    scale = (max(z) - min(z)) / 1.45
    return float(np.clip(scale, 0.05, 100.0)) if np.isfinite(scale) else 1.0


def head_ball(heads: dict[str, np.ndarray], tails: dict[str, np.ndarray]) -> tuple[np.ndarray, float]:
    """Centre and radius of the head: around the head bone's middle, at least as big as
    an adult's head scaled to the body."""
    head, tail = np.asarray(heads["head"], float), np.asarray(tails["head"], float)
    radius = max(0.095 * body_scale(heads), 0.45 * float(np.linalg.norm(tail - head)))
    return head + 0.5 * (tail - head), radius


def _mapped_ancestor(joint: str, mapped: dict) -> str | None:
    p = CANONICAL.parents[CANONICAL.index(joint)]
    while p >= 0 and CANONICAL.names[p] not in mapped:
        p = CANONICAL.parents[p]
    return CANONICAL.names[p] if p >= 0 else None


def _has_mapped_child(joint: str, mapped: dict) -> bool:
    return any(_mapped_ancestor(c, mapped) == joint for c in mapped if c != joint)


def checker_floor(half_size: float, tiles: int) -> tuple[np.ndarray, list[tuple[int, ...]], list[int]]:
    """A square floor of ``tiles`` x ``tiles`` quads on z = 0; per face 0 or 1 (checker)."""
    edge = np.linspace(-half_size, half_size, tiles + 1)
    xx, yy = np.meshgrid(edge, edge, indexing="ij")
    verts = np.stack([xx.ravel(), yy.ravel(), np.zeros(xx.size)], axis=1)
    faces, colours = [], []
    n = tiles + 1
    for i in range(tiles):
        for k in range(tiles):
            a = i * n + k
            faces.append((a, a + n, a + n + 1, a + 1))
            colours.append((i + k) % 2)
    return verts, faces, colours
