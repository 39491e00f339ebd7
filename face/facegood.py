"""The FACEGOOD Audio2Face rig: its 116 blendshape names and their mapping onto ARKit-52.

The mapping is FACEGOOD's own sheet (``doc/Voice2Face_blendshape2ARkit.xlsx``), parsed
once by ``training/facegood_mapping.py`` into ``facegood_arkit.json`` beside this file:
per ARKit shape, ``copy`` one FACEGOOD shape, ``max`` of several, or ``none``.

Two facts about the dataset that the mapping alone does not tell:

- **Column alignment.** Column ``c`` of the ``bs_value_*.npy`` arrays holds the shape
  named ``bsname[c - 1]``; column 0 is all zero and the last name (``cheek_suck_l``) has
  no column. Only under this alignment are the left/right halves of the symmetric mouth
  shapes identical (funnel, pucker, press, suck, lip raise/depress: correlation 1.0) and
  ``mouth_stretch_c`` (jaw open) the most active shape; read naively, pairs such as
  ``mouth_funnel_dr``/``mouth_funnel_ul`` would be the identical ones.
  :func:`column_names` gives the names per column.
- **Unmapped shapes.** ``mouth_oh_c`` and ``mouth_oo_c`` are active in the data (the
  rounded vowels) but the sheet maps them to nothing. :data:`EXTENSIONS` (Cadence's
  addition, not FACEGOOD's) folds them into jawOpen, mouthFunnel and mouthPucker for the
  training targets; :func:`to_arkit` uses it unless ``extensions=False``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .arkit import ARKIT_NAMES

_JSON = Path(__file__).with_name("facegood_arkit.json")


@dataclass(frozen=True)
class Rule:
    """How one ARKit shape is made from FACEGOOD shapes."""
    arkit: str
    combine: str                 # "copy", "max" or "none"
    sources: tuple[str, ...]
    valid: bool                  # the dataset animates it (mouth and jaw)


def _load() -> tuple[tuple[str, ...], dict[str, Rule]]:
    data = json.loads(_JSON.read_text(encoding="utf-8"))
    rules = {r["arkit"]: Rule(r["arkit"], r["combine"], tuple(r["sources"]), bool(r["valid"]))
             for r in data["rules"]}
    return tuple(data["facegood_names"]), rules


FACEGOOD_NAMES, ARKIT_FROM_FACEGOOD = _load()
NUM_FACEGOOD = len(FACEGOOD_NAMES)

# Cadence's addition (see the module doc): ARKit name -> ((FACEGOOD name, weight), ...),
# combined by max with the sheet's sources.
EXTENSIONS: dict[str, tuple[tuple[str, float], ...]] = {
    "jawOpen": (("mouth_oh_c", 0.35),),
    "mouthFunnel": (("mouth_oh_c", 1.0), ("mouth_oo_c", 0.5)),
    "mouthPucker": (("mouth_oo_c", 1.0),),
}


def column_names() -> list[str | None]:
    """The FACEGOOD name of each column of a ``bs_value`` array (None for column 0)."""
    return [None] + list(FACEGOOD_NAMES[:-1])


def to_arkit(values: np.ndarray, *, extensions: bool = True,
             columns: list[str | None] | None = None) -> np.ndarray:
    """FACEGOOD curves ``(T, 116)`` (dataset column layout) -> ARKit-52 ``(T, 52)``.

    ARKit shapes the sheet marks as not animated by the dataset still get their sources
    (all zero in this data). ``columns`` overrides the column names (default
    :func:`column_names`).
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2 or values.shape[1] != NUM_FACEGOOD:
        raise ValueError(f"expected (frames, {NUM_FACEGOOD}) FACEGOOD values, got {values.shape}")
    columns = column_names() if columns is None else columns
    col = {name: c for c, name in enumerate(columns) if name is not None}
    out = np.zeros((len(values), len(ARKIT_NAMES)))
    for k, arkit in enumerate(ARKIT_NAMES):
        rule = ARKIT_FROM_FACEGOOD[arkit]
        parts = [values[:, col[s]] for s in rule.sources if s in col]
        if extensions:
            parts += [w * values[:, col[s]] for s, w in EXTENSIONS.get(arkit, ()) if s in col]
        if parts:
            out[:, k] = np.max(parts, axis=0)
    return np.clip(out, 0.0, 1.0)


def load_take(path: str | Path) -> np.ndarray:
    """One ``bs_value_*.npy`` file as float64 ``(frames, 116)`` (old-numpy pickles too)."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "created on Python 2" notice
        try:
            values = np.load(path)
        except (ValueError, UnicodeError):
            values = np.load(path, allow_pickle=True, encoding="latin1")
    return np.asarray(values, dtype=np.float64)
