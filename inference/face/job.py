"""Speech -> face as a job for the Blender worker thread (no bpy).

The Generate Face operator copies its inputs into a :class:`FaceSpec` (plain data) and
runs :func:`run_face` in a :class:`FaceJob` (``inference.runtime.jobs.GenerationJob``: the
thread, progress and Esc-cancel machinery Generate uses); the main thread bakes the
returned :class:`~cadence.face.animation.FaceAnimation`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ...face.animation import FaceAnimation
from ..motion.sampler import GenerationCancelled
from ..runtime.jobs import GenerationJob, ProgressFn

STEPS = 1000                 # progress resolution reported to the job


@dataclass
class FaceSpec:
    audio_path: str | Path
    emotions: dict[str, float] = field(default_factory=dict)
    seed: int = 0
    blinks: bool = True
    gaze: bool = True
    head: bool = True
    fps: float | None = None
    weights_dir: str | Path | None = None
    method: str | None = None            # None: inference.face.generate.DEFAULT_METHOD
    transcript: str | None = None
    variations: int = 1                  # GenerationJob reads it


def run_face(spec: FaceSpec, progress: ProgressFn | None = None) -> FaceAnimation:
    """``generate_face`` for ``spec``; ``progress(done, total)`` returning False cancels
    (raises :class:`~inference.motion.sampler.GenerationCancelled` at the next checkpoint)."""
    from .generate import DEFAULT_METHOD, generate_face

    def fraction(f: float) -> None:
        if progress is not None and progress(int(round(f * STEPS)), STEPS) is False:
            raise GenerationCancelled("face generation cancelled")

    return generate_face(spec.audio_path, spec.emotions, seed=spec.seed, fps=spec.fps,
                         weights_dir=spec.weights_dir, method=spec.method or DEFAULT_METHOD,
                         transcript=spec.transcript, blinks=spec.blinks, gaze=spec.gaze,
                         head=spec.head, progress=fraction)


class FaceJob(GenerationJob):
    """:func:`run_face` in a daemon thread, with face-worded progress messages."""

    def __init__(self, spec: FaceSpec):
        super().__init__(spec, runner=run_face)
        self._message = "Reading the speech"

    def _report(self, done: int, total: int) -> bool:
        with self._lock:
            self._progress = done / total if total else 0.0
            self._message = "Lip sync"
        return not self._cancel.is_set()
