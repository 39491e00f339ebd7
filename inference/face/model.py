"""The learned speech -> mouth model (``weights/face_speech.onnx``) with onnxruntime.

The ONNX graph (made by ``training/train_face.py``) takes ``mel`` (batch, 4T, 80) log-mel
frames from :func:`cadence.inference.speech.audio.log_mel` and returns ``weights`` (batch, T, S)
in 0..1 for the S ARKit mouth shapes named in its metadata (``outputs``). Long audio runs
in chunks with a context margin wider than the model's receptive field, so the result is
the same as one pass while memory stays bounded.

onnxruntime is imported when a model is built; :meth:`FaceSpeechModel.load` verifies the
file against ``weights/manifest.json`` and caches one model per process.
"""
from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ...face.arkit import INDEX, NUM_SHAPES
from ..runtime.model_cache import ModelCache
from ..runtime.onnx_session import create_session
from ..runtime.weights import DEFAULT_WEIGHTS_DIR, verify
from ..speech.audio import FEATURES_PER_FRAME, N_MELS

MODEL_FILE = "face_speech.onnx"
CHUNK_FRAMES = 1800   # 60 s at 30 fps per session run

_MODELS: ModelCache[tuple, FaceSpeechModel] = ModelCache()


class FaceSpeechModel:
    """Log-mel frames -> ARKit mouth curves. Build with :meth:`load` (verified, cached)
    or from a path (no check; the training script uses that on its fresh export)."""

    def __init__(self, path: str | os.PathLike, *, intra_op_num_threads: int | None = None,
                 providers: Sequence[str] | None = None):
        self.path = Path(path)
        self._session = create_session(self.path, intra_op_num_threads=intra_op_num_threads,
                                       providers=providers)
        meta = dict(self._session.get_modelmeta().custom_metadata_map)
        self.metadata = meta
        self.outputs: list[str] = json.loads(meta["outputs"])
        unknown = [n for n in self.outputs if n not in INDEX]
        if unknown:
            raise ValueError(f"{self.path.name}: outputs {unknown} are not ARKit names")
        self.fps = float(meta.get("fps", 30.0))
        self.features_per_frame = int(meta.get("features_per_frame", FEATURES_PER_FRAME))
        self.n_mels = int(meta.get("n_mels", N_MELS))
        if self.features_per_frame != FEATURES_PER_FRAME or self.n_mels != N_MELS:
            raise ValueError(f"{self.path.name} expects {self.n_mels} mels x "
                             f"{self.features_per_frame} per frame; this Cadence computes "
                             f"{N_MELS} x {FEATURES_PER_FRAME}")
        self.receptive_frames = int(meta.get("receptive_frames", 32))
        self.version = meta.get("version", "?")
        self._lock = threading.Lock()

    @classmethod
    def load(cls, weights_dir: str | os.PathLike | None = None, *,
             intra_op_num_threads: int | None = None,
             providers: Sequence[str] | None = None) -> FaceSpeechModel:
        weights_dir = Path(weights_dir) if weights_dir else DEFAULT_WEIGHTS_DIR
        key = (str(weights_dir.resolve()), intra_op_num_threads,
               tuple(providers) if providers else None)

        def load() -> FaceSpeechModel:
            path = weights_dir / MODEL_FILE
            verify(path)
            return cls(path, intra_op_num_threads=intra_op_num_threads, providers=providers)

        return _MODELS.get(key, load)

    @property
    def output_indices(self) -> list[int]:
        """Columns of the ARKit-52 vector the outputs fill."""
        return [INDEX[n] for n in self.outputs]

    def mouth_curves(self, mel: np.ndarray, *, chunk_frames: int = CHUNK_FRAMES,
                     progress: Callable[[float], None] | None = None) -> np.ndarray:
        """``mel`` (4T, 80) -> (T, S) float32, in chunks of ``chunk_frames`` frames."""
        mel = np.ascontiguousarray(mel, dtype=np.float32)
        f = self.features_per_frame
        if mel.ndim != 2 or mel.shape[1] != self.n_mels:
            raise ValueError(f"expected (frames*{f}, {self.n_mels}) features, got {mel.shape}")
        total = len(mel) // f
        out = np.zeros((total, len(self.outputs)), np.float32)
        if total == 0:
            return out
        ctx = self.receptive_frames + 4
        for s in range(0, total, chunk_frames):
            e = min(total, s + chunk_frames)
            a, b = max(0, s - ctx), min(total, e + ctx)
            with self._lock:
                y = self._session.run(None, {"mel": mel[None, a * f:b * f]})[0][0]
            out[s:e] = y[s - a:s - a + (e - s)]
            if progress is not None:
                progress(e / total)
        return out

    def arkit_curves(self, mel: np.ndarray, **kwargs) -> np.ndarray:
        """``mel`` -> (T, 52): the mouth shapes filled, the rest zero."""
        mouth = self.mouth_curves(mel, **kwargs)
        out = np.zeros((len(mouth), NUM_SHAPES), np.float32)
        out[:, self.output_indices] = mouth
        return out
