"""Bone naming conventions of target rigs, and matching a rig's bone names against them.

Every bone name is split into a side (left/right in any common spelling: ``.L``, ``_l``,
``Left``, ``l_``, ``lThigh``, ``J_Bip_L_``, ``左``/``右``) and a base (lower case,
separators removed, namespaces such as ``mixamorig1:`` stripped, full-width digits
folded). Each naming convention is a table from base names to canonical joints; the
table that explains most bones wins (:func:`match_by_names`). The geometry fallback and
the whole matching are in ``motion/rig_geometry.py`` and ``motion/rig_mapping.py``.
"""
from __future__ import annotations

import re
import unicodedata

from .bone_names import BANDAI_NAMCO, CMU, CMU_ASF, MIXAMO
from .skeleton import JOINT_NAMES

ROOT_ROLE = "root"  # BoneMap.root: the ground-level bone that carries root motion

_NAMESPACE = re.compile(r"^.*[:|]")
_PREFIXES = re.compile(r"^(?:[mf]_avg_)", re.IGNORECASE)  # SMPL add-on ("m_avg_L_Hip")
_SIDE_WORD = r"(?:[LlRr]|[Ll]eft|[Rr]ight|LEFT|RIGHT)"
_SIDE_RULES = (  # (pattern, keeps the text after the side); tried in order
    re.compile(rf"[._\- ](?P<side>{_SIDE_WORD})(?P<rest>(?:[._]\d+)*)$"),   # hand.L, thigh_l, hand.L.001
    re.compile(rf"^(?P<side>{_SIDE_WORD})[._\- ]"),                           # l_hand, Left_Hand
    re.compile(rf"[._\- ](?P<side>{_SIDE_WORD})[._\- ]"),                     # CC_Base_L_Thigh, Bip01 L Foot
    re.compile(r"^(?P<side>[Ll]eft|[Rr]ight)(?=[A-Z0-9])"),                   # LeftUpLeg
    re.compile(r"^(?P<side>[lr])(?=[A-Z])"),                                  # lThighBend (Daz)
    re.compile(r"(?<=[a-z0-9])(?P<side>Left|Right)(?P<rest>\d*)$"),           # HandLeft
)
_SEPARATORS = re.compile(r"[\s._\-]+")


def split_side(name: str) -> tuple[str | None, str]:
    """(side, base) of a bone name: side is "left", "right" or None; base is lower case
    without separators, namespaces or the side marker ("mixamorig1:LeftArm" ->
    ("left", "arm"), "DEF-upper_arm.L.001" -> ("left", "defupperarm001"),
    "左ひじ" -> ("left", "ひじ"))."""
    s = unicodedata.normalize("NFKC", name)
    s = _PREFIXES.sub("", _NAMESPACE.sub("", s).strip())
    side = None
    for mark, which in (("左", "left"), ("右", "right")):
        if mark in s:
            side, s = which, s.replace(mark, "", 1)
            break
    else:
        for rule in _SIDE_RULES:
            m = rule.search(s)
            if m:
                side = "left" if m.group("side")[0] in "Ll" else "right"
                rest = m.groupdict().get("rest") or ""
                s = s[:m.start("side")] + rest + s[m.end():]
                break
    return side, _SEPARATORS.sub("", s).lower()


def _table(entries: dict[str, str]) -> dict[tuple[str | None, str], str]:
    """{(side, base): canonical joint} from {example name: joint}, where a joint written
    "{s}_x" is sided: the example is a left-side name and both sides are added."""
    out = {}
    for example, joint in entries.items():
        side, base = split_side(example)
        if "{s}" in joint:
            if side is None:
                raise ValueError(f"sided table entry without a side: {example!r}")
            for s in ("left", "right"):
                out[(s, base)] = joint.format(s=s)
        else:
            out[(side, base)] = joint
    return out


def _from_source_table(table: dict[str, str]) -> dict[tuple[str | None, str], str]:
    return {split_side(k): v for k, v in table.items()}


def _fingers(template: str, names: dict[str, str], first: int = 1) -> dict[str, str]:
    """Finger entries: template with {f} (finger name in the convention) and {k}."""
    out = {}
    for finger, conv in names.items():
        for k in range(3):
            out[template.format(f=conv, k=k + first)] = f"{{s}}_{finger}{k + 1}"
    return out


