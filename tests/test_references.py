"""The reference bank: real takes as starting points for sampling (inference/motion/references.py)."""
import shutil

import numpy as np
import pytest

from cadence.inference.motion.model import GenerationError, GenerationRequest, MotionModel, clear_cache
from cadence.inference.motion.references import REFERENCES_FILE, ReferenceBank, noised
from cadence.inference.motion.sampler import sample
from cadence.inference.runtime.weights import DEFAULT_WEIGHTS_DIR, WeightsError


def small_bank() -> ReferenceBank:
    # take 0: action 1 / style 0, 5 own tokens + 2 held; take 1: action 1 / style 2, 3 + 2
    lat = np.arange(12 * 2, dtype=np.float16).reshape(12, 2)
    return ReferenceBank(lat, np.array([0, 7, 12]), np.array([1, 1]), np.array([0, 2]), np.array([5, 3]))


def test_bank_round_trip_and_consistency(tmp_path):
    bank = small_bank()
    bank.save(tmp_path / "b.npz")
    back = ReferenceBank.load(tmp_path / "b.npz")
    assert len(back) == 2 and np.array_equal(back.latents, bank.latents)
    assert not list(tmp_path.glob("*.tmp.npz"))
    np.savez(tmp_path / "bad.npz", latents=bank.latents, offsets=np.array([0, 7, 13]), contents=bank.contents,
             styles=bank.styles, tokens=bank.tokens)
    with pytest.raises(ValueError, match="consistent"):
        ReferenceBank.load(tmp_path / "bad.npz")


def test_candidates_follow_the_strongest_slider_and_fall_back():
    bank = small_bank()
    assert bank.candidates(1, np.array([0.0, 0.2, 0.9]), normal_style=0).tolist() == [1]
    assert bank.candidates(1, np.zeros(3), normal_style=0).tolist() == [0]       # normal
    assert bank.candidates(1, np.array([0.0, 1.0, 0.0]), 0).tolist() == [0, 1]   # no take in that style
    assert bank.pick(0, np.zeros(3), 0, 4, np.random.default_rng(0)) is None     # unknown action


def test_window_crops_long_takes_and_holds_short_ones():
    bank = small_bank()
    rng = np.random.default_rng(0)
    crops = {tuple(bank.window(0, 3, rng)[0]) for _ in range(40)}
    assert len(crops) == 3  # starts 0, 1, 2 of the 5 own tokens, never into the held pose
    held = bank.window(1, 8, rng)
    assert held.shape == (8, 2) and held.dtype == np.float32
    assert np.array_equal(held[:5], bank.latents[7:12].astype(np.float32))
    assert np.all(held[5:] == held[4])


def test_sampler_start_skips_steps():
    calls = []

    def denoise(x, t):
        calls.append(t)
        return np.zeros_like(x)

    sample(denoise, (1, 4, 2), 10, np.random.default_rng(0), x_start=np.ones((1, 4, 2), np.float32), start=6)
    assert len(calls) == 4 and calls[-1] == 0
    with pytest.raises(ValueError):
        sample(denoise, (1, 4, 2), 10, np.random.default_rng(0), start=10)


def test_noised_keeps_the_reference_at_low_noise():
    ref = np.random.default_rng(1).normal(size=(6, 3)).astype(np.float32)
    eps = np.random.default_rng(2).normal(size=(6, 3)).astype(np.float32)
    assert np.allclose(noised(ref, eps, 1.0), ref)
    assert np.allclose(noised(ref, eps, 0.0), eps)


@pytest.fixture(scope="module")
def model():
    return MotionModel.load()


def test_shipped_bank_covers_every_action_on_both_sides(model):
    assert model.references is not None
    bank = model.references
    assert set(bank.contents.tolist()) == set(range(len(model.labels)))
    assert bank.latents.shape[1] == model.latent_dim
    # every take of the training data's 1-take actions is in the bank (kick, punch, ...)
    for action in ("kick", "punch", "slash", "dance-short", "wave-left-hand", "wave-right-hand"):
        assert (bank.contents == model.labels.index(action)).sum() >= 2


def test_strength_starts_from_a_real_take(model):
    req = dict(prompt="a person kicks", seconds=3.0, seed=4)
    free = model.generate(GenerationRequest(**req, reference_strength=1.0))[0].features
    a = model.generate(GenerationRequest(**req, reference_strength=0.6))[0].features
    b = model.generate(GenerationRequest(**req, reference_strength=0.6))[0].features
    assert np.array_equal(a, b)                     # deterministic for a seed
    assert np.abs(a - free).max() > 1e-3             # and not the noise-only sample
    c = model.generate(GenerationRequest(**{**req, "seed": 5}, reference_strength=0.6))[0].features
    assert np.abs(a - c).max() > 1e-3                # seeds vary


@pytest.mark.parametrize("value", [0.0, -0.5, 1.5, float("nan")])
def test_bad_strength_is_refused(model, value):
    with pytest.raises(GenerationError, match="reference strength"):
        model.generate(GenerationRequest("a person kicks", 2.0, reference_strength=value))


def test_corrupt_bank_is_refused(tmp_path):
    wd = tmp_path / "w"
    shutil.copytree(DEFAULT_WEIGHTS_DIR, wd)
    (wd / REFERENCES_FILE).write_bytes(b"not a bank")
    clear_cache()
    with pytest.raises(WeightsError, match=REFERENCES_FILE):
        MotionModel.load(wd)
    clear_cache()


def test_one_take_actions_come_out_from_their_takes(model):
    """The kick (one take in the data) lifts a foot above the other knee in every seed
    when started from its take, and the seeds differ."""
    from cadence.motion.skeleton import CANONICAL
    j = {n: i for i, n in enumerate(CANONICAL.names)}
    feats, lifts = [], []
    for seed in range(4):
        r = model.generate(GenerationRequest("someone kicks", 4.0, seed=seed, reference_strength=0.6))[0]
        p = r.motion.positions()
        lifts.append(np.max(np.maximum(p[:, j["left_foot"], 2] - p[:, j["right_knee"], 2],
                                       p[:, j["right_foot"], 2] - p[:, j["left_knee"], 2])))
        feats.append(r.features)
    assert min(lifts) > 0.2, lifts
    assert min(np.abs(a - b).max() for i, a in enumerate(feats) for b in feats[i + 1:]) > 0.05
