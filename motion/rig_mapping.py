"""Bone maps for target rigs: which bone of a user's armature plays which canonical joint.

A rig is described by its rest data only (:class:`RestRig`: bone names, parents, rest
heads/tails and rest rotations in armature space), so this module needs no Blender.

Matching (docs/retargeting.md, "Target rigs"):
1. **Names.** Every bone name is split into a side (left/right in any common spelling:
   ``.L``, ``_l``, ``Left``, ``l_``, ``lThigh``, ``J_Bip_L_``, ``左``/``右``) and a base
   (lower case, separators removed, namespaces such as ``mixamorig1:`` stripped,
   full-width digits folded). Each naming convention is a table from base names to
   canonical joints; the table that explains most bones wins.
2. **Spine refit.** The bones between the pelvis and the neck are re-spread over
   spine1..spine3 by height, so rigs with two to five spine bones map sensibly.
3. **Geometry.** When names leave main-body joints unmapped, the hierarchy and rest
   geometry fill the gaps: legs and arms are the two mirror-symmetric long branch pairs,
   the hips their common ancestor, the spine the path from the hips to the arms' branch,
   the neck and head the highest-reaching chain above it.

Step 1 is ``motion/rig_names.py``, step 3 ``motion/rig_geometry.py``; the result is a
:class:`~motion.bone_map.BoneMap` (``motion/bone_map.py``), what the retargeter consumes.
"""
from __future__ import annotations

import numpy as np

from .bone_map import CONFIDENCE, MAIN_JOINTS, REQUIRED_JOINTS, BoneMap
from .rest_rig import RestRig
from .rig_geometry import body_axes, match_geometry
from .rig_names import ROOT_ROLE, TABLES, looks_like_rigify_controls, match_by_names, split_side
from .skeleton import CANONICAL, JOINT_NAMES


def _refit_spine(rig: RestRig, bones: dict[str, int], up: np.ndarray) -> None:
    """Spread spine1..spine3 over the bones strictly between the pelvis and the neck."""
    top = bones.get("neck", bones.get("head"))
    pelvis = bones.get("pelvis")
    if top is None or pelvis is None:
        return
    lca = rig.common_ancestor([pelvis, top])
    if lca < 0:
        return
    path = []
    for a in rig.ancestors(top):
        if a == lca:
            break
        path.append(a)
    chain = path[::-1]  # bottom to top
    # A bone starting where the pelvis does (CMU's zero-offset lowerback) does not bend
    # the spine; mapping spine1 onto it would frame the pelvis from a point on itself.
    size = max(float(np.ptp(rig.heads, axis=0).max()), 1e-9)
    # (MMD's upper body starts at the lower body's head too, but beside it, not below it.)
    chain = [b for b in chain if not rig.is_ancestor(pelvis, b)
             or np.linalg.norm(rig.heads[b] - rig.heads[pelvis]) > 0.01 * size]
    if not chain:
        return
    for j in ("spine1", "spine2", "spine3"):
        bones.pop(j, None)
    if len(chain) == 1:
        bones["spine3"] = chain[0]
        return
    bones["spine1"], bones["spine3"] = chain[0], chain[-1]
    if len(chain) >= 3:
        rest = CANONICAL.rest_positions()
        ci = {n: i for i, n in enumerate(CANONICAL.names)}
        z = lambda j: rest[ci[j], 2]  # noqa: E731
        want = (z("spine2") - z("spine1")) / (z("spine3") - z("spine1"))
        h = rig.heads[chain] @ up
        frac = (h - h[0]) / max(h[-1] - h[0], 1e-9)
        inner = list(range(1, len(chain) - 1))
        bones["spine2"] = chain[min(inner, key=lambda k: abs(frac[k] - want))]


# Joints the spine refit re-places, checked only for being in the body's hierarchy.
_TRUNK = frozenset({"pelvis", "spine1", "spine2", "spine3", "left_hip", "right_hip", "neck",
                    "left_collar", "right_collar"})


def _root_of(rig: RestRig, b: int) -> int:
    anc = rig.ancestors(b)
    return anc[-1] if anc else b


def _hierarchy_breaks(rig: RestRig, bones: dict[str, int]) -> list[str]:
    """Joints whose bone does not hang where the skeleton says: a limb joint not below
    the bone of its nearest mapped canonical ancestor (an IK control called ``Foot.L`` at
    the rig's root is not the foot), a trunk joint outside the pelvis's hierarchy."""
    out = []
    bones = dict(bones)  # a broken joint is dropped before its children are checked
    ci = {n: i for i, n in enumerate(CANONICAL.names)}
    body = _root_of(rig, bones["pelvis"]) if "pelvis" in bones else None
    for joint in CANONICAL.names:
        if joint not in bones or joint == "pelvis":
            continue
        p = CANONICAL.parents[ci[joint]]
        while p >= 0 and CANONICAL.names[p] not in bones:
            p = CANONICAL.parents[p]
        if p < 0:
            continue
        parent = CANONICAL.names[p]
        if joint in _TRUNK or parent in _TRUNK - {"neck"}:
            if body is not None and _root_of(rig, bones[joint]) != body:
                out.append(joint)
                del bones[joint]
        elif not rig.is_ancestor(bones[parent], bones[joint]):
            out.append(joint)
            del bones[joint]
    return out


