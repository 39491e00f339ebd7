"""Issue 21: offline for real. No network attempt while generating, onnxruntime's
telemetry off in a fresh process (decided when the library loads), and the speech
workers started with only the path they need."""
import os
import shutil
import socket
import subprocess
import sys

import pytest

from cadence.cli.main import main

from conftest import ROOT

# --- offline ------------------------------------------------------------------------------

def test_no_network_attempt_during_a_generation(tmp_path, monkeypatch, capsys):
    def refuse(*args, **kwargs):
        raise AssertionError("Cadence tried to use the network")
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    out = tmp_path / "w.bvh"
    assert main(["generate", "--prompt", "a person walks forward", "--seconds", "1",
                 "--steps", "2", "--out", str(out), "--quiet"]) == 0
    assert out.is_file()


def test_onnxruntime_telemetry_is_off_in_a_fresh_process(tmp_path):
    """No device id under the cache folder and (where strace exists) no internet socket."""
    home = tmp_path / "home"
    home.mkdir()
    env = dict(os.environ, HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"))
    env.pop("ORT_DISABLE_TELEMETRY", None)
    command = [sys.executable, str(ROOT / "cadence"), "generate", "--prompt", "a person waves",
               "--seconds", "1", "--steps", "2", "--out", str(tmp_path / "w.bvh"), "--quiet"]
    trace = tmp_path / "trace.txt"
    if shutil.which("strace"):
        command = ["strace", "-f", "-qq", "-e", "trace=socket,connect", "-o", str(trace)] + command
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert not (home / ".cache" / "Microsoft").exists()
    if trace.exists():
        inet = [ln for ln in trace.read_text().splitlines() if "AF_INET" in ln]
        assert inet == []


def test_speech_workers_get_only_what_they_need(tmp_path, monkeypatch):
    pytest.importorskip("pocketsphinx")
    from cadence.inference.speech import sphinx_pool, transcribe
    assert "-I" in sphinx_pool.worker_command()
    path = sphinx_pool.worker_search_path()
    import pocketsphinx
    assert path == [os.path.dirname(os.path.dirname(os.path.realpath(pocketsphinx.__file__)))]
    # a module on the parent's path that would shadow the standard library in the child
    (tmp_path / "struct.py").write_text("raise SystemExit('shadowed')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    worker = sphinx_pool._Worker({"mode": "phones", "config": transcribe.PHONE_LOOP_CONFIG})
    try:
        assert worker.wait_ready()
    finally:
        worker.close()
