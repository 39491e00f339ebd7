"""Convert every take to the canonical skeleton and the learning representation, once.

The result is cached as one .npz (features of all takes concatenated, with per-take
labels and split), so a second run loads in about a second. Conversion runs on all
cores. Every take is converted with one alignment, estimated from a reference take,
so joint frames are identical across the whole dataset.
"""
from __future__ import annotations

import os
import time
import zipfile
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from ..motion.body_frame import detect_axes
from ..motion.bone_names import match_names
from ..motion.bvh import read_bvh
from ..motion.convert import SourcePose, bvh_alignment, bvh_to_canonical, source_pose
from ..motion.kinematics import Motion
from ..motion.representation import REPRESENTATION_VERSION, encode
from ..motion.skeleton import CANONICAL
from ..motion.source_to_canonical import Alignment
from . import bandai_namco
from .paths import DatasetError, cache_dir

PIPELINE_VERSION = 2  # 2: shared alignment follows each take's axes
FPS = 30.0
REFERENCE_TAKE = "dataset-2_walk_normal_001"


@dataclass
class MotionDataset:
    """All takes' features (frames, FEATURE_DIM), float32, and per-take metadata."""

    features: np.ndarray
    starts: np.ndarray  # (takes + 1,) frame offsets into features
    names: np.ndarray
    sets: np.ndarray
    contents: np.ndarray
    styles: np.ndarray
    splits: np.ndarray
    fps: float = FPS

    def __len__(self) -> int:
        return len(self.names)

    def clip(self, i: int) -> np.ndarray:
        return self.features[self.starts[i]:self.starts[i + 1]]

    def indices(self, split: str) -> np.ndarray:
        return np.flatnonzero(self.splits == split)

    def lengths(self) -> np.ndarray:
        return np.diff(self.starts)


def cache_path() -> Path:
    return cache_dir() / "processed" / f"bandai_namco-{REPRESENTATION_VERSION}-p{PIPELINE_VERSION}.npz"


def reference_alignment(takes: list[bandai_namco.Take]) -> Alignment:
    by_name = {t.name: t for t in takes}
    ref = by_name.get(REFERENCE_TAKE, takes[0])
    bvh = read_bvh(ref.path)
    _, names = match_names(bvh.skeleton.names)
    index = {n: i for i, n in enumerate(bvh.skeleton.names)}
    mapping = {CANONICAL.index(c): index[s] for c, s in names.items()}
    raw = source_pose(bvh)
    axes = detect_axes(raw.positions, {c: index[s] for c, s in names.items()})
    pose = SourcePose(axes @ raw.world @ axes.T, raw.positions @ axes.T)
    return bvh_alignment(bvh, mapping, axes, pose)


_ALIGNMENT: Alignment | None = None


def _init_worker(alignment: Alignment) -> None:
    global _ALIGNMENT
    _ALIGNMENT = alignment


def _convert(path: Path) -> np.ndarray:
    motion = bvh_to_canonical(read_bvh(path), fps=FPS, alignment=_ALIGNMENT)
    check_upright(motion, path.name)
    return encode(motion)[0].astype(np.float32)


def check_upright(motion: Motion, name: str) -> None:
    """Every take of this data is performed standing: a converted take whose head is not
    well above its pelvis most of the time means the conversion went wrong."""
    p = motion.positions()
    rise = np.median(p[:, CANONICAL.index("head"), 2] - p[:, CANONICAL.index("pelvis"), 2])
    if rise < 0.3:
        raise ValueError(f"{name}: converted motion is not upright (head {rise:.2f} m above "
                         "the pelvis); the skeleton conversion failed")


def build(takes: list[bandai_namco.Take] | None = None, workers: int | None = None,
          progress: bool = False) -> MotionDataset:
    """Convert ``takes`` (default: the whole archive) without touching the cache."""
    takes = takes if takes is not None else bandai_namco.list_takes()
    if not takes:
        raise ValueError("no takes to convert")
    alignment = reference_alignment(takes)
    workers = workers or os.cpu_count() or 1
    t0 = time.time()
    clips = []
    if workers > 1 and len(takes) > 8:
        with get_context("fork").Pool(workers, _init_worker, (alignment,)) as pool:
            for i, feats in enumerate(pool.imap(_convert, [t.path for t in takes], chunksize=8)):
                clips.append(feats)
                if progress and (i + 1) % 200 == 0:
                    print(f"  converted {i + 1}/{len(takes)} takes ({time.time() - t0:.0f} s)",
                          flush=True)
    else:
        _init_worker(alignment)
        clips = [_convert(t.path) for t in takes]
    split = bandai_namco.split_takes(takes)
    starts = np.concatenate([[0], np.cumsum([len(c) for c in clips])])
    return MotionDataset(
        features=np.concatenate(clips, axis=0), starts=starts,
        names=np.array([t.name for t in takes]), sets=np.array([t.set for t in takes]),
        contents=np.array([t.content for t in takes]), styles=np.array([t.style for t in takes]),
        splits=np.array([split[t.name] for t in takes]))


def save(ds: MotionDataset, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".part.npz")
    np.savez(tmp, features=ds.features, starts=ds.starts, names=ds.names, sets=ds.sets,
             contents=ds.contents, styles=ds.styles, splits=ds.splits, fps=ds.fps,
             version=REPRESENTATION_VERSION)
    tmp.replace(path)


def load(path: Path) -> MotionDataset:
    try:
        with np.load(path, allow_pickle=False) as d:
            return MotionDataset(d["features"], d["starts"], d["names"], d["sets"], d["contents"],
                                 d["styles"], d["splits"], float(d["fps"]))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise DatasetError(f"the processed data {path} is damaged ({type(exc).__name__}: {exc}); "
                           "make it again with 'cadence dataset build'") from None


def load_or_build(rebuild: bool = False, progress: bool = False) -> MotionDataset:
    """The processed dataset, converting and caching it on first use."""
    path = cache_path()
    if path.exists() and not rebuild:
        return load(path)
    ds = build(progress=progress)
    save(ds, path)
    return ds


def stats(ds: MotionDataset) -> dict:
    """Counts per label, hours of motion and split sizes."""
    lengths = ds.lengths()
    out: dict = {"takes": len(ds), "frames": int(lengths.sum()),
                 "hours": float(lengths.sum() / ds.fps / 3600.0), "fps": ds.fps}
    for key, values in (("set", ds.sets), ("content", ds.contents), ("style", ds.styles),
                        ("split", ds.splits)):
        table = {}
        for v in sorted(set(values.tolist())):
            sel = values == v
            table[str(v)] = {"takes": int(sel.sum()), "frames": int(lengths[sel].sum())}
        out[key] = table
    return out
