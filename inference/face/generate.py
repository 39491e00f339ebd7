"""Speech -> face: audio file in, :class:`~cadence.face.animation.FaceAnimation` out.

    from cadence.inference.face.generate import generate_face
    anim = generate_face("line.wav", emotions={"happy": 0.8}, seed=1)
    anim.weights   # (T, 52) ARKit in Apple's order; anim.head (T, 3), anim.eyes (T, 4)

Three ways to the jaw and lips (``method``):

- ``"learned"``: the model trained on FACEGOOD (``weights/face_speech.onnx``,
  onnxruntime), from the log-mel spectrum; any language, no phoneme knowledge.
- ``"phoneme"``: English phone recognition (pocketsphinx, ``inference/speech/transcribe.py``;
  forced alignment when the ``transcript`` is given), then visemes with coarticulation
  (``face/visemes.py``): exact p/b/m closures, f/v and rounding.
- ``"blend"``: the mean of the two mouth tracks (:data:`BLEND_LEARNED` of the learned
  one), with the phoneme timeline's p/b/m closures and f/v tucks enforced on the result.

Emotion offsets, blinks, gaze and head motion are laid on top (``face/expression.py``,
procedural and seeded: the same seed gives the same performance).
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from ...face import expression as X
from ...face import visemes as V
from ...face.animation import FaceAnimation
from ...face.arkit import INDEX, MOUTH_SHAPES
from ..speech.audio import Audio, energy_envelope, load_audio, log_mel, num_frames
from .model import FaceSpeechModel

METHODS: tuple[str, ...] = ("learned", "phoneme", "blend")
DEFAULT_METHOD = "blend"
BLEND_LEARNED = 0.75         # share of the learned track in "blend" (see docs/face.md)
MODEL_FPS = 30.0             # the animation rate of the phoneme path (the model's rate)
_MOUTH = np.array([INDEX[n] for n in MOUTH_SHAPES] + [INDEX["tongueOut"]])


def generate_face(source: str | os.PathLike | Audio,
                  emotions: str | Mapping[str, float] | None = None, *,
                  seed: int = 0, fps: float | None = None,
                  weights_dir: str | os.PathLike | None = None,
                  model: FaceSpeechModel | None = None,
                  method: str = DEFAULT_METHOD, transcript: str | None = None,
                  blinks: bool = True, gaze: bool = True, head: bool = True,
                  head_scale: float = 1.0,
                  progress: Callable[[float], None] | None = None) -> FaceAnimation:
    """Animate a face from speech.

    ``source``: an audio path (see :func:`~cadence.inference.speech.audio.load_audio` for the
    formats and the errors it raises) or loaded :class:`Audio`. ``emotions``: slider
    weights (``{"happy": 0.8}`` or ``"happy=0.8,sad=0.2"``; names in
    :data:`cadence.face.expression.EMOTIONS`). ``method``: one of :data:`METHODS` (see
    the module doc). ``transcript``: the English text spoken, if known (phoneme and
    blend: aligned instead of recognised). ``fps``: output frame rate (default the
    model's, 30). ``progress`` gets 0..1 (reading is the first 30%).
    """
    started = time.perf_counter()
    if method not in METHODS:
        raise ValueError(f"unknown face method {method!r}; choose one of {', '.join(METHODS)}")
    emotions = X.parse_emotions(emotions)
    if isinstance(source, Audio):
        audio = source
    else:
        audio = load_audio(Path(source),
                           progress=(lambda f: progress(0.3 * f)) if progress else None)
    stage = _stages(progress, method)
    info: dict = {}
    warnings = list(audio.warnings)
    learned = phoneme = phones = None
    if method != "phoneme":
        model = model or FaceSpeechModel.load(weights_dir)
        rate = model.fps
        learned = model.arkit_curves(log_mel(audio.samples, rate), progress=stage("learned"))
        info["model_version"] = model.version
    else:
        rate = MODEL_FPS
    if method != "learned":
        from ..speech.transcribe import transcribe
        found = transcribe(audio, transcript, words=False, progress=stage("phoneme"))
        phones = found.phones
        frames = len(learned) if learned is not None else num_frames(len(audio.samples), rate)
        phoneme = V.phoneme_curves(phones, rate, frames)
        info["phones"] = len([p for p in phones if p.label != "SIL"])
        info["aligned"] = found.aligned
        warnings += found.warnings
    weights = combine_mouth(learned, phoneme, phones, rate)
    frames = len(weights)
    energy = energy_envelope(audio.samples, rate)[:frames]
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

    anim = FaceAnimation(weights, head_rot, eyes, rate, warnings, {
        "audio_seconds": audio.duration, "source_rate": audio.source_rate,
        "method": method, "emotions": emotions, "seed": seed, **info,
    })
    if fps is not None and abs(fps - rate) > 1e-9:
        anim = anim.resample(fps)
    anim.info["seconds_taken"] = time.perf_counter() - started
    if progress:
        progress(1.0)
    return anim


def combine_mouth(learned: np.ndarray | None, phoneme: np.ndarray | None, phones,
                  rate: float, share: float = BLEND_LEARNED) -> np.ndarray:
    """The (T, 52) mouth track of a method: either track alone, or ``share`` of the
    learned one plus the rest of the phoneme one, with the phones' closures enforced."""
    if phoneme is None:
        return learned
    if learned is None:
        return phoneme
    out = np.array(learned, dtype=np.float32, copy=True)
    out[:, _MOUTH] = share * learned[:, _MOUTH] + (1 - share) * phoneme[:, _MOUTH]
    return V.enforce_closures(out, phones, rate)


def _stages(progress: Callable[[float], None] | None, method: str):
    """Progress callbacks for the stages after reading (0.3 .. 0.95)."""
    share = {"learned": {"learned": (0.3, 0.95)}, "phoneme": {"phoneme": (0.3, 0.95)},
             "blend": {"learned": (0.3, 0.45), "phoneme": (0.45, 0.95)}}[method]

    def stage(name: str):
        if progress is None:
            return None
        a, b = share[name]
        return lambda f: progress(a + (b - a) * f)
    return stage
