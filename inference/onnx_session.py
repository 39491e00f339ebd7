"""onnxruntime sessions: the execution device and thread settings, in one place.

onnxruntime is imported inside the functions so that importing Cadence (and registering
the add-on) never loads it.
"""
from __future__ import annotations

import os
from typing import Sequence


def default_providers() -> list[str]:
    """CUDA first when this onnxruntime build offers it, else the CPU provider."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    if "CUDAExecutionProvider" in available:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


def create_session(path: str | os.PathLike, *, intra_op_num_threads: int | None = None,
                   providers: Sequence[str] | None = None):
    """An InferenceSession with Cadence's settings (errors-only logging)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if intra_op_num_threads:
        options.intra_op_num_threads = int(intra_op_num_threads)
    options.log_severity_level = 3  # errors only: no provider fallback chatter
    return ort.InferenceSession(str(path), sess_options=options,
                                providers=list(providers) if providers else default_providers())
