"""Training batches for the motion denoiser: crops of real takes with their labels.

Every sample is a window of one take (random crop, or the whole take held still at its
end when the take is shorter than the window; locomotion takes continue their gait
instead, see extend_take), its content label as a one-hot action
vector and its style as a one-hot slider vector. Crop lengths go from 64 to 320 frames
(2-10.7 s), so the model sees long clips as well as the short set-2 takes; a crop only
draws takes at least half its length, so long crops are not mostly a held pose. Takes
are drawn with weight 1/sqrt(takes of their content x style pair), so the 1-take pairs
of set 1 are seen more often than their share without being memorised; ``balance``
mixes in the action-balanced draw (every action equally often, every style of an action
equally often, then any of the pair's takes): with the square-root weights alone the
ten set-2 actions took ~70 % of the samples and a one-take kick so few that the
autoencoder could not even reconstruct it (docs/motion_model.md). A share of the
samples (``mirror``) are mirror images with the action's side swapped
(motion/mirror.py), so one-sided actions are learned on both sides alike.

The prompt text does not reach the denoiser: the prompt matcher (training/prompt_matcher.py)
maps sentences onto these labels.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from ..dataset import pipeline
from ..dataset.pipeline import MotionDataset
from ..motion.mirror import mirror_features, mirror_label
from ..motion.representation import CONTACTS, Normalizer

# Root channels that are velocities: zero while the character holds still.
VELOCITY_CHANNELS = (0, 1, 2)
CONTACT_START = CONTACTS.start  # channels before it are poses and root motion, after it contacts
CROP_LENGTHS = (64, 96, 128, 160, 192, 256, 320)  # frames (multiples of 4: whole latent tokens)
MIN_FILL = 0.5  # a crop draws takes of at least this share of its length
HOLD_TOKENS = CROP_LENGTHS[-1] // 4  # held pose appended to a take before it is encoded
# Actions whose takes are cut out of continuous locomotion: a window longer than the take
# continues the gait (extend_take), where holding the last pose taught the model that a
# run stops after ~3 s (docs/motion_model.md). Turns are one turn, not a cycle.
CYCLIC_ACTIONS = frozenset({"walk", "run", "dash", "walk-back", "walk-left", "walk-right"})
MIN_PERIOD = 24  # frames: the shortest loop extend_take accepts (a run's gait cycle is ~20)
SEAM_FRAMES = 8  # frames over which a loop seam's small pose offset is faded out


@dataclass
class Vocabulary:
    contents: list[str]
    styles: list[str]
    normal_style: int

    @classmethod
    def from_dataset(cls, ds: MotionDataset) -> Vocabulary:
        styles = sorted(set(ds.styles.tolist()))
        return cls(sorted(set(ds.contents.tolist())), styles, styles.index("normal"))


def load_training_data(progress: bool = True) -> tuple[MotionDataset, Normalizer, Vocabulary]:
    """The dataset, the normaliser fitted on its train split, the vocabulary."""
    ds = pipeline.load_or_build(progress=progress)
    norm = Normalizer.fit([ds.clip(i) for i in ds.indices("train")])
    return ds, norm, Vocabulary.from_dataset(ds)


def extend_take(clip: np.ndarray, frames: int, cyclic: bool) -> np.ndarray:
    """``clip`` (un-normalised features) followed by ``frames`` more frames.

    Non-cyclic takes hold their last pose still (velocities zero). Cyclic ones continue
    their gait: the loop restarts after the frame that best matches the last one in pose
    and motion (at least MIN_PERIOD frames back), and the remaining offset at the seam
    is faded out over SEAM_FRAMES frames, so the continuation has no pop and the foot
    contacts stay those of real frames.
    """
    n = len(clip)
    if frames <= 0:
        return clip.copy()
    period = min(MIN_PERIOD, (n - 2) // 2)
    if not cyclic or period < 4:
        held = np.repeat(clip[-1:], frames, axis=0)
        held[:, list(VELOCITY_CHANNELS)] = 0.0
        return np.concatenate([clip, held])
    pose = clip[:, :CONTACT_START]
    step = np.diff(pose, axis=0)  # step[i] = pose[i + 1] - pose[i]
    candidates = np.arange(1, n - period)  # loop = clip[a + 1:], at least `period` frames
    cost = (np.linalg.norm(pose[candidates] - pose[-1], axis=1)
            + 4.0 * np.linalg.norm(step[candidates - 1] - step[-1], axis=1))
    a = int(candidates[np.argmin(cost)])
    loop = clip[a + 1:].copy()
    fade = np.clip(1.0 - np.arange(len(loop)) / min(SEAM_FRAMES, len(loop) // 2), 0.0, 1.0)[:, None]
    loop[:, :CONTACT_START] -= fade * (pose[a] - pose[-1])[None]
    reps = -(-frames // len(loop))
    return np.concatenate([clip, np.tile(loop, (reps, 1))[:frames]])


def take_weights(contents: np.ndarray, styles: np.ndarray, balance: float = 0.0) -> np.ndarray:
    """Draw probabilities of takes: (1 - balance) x the 1/sqrt(pair count) draw + balance
    x the action-balanced one (uniform over actions, then over the action's styles,
    then over the pair's takes)."""
    if not 0.0 <= balance <= 1.0:
        raise ValueError(f"balance must be in 0..1, not {balance}")
    pairs = [f"{c}|{s}" for c, s in zip(contents, styles)]
    counts = {p: pairs.count(p) for p in set(pairs)}
    root = np.array([1.0 / np.sqrt(counts[p]) for p in pairs])
    styles_of = {c: len({p for p in counts if p.split("|")[0] == c}) for c in set(contents)}
    balanced = np.array([1.0 / (styles_of[c] * counts[p]) for c, p in zip(contents, pairs)]) / len(styles_of)
    return (1.0 - balance) * root / root.sum() + balance * balanced / balanced.sum()


class _TakeSampler:
    """Which takes a batch draws: 1/sqrt(pair count) weights, per crop length only takes
    at least MIN_FILL of it long; labels as one-hot vectors; ``source`` for the loop."""

    def __init__(self, ds: MotionDataset, split: str, vocab: Vocabulary, lengths: np.ndarray,
                 crop_lengths: tuple[int, ...], budget: int, mirror: float, seed: int, balance: float = 0.0):
        self.ds, self.vocab = ds, vocab
        self.takes = ds.indices(split)
        w = take_weights(ds.contents[self.takes], ds.styles[self.takes], balance)
        self.crop_lengths = tuple(crop_lengths)
        self.weights = {}  # crop length -> draw probabilities over self.takes
        for length in self.crop_lengths:
            wl = np.where(lengths >= MIN_FILL * length, w, 0.0)
            if wl.sum() == 0:
                wl = w
            self.weights[length] = wl / wl.sum()
        self.budget, self.mirror = budget, mirror
        self.rng = np.random.default_rng(seed)

    def draw(self) -> tuple[int, np.ndarray, np.ndarray]:
        """(crop length, takes, mirrored?) of the next batch."""
        length = int(self.rng.choice(self.crop_lengths))
        batch = max(4, self.budget // length)
        takes = self.rng.choice(self.takes, size=batch, p=self.weights[length])
        return length, takes, self.rng.random(batch) < self.mirror

    def labels(self, takes: np.ndarray, flip: np.ndarray) -> dict[str, np.ndarray]:
        contents = [mirror_label(c, self.vocab.contents) if f else c
                    for c, f in zip(self.ds.contents[takes], flip)]
        content = np.zeros((len(takes), len(self.vocab.contents)), np.float32)
        content[np.arange(len(takes)), [self.vocab.contents.index(c) for c in contents]] = 1.0
        style = np.zeros((len(takes), len(self.vocab.styles)), np.float32)
        style[np.arange(len(takes)), [self.vocab.styles.index(s) for s in self.ds.styles[takes]]] = 1.0
        return {"content": content, "style": style}

    def sample(self) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def source(self, device: torch.device, base_seed: int) -> Callable[[int], dict]:
        """``batches(step)`` for training/loop.py: tensors on ``device``; the first call
        reseeds with ``base_seed + step``, so a resumed run does not replay its batches."""
        started = False

        def batches(step: int) -> dict:
            nonlocal started
            if not started:
                self.rng = np.random.default_rng(base_seed + step)
                started = True
            return {k: torch.from_numpy(v).to(device) for k, v in self.sample().items()}

        return batches


class BatchSampler(_TakeSampler):
    """Crops of normalised feature frames (the autoencoder's batches)."""

    def __init__(self, ds: MotionDataset, split: str, normalizer: Normalizer, vocab: Vocabulary,
                 seed: int = 0, frame_budget: int = 4096, mirror: float = 0.0,
                 crop_lengths: tuple[int, ...] = CROP_LENGTHS, balance: float = 0.0):
        takes = ds.indices(split)
        super().__init__(ds, split, vocab, np.array([len(ds.clip(i)) for i in takes]), crop_lengths,
                         frame_budget, mirror, seed, balance)
        self.norm = normalizer
        # Normalised clips, computed once (the sampler runs every training step).
        self._clips = {int(i): normalizer.normalize(ds.clip(i)).astype(np.float32) for i in self.takes}
        self._still = normalizer.normalize(np.zeros((1, ds.clip(takes[0]).shape[1])))[0, list(VELOCITY_CHANNELS)]

    def crop(self, clip: np.ndarray, length: int) -> np.ndarray:
        """A ``length``-frame window of a normalised clip; short clips hold their last pose."""
        if len(clip) >= length:
            s = self.rng.integers(0, len(clip) - length + 1)
            return clip[s:s + length]
        return np.concatenate([clip, self.hold(clip[-1], length - len(clip))], axis=0)

    def hold(self, frame: np.ndarray, n: int) -> np.ndarray:
        """``n`` frames holding a normalised pose still (velocities zero)."""
        out = np.repeat(frame[None], n, axis=0)
        out[:, list(VELOCITY_CHANNELS)] = self._still
        return out

    def sample(self) -> dict[str, np.ndarray]:
        length, takes, flip = self.draw()
        x = np.stack([self.crop(self._clips[int(i)], length) for i in takes])
        if flip.any():
            x[flip] = self.norm.normalize(mirror_features(self.norm.denormalize(x[flip].astype(np.float64))))
        return {"x0": x.astype(np.float32), **self.labels(takes, flip)}


class LatentBatchSampler(_TakeSampler):
    """Crops of precomputed latent tokens (the denoiser's batches).

    ``latents[i]`` / ``mirrored[i]``: (tokens, Z) of take i (and of its mirror image),
    encoded with ``HOLD_TOKENS`` tokens of the take's last pose held still appended, so
    a crop longer than the take ends as a feature crop would; ``tokens[i]``: the take's
    own length in tokens.
    """

    def __init__(self, ds: MotionDataset, split: str, vocab: Vocabulary, latents: dict[int, np.ndarray],
                 mirrored: dict[int, np.ndarray], tokens: dict[int, int], seed: int = 0,
                 token_budget: int = 1024, mirror: float = 0.0,
                 crop_tokens: tuple[int, ...] = tuple(n // 4 for n in CROP_LENGTHS), balance: float = 0.0):
        takes = ds.indices(split)
        super().__init__(ds, split, vocab, np.array([tokens[int(i)] for i in takes]), crop_tokens,
                         token_budget, mirror, seed, balance)
        self.latents, self.mirrored, self.tokens = latents, mirrored, tokens

    def sample(self) -> dict[str, np.ndarray]:
        length, takes, flip = self.draw()
        out = []
        for i, f in zip(takes, flip):
            z = (self.mirrored if f else self.latents)[int(i)]
            n = self.tokens[int(i)]
            s = int(self.rng.integers(0, n - length + 1)) if n >= length else 0
            out.append(z[s:s + length])
        return {"x0": np.stack(out).astype(np.float32), **self.labels(takes, flip)}
