"""The real thing: build the Linux zip with the real wheels (downloaded once into
.cache/wheels), check what is in it, then install it with Blender's own operators into a
temporary user repository in a separate bpy process (tests/extension_install_check.py),
enable it, generate and bake through its operators with the bundled libraries only,
disable, uninstall, and check nothing is left."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
import zipfile

import pytest

from extension_tool import ROOT, build_tool, distribution, wheels_for

pytest.importorskip("bpy")

PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"


@pytest.fixture(scope="module")
def linux_zip(tmp_path_factory):
    """cadence-<version>.zip for linux-x64 and this Python, from the wheel cache, downloading
    what is missing (skips only when the wheels cannot be fetched)."""
    tool = build_tool()
    if PYTHON not in tool.PYTHONS:
        pytest.skip(f"Python {PYTHON} is not one Blender uses")
    base = tmp_path_factory.mktemp("extension-zip")
    args = dict(out=base / "dist", platforms=["linux-x64"], pythons=[PYTHON], split_platforms=False,
                wheel_cache=ROOT / ".cache" / "wheels", stage=base / "stage")
    try:
        (path,) = tool.build(download=False, **args)
    except tool.BuildError:
        try:
            (path,) = tool.build(download=True, **args)
        except tool.BuildError as exc:
            if "pip download" in str(exc):
                pytest.skip(f"no wheels in the cache and none downloadable: {exc}")
            raise
    return path


def test_zip_holds_the_add_on_weights_and_linux_wheels(linux_zip):
    tool = build_tool()
    with zipfile.ZipFile(linux_zip) as package:
        names = set(package.namelist())
        sizes = {i.filename: i.file_size for i in package.infolist()}
        manifest = tomllib.loads(package.read("blender_manifest.toml").decode())
    tops = {n.split("/", 1)[0] for n in names}
    assert {"__init__.py", "registration.py", "operators", "inference", "motion", "weights", "wheels"} <= tops
    assert not tops & {"training", "tests", "bench", "tools", "cli", "docs", "dataset", "dist", "out",
                       ".git", ".cache", ".venv", ".ci", "cadence", "requirements.txt"}
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    # Every model file of weights/manifest.json ships, whole.
    for entry in json.loads((ROOT / "weights" / "manifest.json").read_text())["files"]:
        name = entry["file"]
        assert sizes.get(f"weights/{name}") == (ROOT / "weights" / name).stat().st_size, name
    # Listed wheels are in the zip, and cover each bundled package on Linux for this Python.
    assert {w.removeprefix("./") for w in manifest["wheels"]} == {n for n in names if n.startswith("wheels/")}
    wanted = {tool.requirement_name(s)
              for s in tool.bundled_requirements(tool.read_requirements(ROOT / "requirements.txt"))}
    found = {distribution(w) for w in wheels_for(manifest, "linux-x64", sys.version_info[:2])}
    assert found == wanted and "numpy" not in found
    assert manifest["platforms"] == ["linux-x64"]


def test_install_enable_generate_bake_disable_uninstall(linux_zip, tmp_path):
    env = dict(os.environ, BLENDER_USER_RESOURCES=str(tmp_path / "blender"), OMP_NUM_THREADS="1",
               OMP_WAIT_POLICY="PASSIVE")
    env.pop("CADENCE_WEIGHTS_DIR", None)  # the installed copy must use the weights it ships
    tool = build_tool()
    modules = [tool.requirement_name(s).replace("-", "_")
               for s in tool.bundled_requirements(tool.read_requirements(ROOT / "requirements.txt"))]
    result = subprocess.run([sys.executable, str(ROOT / "tests" / "extension_install_check.py"),
                             str(linux_zip), str(tmp_path), ",".join(modules)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=600)
    line = next((ln for ln in result.stdout.splitlines() if ln.startswith("CADENCE_FACTS ")), None)
    assert result.returncode == 0 and line, result.stdout[-3000:] + result.stderr[-3000:]
    facts = json.loads(line.split(" ", 1)[1])
    repo = tmp_path / "repo"
    wheel_site = tmp_path / "blender" / "extensions" / ".local" / "lib" / f"python{PYTHON}" / "site-packages"

    assert facts["enabled"] and facts["module_file"] == str(repo / "cadence" / "__init__.py")
    assert {"__init__.py", "weights", "wheels", "blender_manifest.toml"} <= set(facts["installed_files"])
    assert not {"training", "tests", "tools"} & set(facts["installed_files"])
    # Imports refused because only this venv has them were optional (the run went through).
    print("refused imports:", facts["refused_imports"])
    assert set(facts["libraries"]) == set(modules) >= {"onnxruntime", "soundfile", "tokenizers", "cffi"}
    for name, path in facts["libraries"].items():  # from the bundled wheels, not from this venv
        assert path.startswith(str(wheel_site)), (name, path)
    assert facts["generated_frames"] == 60 and facts["device"] == "CPU"
    assert facts["baked_action"] == "Installed walk" and facts["baked_fake_user"]

    assert facts["disabled"] and facts["registered_after_disable"] == []
    assert "bpy.ops.cadence.generate" in facts["registered_after_enable"]
    assert "Scene.cadence" in facts["registered_after_enable"]
    assert not facts["enabled_after_uninstall"] and not facts["package_dir_left"]
    assert facts["modules_left"] == [] and facts["wheel_files_left"] == []
    assert not (repo / "cadence").exists()
