"""Child processes that run pocketsphinx on speech segments in parallel.

pocketsphinx decodes with the GIL held, so in one process it uses one core: the phone
loop takes about 1.75 s per minute of speech, word recognition about 12 s. Split in
segments between two worker processes (``inference/speech/sphinx_worker.py``) they take about
half. The workers start on first use (about 0.15 s for the phone loop: an interpreter
and the decoder) and stay up for later calls, since an animator regenerates often;
there is one pool per mode ("phones", "words", "word_times"); they end with the host process (or
:func:`shutdown`).

Each worker is driven by a thread of the parent that only writes and reads pipes (no
GIL held while it waits), taking the next segment not yet taken: so the load balances
by itself. Anything that goes wrong with a worker (it cannot start, it dies, it sends
nonsense) makes :meth:`SphinxPool.decode` leave those segments as ``None`` for the
caller to decode in-process; the pool then stays off for this process.
"""
from __future__ import annotations

import atexit
import importlib.util
import json
import os
import queue
import struct
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from .sphinx_worker import REQUEST, Spans

WORKER = Path(__file__).with_name("sphinx_worker.py")
Result = tuple[Spans, Spans]          # (words, phones) of a segment, in its frames


def worker_search_path() -> list[str]:
    """The folders the worker needs besides the standard library: the one holding
    pocketsphinx (Blender's extension wheels are on this interpreter's sys.path, not on
    the default path of its Python), and nothing else from the parent's sys.path."""
    try:
        spec = importlib.util.find_spec("pocketsphinx")
    except (ImportError, ValueError):
        return []
    if spec is None:
        return []
    places = list(spec.submodule_search_locations or []) or ([spec.origin] if spec.origin else [])
    return list(dict.fromkeys(str(Path(p).resolve().parent) for p in places))


def worker_command() -> list[str]:
    """The child's command line: isolated mode (-I: no PYTHONPATH, no user site, not
    the script's folder on sys.path), so the standard library comes first."""
    return [sys.executable, "-I", str(WORKER)]


class _Worker:
    def __init__(self, setup: dict):
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME",
                                                                 "PYTHONSTARTUP")}
        flags = getattr(subprocess, "CREATE_NO_WINDOW", 0)   # Windows: no console flashing up
        self.proc = subprocess.Popen(worker_command(), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
                                     creationflags=flags)
        setup = dict(setup, path=worker_search_path())   # appended after the standard library
        self.proc.stdin.write((json.dumps(setup) + "\n").encode())
        self.proc.stdin.flush()
        self.ready = False

    def wait_ready(self) -> bool:
        """Wait for the child to have loaded its decoder (started in the constructor, so
        several children load theirs at the same time)."""
        self.ready = self._answer() == "ready"
        return self.ready

    def _answer(self):
        line = self.proc.stdout.readline()
        if not line:
            raise OSError("sphinx worker ended")
        return json.loads(line)

    def decode(self, pcm: bytes) -> Result:
        self.proc.stdin.write(struct.pack("<I", len(pcm)) + pcm)
        self.proc.stdin.flush()
        out = self._answer()
        if not isinstance(out, dict) or "phones" not in out:
            raise OSError(f"sphinx worker: {out}")
        spans = lambda key: [(str(label), int(a), int(b)) for label, a, b in out[key]]  # noqa: E731
        return spans("words"), spans("phones")

    def align(self, pcm: bytes, words: Sequence[str], phones: bool, skip: float, stop: float
              ) -> tuple[Spans, Spans, bool]:
        """``sphinx_worker.align`` in the child (a worker of an ``"align"`` pool);
        RuntimeError where pocketsphinx refused, OSError where the child failed."""
        request = json.dumps({"words": list(words), "phones": phones, "skip": skip, "stop": stop}).encode()
        self.proc.stdin.write(struct.pack("<I", len(request) | REQUEST) + request
                              + struct.pack("<I", len(pcm)) + pcm)
        self.proc.stdin.flush()
        out = self._answer()
        if isinstance(out, dict) and "error" in out:
            raise RuntimeError(str(out["error"]))
        if not isinstance(out, dict) or "phones" not in out:
            raise OSError(f"sphinx worker: {out}")
        spans = lambda key: [(str(label), int(a), int(b)) for label, a, b in out[key]]  # noqa: E731
        return spans("words"), spans("phones"), bool(out.get("aligned"))

    def close(self) -> None:
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()


