"""ARKit-52: the blendshape names in Apple's order, their face regions, and the
spelling-independent key (:func:`normalize`) that recognises them however a file or mesh
spells them.

Apple's order is the order of ``ARFaceAnchor.BlendShapeLocation`` in Apple's
documentation (left eye, right eye, mouth and jaw, eyebrows, cheeks, nose, tongue); the
FACEGOOD mapping sheet lists the 52 in the same order. Note that Live Link Face's own CSV
swaps two pairs (``JawRight, JawLeft`` and ``MouthRight, MouthLeft``):
:data:`LIVE_LINK_FACE_ORDER` has that order for readers and writers that need it.

Names are compared case- and separator-insensitively (``eyeBlinkLeft``,
``EyeBlinkLeft``, ``eye_blink_left``, ``eyeBlink_L``, ``EyeBlink.L`` all match), with a
leading ``blendShape1.`` / ``head:`` namespace ignored; the alias tables for other rigs'
names and the shape-key matching are in ``face/shape_key_match.py``.
"""
from __future__ import annotations

import re

ARKIT_NAMES: tuple[str, ...] = (
    # left eye
    "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft",
    "eyeSquintLeft", "eyeWideLeft",
    # right eye
    "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight", "eyeLookOutRight",
    "eyeLookUpRight", "eyeSquintRight", "eyeWideRight",
    # mouth and jaw
    "jawForward", "jawLeft", "jawRight", "jawOpen",
    "mouthClose", "mouthFunnel", "mouthPucker", "mouthLeft", "mouthRight",
    "mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft", "mouthFrownRight",
    "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper",
    "mouthPressLeft", "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthUpperUpLeft", "mouthUpperUpRight",
    # eyebrows
    "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    # cheeks
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight",
    # nose
    "noseSneerLeft", "noseSneerRight",
    # tongue
    "tongueOut",
)
NUM_SHAPES = len(ARKIT_NAMES)
INDEX: dict[str, int] = {name: i for i, name in enumerate(ARKIT_NAMES)}

REGIONS: dict[str, tuple[str, ...]] = {
    "eyes": ARKIT_NAMES[0:14],
    "mouth": ARKIT_NAMES[14:41],   # jaw and lips: what the speech model drives
    "brows": ARKIT_NAMES[41:46],
    "cheeks": ARKIT_NAMES[46:49],
    "nose": ARKIT_NAMES[49:51],
    "tongue": ARKIT_NAMES[51:52],
}
MOUTH_SHAPES = REGIONS["mouth"]

# Shapes that open, round or press the lips: emotion never adds to these, so a p/b/m
# closure made by the speech stays closed (the corners -- smile, frown, dimple,
# stretch -- may move, they do not part the lips).
LIP_SHAPES: tuple[str, ...] = (
    "jawForward", "jawLeft", "jawRight", "jawOpen", "mouthClose", "mouthFunnel",
    "mouthPucker", "mouthLeft", "mouthRight", "mouthRollLower", "mouthRollUpper",
    "mouthShrugLower", "mouthShrugUpper", "mouthPressLeft", "mouthPressRight",
    "mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft", "mouthUpperUpRight",
    "tongueOut",
)

# Live Link Face's CSV column order (PascalCase there): Apple's order with the jaw and
# mouth left/right pairs swapped.
LIVE_LINK_FACE_ORDER: tuple[str, ...] = tuple(
    {"jawLeft": "jawRight", "jawRight": "jawLeft",
     "mouthLeft": "mouthRight", "mouthRight": "mouthLeft"}.get(n, n) for n in ARKIT_NAMES)


def pascal_case(name: str) -> str:
    """``eyeBlinkLeft`` -> ``EyeBlinkLeft`` (Live Link Face / Unreal spelling)."""
    return name[:1].upper() + name[1:]


# -- name normalisation ------------------------------------------------------------------
_SIDES = {"l": "left", "left": "left", "lt": "left", "lft": "left",
          "r": "right", "right": "right", "rt": "right", "rgt": "right"}
# Leading words some exporters put before every shape-key name.
_PREFIX_WORDS = {"ctrl", "expressions", "arkit", "bs", "blendshape", "blendshapes"}
_CAMEL = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def normalize(name: str) -> str:
    """A spelling-independent key for a shape-key name.

    Drops a namespace before the last ``.``/``|``/``:`` when something follows it,
    splits camelCase and separators into lowercase words, spells sides out (``L`` ->
    ``left``) and moves them to the end, and drops exporter prefixes such as
    ``CTRL_expressions_``: ``eyeBlink_L``, ``EyeBlinkLeft`` and ``eye_blink_left`` all
    give ``"eye blink left"``. Digits stay attached to the word before them
    (``eye_blink2_l`` -> ``"eye blink2 left"``).
    """
    text = str(name).strip()
    for sep in (":", "|"):
        head, _, tail = text.rpartition(sep)
        if head and tail:
            text = tail
    # A dot before a side letter is Blender's mirror convention (Blink.L), keep it as a
    # separator; any other dot with a non-empty tail is a namespace (blendShape1.jawOpen).
    if not re.search(r"\.(l|r|left|right)$", text, flags=re.IGNORECASE):
        head, _, tail = text.rpartition(".")
        if head and tail:
            text = tail
    words: list[str] = []
    for chunk in re.split(r"[^A-Za-z0-9]+", text):
        if not chunk:
            continue
        parts = _CAMEL.findall(chunk)
        # keep digits with the word before them: blink2, Scale1
        merged: list[str] = []
        for part in parts:
            if part.isdigit() and merged:
                merged[-1] += part
            else:
                merged.append(part)
        words.extend(p.lower() for p in merged)
    while len(words) > 1 and words[0] in _PREFIX_WORDS:
        words.pop(0)
    sides = [_SIDES[w] for w in words if w in _SIDES]
    rest = [w for w in words if w not in _SIDES]
    if not rest:  # the whole name is a side word ("L"): keep it as it is
        return " ".join(words)
    return " ".join(rest + sides)


def arkit_name(name: str) -> str | None:
    """The ARKit name a column or key spelled any way means (``EyeBlinkLeft``,
    ``eye_blink_left`` -> ``eyeBlinkLeft``), or None. Aliases are not consulted."""
    return _NORM_TO_ARKIT.get(normalize(name))


_NORM_TO_ARKIT = {normalize(n): n for n in ARKIT_NAMES}
assert len(_NORM_TO_ARKIT) == NUM_SHAPES, "ARKit names must stay distinct once normalised"