_FIVE = ("thumb", "index", "middle", "ring", "pinky")


def _rigify(prefix: str) -> dict[str, str]:
    fingers = {f"{prefix}thumb.0{k + 1}.L": f"{{s}}_thumb{k + 1}" for k in range(3)}
    for finger in ("index", "middle", "ring", "pinky"):
        fingers.update({f"{prefix}f_{finger}.0{k + 1}.L": f"{{s}}_{finger}{k + 1}" for k in range(3)})
    return {
        f"{prefix}spine": "pelvis", f"{prefix}spine.001": "spine1", f"{prefix}spine.002": "spine2",
        f"{prefix}spine.003": "spine3", f"{prefix}spine.004": "neck", f"{prefix}spine.006": "head",
        f"{prefix}thigh.L": "{s}_hip", f"{prefix}shin.L": "{s}_knee", f"{prefix}foot.L": "{s}_ankle",
        f"{prefix}toe.L": "{s}_foot", f"{prefix}shoulder.L": "{s}_collar",
        f"{prefix}upper_arm.L": "{s}_shoulder", f"{prefix}forearm.L": "{s}_elbow",
        f"{prefix}hand.L": "{s}_wrist", f"{prefix}root": ROOT_ROLE, **fingers,
    }


# Each table: {example name (left side for sided joints): canonical joint or "root"}.
_TABLES_SRC: dict[str, dict[str, str]] = {
    "smpl": {  # SMPL-X joint names (canonical) and the SMPL add-on's Pelvis/L_Hip style
        **{n: n for n in JOINT_NAMES if not n.startswith(("left_", "right_"))},
        **{n: "{s}_" + n[5:] for n in JOINT_NAMES if n.startswith("left_")},
        "root": ROOT_ROLE,
    },
    "mixamo": {"Hips": "pelvis", "Spine": "spine1", "Spine1": "spine2", "Spine2": "spine3",
               "Neck": "neck", "Head": "head", "LeftShoulder": "{s}_collar",
               "LeftArm": "{s}_shoulder", "LeftForeArm": "{s}_elbow", "LeftHand": "{s}_wrist",
               "LeftUpLeg": "{s}_hip", "LeftLeg": "{s}_knee", "LeftFoot": "{s}_ankle",
               "LeftToeBase": "{s}_foot",
               **_fingers("LeftHand{f}{k}", {f: f.capitalize() for f in _FIVE})},
    "rigify_deform": _rigify("DEF-"),
    "rigify_original": _rigify("ORG-"),
    "blender_metarig": _rigify(""),
    # The controls of a generated Rigify rig (FK limbs, FK spine, neck and head, finger
    # controls): only used when the rig is recognised as one (``match_rig``).
    "rigify_control": {
        "root": ROOT_ROLE, "spine_fk": "pelvis", "spine_fk.001": "spine1", "spine_fk.002": "spine2",
        "spine_fk.003": "spine3", "neck": "neck", "head": "head", "shoulder.L": "{s}_collar",
        "upper_arm_fk.L": "{s}_shoulder", "forearm_fk.L": "{s}_elbow", "hand_fk.L": "{s}_wrist",
        "thigh_fk.L": "{s}_hip", "shin_fk.L": "{s}_knee", "foot_fk.L": "{s}_ankle",
        "toe_fk.L": "{s}_foot",
        **{k: v for k, v in _rigify("").items() if "thumb" in k or k.startswith("f_")}},
    "unreal": {"root": ROOT_ROLE, "pelvis": "pelvis", "spine_01": "spine1", "spine_02": "spine2",
               "spine_03": "spine3", "neck_01": "neck", "head": "head",
               "clavicle_l": "{s}_collar", "upperarm_l": "{s}_shoulder",
               "lowerarm_l": "{s}_elbow", "hand_l": "{s}_wrist", "thigh_l": "{s}_hip",
               "calf_l": "{s}_knee", "foot_l": "{s}_ankle", "ball_l": "{s}_foot",
               **_fingers("{f}_0{k}_l", {f: f for f in _FIVE})},
    "vrm": {"Root": ROOT_ROLE, "J_Bip_C_Hips": "pelvis", "J_Bip_C_Spine": "spine1",
            "J_Bip_C_Chest": "spine2", "J_Bip_C_UpperChest": "spine3", "J_Bip_C_Neck": "neck",
            "J_Bip_C_Head": "head", "J_Bip_L_Shoulder": "{s}_collar",
            "J_Bip_L_UpperArm": "{s}_shoulder", "J_Bip_L_LowerArm": "{s}_elbow",
            "J_Bip_L_Hand": "{s}_wrist", "J_Bip_L_UpperLeg": "{s}_hip",
            "J_Bip_L_LowerLeg": "{s}_knee", "J_Bip_L_Foot": "{s}_ankle",
            "J_Bip_L_ToeBase": "{s}_foot",
            **_fingers("J_Bip_L_{f}{k}", {"thumb": "Thumb", "index": "Index", "middle": "Middle",
                                          "ring": "Ring", "pinky": "Little"})},
    "unity_humanoid": {"Hips": "pelvis", "Spine": "spine1", "Chest": "spine2",
                       "UpperChest": "spine3", "Neck": "neck", "Head": "head",
                       "LeftShoulder": "{s}_collar", "LeftUpperArm": "{s}_shoulder",
                       "LeftLowerArm": "{s}_elbow", "LeftHand": "{s}_wrist",
                       "LeftUpperLeg": "{s}_hip", "LeftLowerLeg": "{s}_knee",
                       "LeftFoot": "{s}_ankle", "LeftToes": "{s}_foot"},
    "mmd": {"全ての親": ROOT_ROLE, "下半身": "pelvis", "上半身": "spine1", "上半身2": "spine3",
            "首": "neck", "頭": "head", "左肩": "{s}_collar", "左腕": "{s}_shoulder",
            "左ひじ": "{s}_elbow", "左手首": "{s}_wrist", "左足": "{s}_hip", "左ひざ": "{s}_knee",
            "左足首": "{s}_ankle", "左つま先": "{s}_foot",
            **_fingers("左{f}{k}", {"thumb": "親指"}, first=0),
            **_fingers("左{f}{k}", {"index": "人指", "middle": "中指", "ring": "薬指",
                                    "pinky": "小指"})},
    "character_creator": {
        "CC_Base_BoneRoot": ROOT_ROLE, "CC_Base_Hip": "pelvis", "CC_Base_Waist": "spine1",
        "CC_Base_Spine01": "spine2", "CC_Base_Spine02": "spine3", "CC_Base_NeckTwist01": "neck",
        "CC_Base_Head": "head", "CC_Base_L_Clavicle": "{s}_collar",
        "CC_Base_L_Upperarm": "{s}_shoulder", "CC_Base_L_Forearm": "{s}_elbow",
        "CC_Base_L_Hand": "{s}_wrist", "CC_Base_L_Thigh": "{s}_hip", "CC_Base_L_Calf": "{s}_knee",
        "CC_Base_L_Foot": "{s}_ankle", "CC_Base_L_ToeBase": "{s}_foot",
        **_fingers("CC_Base_L_{f}{k}", {"thumb": "Thumb", "index": "Index", "middle": "Mid",
                                        "ring": "Ring", "pinky": "Pinky"})},
    "daz_genesis": {
        "hip": "pelvis", "abdomenLower": "spine1", "abdomenUpper": "spine2",
        "chestUpper": "spine3", "abdomen": "spine1", "abdomen2": "spine2", "chest": "spine3",
        "neckLower": "neck", "neck": "neck", "head": "head", "lCollar": "{s}_collar",
        "lShldrBend": "{s}_shoulder", "lShldr": "{s}_shoulder", "lForearmBend": "{s}_elbow",
        "lForeArm": "{s}_elbow", "lHand": "{s}_wrist", "lThighBend": "{s}_hip",
        "lThigh": "{s}_hip", "lShin": "{s}_knee", "lFoot": "{s}_ankle", "lToe": "{s}_foot",
        **_fingers("l{f}{k}", {"thumb": "Thumb", "index": "Index", "middle": "Mid",
                                "ring": "Ring", "pinky": "Pinky"})},
    "max_biped": {"Bip01 Pelvis": "pelvis", "Bip01 Spine": "spine1", "Bip01 Spine1": "spine2",
                  "Bip01 Spine2": "spine3", "Bip01 Neck": "neck", "Bip01 Head": "head",
                  "Bip01 L Clavicle": "{s}_collar", "Bip01 L UpperArm": "{s}_shoulder",
                  "Bip01 L Forearm": "{s}_elbow", "Bip01 L Hand": "{s}_wrist",
                  "Bip01 L Thigh": "{s}_hip", "Bip01 L Calf": "{s}_knee",
                  "Bip01 L Foot": "{s}_ankle", "Bip01 L Toe0": "{s}_foot"},
}
# Eye bones, where a convention names them: matched when a rig has them (many characters
# have none), so a look at a point turns the eyes too (motion/targets.py); not in the
# presets, which name what every rig of the convention has.
_EYES_SRC: dict[str, dict[str, str]] = {
    "mixamo": {"LeftEye": "{s}_eye_smplhf"}, "unity_humanoid": {"LeftEye": "{s}_eye_smplhf"},
    "vrm": {"J_Adj_L_FaceEye": "{s}_eye_smplhf"}, "mmd": {"左目": "{s}_eye_smplhf"},
    "character_creator": {"CC_Base_L_Eye": "{s}_eye_smplhf"}, "daz_genesis": {"lEye": "{s}_eye_smplhf"},
}
TABLES: dict[str, dict[tuple[str | None, str], str]] = {
    **{name: _table({**src, **_EYES_SRC.get(name, {})}) for name, src in _TABLES_SRC.items()},
    "cmu": _from_source_table(CMU),
    "cmu_asf": _from_source_table(CMU_ASF),
    "bandai_namco": _from_source_table(BANDAI_NAMCO),
    "mixamo_bvh": _from_source_table(MIXAMO),
}
# Example bone names per convention (for presets): {convention: {joint or root: name}}.
EXAMPLE_NAMES: dict[str, dict[str, str]] = {}
for _conv, _src in _TABLES_SRC.items():
    _names: dict[str, str] = {}
    for _example, _joint in _src.items():
        if "{s}" not in _joint:
            _names.setdefault(_joint, _example)
            continue
        _names.setdefault(_joint.format(s="left"), _example)
        _side, _ = split_side(_example)
        # The right-side name: swap the side marker in the example's own spelling.
        _right = _example.replace("左", "右") if "左" in _example else None
        if _right is None:
            for _rule in _SIDE_RULES:
                _m = _rule.search(_example)
                if _m:
                    _word = _m.group("side")
                    _swap = {"L": "R", "l": "r", "Left": "Right", "left": "right",
                             "LEFT": "RIGHT"}[_word]
                    _right = _example[:_m.start("side")] + _swap + _example[_m.end("side"):]
                    break
        _names.setdefault(_joint.format(s="right"), _right)
    EXAMPLE_NAMES[_conv] = _names

