"""tools/build_extension: the repository manifest against Blender's own (strict) manifest
validation, the wheel list from requirements.txt, picking wheels from the cache, and the
zips Blender's builder makes (universal and split per platform) from a small source tree
with stand-in wheel files (no network; the real wheels are in test_extension_install.py)."""
from __future__ import annotations

import re
import shutil
import tomllib
import zipfile
from pathlib import Path

import pytest

from extension_tool import ROOT, build_tool, distribution, manifest_errors, wheels_for

pytest.importorskip("bpy")  # Blender's builder and schema come with the bpy module

PYTHONS = {"3.11": (3, 11), "3.13": (3, 13)}


def repo_manifest() -> dict:
    return tomllib.loads((ROOT / "blender_manifest.toml").read_text(encoding="utf-8"))


def test_repository_manifest_passes_blenders_strict_validation():
    manifest = repo_manifest()
    assert manifest_errors(manifest) == []
    # The rules of Blender's manual Blender's validator leaves to the extensions platform.
    assert manifest["id"] == "cadence" and manifest["type"] == "add-on"
    assert manifest["license"][0] in {"SPDX:GPL-3.0-or-later", "SPDX:GPL-2.0-or-later"}  # GPL-compatible
    assert all(re.fullmatch(r"SPDX:[A-Za-z0-9.+-]+", lic) for lic in manifest["license"])
    assert len(manifest["tagline"]) <= 64
    for reason in manifest.get("permissions", {}).values():
        assert len(reason) <= 64 and reason[-1].isalnum()
    # Wheels and platforms are the build's business (the wheels are not in the repository).
    assert "wheels" not in manifest and "platforms" not in manifest
    excluded = manifest["build"]["paths_exclude_pattern"]
    assert {"/training/", "/tests/", "/bench/", "/tools/", "/dist/", "/.cache/", "__pycache__/"} <= set(excluded)


def test_blenders_validation_catches_what_the_manual_forbids():
    bad = dict(repo_manifest(), tagline="Animation from words.",
               permissions={"files": "Reads files.", "microphone": "x" * 70})
    errors = " ".join(manifest_errors(bad))
    assert "tagline" in errors and "permissions" in errors
    assert manifest_errors({k: v for k, v in repo_manifest().items() if k != "license"})
    assert manifest_errors(dict(repo_manifest(), tags=["Motion Magic"]))


def test_bundled_requirements_come_from_requirements_txt(tmp_path):
    tool = build_tool()
    req = tmp_path / "requirements.txt"
    req.write_text("# runtime\nnumpy>=1.24,<2\nonnxruntime>=1.17  # models\nsoundfile>=0.12\n"
                   "tokenizers>=0.15\n-r other.txt\n", encoding="utf-8")
    specs = tool.bundled_requirements(tool.read_requirements(req))
    assert specs == ["onnxruntime>=1.17", "soundfile>=0.12", "tokenizers>=0.15", "cffi>=1.0",
                     "typing-extensions"]
    gpu = tool.bundled_requirements(tool.read_requirements(req), gpu=True)
    assert gpu[0] == "onnxruntime-gpu>=1.17" and gpu[1:] == specs[1:]
    # The real file: everything but Blender's own numpy is bundled.
    real = tool.bundled_requirements(tool.read_requirements(ROOT / "requirements.txt"))
    names = {tool.requirement_name(s) for s in tool.read_requirements(ROOT / "requirements.txt")}
    assert {tool.requirement_name(s) for s in real} >= names - {"numpy"} and "numpy" not in str(real)


def test_select_wheels_takes_the_newest_and_names_what_is_missing(tmp_path):
    tool = build_tool()
    for name in ("onnxruntime-1.9.0-cp311-cp311-win_amd64.whl", "onnxruntime-1.32.0-cp311-cp311-win_amd64.whl",
                 "onnxruntime-1.4.2-cp311-cp311-win_amd64.whl", "typing_extensions-4.16.0-py3-none-any.whl"):
        (tmp_path / name).write_bytes(b"")
    chosen = tool.select_wheels(tmp_path, ["onnxruntime>=1.17", "typing-extensions"], "windows-x64 Python 3.11")
    assert [p.name for p in chosen] == ["onnxruntime-1.32.0-cp311-cp311-win_amd64.whl",
                                       "typing_extensions-4.16.0-py3-none-any.whl"]
    pinned = tool.select_wheels(tmp_path, ["onnxruntime>=1.5,<1.10"], "windows-x64 Python 3.11")
    assert [p.name for p in pinned] == ["onnxruntime-1.9.0-cp311-cp311-win_amd64.whl"]  # the pin rules
    with pytest.raises(tool.BuildError, match="no wheel of soundfile for windows-x64 Python 3.11"):
        tool.select_wheels(tmp_path, ["onnxruntime", "soundfile"], "windows-x64 Python 3.11")


def test_manifest_gets_wheels_and_platforms_at_the_top_level():
    tool = build_tool()
    text = (ROOT / "blender_manifest.toml").read_text(encoding="utf-8")
    wheels = ["./wheels/a-1-py3-none-any.whl"]
    out = tomllib.loads(tool.manifest_with_wheels(text, ["linux-x64", "windows-x64"], wheels))
    assert out["platforms"] == ["linux-x64", "windows-x64"] and out["wheels"] == ["./wheels/a-1-py3-none-any.whl"]
    assert "wheels" not in out["build"] and out["build"] == repo_manifest()["build"]
    with pytest.raises(tool.BuildError, match="must not list wheels"):
        tool.manifest_with_wheels(tool.manifest_with_wheels(text, ["linux-x64"], []), ["linux-x64"], [])


