"""A bone map: which bone of a user's armature plays which canonical joint.

:class:`BoneMap` (canonical joint -> bone name, plus an optional ground-level root bone
and how sure the automatic matching was of each joint) is what the retargeter consumes,
what the Blender panel shows and what JSON presets hold (docs/retargeting.md).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .rig_names import EXAMPLE_NAMES, ROOT_ROLE, split_side
from .skeleton import BODY_JOINT_NAMES, JOINT_NAMES

PRESET_FORMAT = "cadence-bone-map"
PRESET_VERSION = 1

# Confidence of an automatic match (BoneMap.confidence): names and geometry agree; names
# only (geometry had no opinion or could not run); names where geometry says otherwise;
# geometry only.
CONFIDENCE = {"both": 1.0, "name": 0.9, "disputed": 0.7, "geometry": 0.6}
MAIN_JOINTS: tuple[str, ...] = BODY_JOINT_NAMES  # the 22 body joints
# What BoneMap.summary names when a limb is missing.
_BODY_PARTS = (("the spine", ("spine1", "spine2", "spine3")), ("the head", ("neck", "head")),
               *((f"the {s} leg", tuple(f"{s}_{p}" for p in ("hip", "knee", "ankle", "foot")))
                 for s in ("left", "right")),
               *((f"the {s} arm", tuple(f"{s}_{p}" for p in ("collar", "shoulder", "elbow", "wrist")))
                 for s in ("left", "right")))
REQUIRED_JOINTS: tuple[str, ...] = ("pelvis", "left_hip", "right_hip", "left_knee", "right_knee")


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
    def from_dict(cls, data: dict) -> BoneMap:
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
    def load(cls, path: str | Path) -> BoneMap:
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

    def with_bone(self, joint: str, bone: str | None) -> BoneMap:
        """This map with ``joint`` on ``bone`` (None unmaps it), as the user's choice:
        the bone leaves any other joint, the joint's confidence becomes 1."""
        bones = {j: b for j, b in self.bones.items() if b != bone and j != joint}
        confidence = {j: c for j, c in self.confidence.items() if j in bones}
        if bone:
            bones[joint] = bone
            confidence[joint] = 1.0
        return BoneMap(bones, self.root, "custom", [], confidence)

    def resolve(self, rig_names: list[str] | tuple[str, ...]) -> BoneMap:
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


PRESET_PREFIX = {"mixamo": "mixamorig:"}  # how the convention's files spell names


def preset_for(convention: str) -> BoneMap:
    """The bone map of a convention's standard names (what ships in presets/)."""
    names = dict(EXAMPLE_NAMES[convention])
    prefix = PRESET_PREFIX.get(convention, "")
    root = names.pop(ROOT_ROLE, None)
    bones = {j: prefix + n for j, n in names.items() if n}
    return BoneMap(bones, prefix + root if root else None, convention)
