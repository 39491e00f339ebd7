"""inference/runtime/model_cache.py: one load per key, even when threads ask at once."""
from __future__ import annotations

import threading
import time

import pytest

from cadence.inference.runtime.model_cache import ModelCache


def test_loads_once_then_returns_the_cached_value():
    cache: ModelCache[str, object] = ModelCache()
    calls = []

    def load():
        calls.append(1)
        return object()

    first = cache.get("a", load)
    assert cache.get("a", load) is first
    assert len(calls) == 1
    assert "a" in cache and len(cache) == 1


def test_different_keys_load_separately():
    cache: ModelCache[str, str] = ModelCache()
    assert cache.get("a", lambda: "A") == "A"
    assert cache.get("b", lambda: "B") == "B"
    assert len(cache) == 2


def test_clear_forgets_values():
    cache: ModelCache[str, object] = ModelCache()
    first = cache.get("a", object)
    cache.clear()
    assert "a" not in cache
    assert cache.get("a", object) is not first


def test_a_failed_load_caches_nothing():
    cache: ModelCache[str, str] = ModelCache()

    def broken():
        raise RuntimeError("file missing")

    with pytest.raises(RuntimeError):
        cache.get("a", broken)
    assert "a" not in cache
    assert cache.get("a", lambda: "loaded") == "loaded"


def test_keep_false_returns_but_does_not_cache():
    cache: ModelCache[str, str] = ModelCache()
    assert cache.get("a", lambda: "provisional", keep=lambda v: False) == "provisional"
    assert "a" not in cache
    assert cache.get("a", lambda: "final", keep=lambda v: True) == "final"
    assert cache.get("a", lambda: "other") == "final"


def test_two_threads_asking_for_the_same_key_load_it_once():
    cache: ModelCache[str, object] = ModelCache()
    calls = []
    started = threading.Event()

    def slow_load():
        calls.append(1)
        started.set()
        time.sleep(0.2)  # the second thread arrives while this load is under way
        return object()

    results: list[object] = []
    threads = [threading.Thread(target=lambda: results.append(cache.get("m", slow_load)))
               for _ in range(2)]
    threads[0].start()
    assert started.wait(5)
    threads[1].start()
    for t in threads:
        t.join(5)
    assert len(calls) == 1
    assert len(results) == 2 and results[0] is results[1]


def test_many_threads_at_once_load_once():
    cache: ModelCache[str, object] = ModelCache()
    calls = []
    barrier = threading.Barrier(8)

    def load():
        calls.append(1)
        time.sleep(0.05)
        return object()

    results: list[object] = []

    def ask():
        barrier.wait()
        results.append(cache.get("m", load))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert len(calls) == 1
    assert len(results) == 8 and all(r is results[0] for r in results)


def test_another_key_is_not_held_up_by_a_slow_load():
    cache: ModelCache[str, str] = ModelCache()
    release = threading.Event()
    started = threading.Event()

    def slow():
        started.set()
        release.wait(5)
        return "slow"

    t = threading.Thread(target=cache.get, args=("slow", slow))
    t.start()
    assert started.wait(5)
    try:
        assert cache.get("fast", lambda: "fast") == "fast"  # would deadlock with one global lock
    finally:
        release.set()
        t.join(5)
    assert cache.get("slow", lambda: "again") == "slow"
