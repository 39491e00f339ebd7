"""A rig's main-body joints from its hierarchy and rest geometry alone, for rigs whose
bone names no table explains (docs/retargeting.md, "Target rigs").

Legs and arms are the two mirror-symmetric long branch pairs, the hips their common
ancestor, the spine the path from the hips to the arms' branch, the neck and head the
highest-reaching chain above it. :func:`body_axes` gives a mapped rig's own left, back and
up directions.
"""
from __future__ import annotations

import numpy as np

from .body_frame import detect_axes
from .rest_rig import RestRig
from .rotations import cross


def body_axes(rig: RestRig, bones: dict[str, int]) -> np.ndarray:
    """Rows: the rig's left, back and up directions in armature space, each snapped to
    the nearest coordinate axis (so R @ v takes armature vectors to canonical axes); the
    same detection the BVH import uses."""
    names = dict(bones)
    return detect_axes(rig.heads[None], names)


def _points(rig: RestRig, bones: list[int]) -> np.ndarray:
    return np.concatenate([rig.heads[bones], rig.tails[bones]])


def _main_path(rig: RestRig, start: int, weight) -> list[int]:
    """From ``start`` down the child with the largest ``weight(child)``."""
    path = [start]
    while rig.children[path[-1]]:
        path.append(max(rig.children[path[-1]], key=weight))
    return path


def _mirror_error(rig: RestRig, a: int, b: int) -> float:
    """How far subtree b is from the mirror image of subtree a (mean nearest distance).
    The mirror plane is half-way between the two subtrees: between their heads, or where
    the heads coincide (CMU's hip joints and collars start at the body's centre line)
    between their centroids."""
    pa, pb = _points(rig, rig.subtree(a)), _points(rig, rig.subtree(b))
    ca, cb = rig.heads[a], rig.heads[b]
    size = max(np.ptp(pa, axis=0).max(), np.ptp(pb, axis=0).max(), 1e-9)
    if np.linalg.norm(ca - cb) < 0.05 * size:
        ca, cb = pa.mean(0), pb.mean(0)
    d = ca - cb
    n = np.linalg.norm(d)
    if n < 1e-9:
        return np.inf
    d /= n
    mid = 0.5 * (ca + cb)
    reflected = pa - 2.0 * np.outer((pa - mid) @ d, d)
    dist = np.linalg.norm(reflected[:, None] - pb[None], axis=-1)
    return float(0.5 * (dist.min(1).mean() + dist.min(0).mean()))


