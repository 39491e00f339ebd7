"""Generation jobs: a timeline + sliders -> canonical motions, runnable in a worker thread.

This is the one function behind the panel's Generate button (synchronously in scripts
and tests, in a thread from the modal operator): :func:`run_generation` takes plain
data (a :class:`GenerationSpec`: a bpy-free :class:`~inference.motion.timeline.Timeline`, slider
values, seed, guidance, the weights folder and execution device) and returns plain data
(:class:`JobResult`: one canonical :class:`~motion.kinematics.Motion` per variation).
Nothing here imports bpy; onnxruntime is imported when the model's session opens.

:class:`GenerationJob` runs it in a daemon thread with progress and cancellation that
the main thread polls (Blender's modal operator reads ``progress`` on a timer and calls
``cancel()`` on Esc); the thread never touches Blender data.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ...errors import CadenceError
from ...motion.kinematics import Motion
from ..motion.sampler import GenerationCancelled
from ..motion.timeline import Timeline
from ..text.prompt_matcher import weak_match_warning

if TYPE_CHECKING:
    import numpy as np

    from ...motion.ground_path import GroundPath

DEVICES = ("AUTO", "CPU", "CUDA")
ProgressFn = Callable[[int, int], "bool | None"]


class DeviceError(CadenceError, RuntimeError):
    """The chosen execution device is not offered by this onnxruntime."""


@dataclass
class GenerationSpec:
    """Everything a generation needs, copied out of Blender (no bpy objects)."""

    timeline: Timeline
    styles: dict[str, float] = field(default_factory=dict)  # default sliders for all segments
    seed: int = 0
    variations: int = 1
    steps: int | None = None              # None: the model's default
    text_guidance: float | None = None
    style_guidance: float | None = None
    weights_dir: str | Path | None = None  # None: the shipped weights/
    threads: int | None = None            # None/0: onnxruntime decides
    device: str = "AUTO"                  # AUTO, CPU or CUDA
    fps: float | None = None              # resample the result (None: the model's rate)
    # Regenerate only some segments (indices into timeline.segments()), keeping the rest of
    # a previous result (its features at the model's rate): inpainting, see compose.regenerate.
    keep: tuple[list[int], np.ndarray] | None = None
    # Walk a path during one segment: (index into timeline.segments(), the path in canonical
    # metres). A path without times is walked at a steady pace from the segment's start to
    # its end (docs/path_control.md, "In Blender").
    path: tuple[int, GroundPath] | None = None
    solver: str | None = None             # "distilled": the fast 2-step student (not with keep)


@dataclass
class JobResult:
    motions: list[Motion]                 # one per variation (seeds seed, seed+1, ...)
    seconds_taken: float
    device: str
    matches: list[list[tuple[str, float]]]  # per segment: known actions nearest its prompt
    truncated: bool                       # some prompt was longer than the encoder reads
    model_fps: float
    seed: int = 0
    features: list = field(default_factory=list)  # per variation (frames, F) at the model's rate
    timeline: Timeline | None = None
    fast: bool = False                    # sampled with the fast (distilled) student


def prompt_readings(result: JobResult) -> list[str]:
    """How each distinct prompt was read, for the panel: "'walk forward' as walk (97 %)"."""
    if result.timeline is None:
        return []
    out, seen = [], set()
    for seg, matches in zip(result.timeline.segments(), result.matches):
        text = seg.text.strip()
        if text in seen or not matches:
            continue
        seen.add(text)
        label, p = matches[0]
        weak = " - matches no known action well" if weak_match_warning(text, matches) else ""
        out.append(f"'{text}' as {label} ({p:.0%}){weak}")
    return out


def providers_for(device: str) -> list[str] | None:
    """onnxruntime providers for a device choice (None = Cadence's default: CUDA when
    offered, else CPU). Raises DeviceError when CUDA is asked for and not offered."""
    device = (device or "AUTO").upper()
    if device not in DEVICES:
        raise DeviceError(f"unknown execution device {device!r}; choose one of {', '.join(DEVICES)}")
    if device == "AUTO":
        return None
    if device == "CPU":
        return ["CPUExecutionProvider"]
    from .onnx_session import import_onnxruntime
    ort = import_onnxruntime()

    available = ort.get_available_providers()
    if "CUDAExecutionProvider" not in available:
        raise DeviceError("CUDA is not available in this onnxruntime (providers: "
                          f"{', '.join(available)}); choose Auto or CPU in the preferences, "
                          "or install onnxruntime-gpu")
    return ["CUDAExecutionProvider", "CPUExecutionProvider"]


def single_prompt(timeline: Timeline) -> bool:
    """One full-body segment from time 0: the plain text-to-motion path (batched
    variations) gives the same as composing it."""
    segs = timeline.segments()
    if len(segs) != 1:
        return False
    seg = segs[0]
    return seg.start <= 1e-9 and abs(timeline.end - seg.end) < 1e-9 and "full_body" in seg.parts


def timed_over(path: GroundPath, seconds: float) -> GroundPath:
    """``path`` walked at a steady pace in ``seconds``: its times proportional to the arc
    length (a path that has times keeps them)."""
    from ...motion.ground_path import PathError
    if path.times is not None:
        return path
    if not seconds > 0:
        raise PathError("the path's prompt needs a duration to walk it in")
    return path.steady(seconds)


def segment_path(model, timeline: Timeline, index: int, path: GroundPath):
    """The sampler's constraint (``inference.motion.path_follow.PathFollow``) for ``path``
    walked during segment ``index`` of ``timeline``, at the model's frame rate: the first
    point on the segment's first frame and, for a path without times, the last point on
    the segment's last frame (the one before its end, which belongs to what follows)."""
    from ...motion.ground_path import PathError
    from ..motion.path_follow import PathFollow
    segments = timeline.segments()
    if not 0 <= index < len(segments):
        raise PathError(f"the path belongs to segment {index + 1}, but the timeline has {len(segments)}")
    seg, fps = segments[index], float(model.fps)
    first, last = int(round(seg.start * fps)), int(round(seg.end * fps))
    if last - first < 2:
        raise PathError(f"{seg.describe()} is too short to walk a path")
    return PathFollow(timed_over(path, (last - 1 - first) / fps), model.normalizer, fps, first, last)


