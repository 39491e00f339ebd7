"""Text encoder: prompt text -> 384-d sentence embedding (all-MiniLM-L6-v2 in ONNX).

The ONNX graph (made by ``training/export_text_encoder.py``) takes ``input_ids`` and
``attention_mask`` (int64, shape batch x tokens) and returns ``sentence_embedding``
(float32, batch x 384): mean-pooled over the real tokens and L2-normalised inside the
graph, so this module only tokenises, pads and runs the session.

onnxruntime and tokenizers are imported when an encoder is built, never when this module
is imported, so Blender's register() and the CLI's --help stay fast. Encoders made by
:meth:`TextEncoder.load` are cached per process: repeated loads reuse one session.

    from cadence.inference.text.encoder import TextEncoder
    encoder = TextEncoder.load()                     # weights/ of this checkout
    vectors = encoder.encode(["a person jogs forward"])           # (1, 384) float32
    vectors, truncated = encoder.encode_with_info(prompts)        # warn where truncated
"""
from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..runtime.model_cache import ModelCache
from ..runtime.onnx_session import create_session
from ..runtime.weights import DEFAULT_WEIGHTS_DIR, verify

MODEL_FILE = "text_encoder.onnx"
TOKENIZER_FILE = "text_encoder_tokenizer.json"
EMBEDDING_DIM = 384
# sentence-transformers' max_seq_length for all-MiniLM-L6-v2 (the model was trained on
# 128-token inputs; positions go to 512). The ONNX file's metadata can override it.
DEFAULT_MAX_LENGTH = 256
DEFAULT_BATCH_SIZE = 32
RECENT_PROMPTS = 256  # embeddings kept per encoder for prompts read again

_ENCODERS: ModelCache[tuple, TextEncoder] = ModelCache()


