"""Which takes training draws: square-root pair weights mixed with the action-balanced draw."""
import numpy as np
import pytest

pytest.importorskip("torch")

from cadence.training.motion_data import take_weights

# 1 kick take; 40 walk takes in 2 styles (30 + 10); 3 bow takes in 3 styles
CONTENTS = np.array(["kick"] + ["walk"] * 40 + ["bow"] * 3)
STYLES = np.array(["normal"] + ["normal"] * 30 + ["old"] * 10 + ["happy", "sad", "normal"])


def shares(w):
    return {c: float(w[CONTENTS == c].sum()) for c in ("kick", "walk", "bow")}


def test_balanced_draw_gives_every_action_and_style_its_share():
    w = take_weights(CONTENTS, STYLES, 1.0)
    assert w.sum() == pytest.approx(1.0)
    assert all(v == pytest.approx(1 / 3) for v in shares(w).values())
    walk_old = w[(CONTENTS == "walk") & (STYLES == "old")].sum()
    assert walk_old == pytest.approx(1 / 6)  # half of walk's share, though a quarter of its takes


def test_square_root_draw_and_the_mix():
    root = take_weights(CONTENTS, STYLES, 0.0)
    assert root[0] / root[1] == pytest.approx(np.sqrt(30))   # 1-take pair vs a 30-take pair, per take
    mixed = take_weights(CONTENTS, STYLES, 0.5)
    assert mixed == pytest.approx(0.5 * root + 0.5 * take_weights(CONTENTS, STYLES, 1.0))
    assert shares(root)["kick"] < shares(mixed)["kick"] < 1 / 3


@pytest.mark.parametrize("balance", [-0.1, 1.5])
def test_balance_out_of_range(balance):
    with pytest.raises(ValueError, match="balance"):
        take_weights(CONTENTS, STYLES, balance)
