"""The prompt matcher: sentences onto the motion model's known actions."""
import numpy as np
import pytest

from cadence.inference.prompt_matcher import FORMAT, PromptMatcher


def small_matcher() -> PromptMatcher:
    w = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]], np.float32)
    return PromptMatcher(("a", "b", "c"), w, np.zeros(3, np.float32))


def test_probabilities_top_and_one_hot():
    m = small_matcher()
    p = m.probabilities(np.array([[3.0, 0.0], [0.0, 2.0]], np.float32))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-6)
    assert [name for name, _ in m.top(p[0], 2)] == ["a", "b"]
    assert m.top(p[1], 1)[0][0] == "b"
    np.testing.assert_array_equal(m.content_vector(p), [[1, 0, 0], [0, 1, 0]])
    np.testing.assert_array_equal(m.one_hot(["c", "a"]), [[0, 0, 1], [1, 0, 0]])
    with pytest.raises(ValueError, match="unknown action label"):
        m.one_hot(["d"])


def test_round_trip_and_bad_data():
    m = small_matcher()
    back = PromptMatcher.from_dict(m.to_dict())
    assert back.labels == m.labels
    np.testing.assert_array_equal(back.weight, m.weight)
    with pytest.raises(ValueError, match="format"):
        PromptMatcher.from_dict({**m.to_dict(), "format": "other"})
    with pytest.raises(ValueError, match="labels need"):
        PromptMatcher(("a", "b"), m.weight, m.bias)
    with pytest.raises(ValueError, match="reads"):
        m.probabilities(np.zeros((1, 5), np.float32))
    assert m.to_dict()["format"] == FORMAT


def test_extreme_logits_stay_finite():
    m = small_matcher()
    p = m.probabilities(np.array([[1e4, -1e4]], np.float32))
    assert np.isfinite(p).all() and p[0, 0] == pytest.approx(1.0)


@pytest.fixture(scope="module")
def model():
    from cadence.inference.motion_model import MotionModel
    return MotionModel.load()


@pytest.mark.parametrize("prompt, label", [
    ("a person waves with the right hand", "wave-right-hand"),
    ("waving the left hand", "wave-left-hand"),
    ("raise both hands", "raise-up-both-hands"),
    ("lifts the right arm up high", "raise-up-right-hand"),
    ("someone jogs", "run"),
    ("bows politely", "bow"),
    ("throws a kick", "kick"),
    ("walk forward and turn right", "walk-turn-right"),
    ("a man walks straight ahead", "walk"),
    ("walking backwards", "walk-back"),
])
def test_shipped_matcher_reads_free_text(model, prompt, label):
    reading = model.encode_prompts([prompt])
    assert model.match(reading.probabilities[0])[0][0] == label
    assert reading.content[0, model.labels.index(label)] == 1.0 and reading.content.sum() == 1.0


def test_shipped_matcher_on_held_out_paraphrases(model):
    from cadence.training.prompts import HELD_OUT_PROMPTS
    texts = [t for label in model.labels for t in HELD_OUT_PROMPTS[label]]
    want = [label for label in model.labels for _ in HELD_OUT_PROMPTS[label]]
    got = [model.labels[i] for i in np.argmax(model.encode_prompts(texts).probabilities, axis=1)]
    accuracy = np.mean(np.array(got) == np.array(want))
    assert accuracy >= 0.95, accuracy
    assert model.meta["prompt_matcher"]["held_out_accuracy"] == pytest.approx(accuracy, abs=1e-6)


def test_fit_matcher_separates_labels_and_reads_side_cues():
    pytest.importorskip("torch")
    from cadence.training.prompt_matcher import accuracy, fit_matcher
    rng = np.random.default_rng(0)
    # Two actions whose "sentence" parts are identical and differ only in the left/right cue
    # (as "waves the left hand" / "waves the right hand" nearly do), and a third apart.
    base = rng.normal(size=(1, 8)).astype(np.float32)
    other = rng.normal(size=(1, 8)).astype(np.float32)
    rows, labels = [], []
    for i in range(30):
        noise = 0.05 * rng.normal(size=(1, 8)).astype(np.float32)
        rows += [np.c_[base + noise, [[1, 0, 0]]], np.c_[base + noise, [[0, 1, 0]]], np.c_[other + noise, [[0, 0, 0]]]]
        labels += [0, 1, 2]
    x, y = np.concatenate(rows).astype(np.float32), np.array(labels)
    m = fit_matcher(x, y, ["wave-left", "wave-right", "bow"])
    assert accuracy(m, x, y) == 1.0
    again = fit_matcher(x, y, ["wave-left", "wave-right", "bow"])
    np.testing.assert_array_equal(m.weight, again.weight)  # deterministic