def match_geometry(rig: RestRig) -> dict[str, int]:
    """Main-body joints from hierarchy and rest geometry alone: {joint: bone index}."""
    pts = np.concatenate([rig.heads, rig.tails])
    size = float(np.max(pts.max(0) - pts.min(0)))
    if size <= 0:
        raise ValueError("the rig has no extent")
    reach = np.zeros(rig.num_bones)  # farthest point of each subtree from its parent's head
    count = np.array([len(rig.subtree(b)) for b in range(rig.num_bones)])
    for b in range(rig.num_bones):
        origin = rig.heads[rig.parents[b]] if rig.parents[b] >= 0 else rig.heads[b]
        reach[b] = np.linalg.norm(_points(rig, rig.subtree(b)) - origin, axis=1).max()

    pairs = []  # (score, parent, a, b)
    for p in range(rig.num_bones):
        kids = [c for c in rig.children[p] if count[c] >= 2 and reach[c] >= 0.2 * size]
        for i, a in enumerate(kids):
            for b in kids[i + 1:]:
                if abs(reach[a] - reach[b]) > 0.15 * max(reach[a], reach[b]):
                    continue
                err = _mirror_error(rig, a, b)
                if err < 0.05 * size:
                    pairs.append((reach[a] + reach[b], p, a, b))
    if not pairs:
        raise ValueError("no pair of mirror-symmetric limbs found")
    depth = [len(rig.ancestors(b)) for b in range(rig.num_bones)]
    pairs.sort(key=lambda x: (depth[x[1]], -x[0]))
    legs = pairs[0]
    leg_bones = set(rig.subtree(legs[2])) | set(rig.subtree(legs[3]))
    arms = next((q for q in sorted(pairs[1:], key=lambda x: -x[0])
                 if q[2] not in leg_bones and q[3] not in leg_bones and q[1] not in leg_bones),
                None)
    if arms is not None and rig.is_ancestor(arms[1], legs[1]) and arms[1] != legs[1]:
        legs, arms = arms, legs  # the legs branch nearer the root
    hips = rig.common_ancestor([legs[1], arms[1]]) if arms else legs[1]

    def leg_end(c: int) -> np.ndarray:
        p = _points(rig, rig.subtree(c))
        return p[np.argmax(np.linalg.norm(p - rig.heads[c], axis=1))]

    up = rig.heads[hips] - 0.5 * (leg_end(legs[2]) + leg_end(legs[3]))
    up /= np.linalg.norm(up)
    height = lambda i: rig.heads[i] @ up  # noqa: E731
    # Forward: where the feet point (toes stick out in front of the ankles).
    fwd = np.zeros(3)
    for c in (legs[2], legs[3]):
        p = _points(rig, rig.subtree(c))
        h = p @ up
        low = p[h < h.min() + 0.15 * (h.max() - h.min())]
        horiz = low - low[np.argmax(low @ up)]  # from the ankle towards the toes
        horiz -= np.outer(horiz @ up, up)
        fwd += horiz.mean(0)
    fwd -= (fwd @ up) * up
    if np.linalg.norm(fwd) < 1e-9:
        raise ValueError("cannot tell front from back (no feet)")
    fwd /= np.linalg.norm(fwd)
    up -= (up @ fwd) * fwd  # the toes tilted it forwards
    up /= np.linalg.norm(up)
    left = cross(up, fwd)

    out: dict[str, int] = {"pelvis": hips}
    side_of = lambda c: "left" if (rig.heads[c] - rig.heads[hips]) @ left > 0 else "right"  # noqa: E731

    for c in (legs[2], legs[3]):
        path = _main_path(rig, c, lambda k: reach[k])
        if len(path) >= 4 and abs((rig.heads[path[0]] - rig.heads[hips]) @ left) < 0.25 * abs(
                (rig.heads[path[1]] - rig.heads[hips]) @ left):
            path = path[1:]  # a bone from the body's centre to the hip joint (CMU's lhipjoint)
        s = side_of(path[0])
        h = np.array([height(k) for k in path])
        floor = min(h.min(), (_points(rig, path) @ up).min())
        rel = (h - floor) / max(h[0] - floor, 1e-9)
        out[f"{s}_hip"] = path[0]
        toe = next((i for i in range(2, len(path)) if rel[i] < 0.045), None)
        above = [i for i in range(1, toe if toe is not None else len(path)) if rel[i] >= 0.03]
        if not above:
            continue
        if len(above) == 1 and toe is None:  # two-bone leg: thigh and shin
            out[f"{s}_knee"] = path[above[0]]
            continue
        ankle = above[-1]
        out[f"{s}_ankle"] = path[ankle]
        if toe is not None:
            out[f"{s}_foot"] = path[toe]
        mid = 0.5 * (rel[0] + rel[ankle])
        out[f"{s}_knee"] = path[min(range(1, ankle), key=lambda i: abs(rel[i] - mid))] \
            if ankle > 1 else path[ankle]
        if ankle == 1:
            out.pop(f"{s}_ankle")
    if arms is None:
        return out

    chest = arms[1]
    spine = []
    for a in [chest] + rig.ancestors(chest):
        if a == hips:
            break
        spine.append(a)
    spine = spine[::-1]
    if spine:
        out["spine3"] = spine[-1]
        if len(spine) >= 2:
            out["spine1"] = spine[0]
    for c in (arms[2], arms[3]):
        s = side_of(c)
        path = _main_path(rig, c, lambda k: count[k])
        wrist = next((i for i, k in enumerate(path)
                      if sum(count[g] >= 2 for g in rig.children[k]) >= 2), len(path) - 1)
        if wrist == len(path) - 1 and len(path) >= 4 and len(rig.children[path[-2]]) >= 2 and \
                np.linalg.norm(rig.heads[path[-1]] - rig.heads[path[-2]]) < 0.5 * np.linalg.norm(
                    rig.heads[path[-2]] - rig.heads[path[-3]]):
            wrist -= 1  # one-bone fingers and a thumb (CMU's fingerbase, thumb): the hand is above them
        path = path[:wrist + 1]
        start = 0
        if len(path) >= 4 or (len(path) == 3 and np.linalg.norm(
                rig.heads[path[1]] - rig.heads[path[0]]) < 0.4 * np.linalg.norm(
                rig.heads[path[-1]] - rig.heads[path[0]])):
            out[f"{s}_collar"] = path[0]
            start = 1
        if len(path) - start < 3:
            continue
        out[f"{s}_shoulder"], out[f"{s}_wrist"] = path[start], path[-1]
        span = np.linalg.norm(rig.heads[path[-1]] - rig.heads[path[start]])
        inner = range(start + 1, len(path) - 1)
        out[f"{s}_elbow"] = path[min(inner, key=lambda i: abs(np.linalg.norm(
            rig.heads[path[i]] - rig.heads[path[start]]) - 0.5 * span))]
    others = [k for k in rig.children[chest] if k not in (arms[2], arms[3])]
    if others:
        top = max(others, key=lambda k: (_points(rig, rig.subtree(k)) @ up).max())
        path = _main_path(rig, top, lambda k: (_points(rig, rig.subtree(k)) @ up).max())
        if len(path) >= 2 and not rig.children[path[-1]] and \
                height(path[-1]) - height(path[-2]) > 0.06 * size:
            path = path[:-1]  # an end marker at the top of the skull
        out["head"] = path[-1]
        if len(path) >= 2:
            out["neck"] = path[0]
    return out
