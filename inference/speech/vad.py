"""Voice activity: where in a recording someone speaks (silero-vad's ONNX model).

``weights/silero_vad.onnx`` is the model file of the ``silero-vad`` wheel (MIT, model
card ``weights/silero_vad.md``), unmodified. The package itself needs torch; this module
runs the same model with onnxruntime and re-implements its small streaming loop and the
segmenting rules of ``get_speech_timestamps`` in numpy:

- the model reads 512 samples at 16 kHz (32 ms) plus the previous window's last 64
  samples as context, and carries a (2, 1, 128) recurrent state from window to window;
- speech starts where the probability reaches ``threshold`` and ends where it falls
  below ``threshold - 0.15`` for at least ``min_silence`` seconds; shorter bursts than
  ``min_speech`` are dropped and every segment is padded by ``pad`` seconds each side.

    from cadence.inference.speech.vad import detect_speech
    activity = detect_speech(audio)          # audio: inference.speech.audio.Audio at 16 kHz
    activity.segments                        # [(start_s, end_s), ...]
    activity.frame_mask(30.0, frames)        # (frames,) bool, speaking per animation frame
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..runtime.model_cache import ModelCache
from ..runtime.onnx_session import create_session
from ..runtime.weights import DEFAULT_WEIGHTS_DIR, verify
from .audio import SAMPLE_RATE

MODEL_FILE = "silero_vad.onnx"
WINDOW = 512            # samples per model call at 16 kHz
CONTEXT = 64            # samples of the previous window the model also reads
HOP_SECONDS = WINDOW / SAMPLE_RATE

_SESSIONS: ModelCache[str, object] = ModelCache()


def _session(weights_dir: str | os.PathLike | None = None):
    path = Path(weights_dir or DEFAULT_WEIGHTS_DIR) / MODEL_FILE
    key = str(path.resolve())

    def load():
        verify(path)
        # A tiny recurrent model called once per 32 ms: one thread is fastest.
        return create_session(path, intra_op_num_threads=1, providers=["CPUExecutionProvider"])

    return _SESSIONS.get(key, load)


def speech_probabilities(samples: np.ndarray, weights_dir: str | os.PathLike | None = None
                         ) -> np.ndarray:
    """Probability of speech per 32 ms window of 16 kHz mono ``samples`` (the last
    partial window is zero-padded)."""
    session = _session(weights_dir)
    x = np.asarray(samples, np.float32)
    n = -(-len(x) // WINDOW)
    padded = np.zeros(CONTEXT + n * WINDOW, np.float32)
    padded[CONTEXT:CONTEXT + len(x)] = x
    state = np.zeros((2, 1, 128), np.float32)
    rate = np.array(SAMPLE_RATE, np.int64)
    out = np.empty(n, np.float32)
    for i in range(n):
        chunk = padded[i * WINDOW:i * WINDOW + CONTEXT + WINDOW][None]
        prob, state = session.run(None, {"input": chunk, "state": state, "sr": rate})
        out[i] = prob[0, 0]
    return out


def segments_from_probabilities(probs: np.ndarray, duration: float, threshold: float = 0.5,
                                min_speech: float = 0.25, min_silence: float = 0.1,
                                pad: float = 0.03) -> list[tuple[float, float]]:
    """Speech intervals in seconds from per-window probabilities (silero's rules)."""
    low = max(threshold - 0.15, 0.01)
    raw: list[list[float]] = []
    speaking, start, quiet_since = False, 0.0, None
    for i, p in enumerate(probs):
        t = i * HOP_SECONDS
        if not speaking:
            if p >= threshold:
                speaking, start, quiet_since = True, t, None
            continue
        if p >= threshold:
            quiet_since = None
        elif p < low:
            quiet_since = t if quiet_since is None else quiet_since
            if t + HOP_SECONDS - quiet_since >= min_silence:
                raw.append([start, quiet_since])
                speaking = False
    if speaking:
        raw.append([start, len(probs) * HOP_SECONDS])
    kept = [[max(0.0, a - pad), min(duration, b + pad)] for a, b in raw if b - a >= min_speech]
    merged: list[list[float]] = []
    for a, b in kept:
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [(float(a), float(b)) for a, b in merged]


@dataclass
class VoiceActivity:
    probabilities: np.ndarray            # per 32 ms window
    segments: list[tuple[float, float]]  # speech intervals, seconds
    duration: float

    @property
    def speech_seconds(self) -> float:
        return float(sum(b - a for a, b in self.segments))

    def frame_mask(self, fps: float, frames: int | None = None) -> np.ndarray:
        """(frames,) True where an animation frame's centre lies inside speech."""
        frames = int(round(self.duration * fps)) if frames is None else int(frames)
        centres = (np.arange(frames) + 0.5) / fps
        mask = np.zeros(frames, bool)
        for a, b in self.segments:
            mask |= (centres >= a) & (centres < b)
        return mask


def detect_speech(audio, threshold: float = 0.5, min_speech: float = 0.25,
                  min_silence: float = 0.1, pad: float = 0.03,
                  weights_dir: str | os.PathLike | None = None) -> VoiceActivity:
    """Voice activity of an :class:`~cadence.inference.speech.audio.Audio` (16 kHz mono)."""
    if audio.sample_rate != SAMPLE_RATE:
        raise ValueError(f"voice activity needs {SAMPLE_RATE} Hz audio (load_audio resamples)")
    probs = speech_probabilities(audio.samples, weights_dir)
    segs = segments_from_probabilities(probs, audio.duration, threshold, min_speech, min_silence, pad)
    return VoiceActivity(probs, segs, audio.duration)
