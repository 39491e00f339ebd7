"""Phonemes -> visemes -> ARKit-52, with coarticulation (the phoneme path of speech -> face).

    from cadence.face.visemes import phoneme_curves
    weights = phoneme_curves([("SIL", 0.0, 0.2), ("B", 0.2, 0.28), ("UW", 0.28, 0.5)], 30.0, 15)

Input: a phone timeline (ARPAbet labels without stress, ``"SIL"`` for silence, times in
seconds: what :mod:`cadence.inference.speech.transcribe` gives). Output: (frames, 52) weights in
Apple's order; only mouth and jaw shapes and ``tongueOut`` move.

**Targets.** Each phone has a mouth pose (``POSES``): jaw opening, lip rounding (funnel,
pucker), spreading (stretch, smile), lip raise/lower, closure. Diphthongs (AY, AW, EY,
OW, OY) are two poses, the second half gliding to the off-glide's.

**Coarticulation** follows Cohen and Massaro's dominance model (1993): phone ``i``
exerts on shape ``s`` the dominance ``D_i,s(t) = a_i,g * exp(-(|t - c_i| / w_i)^1.5)``
around its centre ``c_i`` with a width from its duration, and a shape's value is the
dominance-weighted mean of the targets. Dominance is given per group of shapes
(``jaw``: opening, spreading and closure; ``round``: funnel and pucker; ``tuck``: lower
lip under the teeth), which makes the animators' rules fall out of it:

- consonants made behind the lips (t, d, k, g, h, n, l, s) have weak lip dominance, so
  their lips take the neighbouring vowels' shape ("t" in "two" is rounded, in "tea"
  spread); rounding also starts early: a rounding phone's dominance reaches further
  back than forward (anticipatory rounding is longer than carry-over);
- p, b, m dominate the jaw and closure shapes strongly, and after blending a hard
  constraint closes the lips over the middle of each (``mouthClose`` = ``jawOpen``,
  lips pressed), so coarticulation can never leave a bilabial open;
- f, v dominate the lower lip ("tuck": ``mouthRollLower`` with the upper lip raised),
  again enforced at the phone's middle.

The mouth leads the sound through the dominance functions' reach (each phone's pose
starts forming about 40 ms plus half its length before its centre, rounding earlier
still), not by shifting the track: ``ANTICIPATION`` (seconds earlier) measured best at
0 on both the FACEGOOD take and the English reference (docs/face.md), and a p/b/m is
held closed over its own acoustic closure.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from .arkit import INDEX, NUM_SHAPES

ANTICIPATION = 0.0         # seconds the whole track is moved earlier (measured: 0 is best)
SHARPNESS = 1.5            # exponent of the dominance functions
CLOSURE_SHARE = 0.6        # middle share of a p/b/m (f/v) held closed (tucked), at least a frame

_L = lambda stem, v: {f"{stem}Left": v, f"{stem}Right": v}  # noqa: E731

# Mouth poses per phone (ARPAbet). Values were set against the ARKit reference shapes:
# open vowels ~0.5 jaw, close vowels ~0.15; rounded vowels pucker/funnel; spread vowels
# stretch/smile; bilabials closed (mouthClose matching a small jawOpen, as ARKit's
# mouthClose is defined relative to an open jaw); labiodentals lower lip rolled in.
POSES: dict[str, dict[str, float]] = {
    "SIL": {"jawOpen": 0.02},
    # vowels
    "AA": {"jawOpen": 0.55, **_L("mouthLowerDown", 0.25)},
    "AE": {"jawOpen": 0.45, **_L("mouthStretch", 0.25), **_L("mouthLowerDown", 0.25), **_L("mouthUpperUp", 0.1)},
    "AH": {"jawOpen": 0.38, **_L("mouthLowerDown", 0.15)},
    "AO": {"jawOpen": 0.45, "mouthFunnel": 0.4, "mouthPucker": 0.1},
    "EH": {"jawOpen": 0.32, **_L("mouthStretch", 0.2), **_L("mouthLowerDown", 0.15)},
    "ER": {"jawOpen": 0.2, "mouthFunnel": 0.35, "mouthPucker": 0.15},
    "IH": {"jawOpen": 0.22, **_L("mouthStretch", 0.3), **_L("mouthSmile", 0.1)},
    "IY": {"jawOpen": 0.14, **_L("mouthStretch", 0.4), **_L("mouthSmile", 0.2), **_L("mouthUpperUp", 0.1)},
    "UH": {"jawOpen": 0.22, "mouthFunnel": 0.35, "mouthPucker": 0.3},
    "UW": {"jawOpen": 0.14, "mouthFunnel": 0.35, "mouthPucker": 0.7},
    # consonants
    "P": {"jawOpen": 0.06, "mouthClose": 0.06, **_L("mouthPress", 0.45)},
    "B": {"jawOpen": 0.06, "mouthClose": 0.06, **_L("mouthPress", 0.35)},
    "M": {"jawOpen": 0.05, "mouthClose": 0.05, **_L("mouthPress", 0.25)},
    "F": {"jawOpen": 0.1, "mouthRollLower": 0.55, **_L("mouthUpperUp", 0.2)},
    "V": {"jawOpen": 0.1, "mouthRollLower": 0.5, **_L("mouthUpperUp", 0.2)},
    "TH": {"jawOpen": 0.16, "tongueOut": 0.3},
    "DH": {"jawOpen": 0.16, "tongueOut": 0.25},
    "T": {"jawOpen": 0.14},
    "D": {"jawOpen": 0.16},
    "N": {"jawOpen": 0.14},
    "L": {"jawOpen": 0.2},
    "S": {"jawOpen": 0.08, **_L("mouthStretch", 0.25), **_L("mouthSmile", 0.1)},
    "Z": {"jawOpen": 0.08, **_L("mouthStretch", 0.2), **_L("mouthSmile", 0.1)},
    "SH": {"jawOpen": 0.12, "mouthFunnel": 0.5, "mouthPucker": 0.25, **_L("mouthUpperUp", 0.15)},
    "ZH": {"jawOpen": 0.12, "mouthFunnel": 0.5, "mouthPucker": 0.25, **_L("mouthUpperUp", 0.15)},
    "CH": {"jawOpen": 0.12, "mouthFunnel": 0.45, "mouthPucker": 0.25, **_L("mouthUpperUp", 0.15)},
    "JH": {"jawOpen": 0.12, "mouthFunnel": 0.45, "mouthPucker": 0.25, **_L("mouthUpperUp", 0.15)},
    "K": {"jawOpen": 0.2},
    "G": {"jawOpen": 0.2},
    "NG": {"jawOpen": 0.2},
    "HH": {"jawOpen": 0.3},
    "R": {"jawOpen": 0.15, "mouthFunnel": 0.3, "mouthPucker": 0.3},
    "W": {"jawOpen": 0.08, "mouthFunnel": 0.3, "mouthPucker": 0.8},
    "Y": {"jawOpen": 0.12, **_L("mouthStretch", 0.3)},
}
DIPHTHONGS: dict[str, tuple[str, str]] = {
    "AY": ("AA", "IY"), "AW": ("AA", "UH"), "EY": ("EH", "IY"), "OW": ("AO", "UH"), "OY": ("AO", "IY"),
}
BILABIALS = frozenset({"P", "B", "M"})
LABIODENTALS = frozenset({"F", "V"})

GROUPS: dict[str, tuple[str, ...]] = {      # in the order of the _DOMINANCE tuples
    "jaw": ("jawOpen", "mouthClose", "mouthPressLeft", "mouthPressRight", "mouthStretchLeft",
            "mouthStretchRight", "mouthSmileLeft", "mouthSmileRight", "mouthLowerDownLeft",
            "mouthLowerDownRight", "mouthUpperUpLeft", "mouthUpperUpRight", "tongueOut"),
    "round": ("mouthFunnel", "mouthPucker"),
    "tuck": ("mouthRollLower", "mouthRollUpper"),
}
SHAPES: tuple[str, ...] = tuple(s for g in GROUPS.values() for s in g)
assert all(s in SHAPES for pose in POSES.values() for s in pose)

# Dominance strength per group (jaw, round, tuck) by phone class.
_VOWEL = (1.0, 1.0, 0.3)
_DOMINANCE: dict[str, tuple[float, float, float]] = {
    **{p: _VOWEL for p in ("AA", "AE", "AH", "AO", "EH", "ER", "IH", "IY", "UH", "UW")},
    "P": (3.0, 0.4, 2.0), "B": (3.0, 0.4, 2.0), "M": (3.0, 0.4, 2.0),
    "F": (1.0, 0.3, 8.0), "V": (1.0, 0.3, 8.0),
    "SH": (1.0, 3.0, 0.5), "ZH": (1.0, 3.0, 0.5), "CH": (1.0, 3.0, 0.5), "JH": (1.0, 3.0, 0.5),
    "W": (1.5, 4.0, 0.5), "R": (0.8, 2.0, 0.5),
    "S": (1.2, 0.3, 0.3), "Z": (1.2, 0.3, 0.3), "TH": (1.0, 0.2, 0.3), "DH": (1.0, 0.2, 0.3),
    "T": (0.6, 0.1, 0.2), "D": (0.6, 0.1, 0.2), "N": (0.6, 0.1, 0.2), "L": (0.6, 0.1, 0.2),
    "Y": (0.8, 0.2, 0.2),
    "K": (0.3, 0.1, 0.2), "G": (0.3, 0.1, 0.2), "NG": (0.3, 0.1, 0.2), "HH": (0.15, 0.05, 0.1),
    "SIL": (2.0, 2.0, 2.0),
}
ROUND_LEAD = 1.6           # rounding's dominance reaches this much further back than forward
WINDOW = 0.6               # seconds of context each side considered for a frame


def _target_matrix() -> tuple[list[str], np.ndarray, np.ndarray]:
    names = list(POSES)
    targets = np.zeros((len(names), len(SHAPES)), np.float32)
    col = {s: j for j, s in enumerate(SHAPES)}
    for i, name in enumerate(names):
        for shape, value in POSES[name].items():
            targets[i, col[shape]] = value
    group_of = np.zeros(len(SHAPES), np.int64)
    for g, (_, shapes) in enumerate(GROUPS.items()):
        for s in shapes:
            group_of[col[s]] = g
    return names, targets, group_of


_NAMES, _TARGETS, _GROUP_OF = _target_matrix()
_ROW = {n: i for i, n in enumerate(_NAMES)}


def expand(phones: Iterable[Sequence]) -> list[tuple[str, float, float]]:
    """Known labels, diphthongs split into their two poses, unknown labels as silence."""
    out = []
    for item in phones:
        label, start, end = _fields(item)
        if end <= start:
            continue
        label = label.upper().rstrip("012")
        if label in DIPHTHONGS:
            a, b = DIPHTHONGS[label]
            mid = start + 0.5 * (end - start)
            out += [(a, start, mid), (b, mid, end)]
        else:
            out.append((label if label in POSES else "SIL", start, end))
    return out


def _fields(item) -> tuple[str, float, float]:
    if hasattr(item, "label"):
        return str(item.label), float(item.start), float(item.end)
    label, start, end = item
    return str(label), float(start), float(end)


def phoneme_curves(phones: Iterable[Sequence], fps: float, frames: int, *,
                   anticipation: float = ANTICIPATION, chunk: int = 512) -> np.ndarray:
    """(frames, 52) ARKit weights for a phone timeline (see the module doc).

    Frame ``k`` is sampled at its centre ``(k + 0.5) / fps`` plus ``anticipation``.
    Memory and time are linear in the length: frames are done in chunks, each against
    the phones within :data:`WINDOW` seconds.
    """
    items = expand(phones)
    out = np.zeros((frames, NUM_SHAPES), np.float32)
    if frames == 0:
        return out
    cols = np.array([INDEX[s] for s in SHAPES])
    if not items:
        out[:, INDEX["jawOpen"]] = POSES["SIL"]["jawOpen"]
        return out
    rows = np.array([_ROW[p] for p, _, _ in items])
    starts = np.array([s for _, s, _ in items])
    ends = np.array([e for _, _, e in items])
    centres = 0.5 * (starts + ends)
    durations = ends - starts
    # width: half the phone plus 40 ms of spread; silence is a plateau (full dominance
    # over all but its last 30 ms each side) with short flanks, so a pause rests the mouth
    silent = rows == _ROW["SIL"]
    widths = np.where(silent, 0.05, np.minimum(0.5 * durations + 0.04, 0.25))
    plateau = np.where(silent, np.maximum(0.0, 0.5 * durations - 0.03), 0.0)
    alpha = np.array([_DOMINANCE[p] for p, _, _ in items], np.float64)      # (P, 3)
    targets = _TARGETS[rows]                                                 # (P, S)
    rounded = targets[:, [SHAPES.index(n) for n in GROUPS["round"]]].max(axis=1) > 0
    times = (np.arange(frames) + 0.5) / fps + anticipation
    for k0 in range(0, frames, chunk):
        t = times[k0:k0 + chunk]
        lo = np.searchsorted(ends, t[0] - WINDOW)
        hi = np.searchsorted(starts, t[-1] + WINDOW, side="right")
        lo, hi = min(lo, len(items) - 1), max(hi, lo + 1)
        dt = t[:, None] - centres[None, lo:hi]                               # (F, P)
        dt = np.sign(dt) * np.maximum(0.0, np.abs(dt) - plateau[None, lo:hi])
        w = widths[None, lo:hi]
        # a rounded phone's rounding reaches further back (dt < 0: it is still to come)
        w_round = np.where((dt < 0) & rounded[None, lo:hi], ROUND_LEAD * w, w)
        shape_jaw = np.exp(-np.power(np.abs(dt) / w, SHARPNESS))
        shape_round = np.exp(-np.power(np.abs(dt) / w_round, SHARPNESS))
        dom = np.stack([shape_jaw, shape_round, shape_jaw], axis=-1) * alpha[None, lo:hi]  # (F, P, 3)
        dom_s = dom[:, :, _GROUP_OF] + 1e-12                                 # (F, P, S)
        values = (dom_s * targets[None, lo:hi]).sum(axis=1) / dom_s.sum(axis=1)
        out[k0:k0 + len(t)][:, cols] = values
    _hold_closures(out, items, fps, anticipation)
    return np.clip(out, 0.0, 1.0)


def _phone_frames(start: float, end: float, fps: float, anticipation: float) -> slice:
    """Frames whose sample time falls in the middle :data:`CLOSURE_SHARE` of [start, end]
    (at least the frame nearest the centre)."""
    pad = 0.5 * (1.0 - CLOSURE_SHARE) * (end - start)
    a = int(np.ceil((start + pad - anticipation) * fps - 0.5))
    b = int(np.floor((end - pad - anticipation) * fps - 0.5))
    if b < a:
        a = b = int(round(0.5 * (start + end - 2 * anticipation) * fps - 0.5))
    return slice(max(0, a), max(0, b + 1))


def _hold_closures(out: np.ndarray, items, fps: float, anticipation: float) -> None:
    """Lips closed over the middle of every p/b/m; lower lip tucked in over f/v."""
    jaw, close = INDEX["jawOpen"], INDEX["mouthClose"]
    opening = [INDEX[s] for s in ("mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft",
                                  "mouthUpperUpRight", "mouthFunnel", "tongueOut")]
    for label, start, end in items:
        frames = _phone_frames(start, end, fps, anticipation)
        if label in BILABIALS:
            seg = out[frames]
            seg[:, jaw] = np.minimum(seg[:, jaw], 0.12)
            seg[:, close] = seg[:, jaw]
            seg[:, opening] = np.minimum(seg[:, opening], 0.05)
            for side in ("mouthPressLeft", "mouthPressRight"):
                seg[:, INDEX[side]] = np.maximum(seg[:, INDEX[side]], POSES[label][side])
        elif label in LABIODENTALS:
            seg = out[frames]
            seg[:, INDEX["mouthRollLower"]] = np.maximum(seg[:, INDEX["mouthRollLower"]], 0.45)
            seg[:, jaw] = np.minimum(seg[:, jaw], 0.15)


def enforce_closures(weights: np.ndarray, phones: Iterable[Sequence], fps: float, *,
                     anticipation: float = ANTICIPATION) -> np.ndarray:
    """Apply the p/b/m closure and f/v tuck of a phone timeline to any (T, 52) mouth
    track (e.g. a blend with the learned model), in place; returns it."""
    _hold_closures(weights, expand(phones), fps, anticipation)
    return weights


def lip_aperture(weights: np.ndarray) -> np.ndarray:
    """(T,) how far apart the lips are, from ARKit weights: the jaw opening not cancelled
    by ``mouthClose``, plus the lip raise/lower and funnel (which part the lips with the
    jaw shut). 0 is sealed lips."""
    w = np.asarray(weights)
    parted = np.clip(w[:, INDEX["jawOpen"]] - w[:, INDEX["mouthClose"]], 0, 1)
    lips = 0.5 * (w[:, INDEX["mouthLowerDownLeft"]] + w[:, INDEX["mouthLowerDownRight"]]
                  + w[:, INDEX["mouthUpperUpLeft"]] + w[:, INDEX["mouthUpperUpRight"]]) / 2
    return parted + lips + 0.5 * w[:, INDEX["mouthFunnel"]]
