"""The data pipeline: labels, split, conversion and cache (real takes)."""
import shutil
from pathlib import Path

import numpy as np
import pytest

from cadence.dataset import bandai_namco, paths, pipeline
from cadence.motion.representation import CONTACTS, FEATURE_DIM


def _fake_takes(names):
    return [bandai_namco.parse_take_name(Path(f"{n}.bvh")) for n in names]


def test_labels_merge_shared_styles():
    t = bandai_namco.parse_take_name(Path("dataset-2_wave-right-hand_elderly_012.bvh"))
    assert (t.set, t.content, t.style, t.take) == (2, "wave-right-hand", "old", 12)
    assert bandai_namco.parse_take_name(Path("dataset-1_walk_masculinity_001.bvh")).style == "masculine"
    with pytest.raises(ValueError):
        bandai_namco.parse_take_name(Path("walk.bvh"))


def test_split_is_deterministic_and_keeps_every_pair_in_train():
    names = ([f"dataset-1_bow_{s}_001" for s in ("happy", "sad")]
             + ["dataset-1_walk_happy_001", "dataset-1_walk_happy_002"]
             + [f"dataset-2_run_normal_{i:03d}" for i in range(1, 41)])
    takes = _fake_takes(names)
    split = bandai_namco.split_takes(takes)
    assert split == bandai_namco.split_takes(list(reversed(takes)))
    assert split["dataset-1_bow_happy_001"] == "train"
    assert sorted(split[n] for n in names[2:4]) == ["test", "train"]
    run = [split[n] for n in names[4:]]
    assert run.count("test") == 4 and run.count("val") == 4 and run.count("train") == 32


def test_build_real_takes(fixtures_dir, tmp_path, monkeypatch):
    # Three real takes under their dataset names, converted by the real pipeline.
    src = {"bandai_walk_normal.bvh": "dataset-1_walk_normal_001.bvh",
           "bandai_wave_right_hand.bvh": "dataset-2_wave-right-hand_normal_001.bvh",
           "bandai_bow_happy.bvh": "dataset-1_bow_happy_001.bvh"}
    for a, b in src.items():
        shutil.copy(fixtures_dir / a, tmp_path / b)
    takes = bandai_namco.list_takes(tmp_path)
    ds = pipeline.build(takes, workers=1)
    assert len(ds) == 3 and ds.features.shape == (390, FEATURE_DIM)
    assert ds.features.dtype == np.float32
    walk = ds.clip(list(ds.names).index("dataset-1_walk_normal_001"))
    assert walk[:, 2].mean() < -1.0  # walking forward (-y in the heading frame), m/s
    bow = ds.clip(list(ds.names).index("dataset-1_bow_happy_001"))
    assert bow[:, CONTACTS].mean() > 0.9  # bowing on the spot: feet planted
    pipeline.save(ds, tmp_path / "c.npz")
    again = pipeline.load(tmp_path / "c.npz")
    np.testing.assert_array_equal(again.features, ds.features)
    assert list(again.styles) == list(ds.styles)
    st = pipeline.stats(ds)
    assert st["takes"] == 3 and st["content"]["walk"]["frames"] == 120


def test_missing_archive_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("CADENCE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CADENCE_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(FileNotFoundError, match="CADENCE_DATA_DIR"):
        paths.unpacked("nothing.tar.xz", "nothing")


@pytest.mark.skipif(not (paths.data_dir() / bandai_namco.ARCHIVE).exists(),
                    reason="the shared data archive is not present")
def test_full_dataset_stats():
    """The whole archive: 3,076 takes, every label present, split by take."""
    ds = pipeline.load_or_build()
    st = pipeline.stats(ds)
    assert st["takes"] == 3076
    assert st["set"]["2"]["frames"] == 384931
    assert len(st["content"]) == 24 and len(st["style"]) == 16
    assert 3.5 < st["hours"] < 4.2
    train = set(zip(ds.contents[ds.splits == "train"], ds.styles[ds.splits == "train"]))
    assert train == set(zip(ds.contents, ds.styles))
    assert 0.07 < st["split"]["test"]["takes"] / 3076 < 0.13
    # A second load comes from the cache.
    assert pipeline.cache_path().exists()
