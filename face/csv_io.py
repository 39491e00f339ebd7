"""The face CSV: a header row, then one row per frame.

Columns: ``time`` (seconds), the 52 ARKit weights in Apple's order (camelCase names,
0..1), ``headYaw, headPitch, headRoll`` and ``leftEyeYaw, leftEyePitch, rightEyeYaw,
rightEyePitch`` in degrees (yaw + toward the character's left, pitch + up, roll + toward
its left shoulder). This is the Live Link Face layout with a seconds column instead of
its timecode and ``BlendShapeCount`` columns, Apple's order instead of its two swapped
left/right pairs, and degrees. :func:`read_face_csv` also reads PascalCase or snake_case
headers in any column order.

Writing is atomic (``output_file.py``): a temporary file in the same folder, with the
user's normal file mode, is renamed over the target only when complete, so a failure
never leaves a partial CSV.
"""
from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

from ..errors import CadenceError
from ..output_file import open_output
from .animation import EYE_COLUMNS, HEAD_COLUMNS, FaceAnimation
from .arkit import ARKIT_NAMES, NUM_SHAPES, arkit_name, normalize

HEADER: tuple[str, ...] = ("time",) + ARKIT_NAMES + HEAD_COLUMNS + EYE_COLUMNS


class FaceCsvError(CadenceError, ValueError):
    """A face CSV cannot be read."""


def write_face_csv(path: str | os.PathLike, anim: FaceAnimation) -> Path:
    """Write ``anim`` to ``path`` atomically; returns the path."""
    path = Path(path)
    table = np.concatenate([anim.times[:, None], anim.weights, anim.head, anim.eyes], axis=1)
    fmt = ["%.6f"] + ["%.4f"] * NUM_SHAPES + ["%.3f"] * (len(HEAD_COLUMNS) + len(EYE_COLUMNS))
    with open_output(path, "w", what="", example="face.csv", newline="") as handle:
        handle.write(",".join(HEADER) + "\n")
        np.savetxt(handle, table, fmt=fmt, delimiter=",")
    return path


def read_face_csv(path: str | os.PathLike, fps: float | None = None) -> FaceAnimation:
    """Read a face CSV (ours, or any with ARKit-named columns). Missing ARKit columns are
    zero; the frame rate comes from the time column unless ``fps`` is given."""
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError) as exc:
        raise FaceCsvError(f"cannot read {path}: {exc}") from None
    if len(rows) < 2:
        raise FaceCsvError(f"{path}: no frames (need a header row and at least one row)")
    header = [h.strip() for h in rows[0]]
    try:
        data = np.array([[float(v) for v in row] for row in rows[1:] if row], dtype=np.float64)
    except ValueError as exc:
        raise FaceCsvError(f"{path}: a value is not a number ({exc})") from None
    if data.ndim != 2 or data.shape[1] != len(header):
        raise FaceCsvError(f"{path}: rows do not all have {len(header)} columns")
    weights = np.zeros((len(data), NUM_SHAPES), np.float32)
    found = 0
    extra = {normalize(c): c for c in HEAD_COLUMNS + EYE_COLUMNS}
    head = np.zeros((len(data), 3), np.float32)
    eyes = np.zeros((len(data), 4), np.float32)
    time_col = None
    for j, name in enumerate(header):
        key = arkit_name(name)
        if key is not None:
            weights[:, ARKIT_NAMES.index(key)] = data[:, j]
            found += 1
        elif normalize(name) in extra:
            col = extra[normalize(name)]
            if col in HEAD_COLUMNS:
                head[:, HEAD_COLUMNS.index(col)] = data[:, j]
            else:
                eyes[:, EYE_COLUMNS.index(col)] = data[:, j]
        elif normalize(name) in ("time", "seconds", "time s"):
            time_col = j
    if found == 0:
        raise FaceCsvError(f"{path}: no ARKit-named columns in the header")
    if fps is None:
        if time_col is None or len(data) < 2:
            fps = 30.0
        else:
            times = data[:, time_col]
            if not np.all(np.diff(times) > 0):
                raise FaceCsvError(f"{path}: the time column does not increase")
            fps = float(round((len(times) - 1) / (times[-1] - times[0]), 3))
    return FaceAnimation(np.clip(weights, 0, 1), head, eyes, fps)
