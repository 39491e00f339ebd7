"""One process-wide cache for loaded models: each key is loaded once, even under threads.

Opening a model costs a SHA-256 check and an ONNX session (seconds, hundreds of MB), and
Blender's operators, the job runner and the CLI may ask for the same model from several
threads at once. :class:`ModelCache` gives every caller the one instance per key: the
first caller loads it while later callers for the same key wait, and callers for other
keys are not held up (each key has its own lock). A load that raises caches nothing, so
the next call tries again (e.g. after the user has copied the missing file in).

    _MODELS: ModelCache[tuple, TextEncoder] = ModelCache()
    encoder = _MODELS.get(key, lambda: TextEncoder(model_path, tokenizer_path))
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ModelCache(Generic[K, V]):
    """Get-or-load by key, thread-safe: ``load`` runs at most once per key at a time,
    and never again once its value is cached (until :meth:`clear`)."""

    def __init__(self) -> None:
        self._values: dict[K, V] = {}
        self._key_locks: dict[K, threading.Lock] = {}
        self._lock = threading.Lock()  # guards the two dicts, never held while loading

    def get(self, key: K, load: Callable[[], V], *,
            keep: Callable[[V], bool] | None = None) -> V:
        """The value cached for ``key``, else ``load()``'s, cached unless ``keep`` says
        not to (``keep(value)`` False: a provisional answer worth asking again for)."""
        with self._lock:
            if key in self._values:
                return self._values[key]
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:  # another thread may have loaded it while this one waited
                if key in self._values:
                    return self._values[key]
            value = load()
            if keep is None or keep(value):
                with self._lock:
                    self._values[key] = value
            return value

    def clear(self) -> None:
        """Forget every cached value (a model's session is freed once unreferenced)."""
        with self._lock:
            self._values.clear()

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._values

    def __len__(self) -> int:
        with self._lock:
            return len(self._values)
