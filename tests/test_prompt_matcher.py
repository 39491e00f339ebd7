"""The prompt matcher: sentences onto the motion model's known actions."""
import numpy as np
import pytest

from cadence.inference.text.prompt_matcher import FORMAT, PromptMatcher


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
    from cadence.inference.motion.model import MotionModel
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
    for _ in range(30):
        noise = 0.05 * rng.normal(size=(1, 8)).astype(np.float32)
        rows += [np.c_[base + noise, [[1, 0, 0]]], np.c_[base + noise, [[0, 1, 0]]], np.c_[other + noise, [[0, 0, 0]]]]
        labels += [0, 1, 2]
    x, y = np.concatenate(rows).astype(np.float32), np.array(labels)
    m = fit_matcher(x, y, ["wave-left", "wave-right", "bow"])
    assert accuracy(m, x, y) == 1.0
    again = fit_matcher(x, y, ["wave-left", "wave-right", "bow"])
    np.testing.assert_array_equal(m.weight, again.weight)  # deterministic


def test_weak_match_warning_names_the_closest_actions():
    from cadence.inference.text.prompt_matcher import WEAK_MATCH, weak_match_warning
    assert weak_match_warning("wave", [("wave-right-hand", WEAK_MATCH + 0.01)]) is None
    assert weak_match_warning("x", []) is None
    line = weak_match_warning(" juggle ", [("call", 0.2), ("guide", 0.1), ("bow", 0.05), ("run", 0.01)])
    assert line.startswith("'juggle' matches no known action well") and "\n" not in line
    assert "call (0.20), guide (0.10), bow (0.05)" in line and "run" not in line


def test_shipped_matcher_warns_on_actions_the_data_lacks(model):
    from cadence.inference.text.prompt_matcher import weak_match_warning
    from cadence.training.prompts import HELD_OUT_PROMPTS
    lacking = ["a person does a cartwheel", "a man sits down on a chair", "someone climbs a ladder",
               "a person lies down on the floor", "a woman plays the guitar", "a person does push-ups"]
    probs = model.encode_prompts(lacking).probabilities
    assert all(weak_match_warning(t, model.match(p)) for t, p in zip(lacking, probs))
    known = [t for label in model.labels for t in HELD_OUT_PROMPTS[label]]
    probs = model.encode_prompts(known).probabilities
    warned = np.mean([weak_match_warning(t, model.match(p)) is not None for t, p in zip(known, probs)])
    assert warned <= 0.05, warned


def test_cli_warns_on_a_weak_match_and_still_writes(tmp_path):
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "c.bvh"
    r = subprocess.run([sys.executable, str(root / "cadence"), "generate", "--prompt", "a person does a cartwheel",
                        "--seconds", "2", "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and out.exists()
    assert "cadence generate: warning: 'a person does a cartwheel' matches no known action well" in r.stderr
    assert r.stderr.count("\n") == 1
