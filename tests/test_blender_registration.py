"""The extension registers, unregisters and registers again cleanly."""
import tomllib
from pathlib import Path

import cadence

ROOT = Path(__file__).resolve().parents[1]


def test_register_unregister_twice(blender):
    for _ in range(2):
        cadence.unregister()
        assert not hasattr(blender.types.Scene, "cadence")
        assert not hasattr(blender.types, "CADENCE_OT_bake_motion_file")
        cadence.register()
        assert blender.context.scene.cadence.motion_path == ""
        assert blender.ops.cadence.bake_motion_file.poll()


def test_unregister_stops_the_speech_workers(blender):
    from cadence.inference.speech import sphinx_pool, transcribe
    pool = sphinx_pool.pool("phones", transcribe.PHONE_LOOP_CONFIG, 2)
    assert pool is not None
    procs = [w.proc for w in pool.workers]
    cadence.unregister()
    cadence.register()
    assert not sphinx_pool._POOLS
    assert all(p.poll() is not None for p in procs)          # the processes have ended


def test_target_poll_accepts_only_armatures(blender):
    # The poll filters the UI picker; Python assignment is not checked by Blender.
    from cadence.properties import _is_armature
    settings = blender.context.scene.cadence
    mesh = blender.data.objects.new("Mesh", blender.data.meshes.new("Mesh"))
    rig = blender.data.objects.new("Rig", blender.data.armatures.new("Rig"))
    assert _is_armature(settings, rig) and not _is_armature(settings, mesh)
    settings.target = rig
    assert settings.target == rig


def test_manifest():
    manifest = tomllib.loads((ROOT / "blender_manifest.toml").read_text())
    assert manifest["id"] == "cadence" and manifest["type"] == "add-on"
    assert len(manifest["tagline"]) <= 64 and manifest["tagline"][-1].isalnum()
    assert set(manifest["permissions"]) == {"files"}
    excluded = manifest["build"]["paths_exclude_pattern"]
    for folder in ("training", "tests", "bench", "docs", "dataset", "cli"):
        assert f"/{folder}/" in excluded
