"""onnxruntime sessions: the execution device and thread settings, in one place.

onnxruntime is imported inside the functions so that importing Cadence (and registering
the add-on) never loads it. Every import goes through :func:`import_onnxruntime`, which
turns onnxruntime's telemetry off first: its official builds otherwise create a
persistent device id under ``~/.cache/Microsoft/DeveloperTools`` and may upload usage
events. ``ORT_DISABLE_TELEMETRY=1`` must be in the environment before the library loads
(setting it later has no effect), so it is set when this module is imported and again
before each import; the API switch (``disable_telemetry_events``) is called as well.
Cadence works offline: nothing it runs opens a network connection (tested).
"""
from __future__ import annotations

import os
from collections.abc import Sequence

TELEMETRY_VARIABLE = "ORT_DISABLE_TELEMETRY"
os.environ[TELEMETRY_VARIABLE] = "1"


def import_onnxruntime():
    """The onnxruntime module, with its telemetry off."""
    os.environ[TELEMETRY_VARIABLE] = "1"
    import onnxruntime as ort

    try:
        ort.disable_telemetry_events()
    except (AttributeError, RuntimeError):  # older or telemetry-free builds
        pass
    return ort


def default_providers() -> list[str]:
    """CUDA first when this onnxruntime build offers it, else the CPU provider."""
    ort = import_onnxruntime()

    available = ort.get_available_providers()
    if "CUDAExecutionProvider" in available:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


def create_session(path: str | os.PathLike, *, intra_op_num_threads: int | None = None,
                   providers: Sequence[str] | None = None):
    """An InferenceSession with Cadence's settings (errors-only logging, no telemetry, no
    spinning threads).

    Cadence runs several small sessions in turn (text encoder, denoiser or student,
    decoder; VAD and face for speech): by default each session's threads keep spinning
    after a run, and on a few cores they starve the next session's threads (and
    Blender's). Measured on 2 cores: a fast-sampler clip 80-85 ms with spinning, 39-46
    ms without; a full-sampler clip 266-272 against 205-210 ms (docs/motion_model.md)."""
    ort = import_onnxruntime()

    options = ort.SessionOptions()
    if intra_op_num_threads:
        options.intra_op_num_threads = int(intra_op_num_threads)
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # errors only: no provider fallback chatter
    return ort.InferenceSession(str(path), sess_options=options,
                                providers=list(providers) if providers else default_providers())