class SphinxPool:
    """``workers`` processes decoding in ``mode`` ("phones", "words" or "word_times"; ``config``: the
    phone loop's decoder settings)."""

    def __init__(self, mode: str, config: dict, workers: int = 2, vocabulary: str | None = None):
        self.mode, self.config, self.vocabulary = mode, dict(config), vocabulary
        self.workers: list[_Worker] = []
        self.broken = False              # a worker failed during the last decode
        try:
            for _ in range(workers):
                self.workers.append(_Worker({"mode": mode, "config": self.config, "vocabulary": vocabulary}))
            for w in self.workers:          # they load their decoders side by side
                if not w.wait_ready():
                    raise OSError("sphinx worker could not load pocketsphinx")
        except (OSError, ValueError):
            self.close()
            raise

    def decode(self, pcms: Sequence[bytes], progress: Callable[[int], None] | None = None
               ) -> list[Result | None]:
        """(words, phones) per PCM segment (``None`` where a worker failed).

        ``progress(done)`` runs on the calling thread after each segment; if it raises
        (a cancelled generation), no further segment is started, the ones running are
        waited for, and the exception propagates."""
        results: list[Result | None] = [None] * len(pcms)
        lock = threading.Lock()
        state = {"next": 0, "stop": False}
        done: queue.Queue = queue.Queue()

        def run(worker: _Worker) -> None:
            try:
                while True:
                    with lock:
                        i = state["next"]
                        if state["stop"] or i >= len(pcms):
                            return
                        state["next"] = i + 1
                    results[i] = worker.decode(pcms[i])
                    done.put(i)
            except (OSError, ValueError, TypeError, KeyError):
                self.broken = True
            finally:
                done.put(None)          # this thread has finished

        threads = [threading.Thread(target=run, args=(w,), daemon=True) for w in self.workers]
        for t in threads:
            t.start()
        running, finished = len(threads), 0
        try:
            while running:
                item = done.get()
                if item is None:
                    running -= 1
                    continue
                finished += 1
                if progress is not None:
                    progress(finished)
        finally:
            with lock:
                state["stop"] = True
            for t in threads:
                t.join()
        return results

    def close(self) -> None:
        for w in self.workers:
            w.close()
        self.workers = []


_POOLS: dict[str, SphinxPool] = {}
_POOL_LOCK = threading.Lock()
_DISABLED = False


def _interpreter_is_python() -> bool:
    """sys.executable is a Python interpreter (Blender 2.91+ points it at its bundled
    Python; a host whose executable is Blender itself would open the script as a file)."""
    return Path(sys.executable or "").name.lower().startswith("python")


def pool(mode: str, config: dict, workers: int, vocabulary: str | None = None) -> SphinxPool | None:
    """The shared pool for ``mode`` with ``config`` and ``vocabulary`` (the "word_times"
    dictionary; started on first use; None when workers cannot run here, or after one
    failed)."""
    with _POOL_LOCK:
        return _pool(mode, config, workers, vocabulary)


def _pool(mode: str, config: dict, workers: int, vocabulary: str | None) -> SphinxPool | None:
    global _DISABLED
    if _DISABLED or workers < 1 or not _interpreter_is_python():
        return None
    current = _POOLS.get(mode)
    if current is not None and (current.config != config or len(current.workers) != workers
                                or current.vocabulary != vocabulary):
        current.close()
        del _POOLS[mode]
    if mode not in _POOLS:
        try:
            _POOLS[mode] = SphinxPool(mode, config, workers, vocabulary)
        except (OSError, ValueError):
            _DISABLED = True
            return None
    return _POOLS[mode]


def disable() -> None:
    """Stop the workers and decode in-process from now on (a worker failed)."""
    global _DISABLED
    shutdown()
    _DISABLED = True


def shutdown() -> None:
    for p in _POOLS.values():
        p.close()
    _POOLS.clear()


atexit.register(shutdown)
