"""Build the reference bank (inference/motion/references.py) from the training split.

    .venv/bin/python training/train.py references [--per-pair 3] [--weights weights/]

Encodes up to ``--per-pair`` training takes of every action x style pair, and their
mirror images, with the model's own encoder (the shipped ONNX file, so the bank always
matches the latent space it is used in), and writes ``motion_references.npz`` beside
the model with its manifest entry. ``train.py export`` runs this after every export.
Test takes are never in the bank: the benches measure against them.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ..dataset.pipeline import MotionDataset
from ..inference.motion.model import MotionModel, clear_cache
from ..inference.motion.references import HELD_TOKENS, REFERENCES_FILE, ReferenceBank
from ..inference.runtime.weights import DEFAULT_WEIGHTS_DIR, sha256_file, update_manifest
from ..motion.mirror import mirror_features, mirror_label
from .motion_data import CROP_LENGTHS, CYCLIC_ACTIONS, extend_take

LOOPED_TOKENS = CROP_LENGTHS[-1] // 4  # locomotion references are at least this long

LICENCE = "CC-BY-NC-4.0"


def chosen_takes(ds: MotionDataset, per_pair: int, seed: int = 0) -> list[int]:
    """Up to ``per_pair`` training takes of each action x style pair (a fixed draw)."""
    rng = np.random.default_rng(seed)
    train = ds.indices("train")
    out: list[int] = []
    for pair in sorted({(ds.contents[i], ds.styles[i]) for i in train}):
        takes = [int(i) for i in train if (ds.contents[i], ds.styles[i]) == pair]
        out += sorted(rng.choice(takes, size=min(per_pair, len(takes)), replace=False).tolist())
    return out


def build_bank(model: MotionModel, ds: MotionDataset, takes: list[int]) -> ReferenceBank:
    """The takes and their mirror images as normalised latents, each followed by
    HELD_TOKENS tokens of its last pose held still; locomotion takes first continue
    their gait to LOOPED_TOKENS (motion_data.extend_take), so that a long window of a
    run keeps running."""
    fpt = model.frames_per_token
    latents, contents, styles, tokens = [], [], [], []
    for i in takes:
        clip = ds.clip(i)
        if ds.contents[i] in CYCLIC_ACTIONS and len(clip) < LOOPED_TOKENS * fpt:
            clip = extend_take(clip, LOOPED_TOKENS * fpt - len(clip), cyclic=True)
        own = -(-len(clip) // fpt)
        full = extend_take(clip, own * fpt - len(clip) + HELD_TOKENS * fpt, cyclic=False)
        pair = np.stack([full, mirror_features(full)])
        z = model.encode_features(model.normalizer.normalize(pair).astype(np.float32))
        for side, label in enumerate((ds.contents[i], mirror_label(ds.contents[i], model.labels))):
            latents.append(z[side])
            contents.append(model.labels.index(label))
            styles.append(model.styles.index(ds.styles[i]))
            tokens.append(own)
    offsets = np.concatenate([[0], np.cumsum([len(z) for z in latents])])
    return ReferenceBank(np.concatenate(latents).astype(np.float16), offsets, np.array(contents),
                         np.array(styles), np.array(tokens))


def write_bank(weights_dir: Path, ds: MotionDataset, per_pair: int = 3, version: str = "2") -> Path:
    """Build the bank for the model in ``weights_dir`` and record it in the manifest."""
    clear_cache()
    model = MotionModel.load(weights_dir)
    bank = build_bank(model, ds, chosen_takes(ds, per_pair))
    path = weights_dir / REFERENCES_FILE
    bank.save(path)
    update_manifest(weights_dir / "manifest.json", [{"file": path.name, "sha256": sha256_file(path),
                                                     "version": version, "licence": LICENCE,
                                                     "kind": "motion-references"}])
    clear_cache()
    return path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="train.py references", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS_DIR)
    p.add_argument("--per-pair", type=int, default=3)
    args = p.parse_args(argv)
    from ..dataset import pipeline
    ds = pipeline.load_or_build()
    path = write_bank(args.weights, ds, args.per_pair)
    bank = ReferenceBank.load(path)
    print(f"wrote {path} ({path.stat().st_size / 2 ** 10:.0f} KiB): {len(bank)} takes "
          f"(mirror images included), {len(bank.latents)} tokens")
    return 0
