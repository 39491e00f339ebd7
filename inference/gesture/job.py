"""Speech -> gestures (and the face) as a job for the Blender worker thread (no bpy).

The panel's Generate Gestures button copies its inputs into a :class:`GestureSpec`
(plain data) and runs :func:`run_gestures` in a :class:`~inference.runtime.jobs.GenerationJob`
(the same thread, progress and cancel machinery as Generate); the main thread previews
``result.motions[0]`` on the target armature like any generation, and bakes
``result.face`` on the face mesh when the face was asked for too (both from one audio
read, in sync). ``mode="listening"`` makes the other character of a dialogue instead
(``inference/gesture/listening.py``: idle, nods, posture shifts; no face).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from ..motion.sampler import GenerationCancelled
from ..runtime.jobs import JobResult, ProgressFn, providers_for


@dataclass
class GestureSpec:
    audio_path: str | Path
    transcript: str | None = None            # what was said (aligned) or None (recognised)
    recognise: bool = True
    styles: dict[str, float] | None = None   # None: estimated from the voice
    semantic_amount: float = 0.5
    beat_strength: float = 1.0
    seed: int = 0
    steps: int | None = None
    weights_dir: str | Path | None = None
    threads: int | None = None
    device: str = "AUTO"
    fps: float | None = None                 # resample the result (the scene's rate)
    face: bool = False                       # also animate the face from the same audio
    face_emotions: dict[str, float] = field(default_factory=dict)
    variations: int = 1                      # GenerationJob reads it; gestures make one
    mode: str = "speaking"                   # or "listening": the other character, nodding to this voice
    solver: str | None = None                # "distilled": the fast 2-step student (speaking only)

MODES = ("speaking", "listening")


@dataclass
class GestureJobResult(JobResult):
    face: object | None = None               # face.animation.FaceAnimation when asked for
    semantic: list[str] = field(default_factory=list)   # "wave at 1.20 s ('hello')"
    styles: dict[str, float] = field(default_factory=dict)
    styles_estimated: bool = False
    warnings: list[str] = field(default_factory=list)


def run_gestures(spec: GestureSpec, progress: ProgressFn | None = None) -> GestureJobResult:
    """Gestures (and the face) for ``spec``; ``progress(done, total)`` as in
    :func:`~inference.runtime.jobs.run_generation` (False cancels)."""
    from ..motion.model import MotionModel
    from ..motion.timeline import MAX_SECONDS
    from ..speech.audio import load_audio
    from .generate import generate_gestures
    from .guidance import BeatSettings

    if spec.mode not in MODES:
        raise ValueError(f"gesture mode must be one of {', '.join(MODES)}, not {spec.mode!r}")
    t0 = time.perf_counter()
    total = 100

    def fraction(f: float) -> bool | None:
        return None if progress is None else progress(int(round(f * total)), total)

    audio = load_audio(Path(spec.audio_path), max_seconds=MAX_SECONDS)
    model = MotionModel.load(spec.weights_dir, threads=spec.threads or None,
                             providers=providers_for(spec.device))
    if spec.mode == "listening":
        return _run_listening(spec, audio, model, fraction, t0)
    face_share = 0.1 if spec.face else 0.0
    result = generate_gestures(audio, spec.transcript, recognise=spec.recognise, styles=spec.styles,
                               semantic_amount=spec.semantic_amount,
                               beat=BeatSettings(scale=spec.beat_strength), seed=spec.seed,
                               steps=spec.steps, model=model, weights_dir=spec.weights_dir,
                               progress=lambda f: fraction((1.0 - face_share) * f), solver=spec.solver)
    face = None
    if spec.face:
        from ..face.generate import generate_face
        face = generate_face(audio, spec.face_emotions, seed=spec.seed, fps=spec.fps,
                             weights_dir=spec.weights_dir)
        if fraction(1.0) is False:
            raise GenerationCancelled("generation cancelled")
    motion = result.motion.resample(float(spec.fps)) if spec.fps and spec.fps > 0 else result.motion
    semantic = [f"{p.gesture.name} at {p.word_start:.2f} s ({p.phrase!r})" for p in result.plan.semantic]
    return GestureJobResult([motion], time.perf_counter() - t0, model.device, [], False, model.fps,
                            spec.seed, [result.features], result.plan.timeline, face=face,
                            semantic=semantic, styles=dict(result.styles),
                            styles_estimated=result.style_estimate is not None,
                            warnings=list(result.warnings), fast=spec.solver == "distilled")


def _run_listening(spec: GestureSpec, audio, model, fraction, t0: float) -> GestureJobResult:
    """The listener's motion (no face: a listener's face is left as it is)."""
    from .listening import generate_listening
    result = generate_listening(audio, seed=spec.seed, steps=spec.steps, model=model,
                                weights_dir=spec.weights_dir, progress=fraction)
    motion = result.motion.resample(float(spec.fps)) if spec.fps and spec.fps > 0 else result.motion
    nods = [f"{'double nod' if n.double else 'nod'} at {n.start:.2f} s ({n.cause})" for n in result.nods]
    return GestureJobResult([motion], time.perf_counter() - t0, model.device, [], False, model.fps,
                            spec.seed, [result.features], result.timeline, face=None, semantic=nods,
                            warnings=list(result.warnings))
