"""Limits on what Cadence reads and makes (standard library only).

They keep every run's memory bounded and refuse nonsense in one line before any work;
each is listed in docs/guide/troubleshooting.md ("Limits"), which a test keeps in step
with this file.
"""
from __future__ import annotations

import math
import os
import stat

from .errors import LimitError

# Frame rates (frames per second).
MIN_FPS, MAX_FPS = 1.0, 240.0                 # an output's --fps
MIN_SOURCE_FPS, MAX_SOURCE_FPS = 0.1, 10_000.0  # a source's (BVH frame time, --source-fps, npz rate)

# Motion.
MAX_FRAMES = 100_000       # frames in a motion read, made or resampled (55 min at 30 fps)
MAX_BVH_JOINTS = 1_000     # joints in a BVH hierarchy
MAX_BVH_DEPTH = 256        # nesting of BVH joints
MAX_BVH_CHANNELS = 6       # channels per BVH joint
MAX_BVH_VALUE = 1e7        # |OFFSET| and |motion value| in a BVH, in the file's units
MAX_BVH_SAMPLES = 5_000_000  # frames x joints in a BVH (100 joints: 50,000 frames)
MAX_INPUT_BYTES = 256 << 20  # a BVH file (256 MiB)

# SMPL-family .npz.
MAX_NPZ_ARRAY_BYTES = 256 << 20   # one array, decompressed (checked from its header)
MAX_NPZ_TOTAL_BYTES = 512 << 20   # all arrays of one file, decompressed
MAX_NPZ_ARRAYS = 64               # arrays in one file

# Timelines.
MAX_TIMELINE_BYTES = 1 << 20  # a timeline file (1 MiB)
MAX_SEGMENTS = 200            # segments on one timeline
MAX_JSON_DEPTH = 16           # nesting of a timeline JSON

# Text inputs.
MAX_TRANSCRIPT_BYTES = 1 << 20  # a transcript file (1 MiB)

# Audio.
MAX_AUDIO_SECONDS = 1800.0    # speech for the face (gestures: 600 s, the timeline limit)
MAX_AUDIO_SAMPLES = 86_400_000  # decoded samples a channel (30 min at 48 kHz: 346 MB as float32)
MAX_SOURCE_RATE = 384_000     # an audio file's sample rate (Hz)

# Seeds.
MAX_SEED = 2**32 - 1


def in_range(value, low: float, high: float) -> bool:
    """True when ``value`` is a finite number with low <= value <= high (False for NaN)."""
    try:
        v = float(value)
    except (TypeError, ValueError, OverflowError):
        return False
    return math.isfinite(v) and low <= v <= high


def check_input_file(path, what: str, max_bytes: int) -> None:
    """Refuse, without reading it, an input that is not a regular file (a FIFO would
    block) or is larger than ``max_bytes``. A missing file is left to the reader."""
    try:
        st = os.stat(path)
    except OSError:
        return
    if stat.S_ISDIR(st.st_mode):
        raise LimitError(f"{what} {path} is a folder, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise LimitError(f"{what} {path} is not a regular file (a device or pipe?)")
    if st.st_size > max_bytes:
        raise LimitError(f"{what} {path} is {st.st_size / 2**20:.1f} MiB; the limit is "
                         f"{max_bytes / 2**20:.0f} MiB")
