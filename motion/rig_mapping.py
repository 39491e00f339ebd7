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

A :class:`BoneMap` (canonical joint -> bone name, plus an optional ground-level root bone)
is what the retargeter consumes; it reads and writes JSON presets.
"""
from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .bone_names import BANDAI_NAMCO, CMU, CMU_ASF, MIXAMO
from .body_frame import detect_axes
from .rest_rig import RestRig
from .skeleton import BODY_JOINT_NAMES, CANONICAL, JOINT_NAMES

PRESET_FORMAT = "cadence-bone-map"
PRESET_VERSION = 1
ROOT_ROLE = "root"  # BoneMap.root: the ground-level bone that carries root motion


# --- names ------------------------------------------------------------------------------

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
TABLES: dict[str, dict[tuple[str | None, str], str]] = {
    **{name: _table(src) for name, src in _TABLES_SRC.items()},
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


MAIN_JOINTS: tuple[str, ...] = BODY_JOINT_NAMES  # the 22 body joints
_BODY_PARTS = (("the spine", ("spine1", "spine2", "spine3")), ("the head", ("neck", "head")),
               *((f"the {s} leg", tuple(f"{s}_{p}" for p in ("hip", "knee", "ankle", "foot")))
                 for s in ("left", "right")),
               *((f"the {s} arm", tuple(f"{s}_{p}" for p in ("collar", "shoulder", "elbow", "wrist")))
                 for s in ("left", "right")))
REQUIRED_JOINTS: tuple[str, ...] = ("pelvis", "left_hip", "right_hip", "left_knee", "right_knee")


# --- the map ----------------------------------------------------------------------------

@dataclass
class BoneMap:
    """Canonical joint name -> target bone name, plus the optional ground-level root bone
    (used when root motion goes to a root bone rather than the hips)."""

    bones: dict[str, str]
    root: str | None = None
    convention: str = "custom"
    notes: list[str] = field(default_factory=list)
    # How sure the automatic matching is of each joint's bone (0-1; see match_rig); a joint
    # the user picked is 1. Saved with the map (optional in presets).
    confidence: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = [j for j in self.bones if j not in JOINT_NAMES]
        if unknown:
            raise ValueError("unknown canonical joints in bone map: " + ", ".join(sorted(unknown)))
        used: dict[str, str] = {}
        for joint, bone in self.bones.items():
            if bone in used:
                raise ValueError(f"bone {bone!r} is mapped twice ({used[bone]} and {joint})")
            used[bone] = joint

    def to_dict(self) -> dict:
        ordered = {j: self.bones[j] for j in JOINT_NAMES if j in self.bones}
        out = {"format": PRESET_FORMAT, "version": PRESET_VERSION, "convention": self.convention,
               "root": self.root, "bones": ordered}
        if self.confidence:
            out["confidence"] = {j: round(float(c), 3) for j, c in self.confidence.items() if j in ordered}
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "BoneMap":
        if not isinstance(data, dict) or data.get("format") != PRESET_FORMAT:
            raise ValueError(f"not a Cadence bone map (expected \"format\": \"{PRESET_FORMAT}\")")
        if int(data.get("version", 0)) > PRESET_VERSION:
            raise ValueError(f"bone map version {data.get('version')} is newer than this Cadence")
        bones = data.get("bones")
        if not isinstance(bones, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in bones.items()):
            raise ValueError("bone map \"bones\" must map joint names to bone names")
        root = data.get("root")
        if root is not None and not isinstance(root, str):
            raise ValueError("bone map \"root\" must be a bone name or null")
        confidence = data.get("confidence") or {}
        if not isinstance(confidence, dict):
            raise ValueError("bone map \"confidence\" must map joint names to numbers")
        kept = {k: v for k, v in bones.items() if v}
        try:
            confidence = {k: min(1.0, max(0.0, float(v))) for k, v in confidence.items() if k in kept}
        except (TypeError, ValueError):
            raise ValueError("bone map \"confidence\" must map joint names to numbers") from None
        return cls(kept, root or None, str(data.get("convention", "custom")), confidence=confidence)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n",
                        encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> "BoneMap":
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"cannot read bone map {path.name}: {exc}") from exc
        try:
            return cls.from_dict(data)
        except ValueError as exc:
            raise ValueError(f"{path.name}: {exc}") from exc

    def summary(self) -> list[str]:
        """Lines an animator reads before baking: how much of the body is mapped, which
        joints to check (found by limb shape or disputed), which limbs are missing."""
        body = [j for j in MAIN_JOINTS if j in self.bones]
        unsure = [j for j in body if self.confidence.get(j, 1.0) < CONFIDENCE["name"]]
        lines = [f"{len(body)} of {len(MAIN_JOINTS)} body joints mapped ({self.convention})"]
        if unsure:
            lines.append("check: " + ", ".join(j.replace("_", " ") for j in unsure)
                         + " (found by limb shape, not by name)")
        missing = [label for label, joints in _BODY_PARTS if not any(j in self.bones for j in joints)]
        partial = [f"{label} ({', '.join(j.split('_')[-1] for j in joints if j not in self.bones)})"
                   for label, joints in _BODY_PARTS if label.endswith(("leg", "arm"))
                   and any(j in self.bones for j in joints) and not all(j in self.bones for j in joints)]
        if missing:
            lines.append("not found: " + ", ".join(missing) + " (they will not move)")
        if partial:
            lines.append("partly found: " + "; ".join(partial))
        return lines

    def with_bone(self, joint: str, bone: str | None) -> "BoneMap":
        """This map with ``joint`` on ``bone`` (None unmaps it), as the user's choice:
        the bone leaves any other joint, the joint's confidence becomes 1."""
        bones = {j: b for j, b in self.bones.items() if b != bone and j != joint}
        confidence = {j: c for j, c in self.confidence.items() if j in bones}
        if bone:
            bones[joint] = bone
            confidence[joint] = 1.0
        return BoneMap(bones, self.root, "custom", [], confidence)

    def resolve(self, rig_names: list[str] | tuple[str, ...]) -> "BoneMap":
        """This map with bone names matched to ``rig_names``: exact names first, then the
        same side and base (so a "mixamorig:" preset fits a "mixamorig1:" rig). Entries
        that fit no bone are dropped and listed in ``notes``."""
        exact = set(rig_names)
        by_key: dict[tuple, str] = {}
        for name in rig_names:
            by_key.setdefault(split_side(name), name)

        def find(bone: str) -> str | None:
            return bone if bone in exact else by_key.get(split_side(bone))

        bones, notes = {}, list(self.notes)
        for joint, bone in self.bones.items():
            found = find(bone)
            if found is None:
                notes.append(f"{joint}: no bone {bone!r}")
            elif found not in bones.values():
                bones[joint] = found
        root = find(self.root) if self.root else None
        return BoneMap(bones, root, self.convention, notes,
                       {j: c for j, c in self.confidence.items() if j in bones})


