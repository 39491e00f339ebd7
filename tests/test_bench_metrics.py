"""Quality metrics (bench/metrics.py) and the motion evaluator (training/evaluator.py)."""
import numpy as np
import pytest

from cadence.bench import metrics as M
from cadence.motion.convert import load_canonical_motion
from cadence.motion.kinematics import rest_motion
from cadence.motion.representation import FEATURE_DIM
from cadence.motion.skeleton import CANONICAL

# --- FID and diversity -------------------------------------------------------------------

def test_fid_of_identical_sets_is_zero():
    x = np.random.default_rng(0).normal(size=(400, 16))
    assert M.frechet_distance(x, x) == pytest.approx(0.0, abs=1e-8)


def test_fid_of_a_mean_shift_is_the_squared_shift():
    x = np.random.default_rng(1).normal(size=(500, 8)) @ np.diag(np.linspace(0.5, 2.0, 8))
    shift = np.array([1.0, -2.0, 0.5, 0, 0, 0, 0, 3.0])
    # Equal covariances: FID = ||mu_a - mu_b||^2 exactly.
    assert M.frechet_distance(x, x + shift) == pytest.approx(shift @ shift, rel=1e-6)
    assert M.frechet_distance(x, x + 2 * shift) > M.frechet_distance(x, x + shift)


def test_fid_matches_the_closed_form_for_diagonal_gaussians():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(20000, 3)) * [1.0, 2.0, 0.5]
    b = rng.normal(size=(20000, 3)) * [2.0, 1.0, 0.5] + [0.3, 0, 0]
    # Diagonal: sum (s_a - s_b)^2 + ||mu||^2 = 1 + 1 + 0 + 0.09
    assert M.frechet_distance(a, b) == pytest.approx(2.09, abs=0.06)
    assert M.frechet_distance(a, b) == pytest.approx(M.frechet_distance(b, a), rel=1e-6)


def test_fid_with_fewer_samples_than_dimensions_is_finite():
    rng = np.random.default_rng(3)
    v = M.frechet_distance(rng.normal(size=(50, 256)), rng.normal(size=(50, 256)))
    assert np.isfinite(v) and v > 0


def test_diversity():
    assert M.diversity(np.ones((10, 5))) == 0.0
    two = np.array([[0.0, 0.0], [3.0, 4.0]])
    d = M.diversity(two, pairs=1000, seed=1)
    assert 0 < d < 5 and d == pytest.approx(2.5, abs=0.3)  # half the pairs are distinct
    x = np.random.default_rng(0).normal(size=(1000, 64))
    assert M.diversity(x) == pytest.approx(np.sqrt(2 * 64), rel=0.05)
    assert M.diversity(x, seed=3) == M.diversity(x, seed=3)


# --- foot skating and jitter -------------------------------------------------------------

def test_foot_skating_of_a_real_standing_take_is_small(fixtures_dir):
    m = load_canonical_motion(fixtures_dir / "bandai_bow_happy.bvh")
    assert M.foot_skating_ratio(m.positions(), m.fps) < 0.02


def test_foot_skating_of_a_real_walk_is_small(fixtures_dir):
    m = load_canonical_motion(fixtures_dir / "bandai_walk_normal.bvh")
    assert M.foot_skating_ratio(m.positions(), m.fps) < 0.1


def test_foot_skating_of_a_sliding_rest_pose_is_one():
    # The rest pose (feet on the floor) glides along X at 1 m/s: every step skates.
    m = rest_motion(60)
    pos = m.positions().copy()
    pos[..., 0] += (np.arange(60) / 30.0)[:, None]
    assert M.foot_skating_ratio(pos, 30.0) == pytest.approx(1.0)
    # The same pose lifted 20 cm, or gliding slowly, does not skate.
    lifted = pos.copy()
    lifted[..., 2] += 0.2
    assert M.foot_skating_ratio(lifted, 30.0) == 0.0
    slow = m.positions().copy()
    slow[..., 0] += (np.arange(60) / 30.0 * 0.2)[:, None]
    assert M.foot_skating_ratio(slow, 30.0) == 0.0
    assert M.foot_skating_ratio(pos[:1], 30.0) == 0.0


def test_foot_joint_indices_follow_the_skeleton():
    assert [CANONICAL.names[i] for i in M.FOOT_INDICES] == [
        "left_ankle", "right_ankle", "left_foot", "right_foot"]


