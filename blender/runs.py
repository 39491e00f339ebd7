"""The generators' runs on the main thread: the one job running now, and the last runs'
results kept in memory so that the preview can step through their variations.

One generation (text, gestures or face) runs at a time: :func:`start_job` starts its
worker thread and the panel and operators ask :func:`active_run` whether one is going.
A finished run is kept (:func:`keep_run`, the last :data:`MAX_RUNS_KEPT`) under its
token, which the scene's result summary stores; after a file reload the token finds
nothing and the variations are gone.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from ..inference.runtime.jobs import GenerationJob, GenerationSpec, JobResult
from ..motion.canonical_to_rig import RetargetOptions

MAX_RUNS_KEPT = 4


@dataclass
class RunContext:
    """What the main thread needs to apply a run's result (plain data)."""

    scene: str
    target: str
    origin: int
    fps: float
    layout: list[dict]
    options: RetargetOptions
    allow_driven: bool
    play: bool
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    warnings: list[str] = field(default_factory=list)  # reported by the operator, not errors
    path_index: int | None = None  # the segment that walks a path
    targets: list = field(default_factory=list)  # object_targets.ObjectTarget s, applied on arrival


@dataclass
class Run:
    context: RunContext
    result: JobResult


_RUNS: dict[str, Run] = {}
_ACTIVE: list[tuple[GenerationJob, RunContext]] = []


def keep_run(run: RunContext, result: JobResult) -> None:
    """Keep a finished run's variations in memory (the oldest beyond MAX_RUNS_KEPT go)."""
    _RUNS[run.token] = Run(run, result)
    while len(_RUNS) > MAX_RUNS_KEPT:
        _RUNS.pop(next(iter(_RUNS)))


def kept_run(token: str) -> Run | None:
    """The kept run with ``token``, or None (never kept, dropped, or the file reloaded)."""
    return _RUNS.get(token)


def start_job(spec: GenerationSpec, run: RunContext | None,
              job: GenerationJob | None = None) -> GenerationJob:
    """Start ``job`` (default: a text generation of ``spec``) in its worker thread as the
    one running job."""
    job = (job or GenerationJob(spec)).start()
    _ACTIVE[:] = [(job, run)]
    return job


def active_run() -> tuple[GenerationJob, RunContext | None] | None:
    """(job, its run context) of the generation running now, or None."""
    return _ACTIVE[0] if _ACTIVE else None


def end_job(job: GenerationJob) -> None:
    """The modal operator is done with ``job``: another generation may start."""
    if _ACTIVE and _ACTIVE[0][0] is job:
        _ACTIVE.clear()


def cancel_active() -> bool:
    """Ask the running generation to stop (the modal operator cleans up)."""
    current = active_run()
    if current is None:
        return False
    current[0].cancel()
    return True
