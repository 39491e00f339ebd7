"""Side cues: the words that sentence embeddings blur."""
import numpy as np

from cadence.inference.text.cues import side_cues, with_cues
from cadence.training.prompts import PROMPTS


def test_sides():
    assert side_cues("waves with the left hand").tolist() == [1, 0, 0]
    assert side_cues("Raise your RIGHT arm!").tolist() == [0, 1, 0]
    assert side_cues("waves with both hands").tolist() == [0, 0, 1]
    assert side_cues("raises the hands above the head").tolist() == [0, 0, 1]
    assert side_cues("turns leftwards while walking").tolist() == [1, 0, 0]
    assert side_cues("a person walks forward").tolist() == [0, 0, 0]
    assert side_cues("bright lights").tolist() == [0, 0, 0]  # whole words only


def test_training_prompts_name_their_side():
    for label, texts in PROMPTS.items():
        cues = np.stack([side_cues(t) for t in texts])
        if label.endswith("left-hand") or label == "walk-turn-left":
            assert cues[:, 0].mean() > 0.8, label
        if label.endswith("right-hand") or label == "walk-turn-right":
            assert cues[:, 1].mean() > 0.8, label
        if label.endswith("both-hands"):
            assert cues[:, 2].mean() > 0.8, label


def test_with_cues_shape():
    out = with_cues(np.ones((2, 384), np.float32), ["left", "right"])
    assert out.shape == (2, 387) and out.dtype == np.float32
    assert out[0, 384:].tolist() == [1, 0, 0] and out[1, 384:].tolist() == [0, 1, 0]
