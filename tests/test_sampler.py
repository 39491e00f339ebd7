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


def test_dpm_solver_first_step_is_ddim_and_an_exact_denoiser_stays_on_its_path():
    rng = np.random.default_rng(2)
    x, x0 = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    np.testing.assert_allclose(diffusion.dpm_solver_2m_step(x, x0, None, 0.2, 0.6, None),
                               diffusion.ddim_step(x, x0, 0.2, 0.6), rtol=1e-10, atol=1e-12)
    # With the true x0 every step lands on alpha x0 + sigma eps, whatever the history.
    target, eps = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    abar = (0.1, 0.4, 0.8)
    x1 = np.sqrt(abar[0]) * target + np.sqrt(1 - abar[0]) * eps
    x2 = diffusion.dpm_solver_2m_step(x1, target, None, abar[0], abar[1], None)
    x3 = diffusion.dpm_solver_2m_step(x2, target, target, abar[1], abar[2], abar[0])
    np.testing.assert_allclose(x3, np.sqrt(abar[2]) * target + np.sqrt(1 - abar[2]) * eps, atol=1e-12)


def test_dpm_solver_follows_the_ode_closer_than_ddim_at_few_steps():
    """Gaussian data N(0, c^2): the exact x0-denoiser is known, and so is where the
    probability-flow ODE takes a starting point; the second-order solver gets closer."""
    c = 0.5
    abar = diffusion.cosine_alphas_cumprod()

    def exact(x, t):
        a, s2 = np.sqrt(abar[t]), 1.0 - abar[t]
        return a * c * c * x / (a * a * c * c + s2)

    start = np.random.default_rng(3).normal(size=(64, 1))
    t0 = diffusion.ddim_timesteps(5)[0]
    # Along the ODE x_t / sqrt(abar_t c^2 + 1 - abar_t) stays constant; the last step's x0
    # is the exact denoiser at the last timestep (t = 0) applied to that point.
    z = start / np.sqrt(abar[t0] * c * c + 1.0 - abar[t0])
    truth = exact(np.sqrt(abar[0] * c * c + 1.0 - abar[0]) * z, 0)
    errors = {}
    for solver in ("ddim", "dpm++2m"):  # the teacher's solvers ("distilled" needs a student)
        out = sample(exact, start.shape, 5, np.random.default_rng(0), x_start=start.astype(np.float32),
                     solver=solver)
        errors[solver] = float(np.abs(out - truth).mean())
    assert errors["dpm++2m"] < 0.5 * errors["ddim"], errors
    with pytest.raises(ValueError, match="unknown solver"):
        sample(exact, start.shape, 5, np.random.default_rng(0), solver="euler")
