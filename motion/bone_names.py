"""Name tables from known skeleton conventions to canonical (SMPL-X) joint names.

This is the name-based half of bone mapping for BVH sources; the retargeting issue
extends it to Blender rigs (Rigify, Mixamo, UE, VRM, MMD, ...). Matching is by
normalised name (case-insensitive, namespace prefixes such as ``mixamorig:`` removed),
and the table that explains most of the source's joints wins.
"""
from __future__ import annotations

import re

from .skeleton import JOINT_NAMES


def _sided(template: dict[str, str]) -> dict[str, str]:
    """Expand {"{L}UpperArm": "{s}_shoulder"} into left and right entries."""
    out = {}
    for src, dst in template.items():
        for side, short, upper, s in (("left", "L", "Left", "l"), ("right", "R", "Right", "r")):
            out[src.format(L=short, Side=upper, s=s)] = dst.format(s=side)
    return out


BANDAI_NAMCO = _sided({
    "Hips": "pelvis", "Spine": "spine1", "Chest": "spine3", "Neck": "neck", "Head": "head",
    "Shoulder_{L}": "{s}_collar", "UpperArm_{L}": "{s}_shoulder", "LowerArm_{L}": "{s}_elbow",
    "Hand_{L}": "{s}_wrist", "UpperLeg_{L}": "{s}_hip", "LowerLeg_{L}": "{s}_knee",
    "Foot_{L}": "{s}_ankle", "Toes_{L}": "{s}_foot",
})

# CMU mocap BVH conversions (Hips, LowerBack, Spine, Spine1, Neck, Neck1, Head, ...).
CMU = _sided({
    "Hips": "pelvis", "LowerBack": "spine1", "Spine": "spine2", "Spine1": "spine3",
    "Neck": "neck", "Head": "head",
    "{Side}Shoulder": "{s}_collar", "{Side}Arm": "{s}_shoulder", "{Side}ForeArm": "{s}_elbow",
    "{Side}Hand": "{s}_wrist", "{Side}UpLeg": "{s}_hip", "{Side}Leg": "{s}_knee",
    "{Side}Foot": "{s}_ankle", "{Side}ToeBase": "{s}_foot",
})

# Mixamo (same limb names as CMU, three spine joints named Spine, Spine1, Spine2).
MIXAMO = {**CMU, "Spine": "spine1", "Spine1": "spine2", "Spine2": "spine3"}
del MIXAMO["LowerBack"]


def _asf(template: dict[str, str]) -> dict[str, str]:
    """Expand {"{s}femur": "{side}_hip"} into ASF's one-letter sides: lfemur, rfemur."""
    out = {}
    for src, dst in template.items():
        for side in ("left", "right"):
            out[src.format(s=side[0], Side=side)] = dst.format(side=side)
    return out


# CMU mocap with the ASF bone names (the original .asf/.amc and BVH conversions that keep
# them, often lower case): the ASF bones and the shortened names some converters use.
# The hip joints (lhipjoint) and the upper neck are extra bones between mapped ones.
CMU_ASF = {
    "root": "pelvis", "hip": "pelvis", "lowerback": "spine1", "upperback": "spine2",
    "abdomen": "spine2", "thorax": "spine3", "chest": "spine3", "lowerneck": "neck",
    "neck": "neck", "head": "head",
    **_asf({"{s}femur": "{side}_hip", "{s}hip": "{side}_hip", "{s}tibia": "{side}_knee",
            "{s}knee": "{side}_knee", "{s}foot": "{side}_ankle", "{s}toes": "{side}_foot",
            "{Side}toebase": "{side}_foot", "{s}toebase": "{side}_foot",
            "{s}clavicle": "{side}_collar", "{s}collar": "{side}_collar",
            "{s}humerus": "{side}_shoulder", "{s}shoulder": "{side}_shoulder",
            "{s}radius": "{side}_elbow", "{s}elbow": "{side}_elbow", "{s}wrist": "{side}_wrist",
            "{s}hand": "{side}_wrist"}),
}

CANONICAL_NAMES = {name: name for name in JOINT_NAMES}

TABLES: dict[str, dict[str, str]] = {
    "canonical": CANONICAL_NAMES,
    "bandai_namco": BANDAI_NAMCO,
    "cmu": CMU,
    "cmu_asf": CMU_ASF,
    "mixamo": MIXAMO,
}

_PREFIX = re.compile(r"^.*[:|]")


def normalise_name(name: str) -> str:
    """Lower-case, without namespace prefixes ("mixamorig:Hips" -> "hips")."""
    return _PREFIX.sub("", name).strip().lower()


def match_names(source_names: list[str] | tuple[str, ...]) -> tuple[str, dict[str, str]]:
    """Best table for ``source_names``: (table name, {canonical name: source name}).

    Raises ValueError when no table maps the pelvis and both legs, the minimum for a
    body motion.
    """
    normalised = {normalise_name(n): n for n in source_names}
    best_name, best_map = "", {}
    for table_name, table in TABLES.items():
        mapping = {}
        for src, dst in table.items():
            key = normalise_name(src)
            if key in normalised and dst not in mapping:
                mapping[dst] = normalised[key]
        if len(mapping) > len(best_map):
            best_name, best_map = table_name, mapping
    required = ("pelvis", "left_hip", "left_knee", "right_hip", "right_knee")
    missing = [r for r in required if r not in best_map]
    if missing:
        raise ValueError("cannot recognise the skeleton: no joints found for "
                         + ", ".join(missing) + f" (closest naming: {best_name or 'none'}; "
                         "known namings: " + ", ".join(TABLES) + ")")
    return best_name, best_map