def run_generation(spec: GenerationSpec, progress: ProgressFn | None = None) -> JobResult:
    """Generate ``spec.variations`` motions for the timeline.

    ``progress(done, total)`` is called after every sampling step (steps x variations
    in all); returning False raises :class:`~inference.motion.sampler.GenerationCancelled`.
    With ``spec.path`` the timeline is always composed (never the single-prompt route),
    the path imposed on its segment's frames at every step (:func:`segment_path`).
    Raises WeightsError, GenerationError, TimelineError or DeviceError with a message fit
    for the user.
    """
    from ..motion.compose import compose, regenerate
    from ..motion.model import GenerationError, GenerationRequest, MotionModel

    t0 = time.perf_counter()
    timeline = spec.timeline.validate()
    variations = int(spec.variations)
    if not 1 <= variations <= 64:
        raise GenerationError("variations must be between 1 and 64")
    model = MotionModel.load(spec.weights_dir, threads=spec.threads or None,
                             providers=providers_for(spec.device))
    solver = model.sampling_solver(spec.solver)
    steps = model.sampling_steps(spec.steps, solver)
    if progress is not None and progress(0, steps * variations) is False:
        raise GenerationCancelled("generation cancelled")

    path = None if spec.path is None else segment_path(model, timeline, spec.path[0], spec.path[1])
    if (spec.keep is None and path is None and single_prompt(timeline)
            and timeline.end <= model.max_seconds):
        seg = timeline.segments()[0]
        request = GenerationRequest(seg.text, timeline.end, dict(seg.style or spec.styles), spec.seed,
                                    steps, spec.text_guidance, spec.style_guidance, solver=solver)
        def batched(done: int, total: int) -> bool | None:  # all variations in one batch
            return None if progress is None else progress(done * variations, total * variations)
        results = model.generate(request, progress=batched, variations=variations)
        motions = [r.motion for r in results]
        features = [r.features for r in results]
        matches, truncated, device = [results[0].matches], results[0].truncated, results[0].device
    elif solver == "distilled" and spec.keep is not None:
        raise GenerationError("Fast Preview samples whole timelines: turn it off to regenerate one prompt")
    else:
        motions, features, matches, truncated, device = [], [], [], False, "CPU"
        for i in range(variations):
            def step(done: int, total: int, _i: int = i) -> bool | None:
                return None if progress is None else progress(_i * total + done, variations * total)
            common = dict(steps=steps, text_guidance=spec.text_guidance,
                          style_guidance=spec.style_guidance, styles=dict(spec.styles), progress=step,
                          path=path, solver=solver)
            if spec.keep is not None:
                segments, previous = spec.keep
                r = regenerate(model, timeline, previous, list(segments), seed=spec.seed + i, **common)
            else:
                r = compose(model, timeline, seed=spec.seed + i, **common)
            motions.append(r.motion)
            features.append(r.features)
            matches, truncated, device = r.matches, any(r.truncated), r.device
    if spec.fps and spec.fps > 0:
        motions = [m.resample(float(spec.fps)) for m in motions]
    return JobResult(motions, time.perf_counter() - t0, device, matches, truncated, model.fps, spec.seed,
                     features, timeline, fast=solver == "distilled")


class GenerationJob:
    """:func:`run_generation` in a daemon thread; the main thread polls it.

    ``progress`` (0..1), ``message``, ``done``, ``result`` and ``error`` are read by the
    main thread; ``cancel()`` asks the worker to stop after the current sampling step
    (``cancelled`` is then True and ``result`` None).
    """

    def __init__(self, spec: GenerationSpec,
                 runner: Callable[[GenerationSpec, ProgressFn], JobResult] = run_generation):
        self.spec = spec
        self._runner = runner
        self._cancel = threading.Event()
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._progress = 0.0
        self._message = "Loading the model"
        self.result: JobResult | None = None
        self.error: BaseException | None = None
        self.cancelled = False
        self.started = 0.0
        self._thread = threading.Thread(target=self._run, name="cadence-generate", daemon=True)

    # --- main thread --------------------------------------------------------------
    def start(self) -> GenerationJob:
        self.started = time.perf_counter()
        self._thread.start()
        return self

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    @property
    def progress(self) -> float:
        with self._lock:
            return self._progress

    @property
    def message(self) -> str:
        with self._lock:
            return self._message

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started if self.started else 0.0

    # --- worker thread ------------------------------------------------------------
    def _report(self, done: int, total: int) -> bool:
        with self._lock:
            self._progress = done / total if total else 0.0
            v = self.spec.variations
            self._message = (f"Sampling, step {min(done, total)} of {total}" +
                             (f" ({v} variations)" if v > 1 else ""))
        return not self._cancel.is_set()

    def _run(self) -> None:
        try:
            self.result = self._runner(self.spec, self._report)
            if self._cancel.is_set():  # cancelled after the last step: drop the result
                self.result, self.cancelled = None, True
        except GenerationCancelled:
            self.cancelled = True
        except BaseException as exc:  # reported by the main thread
            self.error = exc
        finally:
            with self._lock:
                self._progress = 1.0 if self.result is not None else self._progress
                self._message = ("Cancelled" if self.cancelled else "Failed" if self.error else "Done")
            self._done.set()
