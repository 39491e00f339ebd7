"""Mirror images for augmentation (motion/mirror.py)."""
from pathlib import Path

import numpy as np

from cadence.motion.convert import load_canonical_motion
from cadence.motion.mirror import mirror_features, mirror_label, mirror_motion
from cadence.motion.representation import encode
from cadence.motion.skeleton import CANONICAL

J = {n: i for i, n in enumerate(CANONICAL.names)}
WALK = Path(__file__).parent / "fixtures" / "bandai_walk_normal.bvh"


def test_mirrored_motion_is_the_reflection_of_the_joint_positions():
    walk = load_canonical_motion(WALK)
    p, m = walk.positions(), mirror_motion(walk).positions()
    for name in ("left_wrist", "right_ankle", "head", "left_index3", "right_eye_smplhf"):
        partner = name.replace("left", "@").replace("right", "left").replace("@", "right")
        assert np.allclose(m[:, J[partner]], p[:, J[name]] * [-1, 1, 1], atol=1e-9)
    assert np.allclose(mirror_motion(mirror_motion(walk)).rotations, walk.rotations)


def test_features_mirror_exactly_like_the_motion():
    walk = load_canonical_motion(WALK)
    feats = encode(walk)[0]
    assert np.allclose(mirror_features(feats), encode(mirror_motion(walk))[0], atol=1e-6)
    assert np.allclose(mirror_features(mirror_features(feats[None]))[0], feats)


def test_labels_swap_sides_only_when_the_partner_exists():
    labels = {"wave-left-hand", "wave-right-hand", "walk-turn-left", "walk-turn-right", "kick"}
    assert mirror_label("wave-left-hand", labels) == "wave-right-hand"
    assert mirror_label("walk-turn-right", labels) == "walk-turn-left"
    assert mirror_label("kick", labels) == "kick"
    assert mirror_label("raise-up-left-hand", labels) == "raise-up-left-hand"
