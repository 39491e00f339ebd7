"""Classifier-free guidance rows (inference/motion/cfg.py) and the samplers that use them."""
import numpy as np
import pytest

from cadence.inference.motion.cfg import BOTH, CFG, NONE, TEXT
from cadence.inference.motion.model import GenerationRequest, MotionModel


def three_rows(preds, g_text, g_style):
    none, txt, both = preds[NONE], preds[TEXT], preds[BOTH]
    return none + g_text * (txt - none) + g_style * (both - txt)


@pytest.mark.parametrize("g_text, g_style, kinds", [
    (2.5, 2.0, (NONE, TEXT, BOTH)),
    (2.5, 2.5, (NONE, BOTH)),      # equal scales: the text-only row drops out
    (1.0, 1.0, (BOTH,)),           # no guidance at all
    (1.0, 0.0, (TEXT,)),           # text only, styles ignored
    (0.0, 0.0, (NONE,)),
])
def test_rows_are_those_with_weight_and_combine_exactly(g_text, g_style, kinds):
    cfg = CFG(g_text, g_style)
    assert cfg.kinds(500) == kinds
    assert sum(cfg.coefficients(500).values()) == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    preds = {k: rng.standard_normal((2, 8, 5)) for k in (NONE, TEXT, BOTH)}
    got = cfg.combine({k: preds[k] for k in kinds}, 500)
    np.testing.assert_allclose(got, three_rows(preds, g_text, g_style), atol=1e-12)


def test_unguided_tail_runs_the_conditional_row_alone():
    cfg = CFG(2.5, 2.0, unguided_below=250)
    assert cfg.kinds(333) == (NONE, TEXT, BOTH)
    assert cfg.kinds(222) == (BOTH,)
    x = np.ones(3)
    assert cfg.combine({BOTH: x}, 0) is x


@pytest.fixture(scope="module")
def model():
    return MotionModel.load(threads=2)


class CountingSession:
    def __init__(self, session):
        self.session, self.rows = session, []

    def run(self, names, feeds):
        self.rows.append(len(feeds["x"]))
        return self.session.run(names, feeds)


def test_denoiser_runs_fewer_rows_for_the_same_guided_prediction(model):
    content = model.encode_prompts(["a person waves the right hand"]).content[0]
    style = model.style_vector({"happy": 1.0})
    x = np.random.default_rng(1).standard_normal((2, 16, model.latent_dim)).astype(np.float32)
    counting = CountingSession(model.session)
    real = model.session
    model._sessions["denoiser"] = counting
    try:
        merged = model.denoiser(content, style, CFG(2.5, 2.5))(x, 500)
        full = model.denoiser(content, style, CFG(2.5, 2.0))(x, 500)
        tail = model.denoiser(content, style, CFG(2.5, 2.0, unguided_below=600))(x, 500)
    finally:
        model._sessions["denoiser"] = real
    assert counting.rows == [4, 6, 2]  # 2 samples x (2, 3, 1) conditions
    # The merged two-row form is the three-row formula with equal scales.
    preds = {}
    for kind, (tk, sk) in ((NONE, (0, 0)), (TEXT, (1, 0)), (BOTH, (1, 1))):
        preds[kind] = model.session.run(None, {
            "x": x, "t": np.full(2, 500, np.float32), "content": np.tile(content * tk, (2, 1)).astype(np.float32),
            "content_keep": np.full(2, tk, np.float32), "style": np.tile(style * sk, (2, 1)).astype(np.float32),
            "style_keep": np.full(2, sk, np.float32)})[0]
    np.testing.assert_allclose(merged, three_rows(preds, 2.5, 2.5), atol=2e-4)
    np.testing.assert_allclose(full, three_rows(preds, 2.5, 2.0), atol=2e-4)
    np.testing.assert_allclose(tail, preds[BOTH], atol=2e-4)
    assert np.abs(full - tail).max() > 0.1  # guidance does change the prediction


def test_generation_follows_the_model_defaults_for_the_unguided_tail(model):
    req = GenerationRequest("a person walks forward", 2.0, {}, seed=4)
    saved = dict(model.defaults)
    try:
        model.defaults["unguided_below"] = 0
        guided = model.generate(req)[0].features
        model.defaults["unguided_below"] = 1000
        unguided = model.generate(req)[0].features
        model.defaults["unguided_below"] = 0
        again = model.generate(req)[0].features
    finally:
        model.defaults.clear()
        model.defaults.update(saved)
    np.testing.assert_allclose(guided, again, atol=1e-5)
    assert np.abs(guided - unguided).max() > 1e-2