# Conventions matched only when the rig is recognised as one (their names also occur in
# other rigs: a generated Rigify rig has DEF-, ORG- and control bones side by side).
DETECTED_ONLY = frozenset({"rigify_control"})
RIGIFY_TORSO = "torso"  # the master control of a generated Rigify rig's spine
_RIGIFY_FK_LIMBS = ("upper_arm_fk.L", "upper_arm_fk.R", "thigh_fk.L", "thigh_fk.R")


def looks_like_rigify_controls(names: list[str] | tuple[str, ...]) -> bool:
    """Whether bone names are those of a rig generated by Rigify (the ``torso`` master,
    FK limb controls and DEF- bones side by side). The Blender layer also checks the
    armature's ``rig_id`` property: a control rig exported without its constraints is
    animated through its DEF bones instead."""
    present = set(names)
    return (RIGIFY_TORSO in present and any(n in present for n in _RIGIFY_FK_LIMBS)
            and any(n.startswith("DEF-") for n in names))


def match_by_names(names: list[str] | tuple[str, ...]) -> tuple[str, dict[str, str], str | None]:
    """Best naming convention: (its name, {joint: bone name}, root bone or None)."""
    keys = [split_side(n) for n in names]
    best = ("", {}, None)
    best_score = 0
    for table_name, table in TABLES.items():
        if table_name in DETECTED_ONLY:
            continue
        mapping: dict[str, str] = {}
        root = None
        for name, key in zip(names, keys):
            joint = table.get(key)
            if joint == ROOT_ROLE:
                root = root or name
            elif joint is not None and joint not in mapping:
                mapping[joint] = name
        score = len(mapping)
        if score > best_score:
            best, best_score = (table_name, mapping, root), score
    return best