def test_jitter_of_smooth_motion_vs_noisy_motion():
    fps = 30.0
    t = np.arange(90) / fps
    base = np.broadcast_to(CANONICAL.rest_positions(), (90, 55, 3)).copy()
    smooth = base.copy()
    smooth[..., 0] += 0.1 * np.sin(2 * np.pi * 1.0 * t)[:, None]
    # A 10 cm, 1 Hz sine has jerk amplitude 0.1 (2 pi)^3 = 24.8 m/s^3: mean |.| = 2/pi of it.
    assert M.jitter(smooth, fps) == pytest.approx(0.1 * (2 * np.pi) ** 3 * 2 / np.pi, rel=0.05)
    noisy = smooth + np.random.default_rng(0).normal(scale=0.005, size=smooth.shape)
    assert M.jitter(noisy, fps) > 10 * M.jitter(smooth, fps)
    assert M.jitter(base, fps) == pytest.approx(0.0, abs=1e-9)
    assert M.jitter(base[:3], fps) == 0.0


# --- the evaluator (torch) ---------------------------------------------------------------

def _synthetic_clips(n=12, seed=0):
    """Two 'contents' (slow / fast sines) x two 'styles' (small / large amplitude)."""
    rng = np.random.default_rng(seed)
    clips, contents, styles = [], [], []
    for i in range(n):
        length = int(rng.integers(20, 90))
        freq, amp = (0.5, 1.0)[i % 2], (0.2, 1.0)[(i // 2) % 2]
        t = np.arange(length)[:, None] / 30.0
        x = amp * np.sin(2 * np.pi * freq * t + rng.uniform(0, 6, size=(1, FEATURE_DIM)))
        clips.append((x + 0.05 * rng.normal(size=x.shape)).astype(np.float32))
        contents.append(("walk", "run")[i % 2])
        styles.append(("tired", "active")[(i // 2) % 2])
    return clips, np.array(contents), np.array(styles)


def test_evaluator_trains_embeds_predicts_and_round_trips(tmp_path):
    torch = pytest.importorskip("torch")
    from cadence.training import evaluator as E

    torch.set_num_threads(1)
    clips, contents, styles = _synthetic_clips()
    cfg = E.EvaluatorConfig(window=32, min_frames=16, hidden=32, embed_dim=24, batch_size=8)
    ev, history = E.train_evaluator(clips, contents, styles, val=(clips[:4], contents[:4], styles[:4]),
                                    config=cfg, steps=20, eval_every=10, seed=0, log=lambda m: None)
    assert len(history) == 2 and np.isfinite(history[-1][1])
    long_clip = np.concatenate(clips[:3])  # longer than a window: averaged over windows
    test = clips + [long_clip]
    emb = ev.embed(test)
    assert emb.shape == (len(test), 24) and emb.dtype == np.float32 and np.isfinite(emb).all()
    # Batching does not change a clip's embedding (padding is masked out).
    np.testing.assert_allclose(ev.embed([test[3]])[0], emb[3], atol=1e-5)
    c, s = ev.predict(test)
    assert c.shape == s.shape == (len(test),)
    assert set(c) <= {"walk", "run"} and set(s) <= {"tired", "active"}
    assert ev.embed([]).shape == (0, 24)

    path = tmp_path / "ev.pt"
    ev.metrics = {"note": "test"}
    ev.save(path)
    back = E.load_evaluator(path)
    np.testing.assert_allclose(back.embed(test), emb, atol=1e-6)
    assert [list(x) for x in back.predict(test)] == [list(c), list(s)]
    assert back.contents == ev.contents and back.metrics == {"note": "test"}
    assert back.config == cfg

    fid = M.real_vs_real_fid(back, clips, seed=0)
    assert np.isfinite(fid) and fid >= 0


def test_evaluator_training_is_deterministic():
    torch = pytest.importorskip("torch")
    from cadence.training import evaluator as E

    torch.set_num_threads(1)
    clips, contents, styles = _synthetic_clips(8, seed=1)
    cfg = E.EvaluatorConfig(window=32, min_frames=16, hidden=16, embed_dim=8, batch_size=4)
    runs = [E.train_evaluator(clips, contents, styles, config=cfg, steps=5, eval_every=5,
                              seed=7, log=lambda m: None)[0].embed(clips) for _ in range(2)]
    np.testing.assert_array_equal(runs[0], runs[1])


def test_clip_windows_cover_the_clip():
    pytest.importorskip("torch")
    from cadence.training.evaluator import clip_windows

    assert clip_windows(50, 128) == [(0, 50)]
    w = clip_windows(300, 128)
    assert len(w) == 3 and w[0][0] == 0 and w[-1][1] == 300
    assert all(b - a == 128 for a, b in w)
