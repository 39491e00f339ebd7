"""Which side a prompt names: left, right or both, read from its words.

Sentence embeddings (all-MiniLM-L6-v2) barely tell "waves with the left hand" from "the
right hand" (cosine ~0.95), although for an animator that is the whole point. The motion
model therefore reads, next to the embedding, three word-level cues. "left"/"right" are
the character's own sides, as in the training labels.
"""
from __future__ import annotations

import re

import numpy as np

CUES = ("left", "right", "both")
NUM_CUES = len(CUES)
_WORDS = re.compile(r"[a-z]+")
_LEFT = {"left", "leftward", "leftwards"}
_RIGHT = {"right", "rightward", "rightwards"}
_BOTH = {"both"}
_PLURAL_LIMBS = {"hands", "arms"}


def side_cues(text: str) -> np.ndarray:
    """(3,) float32: [names left, names right, names both sides]."""
    words = set(_WORDS.findall(text.lower()))
    left, right = bool(words & _LEFT), bool(words & _RIGHT)
    both = bool(words & _BOTH) or (bool(words & _PLURAL_LIMBS) and not (left or right))
    return np.array([left, right, both], dtype=np.float32)


def with_cues(embeddings: np.ndarray, texts: list[str]) -> np.ndarray:
    """Sentence embeddings (N, D) -> the model's text condition (N, D + 3)."""
    cues = np.stack([side_cues(t) for t in texts]) if texts else np.zeros((0, NUM_CUES), np.float32)
    return np.concatenate([np.asarray(embeddings, np.float32), cues], axis=1)
