"""The numpy DDIM sampler and schedule (no model needed)."""
import numpy as np
import pytest

from cadence.inference.motion import diffusion
from cadence.inference.motion.sampler import GenerationCancelled, sample


def test_schedule_is_monotonic_and_spans_noise_levels():
    abar = diffusion.cosine_alphas_cumprod()
    assert abar.shape == (1000,) and np.all(np.diff(abar) <= 0) and np.all(np.diff(abar[:990]) < 0)
    assert abar[0] > 0.999 and abar[-1] < 1e-3
    ts = diffusion.ddim_timesteps(10)
    assert len(ts) == 10 and ts[0] == 999 and ts[-1] == 0 and np.all(np.diff(ts) < 0)
    with pytest.raises(ValueError):
        diffusion.ddim_timesteps(0)


def test_ddim_step_with_exact_x0_reaches_it():
    # If the denoiser always predicts the true clean sample, DDIM lands on it exactly.
    target = np.random.default_rng(0).normal(size=(2, 16, 5)).astype(np.float32)
    calls = []

    def oracle(x, t):
        calls.append(t)
        return target

    out = sample(oracle, target.shape, 8, np.random.default_rng(1))
    np.testing.assert_allclose(out, target)
    assert len(calls) == 8 and calls[0] == 999


def test_ddim_step_formula():
    x0, eps = np.array([1.0]), np.array([0.5])
    a_t, a_prev = 0.3, 0.8
    x_t = np.sqrt(a_t) * x0 + np.sqrt(1 - a_t) * eps
    np.testing.assert_allclose(diffusion.ddim_step(x_t, x0, a_t, a_prev),
                               np.sqrt(a_prev) * x0 + np.sqrt(1 - a_prev) * eps)


def test_seeded_and_cancellable():
    def shrink(x, t):
        return 0.5 * x

    a = sample(shrink, (1, 8, 3), 5, np.random.default_rng(7))
    b = sample(shrink, (1, 8, 3), 5, np.random.default_rng(7))
    c = sample(shrink, (1, 8, 3), 5, np.random.default_rng(8))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    seen = []
    with pytest.raises(GenerationCancelled):
        sample(shrink, (1, 8, 3), 5, np.random.default_rng(7),
               progress=lambda done, total: seen.append(done) or done < 2)
    assert seen == [1, 2]
