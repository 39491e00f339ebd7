"""Where the read-only data archives are and where processed data is cached."""
from __future__ import annotations

import lzma
import os
import tarfile
import zlib
from pathlib import Path

from ..errors import CadenceError

REPO_ROOT = Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    """The shared data folder: $CADENCE_DATA_DIR, else ../shared/data beside the repo."""
    env = os.environ.get("CADENCE_DATA_DIR")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data"


def cache_dir() -> Path:
    """Git-ignored cache for unpacked and processed data: $CADENCE_CACHE_DIR or .cache/."""
    env = os.environ.get("CADENCE_CACHE_DIR")
    path = Path(env) if env else REPO_ROOT / ".cache"
    path.mkdir(parents=True, exist_ok=True)
    return path


def unpacked(archive_name: str, folder: str) -> Path:
    """Unpack ``archive_name`` from the data folder into the cache once; its folder."""
    target = cache_dir() / "data" / folder
    marker = target / ".unpacked"
    if marker.exists():
        return target
    archive = data_dir() / archive_name
    if not archive.exists():
        raise FileNotFoundError(f"{archive} not found: set CADENCE_DATA_DIR to the folder "
                                "holding the data archives (see ../shared/data/README.md)")
    (cache_dir() / "data").mkdir(exist_ok=True)
    try:
        with tarfile.open(archive) as tar:
            # filter="data" refuses absolute paths, links out of the folder, devices
            tar.extractall(cache_dir() / "data", filter="data")
    except (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError, ValueError) as exc:
        raise DatasetError(f"{archive} is damaged or not a data archive Cadence can unpack "
                           f"({type(exc).__name__}: {exc}); fetch it again") from None
    marker.touch()
    return target


class DatasetError(CadenceError):
    """The training data cannot be unpacked or read; the message names the file."""
