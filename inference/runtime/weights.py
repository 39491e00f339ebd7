"""Model weight files: check them against ``weights/manifest.json`` before use.

The manifest is a JSON object ``{"files": [{"file", "sha256", "version", "licence",
"kind"}, ...]}`` where ``file`` is relative to the folder that holds the manifest. Every
model file the inference code opens goes through :func:`verify` first, so a missing,
truncated or corrupt download fails with a clear message instead of a cryptic
onnxruntime error (or, worse, silently wrong output).

The functions that write the manifest (:func:`sha256_file`, :func:`update_manifest`) are
used by the export scripts in ``training/``.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from ...errors import CadenceError

MANIFEST_NAME = "manifest.json"
DEFAULT_WEIGHTS_DIR = Path(__file__).resolve().parents[2] / "weights"

# (resolved path, size, mtime_ns) -> sha256, so a file is hashed once per process.
_HASH_CACHE: dict[tuple[str, int, int], str] = {}


class WeightsError(CadenceError, RuntimeError):
    """A model file is missing, unlisted in the manifest, or does not match its SHA-256."""


def sha256_file(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    """The hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_manifest(manifest_path: str | os.PathLike) -> dict:
    """Read a manifest; a missing file gives an empty one, a malformed one raises."""
    manifest_path = Path(manifest_path)
    if not manifest_path.exists():
        return {"files": []}
    try:
        data = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise WeightsError(f"cannot read weights manifest {manifest_path}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("files", []), list):
        raise WeightsError(
            f"weights manifest {manifest_path} must be an object with a 'files' list")
    data.setdefault("files", [])
    return data


def manifest_entry(path: str | os.PathLike,
                   manifest_path: str | os.PathLike | None = None) -> dict:
    """The manifest entry for ``path`` (looked up by its name relative to the manifest)."""
    path = Path(path).resolve()
    manifest_path = Path(manifest_path) if manifest_path else path.parent / MANIFEST_NAME
    if not manifest_path.exists():
        raise WeightsError(
            f"weights manifest {manifest_path} not found (needed to check {path.name})")
    key = _relative_name(path, manifest_path)
    for entry in read_manifest(manifest_path)["files"]:
        if entry.get("file") == key:
            return entry
    raise WeightsError(f"{key} is not listed in the weights manifest {manifest_path}")


def verify(path: str | os.PathLike, manifest_path: str | os.PathLike | None = None) -> None:
    """Check that ``path`` exists and matches its SHA-256 in the manifest.

    The manifest defaults to ``manifest.json`` beside the file. Raises
    :class:`WeightsError` (naming the file) when the file is missing, is not listed, or
    its content does not match; returns None when all is well.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsError(
            f"model file {path.name} is missing (looked for {path}); "
            "reinstall Cadence or restore the weights/ folder")
    entry = manifest_entry(path, manifest_path)
    expected = str(entry.get("sha256", "")).lower()
    if not expected:
        raise WeightsError(f"the manifest entry for {path.name} has no sha256")
    stat = path.stat()
    cache_key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    actual = _HASH_CACHE.get(cache_key)
    if actual is None:
        actual = sha256_file(path)
    if actual != expected:
        _HASH_CACHE.pop(cache_key, None)
        raise WeightsError(
            f"model file {path.name} is corrupt or was modified: SHA-256 {actual[:12]}… "
            f"does not match the manifest's {expected[:12]}… ({path})")
    _HASH_CACHE[cache_key] = actual


def update_manifest(manifest_path: str | os.PathLike,
                    entries: Iterable[Mapping[str, object]]) -> dict:
    """Merge ``entries`` into the manifest (read-modify-write), replacing same-``file`` ones.

    Entries from other models are kept; the list is written sorted by file name.
    """
    manifest_path = Path(manifest_path)
    data = read_manifest(manifest_path)
    by_file = {entry["file"]: dict(entry) for entry in data["files"] if "file" in entry}
    for entry in entries:
        by_file[str(entry["file"])] = dict(entry)
    data["files"] = [by_file[name] for name in sorted(by_file)]
    tmp = manifest_path.with_name(manifest_path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, manifest_path)
    return data


def _relative_name(path: Path, manifest_path: Path) -> str:
    try:
        return path.relative_to(manifest_path.resolve().parent).as_posix()
    except ValueError:
        return path.name
