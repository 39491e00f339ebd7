"""Which known action a prompt asks for: sentence embedding + side cues -> probabilities.

The motion data has a closed set of actions (walk, run, wave-left-hand, bow, ...), each
a content label of the Bandai Namco takes. A prompt is encoded by the sentence encoder
(text_encoder.py) with three word-level side cues (text_cues.py), and a linear
classifier trained on the hand-written paraphrases of every label
(training/prompts.py, trained by training/prompt_matcher.py) gives each action a
probability. The motion model is conditioned on the best match (``content_vector``), so
free text ("someone jogs", "bows politely") lands on the nearest action the model knows,
and the UI and CLI show the top matches so the animator sees how the prompt was read.

Why a classifier and not the embedding itself: the sentences of neighbouring actions
are close (cosine 0.9 between "raises both hands" and "raises the right hand"), and a
denoiser conditioned on the raw embedding hedged between them; a linear layer trained
on paraphrases separates them (98.6 % of held-out paraphrases, against 95.8 % for the
nearest mean embedding). Numbers in docs/motion_model.md.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

FORMAT = "cadence-prompt-matcher-v1"
# Below this best-match probability a prompt matches no known action well. Measured on
# the shipped matcher: 98 % of held-out paraphrases of known actions score above it,
# 14 of 16 prompts for actions the data lacks (cartwheel, sit down, swim...) below.
WEAK_MATCH = 0.45


def weak_match_warning(prompt: str, matches: Sequence[tuple[str, float]]) -> str | None:
    """A one-line warning naming the closest actions when ``prompt`` matches none well."""
    if not matches or matches[0][1] >= WEAK_MATCH:
        return None
    closest = ", ".join(f"{name} ({p:.2f})" for name, p in matches[:3])
    return (f"'{prompt.strip()}' matches no known action well; read as the closest: {closest} "
            "(the known actions: cadence generate --list-actions)")


@dataclass(frozen=True)
class PromptMatcher:
    labels: tuple[str, ...]
    weight: np.ndarray  # (C, D): D = sentence embedding + side cues
    bias: np.ndarray    # (C,)

    def __post_init__(self) -> None:
        n = len(self.labels)
        if self.weight.ndim != 2 or self.weight.shape[0] != n or self.bias.shape != (n,):
            raise ValueError(f"prompt matcher: {n} labels need a ({n}, D) weight and {n} biases, "
                             f"got {self.weight.shape} and {self.bias.shape}")

    @property
    def input_dim(self) -> int:
        return int(self.weight.shape[1])

    @classmethod
    def from_dict(cls, data: Mapping) -> PromptMatcher:
        if data.get("format") != FORMAT:
            raise ValueError(f"prompt matcher format {data.get('format')!r}, expected {FORMAT!r}")
        return cls(tuple(data["labels"]), np.asarray(data["weight"], np.float32),
                   np.asarray(data["bias"], np.float32))

    def to_dict(self) -> dict:
        return {"format": FORMAT, "labels": list(self.labels),
                "weight": np.asarray(self.weight, np.float32).tolist(),
                "bias": np.asarray(self.bias, np.float32).tolist()}

    def probabilities(self, conditions: np.ndarray) -> np.ndarray:
        """(N, D) embeddings with side cues -> (N, C) probabilities over the labels."""
        conditions = np.asarray(conditions, np.float32)
        if conditions.ndim != 2 or conditions.shape[1] != self.input_dim:
            raise ValueError(f"prompt matcher reads (N, {self.input_dim}) inputs, got {conditions.shape}")
        logits = conditions @ self.weight.T + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return (p / p.sum(axis=1, keepdims=True)).astype(np.float32)

    def top(self, probabilities: np.ndarray, k: int = 3) -> list[tuple[str, float]]:
        """The ``k`` most likely labels of one prompt, best first, with probabilities."""
        order = np.argsort(-probabilities)[:k]
        return [(self.labels[i], float(probabilities[i])) for i in order]

    def content_vector(self, probabilities: np.ndarray) -> np.ndarray:
        """(N, C) probabilities -> (N, C) one-hot of the best match: the denoiser's input."""
        probabilities = np.atleast_2d(probabilities)
        out = np.zeros_like(probabilities, dtype=np.float32)
        out[np.arange(len(out)), np.argmax(probabilities, axis=1)] = 1.0
        return out

    def one_hot(self, labels: Sequence[str]) -> np.ndarray:
        """(N, C) one-hot rows of known labels (what training conditions on)."""
        unknown = sorted(set(labels) - set(self.labels))
        if unknown:
            raise ValueError(f"unknown action label(s) {unknown}; known: {', '.join(self.labels)}")
        out = np.zeros((len(labels), len(self.labels)), np.float32)
        out[np.arange(len(labels)), [self.labels.index(x) for x in labels]] = 1.0
        return out
