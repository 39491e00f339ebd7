"""Find the ARKit-52 shapes among a mesh's shape keys, whatever naming convention the
mesh uses.

First every ARKit name in any spelling (:func:`face.arkit.normalize`), then alias tables
for ReadyPlayerMe, VRoid/VRM, Faceit, MetaHuman-like, Character Creator and FACEGOOD
names. Kept apart from ``face/arkit.py`` because the FACEGOOD table comes from
``face/facegood.py``, which itself needs the ARKit names.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .arkit import ARKIT_NAMES, INDEX, NUM_SHAPES, normalize
from .facegood import ARKIT_FROM_FACEGOOD

# -- alias tables --------------------------------------------------------------------------
# convention -> ARKit name -> names that convention uses for it, best first. A name made
# of several keys joined by "+" means "all of these keys together" (a rig that splits a
# shape into regions); every part must exist for it to match. The ARKit spelling itself
# (any case or separators) is always tried first and is not repeated here.
ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    # ReadyPlayerMe avatars carry the ARKit names (morphTargets=ARKit) plus a few of
    # their own older ones.
    "readyplayerme": {
        "jawOpen": ("mouthOpen",),
        "mouthSmileLeft": ("mouthSmile",),
        "mouthSmileRight": ("mouthSmile",),
        "eyeBlinkLeft": ("eyesClosed",),
        "eyeBlinkRight": ("eyesClosed",),
        "eyeLookUpLeft": ("eyesLookUp",),
        "eyeLookUpRight": ("eyesLookUp",),
        "eyeLookDownLeft": ("eyesLookDown",),
        "eyeLookDownRight": ("eyesLookDown",),
    },
    # VRoid Studio meshes (Fcl_* keys) and VRM 0.x / 1.0 expression names used as keys.
    "vrm": {
        "eyeBlinkLeft": ("Fcl_EYE_Close_L", "Blink_L", "blinkLeft", "Fcl_EYE_Close", "Blink",
                         "blink"),
        "eyeBlinkRight": ("Fcl_EYE_Close_R", "Blink_R", "blinkRight", "Fcl_EYE_Close",
                          "Blink", "blink"),
        "eyeWideLeft": ("Fcl_EYE_Surprised",),
        "eyeWideRight": ("Fcl_EYE_Surprised",),
        "eyeSquintLeft": ("Fcl_EYE_Joy_L", "Fcl_EYE_Joy"),
        "eyeSquintRight": ("Fcl_EYE_Joy_R", "Fcl_EYE_Joy"),
        "eyeLookUpLeft": ("LookUp",), "eyeLookUpRight": ("LookUp",),
        "eyeLookDownLeft": ("LookDown",), "eyeLookDownRight": ("LookDown",),
        "eyeLookOutLeft": ("LookLeft",), "eyeLookInRight": ("LookLeft",),
        "eyeLookInLeft": ("LookRight",), "eyeLookOutRight": ("LookRight",),
        "jawOpen": ("Fcl_MTH_A", "A", "aa"),
        "mouthFunnel": ("Fcl_MTH_O", "O", "oh"),
        "mouthPucker": ("Fcl_MTH_U", "U", "ou"),
        "mouthStretchLeft": ("Fcl_MTH_I", "I", "ih"),
        "mouthStretchRight": ("Fcl_MTH_I", "I", "ih"),
        "mouthClose": ("Fcl_MTH_Close",),
        "mouthSmileLeft": ("Fcl_MTH_Fun", "Fcl_MTH_Joy"),
        "mouthSmileRight": ("Fcl_MTH_Fun", "Fcl_MTH_Joy"),
        "mouthFrownLeft": ("Fcl_MTH_Sorrow",),
        "mouthFrownRight": ("Fcl_MTH_Sorrow",),
        "browDownLeft": ("Fcl_BRW_Angry",), "browDownRight": ("Fcl_BRW_Angry",),
        "browInnerUp": ("Fcl_BRW_Sorrow",),
        "browOuterUpLeft": ("Fcl_BRW_Surprised",), "browOuterUpRight": ("Fcl_BRW_Surprised",),
    },
    # Faceit's ARKit expression set uses Apple's names; older Faceit rigs spell a few
    # differently.
    "faceit": {
        "mouthClose": ("mouthClosed",),
        "cheekSquintLeft": ("cheekRaiseLeft",),
        "cheekSquintRight": ("cheekRaiseRight",),
    },
    # MetaHuman-like expression curves (CTRL_expressions_* with the prefix dropped);
    # sides are L/R suffixes, which normalisation spells out.
    "metahuman": {
        "eyeBlinkLeft": ("eyeBlinkL",), "eyeBlinkRight": ("eyeBlinkR",),
        "eyeLookDownLeft": ("eyeLookDownL",), "eyeLookDownRight": ("eyeLookDownR",),
        "eyeLookInLeft": ("eyeLookRightL",), "eyeLookInRight": ("eyeLookLeftR",),
        "eyeLookOutLeft": ("eyeLookLeftL",), "eyeLookOutRight": ("eyeLookRightR",),
        "eyeLookUpLeft": ("eyeLookUpL",), "eyeLookUpRight": ("eyeLookUpR",),
        "eyeSquintLeft": ("eyeSquintInnerL",), "eyeSquintRight": ("eyeSquintInnerR",),
        "eyeWideLeft": ("eyeWidenL",), "eyeWideRight": ("eyeWidenR",),
        "jawForward": ("jawFwd",),
        "mouthClose": ("mouthLipsTogether",
                       "mouthLipsTogetherUL+mouthLipsTogetherUR+mouthLipsTogetherDL+"
                       "mouthLipsTogetherDR"),
        "mouthFunnel": ("mouthFunnelUL+mouthFunnelUR+mouthFunnelDL+mouthFunnelDR",),
        "mouthPucker": ("mouthLipsPurse",
                        "mouthLipsPurseUL+mouthLipsPurseUR+mouthLipsPurseDL+mouthLipsPurseDR"),
        "mouthSmileLeft": ("mouthCornerPullL",), "mouthSmileRight": ("mouthCornerPullR",),
        "mouthFrownLeft": ("mouthCornerDepressL",), "mouthFrownRight": ("mouthCornerDepressR",),
        "mouthRollLower": ("mouthLowerLipRollIn", "mouthLowerLipRollInL+mouthLowerLipRollInR"),
        "mouthRollUpper": ("mouthUpperLipRollIn", "mouthUpperLipRollInL+mouthUpperLipRollInR"),
        "mouthShrugLower": ("jawChinRaiseD", "jawChinRaiseDL+jawChinRaiseDR"),
        "mouthShrugUpper": ("jawChinRaiseU", "jawChinRaiseUL+jawChinRaiseUR"),
        "mouthPressLeft": ("mouthPressUL+mouthPressDL",),
        "mouthPressRight": ("mouthPressUR+mouthPressDR",),
        "mouthLowerDownLeft": ("mouthLowerLipDepressL",),
        "mouthLowerDownRight": ("mouthLowerLipDepressR",),
        "mouthUpperUpLeft": ("mouthUpperLipRaiseL",),
        "mouthUpperUpRight": ("mouthUpperLipRaiseR",),
        "browInnerUp": ("browRaiseIn", "browRaiseInL+browRaiseInR"),
        "browOuterUpLeft": ("browRaiseOuterL",), "browOuterUpRight": ("browRaiseOuterR",),
        "cheekPuff": ("mouthCheekBlow", "mouthCheekBlowL+mouthCheekBlowR"),
        "cheekSquintLeft": ("eyeCheekRaiseL",), "cheekSquintRight": ("eyeCheekRaiseR",),
        "noseSneerLeft": ("noseWrinkleL",), "noseSneerRight": ("noseWrinkleR",),
    },
    # Character Creator 4 (extended facial profile).
    "character_creator": {
        "eyeLookDownLeft": ("Eye_L_Look_Down",), "eyeLookDownRight": ("Eye_R_Look_Down",),
        "eyeLookUpLeft": ("Eye_L_Look_Up",), "eyeLookUpRight": ("Eye_R_Look_Up",),
        "eyeLookOutLeft": ("Eye_L_Look_L",), "eyeLookInLeft": ("Eye_L_Look_R",),
        "eyeLookInRight": ("Eye_R_Look_L",), "eyeLookOutRight": ("Eye_R_Look_R",),
        "jawLeft": ("Jaw_L",), "jawRight": ("Jaw_R",),
        "mouthLeft": ("Mouth_L",), "mouthRight": ("Mouth_R",),
        "mouthRollLower": ("Mouth_Roll_In_Lower_L+Mouth_Roll_In_Lower_R",),
        "mouthRollUpper": ("Mouth_Roll_In_Upper_L+Mouth_Roll_In_Upper_R",),
        "mouthLowerDownLeft": ("Mouth_Down_Lower_L",), "mouthLowerDownRight": ("Mouth_Down_Lower_R",),
        "mouthUpperUpLeft": ("Mouth_Up_Upper_L",), "mouthUpperUpRight": ("Mouth_Up_Upper_R",),
        "browDownLeft": ("Brow_Drop_L",), "browDownRight": ("Brow_Drop_R",),
        "browInnerUp": ("Brow_Raise_Inner_L+Brow_Raise_Inner_R",),
        "browOuterUpLeft": ("Brow_Raise_Outer_L",), "browOuterUpRight": ("Brow_Raise_Outer_R",),
        "cheekPuff": ("Cheek_Puff_L+Cheek_Puff_R",),
        "cheekSquintLeft": ("Cheek_Raise_L",), "cheekSquintRight": ("Cheek_Raise_R",),
        "tongueOut": ("Tongue_Out",),
    },
    # FACEGOOD Audio2Face rig names (the dataset's 116); see face/facegood.py.
    "facegood": {},  # filled below from the mapping sheet
}


def _facegood_aliases() -> dict[str, tuple[str, ...]]:
    table = {}
    for arkit, rule in ARKIT_FROM_FACEGOOD.items():
        if rule.sources:
            table[arkit] = ("+".join(rule.sources),) + tuple(rule.sources[:1])
    return table


ALIASES["facegood"] = _facegood_aliases()
CONVENTIONS: tuple[str, ...] = tuple(ALIASES)


# -- matching ------------------------------------------------------------------------------
@dataclass
class ShapeKeyMap:
    """Which shape keys of a mesh drive which ARKit shapes.

    ``keys``: ARKit name -> the mesh's key names that receive its curve (usually one;
    several for a rig that splits the shape into regions). ``missing``: ARKit names with
    no key, in Apple's order. ``conventions``: ARKit name -> "arkit" or the alias table
    that matched it.
    """
    keys: dict[str, tuple[str, ...]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    conventions: dict[str, str] = field(default_factory=dict)

    @property
    def found(self) -> list[str]:
        return [n for n in ARKIT_NAMES if n in self.keys]

    def sources_by_key(self) -> dict[str, list[str]]:
        """Mesh key -> the ARKit names that drive it (several where a convention has one
        key for both sides, e.g. VRM ``LookUp``: the bake writes their mean)."""
        out: dict[str, list[str]] = {}
        for arkit in ARKIT_NAMES:
            for key in self.keys.get(arkit, ()):
                out.setdefault(key, []).append(arkit)
        return out

    def key_curves(self, weights: np.ndarray) -> dict[str, np.ndarray]:
        """Mesh key -> its (T,) curve from ARKit ``weights`` (T, 52): the ARKit curve
        itself, or the mean of the curves that share the key."""
        weights = np.asarray(weights, dtype=np.float32)
        if weights.ndim != 2 or weights.shape[1] != NUM_SHAPES:
            raise ValueError(f"expected (frames, {NUM_SHAPES}) weights, got {weights.shape}")
        return {key: weights[:, [INDEX[s] for s in sources]].mean(axis=1)
                for key, sources in self.sources_by_key().items()}

    def summary(self) -> str:
        text = f"{len(self.keys)} of {NUM_SHAPES} ARKit shapes found"
        if self.missing:
            shown = ", ".join(self.missing[:8])
            more = f" and {len(self.missing) - 8} more" if len(self.missing) > 8 else ""
            text += f"; missing: {shown}{more}"
        return text


def match_shape_keys(key_names: Iterable[str],
                     conventions: Sequence[str] | None = None,
                     overrides: Mapping[str, str | Sequence[str]] | None = None) -> ShapeKeyMap:
    """Find the ARKit shapes among ``key_names`` (a mesh's shape-key names).

    First every ARKit name in any spelling (see :func:`normalize`), then the alias tables
    of ``conventions`` (default: all, in :data:`CONVENTIONS` order) for the shapes still
    missing. ``overrides`` (ARKit name -> key name or names) wins over both. When two
    spellings of one shape exist (``jawOpen`` and ``JawOpen``), the exact one wins, then
    the first in the mesh's order.
    """
    names = [str(n) for n in key_names]
    by_norm: dict[str, str] = {}
    exact = set(names)
    for name in names:
        by_norm.setdefault(normalize(name), name)
    for name in names:  # an exact ARKit spelling beats another spelling of it
        if name in INDEX:
            by_norm[normalize(name)] = name

    result = ShapeKeyMap()
    tables = [ALIASES[c] for c in (conventions if conventions is not None else CONVENTIONS)]
    table_names = list(conventions if conventions is not None else CONVENTIONS)
    for arkit in ARKIT_NAMES:
        if overrides and arkit in overrides:
            value = overrides[arkit]
            keys = (value,) if isinstance(value, str) else tuple(value)
            unknown = [k for k in keys if k not in exact]
            if unknown:
                raise ValueError(f"override for {arkit}: no shape key named {unknown[0]!r}")
            result.keys[arkit] = keys
            result.conventions[arkit] = "override"
            continue
        hit = by_norm.get(normalize(arkit))
        if hit is not None:
            result.keys[arkit] = (hit,)
            result.conventions[arkit] = "arkit"
            continue
        for conv, table in zip(table_names, tables):
            keys = _first_alias(table.get(arkit, ()), by_norm)
            if keys:
                result.keys[arkit] = keys
                result.conventions[arkit] = conv
                break
        else:
            result.missing.append(arkit)
    return result


def _first_alias(aliases: Sequence[str], by_norm: Mapping[str, str]) -> tuple[str, ...] | None:
    for alias in aliases:
        parts = alias.split("+")
        hits = [by_norm.get(normalize(p)) for p in parts]
        if all(h is not None for h in hits):
            return tuple(dict.fromkeys(hits))  # type: ignore[arg-type]
    return None
