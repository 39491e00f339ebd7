"""Training batches for the motion denoiser: crops of real takes with their prompts.

Every sample is a window of one take (random crop, or the whole take held still at its
end when the take is shorter than the window), one of its content label's paraphrases
(as a sentence embedding) and its style as a one-hot slider vector. Takes are drawn with
weight 1/sqrt(takes of their content x style pair), so the 1-take pairs of set 1 are
seen more often than their share without being memorised. A share of the samples
(``mirror``) are mirror images with the prompt's sides swapped (motion/mirror.py), so
one-sided actions are learned on both sides alike.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..dataset.pipeline import MotionDataset
from ..inference.text_cues import with_cues
from ..motion.mirror import mirror_features, mirror_label
from ..motion.representation import Normalizer
from .prompts import PROMPTS

# Root channels that are velocities: zero while the character holds still.
VELOCITY_CHANNELS = (0, 1, 2)
CROP_LENGTHS = (64, 96, 128, 160, 192)


@dataclass
class Vocabulary:
    contents: list[str]
    styles: list[str]
    normal_style: int

    @classmethod
    def from_dataset(cls, ds: MotionDataset) -> "Vocabulary":
        styles = sorted(set(ds.styles.tolist()))
        return cls(sorted(set(ds.contents.tolist())), styles, styles.index("normal"))


def prompt_embeddings(cache: Path, encoder_factory) -> dict[str, np.ndarray]:
    """Text conditions of every training paraphrase: sentence embedding + side cues
    (inference/text_cues.py), cached by the prompts' hash."""
    key = hashlib.sha256(json.dumps(PROMPTS, sort_keys=True).encode()).hexdigest()[:16] + "-cues"
    path = cache / f"prompt_embeddings-{key}.npz"
    if path.exists():
        with np.load(path) as d:
            return {k: d[k] for k in d.files}
    encoder = encoder_factory()
    out = {label: with_cues(encoder.encode(list(texts)), list(texts)) for label, texts in PROMPTS.items()}
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(path, **out)
    return out


class BatchSampler:
    def __init__(self, ds: MotionDataset, split: str, normalizer: Normalizer,
                 embeddings: dict[str, np.ndarray], vocab: Vocabulary, seed: int = 0,
                 frame_budget: int = 4096, mirror: float = 0.0):
        self.ds, self.norm, self.emb, self.vocab = ds, normalizer, embeddings, vocab
        self.takes = ds.indices(split)
        missing = sorted(set(ds.contents[self.takes]) - set(embeddings))
        if missing:
            raise ValueError(f"no prompts for content labels: {missing}")
        pairs = [f"{ds.contents[i]}|{ds.styles[i]}" for i in self.takes]
        counts = {p: pairs.count(p) for p in set(pairs)}
        w = np.array([1.0 / np.sqrt(counts[p]) for p in pairs])
        self.weights = w / w.sum()
        self.rng = np.random.default_rng(seed)
        self.frame_budget = frame_budget
        self.mirror = mirror

    def crop(self, clip: np.ndarray, length: int) -> np.ndarray:
        if len(clip) >= length:
            s = self.rng.integers(0, len(clip) - length + 1)
            return clip[s:s + length]
        hold = np.repeat(clip[-1:], length - len(clip), axis=0)
        hold[:, list(VELOCITY_CHANNELS)] = 0.0
        return np.concatenate([clip, hold], axis=0)

    def sample(self) -> dict[str, np.ndarray]:
        length = int(self.rng.choice(CROP_LENGTHS))
        batch = max(4, self.frame_budget // length)
        takes = self.rng.choice(self.takes, size=batch, p=self.weights)
        x = np.stack([self.crop(self.ds.clip(i), length) for i in takes])
        contents = list(self.ds.contents[takes])
        flip = self.rng.random(batch) < self.mirror
        if flip.any():
            x[flip] = mirror_features(x[flip])
            contents = [mirror_label(c, self.vocab.contents) if f else c for c, f in zip(contents, flip)]
        text = np.stack([self.emb[c][self.rng.integers(len(self.emb[c]))] for c in contents])
        style = np.zeros((batch, len(self.vocab.styles)), np.float32)
        style[np.arange(batch), [self.vocab.styles.index(s) for s in self.ds.styles[takes]]] = 1.0
        return {"x0": self.norm.normalize(x).astype(np.float32), "text": text, "style": style,
                "content": np.array([self.vocab.contents.index(c) for c in contents])}