# --- matching ---------------------------------------------------------------------------

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


# Confidence of an automatic match (BoneMap.confidence): names and geometry agree; names
# only (geometry had no opinion or could not run); names where geometry says otherwise;
# geometry only.
CONFIDENCE = {"both": 1.0, "name": 0.9, "disputed": 0.7, "geometry": 0.6}
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


def body_axes(rig: RestRig, bones: dict[str, int]) -> np.ndarray:
    """Rows: the rig's left, back and up directions in armature space, each snapped to
    the nearest coordinate axis (so R @ v takes armature vectors to canonical axes); the
    same detection the BVH import uses."""
    names = dict(bones)
    return detect_axes(rig.heads[None], names)


# --- geometry fallback ------------------------------------------------------------------

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
    left = np.cross(up, fwd)

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


PRESET_PREFIX = {"mixamo": "mixamorig:"}  # how the convention's files spell names


def preset_for(convention: str) -> BoneMap:
    """The bone map of a convention's standard names (what ships in presets/)."""
    names = dict(EXAMPLE_NAMES[convention])
    prefix = PRESET_PREFIX.get(convention, "")
    root = names.pop(ROOT_ROLE, None)
    bones = {j: prefix + n for j, n in names.items() if n}
    return BoneMap(bones, prefix + root if root else None, convention)


__all__ = ["BoneMap", "split_side", "match_by_names", "match_rig", "match_geometry",
           "looks_like_rigify_controls",
           "body_axes", "preset_for", "TABLES", "EXAMPLE_NAMES"]
