"""FACEGOOD Audio2Face takes as (log-mel, ARKit mouth targets) pairs for the face model.

Features come from ``inference/speech/audio.py`` (the runtime's own code), targets from the
FACEGOOD sheet mapping in ``face/facegood.py``: the same numbers the shipped model sees.
One take is held out for test (:data:`TEST_TAKE`); the last 15% of every other take is
the validation split that picks the checkpoint.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..dataset.paths import cache_dir, unpacked
from ..face import arkit, facegood
from ..inference.speech import audio as A

ARCHIVE, FOLDER = "facegood-audio2face.tar.xz", "facegood-audio2face"
TEST_TAKE = "1114_2_05"
VAL_FRACTION = 0.15
OUTPUT_SHAPES: tuple[str, ...] = arkit.MOUTH_SHAPES   # what the model predicts (27)
FPS = 30.0
# left/right pairs the capture animates symmetrically (identical curves in the data)
SYMMETRIC = tuple((OUTPUT_SHAPES.index(f"{stem}Left"), OUTPUT_SHAPES.index(f"{stem}Right"))
                  for stem in ("mouthSmile", "mouthFrown", "mouthDimple", "mouthStretch",
                               "mouthPress", "mouthLowerDown", "mouthUpperUp"))


@dataclass
class Take:
    name: str
    mel: np.ndarray        # (4T, 80) float32
    target: np.ndarray     # (T, len(OUTPUT_SHAPES)) float32
    energy: np.ndarray     # (T,) float32

    @property
    def frames(self) -> int:
        return len(self.target)

    def slice(self, start: int, stop: int) -> Take:
        f = A.FEATURES_PER_FRAME
        return Take(self.name, self.mel[start * f:stop * f], self.target[start:stop],
                    self.energy[start:stop])


def load_takes(folder: Path | None = None) -> list[Take]:
    """All seven takes, cached as .cache/face/takes.npz after the first call."""
    cache = cache_dir() / "face" / "takes.npz"
    if cache.exists():
        data = np.load(cache)
        names = [str(n) for n in data["names"]]
        return [Take(n, data[f"{n}/mel"], data[f"{n}/target"], data[f"{n}/energy"]) for n in names]
    folder = folder or unpacked(ARCHIVE, FOLDER)
    takes = []
    cols = [arkit.INDEX[n] for n in OUTPUT_SHAPES]
    for wav in sorted((folder / "wav").glob("*.wav")):
        name = wav.stem
        values = facegood.load_take(folder / "bs_value" / f"bs_value_{name}.npy")
        audio = A.load_audio(wav)
        mel = A.log_mel(audio.samples, FPS)
        frames = min(len(values), len(mel) // A.FEATURES_PER_FRAME)
        target = facegood.to_arkit(values[:frames])[:, cols].astype(np.float32)
        energy = A.energy_envelope(audio.samples, FPS)[:frames]
        takes.append(Take(name, mel[:frames * A.FEATURES_PER_FRAME], target, energy))
    cache.parent.mkdir(parents=True, exist_ok=True)
    arrays = {"names": np.array([t.name for t in takes])}
    for t in takes:
        arrays.update({f"{t.name}/mel": t.mel, f"{t.name}/target": t.target,
                       f"{t.name}/energy": t.energy})
    np.savez(cache, **arrays)
    return takes


def split(takes: list[Take]) -> tuple[list[Take], list[Take], Take]:
    """(train pieces, validation pieces, the held-out test take)."""
    train, val, test = [], [], None
    for t in takes:
        if t.name == TEST_TAKE:
            test = t
            continue
        cut = int(t.frames * (1 - VAL_FRACTION))
        train.append(t.slice(0, cut))
        val.append(t.slice(cut, t.frames))
    if test is None:
        raise RuntimeError(f"test take {TEST_TAKE} not found")
    return train, val, test
