"""Bring-your-own paired speech + motion capture: BEAT2 and ZEGGS readers (numpy).

Cadence ships no audio-conditioned gesture model: no paired speech and body motion
capture is available to the project (docs/gesture.md), so the shipped gestures are
zero-shot on the text-to-motion prior. Whoever has such data under its licence can
train one with ``training/train.py gesture`` on the takes these readers return.

- **BEAT2** (Liu et al. 2024, EMAGE; CC BY-NC 4.0): per take an SMPL-X parameter file
  ``smplxflame_30/<take>.npz`` (``poses`` (T, 165), ``trans``, ``expressions``,
  ``betas``, ``mocap_frame_rate``; Y up) and ``wave16k/<take>.wav``. The motion goes
  through ``motion/smplx_format.load_smplx_motion`` (layout ``beat2``). Take names are
  ``<speaker id>_<speaker>_<type>_<a>_<b>`` (e.g. ``2_scott_0_1_1``).
- **ZEGGS** (Ghorbani et al. 2023, Ubisoft La Forge; CC BY-NC-ND 4.0): per take
  ``<take>.bvh`` and ``<take>.wav`` side by side, names ``<nnn>_<Style>_<k>_...``
  (e.g. ``001_Neutral_0_x_1_0``); the BVH goes through ``motion/convert.py``'s
  conversion to the canonical skeleton.

Both give a :class:`PairedTake` at 30 fps with its audio at 16 kHz (``inference/audio``),
a style label (ZEGGS: the style in the name; BEAT2: the speaker) and the check that
audio and motion last the same (within ``MAX_MISMATCH`` seconds; longer one cut).
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import CadenceError
from ..motion.kinematics import Motion

FPS = 30.0
MAX_MISMATCH = 1.0   # s between audio and motion lengths before a take is refused


class PairedDataError(CadenceError, ValueError):
    """A take cannot be read as paired speech + motion; the message names the file."""


@dataclass
class PairedTake:
    name: str
    corpus: str                  # "beat2" or "zeggs"
    motion: Motion               # canonical skeleton, FPS
    audio: np.ndarray            # 16 kHz mono float32, as long as the motion
    style: str                   # ZEGGS style / BEAT2 speaker
    notes: list[str] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return self.motion.num_frames / self.motion.fps


def _pair(name: str, corpus: str, motion: Motion, wav: Path, style: str, notes: list[str]) -> PairedTake:
    from ..inference.speech.audio import SAMPLE_RATE, AudioError, load_audio
    try:
        audio = load_audio(wav)
    except AudioError as exc:
        raise PairedDataError(f"{name}: {exc}") from None
    motion = motion.resample(FPS)
    seconds = motion.num_frames / FPS
    gap = audio.duration - seconds
    if abs(gap) > MAX_MISMATCH:
        raise PairedDataError(f"{name}: the audio lasts {audio.duration:.2f} s and the motion "
                              f"{seconds:.2f} s; they are not one take")
    frames = min(motion.num_frames, int(audio.duration * FPS))
    if abs(gap) > 1.0 / FPS:
        notes.append(f"lengths differ by {gap:+.2f} s: both cut to {frames / FPS:.2f} s")
    samples = audio.samples[:int(round(frames / FPS * SAMPLE_RATE))]
    return PairedTake(name, corpus, motion.slice(0, frames), samples, style, notes)


def beat2_style(name: str) -> str:
    """The speaker of a BEAT2 take name (``2_scott_0_1_1`` -> ``scott``)."""
    parts = name.split("_")
    return parts[1] if len(parts) >= 2 and parts[0].isdigit() else "unknown"


def zeggs_style(name: str) -> str:
    """The style of a ZEGGS take name (``001_Neutral_0_x_1_0`` -> ``neutral``)."""
    parts = name.split("_")
    return parts[1].lower() if len(parts) >= 2 and parts[0].isdigit() else "unknown"


def read_beat2_take(npz: str | Path, wav: str | Path | None = None) -> PairedTake:
    """One BEAT2 take; ``wav`` defaults to ``../wave16k/<take>.wav`` beside the npz's
    folder, then ``<take>.wav`` next to it."""
    from ..motion.smplx_format import SmplxFormatError, load_smplx_motion
    npz = Path(npz)
    wav = Path(wav) if wav else _find_wav(npz, ("../wave16k", "."))
    try:
        smplx = load_smplx_motion(npz)
    except SmplxFormatError as exc:
        raise PairedDataError(str(exc)) from None
    return _pair(npz.stem, "beat2", smplx.motion, wav, beat2_style(npz.stem), list(smplx.notes))


def read_zeggs_take(bvh: str | Path, wav: str | Path | None = None) -> PairedTake:
    """One ZEGGS take; ``wav`` defaults to ``<take>.wav`` next to the BVH."""
    from ..motion.bvh import read_bvh
    from ..motion.convert import bvh_to_canonical
    bvh = Path(bvh)
    wav = Path(wav) if wav else _find_wav(bvh, (".",))
    try:
        motion = bvh_to_canonical(read_bvh(bvh), fps=FPS)
    except (OSError, ValueError, KeyError) as exc:
        raise PairedDataError(f"{bvh.name}: not a BVH this reader can convert ({exc})") from None
    return _pair(bvh.stem, "zeggs", motion, wav, zeggs_style(bvh.stem), [])


def _find_wav(path: Path, folders: tuple[str, ...]) -> Path:
    for folder in folders:
        candidate = (path.parent / folder / f"{path.stem}.wav").resolve()
        if candidate.is_file():
            return candidate
    raise PairedDataError(f"{path.name}: no audio {path.stem}.wav found "
                          f"(looked in {', '.join(folders)} next to it)")


def find_takes(root: str | Path) -> list[tuple[str, Path]]:
    """(corpus, motion file) of every take under ``root``: BEAT2 ``*.npz`` and ZEGGS
    ``*.bvh``, sorted by path."""
    root = Path(root)
    if not root.is_dir():
        raise PairedDataError(f"{root} is not a folder")
    found = [("beat2", p) for p in root.rglob("*.npz")] + [("zeggs", p) for p in root.rglob("*.bvh")]
    return sorted(found, key=lambda item: str(item[1]))


def read_takes(root: str | Path, skip_bad: bool = True) -> Iterator[PairedTake]:
    """Every readable take under ``root`` (both corpora); unreadable ones are skipped
    with a printed reason when ``skip_bad``, else raise."""
    for corpus, path in find_takes(root):
        try:
            yield read_beat2_take(path) if corpus == "beat2" else read_zeggs_take(path)
        except PairedDataError as exc:
            if not skip_bad:
                raise
            print(f"skipped: {exc}")


def training_pair(take: PairedTake) -> tuple[np.ndarray, np.ndarray]:
    """(features (T, 206) in the learning representation, log-mel (4 T, 80)): what an
    audio-conditioned denoiser trains on, frame-aligned as the face model's input."""
    from ..inference.speech.audio import log_mel
    from ..motion.representation import encode
    features, _ = encode(take.motion)
    mel = log_mel(take.audio, take.motion.fps)
    frames = min(len(features), len(mel) // 4)
    return features[:frames].astype(np.float32), mel[:4 * frames]
