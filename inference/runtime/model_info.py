"""What the installed models offer, read cheaply from their metadata (no onnxruntime).

The panel's style sliders, guidance defaults and the speech buttons come from here:
reading a model's small JSON metadata costs well under a millisecond (cached by file
modification time), while opening the model (``MotionModel.load``: SHA-256 check, ONNX
session) happens only when something is generated.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from .model_cache import ModelCache
from .weights import DEFAULT_WEIGHTS_DIR

MOTION_MODEL = "motion_diffusion"
_INFOS: ModelCache[tuple[str, int], ModelInfo] = ModelCache()


@dataclass(frozen=True)
class ModelInfo:
    """The motion model's vocabulary and defaults (from ``motion_diffusion.json``)."""

    weights_dir: Path
    styles: tuple[str, ...] = ()
    defaults: dict = field(default_factory=dict)
    fps: float = 30.0
    version: str = ""
    licence: str = ""
    problem: str | None = None  # why the model cannot be used (None when its files are there)

    @property
    def available(self) -> bool:
        return self.problem is None

    @property
    def max_seconds(self) -> float:
        return float(self.defaults.get("max_seconds", 20.0))


def weights_folder(path: str | os.PathLike | None = None) -> Path:
    """The weights folder: ``path`` when given (``~`` expanded), else the shipped one."""
    text = str(path or "").strip()
    return Path(text).expanduser() if text else DEFAULT_WEIGHTS_DIR


def motion_model_info(weights_dir: str | os.PathLike | None = None) -> ModelInfo:
    """Styles and defaults of the motion model in ``weights_dir`` (never raises: a missing
    or unreadable model gives ``problem``)."""
    wd = weights_folder(weights_dir)
    meta_path = wd / f"{MOTION_MODEL}.json"
    try:
        stamp = meta_path.stat().st_mtime_ns
    except OSError:
        return ModelInfo(wd, problem=f"no motion model in {wd} ({meta_path.name} is missing): "
                                     "set the weights folder in the preferences")
    # Cached per modification time; an answer with a problem is not cached: the files may
    # be copied in a moment later.
    return _INFOS.get((str(meta_path), stamp), lambda: _read_info(wd, meta_path),
                      keep=lambda info: info.available)


def _read_info(wd: Path, meta_path: Path) -> ModelInfo:
    """The info read from ``meta_path``, or one whose ``problem`` says what is missing."""
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        info = ModelInfo(wd, tuple(str(s) for s in meta["styles"]), dict(meta.get("defaults", {})),
                         float(meta.get("fps", 30.0)), str(meta.get("version", "")),
                         str(meta.get("licence", "")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return ModelInfo(wd, problem=f"cannot read {meta_path}: {exc}")
    missing = [n for n in (f"{MOTION_MODEL}.onnx", f"{MOTION_MODEL}_stats.json", "motion_decoder.onnx",
                           "motion_encoder.onnx", "text_encoder.onnx", "text_encoder_tokenizer.json",
                           "manifest.json") if not (wd / n).is_file()]
    if missing:
        return ModelInfo(wd, info.styles, info.defaults, info.fps, info.version, info.licence,
                         problem=f"the weights folder {wd} lacks {', '.join(missing)}")
    return info


def model_files(weights_dir: str | os.PathLike | None, pattern: str) -> list[Path]:
    """Files in the weights folder matching a glob pattern (e.g. ``face*.onnx``)."""
    wd = weights_folder(weights_dir)
    try:
        return sorted(wd.glob(pattern))
    except OSError:
        return []