def fake_source(root: Path) -> Path:
    """A small extension tree with the real manifest and requirements, and the kinds of
    files that must stay out of the zip."""
    for name in ("blender_manifest.toml", "requirements.txt", "requirements-dev.txt"):
        shutil.copy(ROOT / name, root / name)
    files = {"__init__.py": "def register(): pass\ndef unregister(): pass\n",
             "registration.py": "", "weights/model.onnx": "weights", "presets/rig.json": "{}",
             "training/train.py": "", "tests/test_x.py": "", "bench/speed.py": "",
             "tools/build_extension": "", "docs/a.md": "", "cli/main.py": "", "cadence": "",
             "motion/__pycache__/x.cpython-311.pyc": "", "motion/__init__.py": "", ".ci/run": "",
             "dist/cadence-0.0.1.zip": "old build"}
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


def fake_wheel_cache(cache: Path, specs: list[str]) -> None:
    """Stand-in wheels named as PyPI names them, for every platform and Python."""
    tool = build_tool()
    for platform, tags in tool.PLATFORMS.items():
        for python in tool.PYTHONS:
            folder = cache / platform / tool.python_tag(python)
            folder.mkdir(parents=True)
            cp = tool.python_tag(python)
            for spec in specs:
                dist = tool.requirement_name(spec).replace("-", "_")
                pure = dist == "typing_extensions"
                name = (f"{dist}-4.16.0-py3-none-any.whl" if pure else f"{dist}-99.0.0-{cp}-{cp}-{tags[0]}.whl")
                with zipfile.ZipFile(folder / name, "w") as wheel:
                    wheel.writestr(f"{dist}-99.0.0.dist-info/METADATA", f"Name: {dist}\n")
            (folder / f"onnxruntime-98.0.0-{cp}-{cp}-{tags[0]}.whl").write_bytes(b"older")


@pytest.fixture(scope="module")
def fake_builds(tmp_path_factory):
    """(bundled specs, the universal zip, the split zips) built from the small tree."""
    tool = build_tool()
    base = tmp_path_factory.mktemp("extension-build")
    (base / "source").mkdir()
    source = fake_source(base / "source")
    specs = tool.bundled_requirements(tool.read_requirements(source / "requirements.txt"))
    fake_wheel_cache(base / "cache", specs)
    common = dict(root=source, platforms=list(tool.PLATFORMS), pythons=list(tool.PYTHONS),
                  download=False, wheel_cache=base / "cache")
    universal = tool.build(out=base / "universal", split_platforms=False, stage=base / "stage1", **common)
    split = tool.build(out=base / "split", split_platforms=True, stage=base / "stage2", **common)
    return specs, universal, split


def zip_manifest(package: zipfile.ZipFile) -> dict:
    data = tomllib.loads(package.read("blender_manifest.toml").decode())
    if generated := data.get("build", {}).get("generated"):  # what Blender reads from split zips
        data.update(generated)
    return data


def test_universal_zip_has_the_extension_and_every_platforms_wheels(fake_builds):
    tool = build_tool()
    specs, (universal,), _ = fake_builds
    assert universal.name == "cadence-0.1.0.zip"
    with zipfile.ZipFile(universal) as package:
        names = set(package.namelist())
        manifest = zip_manifest(package)
    listed = {w.removeprefix("./") for w in manifest["wheels"]}
    assert {n for n in names if not n.startswith("wheels/")} == {
        "blender_manifest.toml", "__init__.py", "registration.py", "weights/model.onnx",
        "presets/rig.json", "motion/__init__.py"}
    assert listed == {n for n in names if n.startswith("wheels/")}  # listed <=> in the zip
    assert not any("onnxruntime-98.0.0" in n for n in listed)  # only the newest version
    assert manifest_errors({k: v for k, v in manifest.items() if k != "build"}) == []
    assert manifest["platforms"] == list(tool.PLATFORMS)
    wanted = {tool.requirement_name(s) for s in specs}
    for platform in tool.PLATFORMS:
        for python in PYTHONS.values():
            assert {distribution(w) for w in wheels_for(manifest, platform, python)} == wanted, (platform, python)


def test_split_zips_carry_only_their_platforms_wheels(fake_builds):
    tool = build_tool()
    specs, _, split = fake_builds
    assert [p.name for p in split] == ["cadence-0.1.0-linux_x64.zip", "cadence-0.1.0-macos_arm64.zip",
                                      "cadence-0.1.0-windows_x64.zip"]
    wanted = {tool.requirement_name(s) for s in specs}
    for path, platform in zip(split, tool.PLATFORMS):
        with zipfile.ZipFile(path) as package:
            manifest = zip_manifest(package)
            wheels = {n for n in package.namelist() if n.startswith("wheels/")}
        assert manifest["platforms"] == [platform]
        assert {w.removeprefix("./") for w in manifest["wheels"]} == wheels
        assert wheels_for(manifest, platform, (3, 11)) and len(wheels) == 2 * len(wanted) - 1
        for other in set(tool.PLATFORMS) - {platform}:
            assert not any(tags[0] in w for tags in [tool.PLATFORMS[other]] for w in wheels)


def test_bad_requests_get_one_line_errors(tmp_path, capsys):
    tool = build_tool()
    assert tool.main(["--platform", "linux-x64", "--no-download", "--wheel-cache", str(tmp_path),
                      "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no wheel of onnxruntime" in err and "linux-x64 Python 3.11" in err
    assert tool.main(["--onnxruntime-gpu", "--platform", "macos-arm64", "--no-download",
                      "--out", str(tmp_path / "out")]) == 2
    assert "not published for macos-arm64" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