class TextEncoder:
    """An ONNX sentence encoder with its tokenizer.

    Build one with :meth:`load` (checks the files against ``weights/manifest.json`` and
    caches the session) or directly from two paths (no check, no cache; the export
    script uses that on files it has just written).
    """

    def __init__(self, model_path: str | os.PathLike, tokenizer_path: str | os.PathLike, *,
                 intra_op_num_threads: int | None = None,
                 providers: Sequence[str] | None = None,
                 batch_size: int = DEFAULT_BATCH_SIZE):
        from tokenizers import Tokenizer

        self.model_path = Path(model_path)
        self.tokenizer_path = Path(tokenizer_path)
        self.batch_size = max(1, int(batch_size))

        self._session = create_session(self.model_path, intra_op_num_threads=intra_op_num_threads,
                                       providers=providers)

        metadata = self._session.get_modelmeta().custom_metadata_map
        self.max_length = int(metadata.get("max_seq_length", DEFAULT_MAX_LENGTH))
        self.dim = int(metadata.get("embedding_dim", EMBEDDING_DIM))
        self.metadata = dict(metadata)

        self._tokenizer = Tokenizer.from_file(str(self.tokenizer_path))
        self._tokenizer.no_padding()  # padded per batch below, to the longest prompt
        self._tokenizer.enable_truncation(self.max_length)
        self._pad_id = self._tokenizer.token_to_id("[PAD]") or 0
        self._input_names = {i.name for i in self._session.get_inputs()}
        self._output_name = self._session.get_outputs()[0].name
        # tokenizers' Tokenizer is not documented as thread-safe for mutation; encoding
        # is read-only, but keep one run at a time per encoder to be safe and simple.
        self._lock = threading.Lock()
        # The prompts read last, with their embeddings: regenerating after a slider change
        # (the live preview) or a new seed reads the same prompts again.
        self._recent: OrderedDict[str, tuple[np.ndarray, bool]] = OrderedDict()

    # -- construction -------------------------------------------------------------------
    @classmethod
    def load(cls, weights_dir: str | os.PathLike | None = None, *,
             intra_op_num_threads: int | None = None,
             providers: Sequence[str] | None = None) -> TextEncoder:
        """The encoder from ``weights_dir`` (default: this checkout's ``weights/``).

        Both files are verified against ``manifest.json`` in that folder (raising
        :class:`~cadence.inference.runtime.weights.WeightsError` when missing or corrupt) the
        first time; later calls with the same arguments return the cached encoder.
        """
        weights_dir = Path(weights_dir) if weights_dir else DEFAULT_WEIGHTS_DIR
        key = (str(weights_dir.resolve()), intra_op_num_threads,
               tuple(providers) if providers else None)

        def load() -> TextEncoder:
            model_path = weights_dir / MODEL_FILE
            tokenizer_path = weights_dir / TOKENIZER_FILE
            verify(model_path)
            verify(tokenizer_path)
            return cls(model_path, tokenizer_path,
                       intra_op_num_threads=intra_op_num_threads, providers=providers)

        return _ENCODERS.get(key, load)

    @property
    def providers(self) -> list[str]:
        """The execution providers the session actually uses."""
        return self._session.get_providers()

    # -- encoding -----------------------------------------------------------------------
    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed prompts: (N, 384) float32, each row of unit length."""
        return self.encode_with_info(texts)[0]

    def encode_with_info(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Embed prompts and say which were cut to the model's token limit.

        Returns ``(embeddings, truncated)``: (N, 384) float32 unit vectors and an (N,)
        bool array, True where a prompt was longer than ``max_length`` tokens and only
        its beginning was encoded. Raises ValueError for an empty or whitespace prompt
        and TypeError for a non-string.
        """
        texts = _check_texts(texts)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        truncated = np.zeros(len(texts), dtype=bool)
        with self._lock:
            todo = []
            for i, text in enumerate(texts):
                hit = self._recent.get(text)
                if hit is None:
                    todo.append(i)
                else:
                    self._recent.move_to_end(text)
                    out[i], truncated[i] = hit
        if todo:
            new, cut = self._encode([texts[i] for i in todo])
            out[todo], truncated[todo] = new, cut
            with self._lock:
                for i in todo:
                    self._recent[texts[i]] = (out[i].copy(), bool(truncated[i]))
                while len(self._recent) > RECENT_PROMPTS:
                    self._recent.popitem(last=False)
        return out, truncated

    def _encode(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Run the tokenizer and the network on ``texts`` (checked, not empty)."""
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        truncated = np.zeros(len(texts), dtype=bool)
        with self._lock:
            encodings = self._tokenizer.encode_batch(texts)
        lengths = np.array([len(e.ids) for e in encodings])
        truncated[:] = [len(e.overflowing) > 0 for e in encodings]
        # Similar lengths together, so little padding is computed.
        order = np.argsort(lengths, kind="stable")
        for start in range(0, len(order), self.batch_size):
            rows = order[start:start + self.batch_size]
            width = int(lengths[rows].max())
            ids = np.full((len(rows), width), self._pad_id, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, index in enumerate(rows):
                n = lengths[index]
                ids[r, :n] = encodings[index].ids
                mask[r, :n] = 1
            feeds = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self._input_names:
                feeds["token_type_ids"] = np.zeros_like(ids)
            (result,) = self._session.run([self._output_name], feeds)
            out[rows] = result
        return out, truncated

    def __repr__(self) -> str:
        return (f"TextEncoder({self.model_path.name}, dim={self.dim}, "
                f"max_length={self.max_length}, providers={self.providers})")


def clear_cache() -> None:
    """Forget the cached encoders (their sessions are freed when unreferenced)."""
    _ENCODERS.clear()


def _check_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        texts = [texts]
    texts = list(texts)
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"prompt {index} is {type(text).__name__}, expected str")
        if not text.strip():
            raise ValueError(
                f"prompt {index} is empty: describe the motion in words, "
                "e.g. 'a person walks forward'")
    return texts