_LIMBS = (("the hips", ("pelvis",)),
          ("the left leg", ("left_hip", "left_knee", "left_ankle")),
          ("the right leg", ("right_hip", "right_knee", "right_ankle")))


def _describe_missing(found: dict[str, int], convention: str) -> str:
    """A refusal an animator can act on: what is missing, what was found, what to do."""
    parts = []
    for label, joints in _LIMBS:
        gone = [j for j in joints if j not in found]
        if gone:
            parts.append(label if len(gone) == len(joints) else
                         f"{label}'s {' and '.join(j.split('_')[-1] for j in gone)}")
    listed = ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]
    seen = sorted({j.replace("_", " ") for j in found})
    return (f"cannot recognise the rig as a body: no bones found for {listed}"
            + (f" (found: {', '.join(seen)}" + (f"; names closest to {convention}" if convention else "") + ")"
               if seen else " (no bone name or limb shape was recognised)")
            + ". Map them by hand: Check Rig in the Cadence tab, pick a bone for each missing "
              "joint and save the map as a preset (command line: --map FILE.json)")


def match_rig(rig: RestRig, rigify_controls: bool = False) -> BoneMap:
    """Automatic bone map for ``rig``: names first, checked against the hierarchy (a name
    on the wrong branch is dropped), then hierarchy and rest geometry for main-body joints
    the names did not explain; the spine is refitted by height. Bones outside the body's
    hierarchy (IK controls, poles, attachment slots at the rig's root) are left alone.
    Each joint gets a confidence (``CONFIDENCE``: names and geometry agree, names only,
    disputed, geometry only).
    ``rigify_controls``: the rig is a generated Rigify rig with its constraints (the
    caller knows from its ``rig_id``); its controls are mapped when the names fit.

    Raises ValueError, with what was found and what to do, when neither finds the pelvis
    and both legs.
    """
    if rigify_controls and looks_like_rigify_controls(rig.names):
        table = TABLES["rigify_control"]
        bones, root = {}, None
        for name in rig.names:
            joint = table.get(split_side(name))
            if joint == ROOT_ROLE:
                root = root or name
            elif joint is not None and joint not in bones:
                bones[joint] = name
        missing = [j for j in REQUIRED_JOINTS if j not in bones]
        if not missing:
            return BoneMap({j: bones[j] for j in JOINT_NAMES if j in bones}, root, "rigify_control",
                           confidence={j: CONFIDENCE["name"] for j in bones})
    convention, by_name, root = match_by_names(rig.names)
    bones = {j: rig.index[b] for j, b in by_name.items()}
    notes = []
    broken = _hierarchy_breaks(rig, bones)
    if broken:
        notes.append("names on the wrong branch, not used: "
                     + ", ".join(f"{rig.names[bones[j]]} ({j})" for j in broken))
        for j in broken:
            del bones[j]
    try:
        geometry = match_geometry(rig)
    except ValueError as exc:
        geometry = {}
        if any(j not in bones for j in MAIN_JOINTS):
            notes.append(f"geometry: {exc}")
    confidence = {j: CONFIDENCE["name" if j not in geometry else "both" if geometry[j] == b else "disputed"]
                  for j, b in bones.items()}
    used = set(bones.values())
    filled = []
    for joint, b in geometry.items():
        if joint not in bones and b not in used:
            bones[joint] = b
            used.add(b)
            filled.append(joint)
            confidence[joint] = CONFIDENCE["geometry"]
    if filled:
        notes.append("from geometry: " + ", ".join(filled))
        if not by_name or len(filled) > len(by_name):
            convention = "geometry" if not by_name else f"{convention}+geometry"
    missing = [j for j in REQUIRED_JOINTS if j not in bones]
    if missing:
        raise ValueError(_describe_missing(bones, convention))
    body = _root_of(rig, bones["pelvis"])
    extra = [rig.names[b] for b in range(rig.num_bones) if rig.parents[b] < 0 and b != body
             and rig.names[b] != root]
    if extra:
        notes.append(f"left alone (outside the body's hierarchy): {', '.join(extra)}")
    before = dict(bones)
    _refit_spine(rig, bones, body_axes(rig, bones)[2])
    for j, b in bones.items():  # the refit places spine bones by height
        if before.get(j) != b:
            named = rig.names[b] in by_name.values()  # a spine bone by name, re-placed by height
            confidence[j] = CONFIDENCE[("both" if geometry.get(j) == b else "name") if named else "geometry"]
    for j in set(confidence) - set(bones):
        del confidence[j]
    ordered = sorted(bones.items(), key=lambda kv: JOINT_NAMES.index(kv[0]))
    return BoneMap({j: rig.names[b] for j, b in ordered}, root, convention or "geometry", notes,
                   {j: confidence[j] for j, _ in ordered})
