"""Speech -> face: audio file in, :class:`~cadence.face.animation.FaceAnimation` out.

    from cadence.inference.face import generate_face
    anim = generate_face("line.wav", emotions={"happy": 0.8}, seed=1)
    anim.weights   # (T, 52) ARKit in Apple's order; anim.head (T, 3), anim.eyes (T, 4)

The learned model (``weights/face_speech.onnx``, onnxruntime) gives the jaw and lips;
emotion offsets, blinks, gaze and head motion are laid on top (``face/expression.py``,
procedural and seeded: the same seed gives the same performance).
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

from ..face import expression as X
from ..face.animation import FaceAnimation
from ..face.arkit import INDEX
from .audio import Audio, energy_envelope, load_audio, log_mel
from .face_model import FaceSpeechModel


def generate_face(source: str | os.PathLike | Audio,
                  emotions: str | Mapping[str, float] | None = None, *,
                  seed: int = 0, fps: float | None = None,
                  weights_dir: str | os.PathLike | None = None,
                  model: FaceSpeechModel | None = None,
                  blinks: bool = True, gaze: bool = True, head: bool = True,
                  head_scale: float = 1.0,
                  progress: Callable[[float], None] | None = None) -> FaceAnimation:
    """Animate a face from speech.

    ``source``: an audio path (see :func:`~cadence.inference.audio.load_audio` for the
    formats and the errors it raises) or loaded :class:`Audio`. ``emotions``: slider
    weights (``{"happy": 0.8}`` or ``"happy=0.8,sad=0.2"``; names in
    :data:`cadence.face.expression.EMOTIONS`). ``fps``: output frame rate (default the
    model's, 30). ``progress`` gets 0..1 (reading is the first 30%).
    """
    started = time.perf_counter()
    emotions = X.parse_emotions(emotions)
    if isinstance(source, Audio):
        audio = source
    else:
        audio = load_audio(Path(source),
                           progress=(lambda f: progress(0.3 * f)) if progress else None)
    model = model or FaceSpeechModel.load(weights_dir)
    rate = model.fps
    mel = log_mel(audio.samples, rate)
    energy = energy_envelope(audio.samples, rate)
    weights = model.arkit_curves(
        mel, progress=(lambda f: progress(0.3 + 0.65 * f)) if progress else None)
    frames = len(weights)
    energy = energy[:frames]
    rng = np.random.default_rng(seed)

    weights = X.apply_emotions(weights, emotions, energy, rate)
    eyes = np.zeros((frames, 4), np.float32)
    if gaze:
        angles = X.gaze_angles(frames, rate, rng, energy)
        eyes[:, 0:2] = angles
        eyes[:, 2:4] = angles
        for name, curve in X.gaze_shapes(angles).items():
            k = INDEX[name]
            weights[:, k] = np.clip(weights[:, k] + curve, 0, 1)
        down = np.clip(-angles[:, 1] / 30.0, 0, 1)
    else:
        down = np.zeros(frames, np.float32)
    lid = 0.3 * down
    if blinks:
        lid = np.maximum(lid, X.blink_curve(frames, rate, rng, energy))
    for name in ("eyeBlinkLeft", "eyeBlinkRight"):
        k = INDEX[name]
        weights[:, k] = np.clip(np.maximum(weights[:, k], lid), 0, 1)
    head_rot = (X.head_angles(frames, rate, rng, energy, head_scale) if head
                else np.zeros((frames, 3), np.float32))

    anim = FaceAnimation(weights, head_rot, eyes, rate, list(audio.warnings), {
        "audio_seconds": audio.duration, "source_rate": audio.source_rate,
        "model_version": model.version, "emotions": emotions, "seed": seed,
    })
    if fps is not None and abs(fps - rate) > 1e-9:
        anim = anim.resample(fps)
    anim.info["seconds_taken"] = time.perf_counter() - started
    if progress:
        progress(1.0)
    return anim
