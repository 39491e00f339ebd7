"""Real takes as starting points for sampling: a compact bank of training takes' latents.

Why: several actions of the data have one or two takes (kick, punch, slash, dance,
call, respond, bow). A denoiser that starts from pure noise rarely finds such a mode, so
the action is never produced. Starting from a real take of the asked action (and the
slider's strongest style), noised part of the way (``strength``: the share of the
sampling schedule that is run; 1 is pure noise), then sampled with guidance as usual,
keeps the action's shape while the noise and the guidance vary it (SDEdit, Meng et al.
2022). The seed picks the take and the crop, so seeds differ by more than noise.

The bank holds, per action and style of the training split, up to a few takes and their
mirror images (labelled with the mirrored action, so one-sided actions exist on both
sides), as normalised latent tokens in float16 with a few tokens of the take's last pose
held still at the end. It is written by ``training/references.py`` (and by
``train.py export``) and ships beside the model (``motion_references.npz``, checked
against the manifest like every weights file).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

REFERENCES_FILE = "motion_references.npz"
HELD_TOKENS = 4  # tokens of the last pose held still, stored after each take


@dataclass
class ReferenceBank:
    latents: np.ndarray   # (all tokens, Z) float16 normalised latents, takes one after another
    offsets: np.ndarray   # (n + 1,) where each take starts in ``latents``
    contents: np.ndarray  # (n,) action index
    styles: np.ndarray    # (n,) style index
    tokens: np.ndarray    # (n,) the take's own length in tokens (its held pose follows)

    def __len__(self) -> int:
        return int(len(self.contents))

    @classmethod
    def load(cls, path: str | Path) -> ReferenceBank:
        with np.load(Path(path), allow_pickle=False) as d:
            bank = cls(d["latents"], d["offsets"].astype(np.int64), d["contents"].astype(np.int64),
                       d["styles"].astype(np.int64), d["tokens"].astype(np.int64))
        n = len(bank.contents)
        if not (bank.latents.ndim == 2 and bank.offsets.shape == (n + 1,) and bank.styles.shape == (n,)
                and bank.tokens.shape == (n,) and bank.offsets[-1] == len(bank.latents)
                and np.all(np.diff(bank.offsets) >= bank.tokens) and np.all(bank.tokens > 0)):
            raise ValueError(f"{Path(path).name} is not a consistent reference bank")
        return bank

    def save(self, path: str | Path) -> None:
        """Written through a temporary file, so a failed write leaves no partial bank."""
        path = Path(path)
        tmp = path.with_suffix(".tmp.npz")
        np.savez_compressed(tmp, latents=self.latents.astype(np.float16), offsets=self.offsets.astype(np.int32),
                            contents=self.contents.astype(np.int16), styles=self.styles.astype(np.int16),
                            tokens=self.tokens.astype(np.int32))
        tmp.replace(path)

    def candidates(self, content: int, style: np.ndarray, normal_style: int) -> np.ndarray:
        """Takes of the action in the slider's strongest style (normal when all sliders
        are at zero); any style of the action when it has none in that style."""
        same = np.flatnonzero(self.contents == content)
        want = int(np.argmax(style)) if len(style) and float(np.max(style)) > 0 else normal_style
        styled = same[self.styles[same] == want]
        return styled if len(styled) else same

    def window(self, take: int, tokens: int, rng: np.random.Generator) -> np.ndarray:
        """(tokens, Z) float32 latents of one take: a random crop of a longer take, a
        shorter take followed by its held pose."""
        z = self.latents[self.offsets[take]:self.offsets[take + 1]].astype(np.float32)
        own = int(self.tokens[take])
        if own >= tokens:
            start = int(rng.integers(0, own - tokens + 1))
            return z[start:start + tokens]
        out = z[:min(len(z), tokens)]
        if len(out) < tokens:
            out = np.concatenate([out, np.repeat(z[-1:], tokens - len(out), axis=0)])
        return out

    def pick(self, content: int, style: np.ndarray, normal_style: int, tokens: int,
             rng: np.random.Generator) -> np.ndarray | None:
        """A (tokens, Z) reference for the condition, or None when the action has no take."""
        options = self.candidates(content, style, normal_style)
        if not len(options):
            return None
        return self.window(int(rng.choice(options)), tokens, rng)


def noised(reference: np.ndarray, noise: np.ndarray, abar: float) -> np.ndarray:
    """The reference at noise level ``abar`` (the forward process, with the given noise)."""
    return (np.sqrt(abar) * reference + np.sqrt(1.0 - abar) * noise).astype(np.float32)
