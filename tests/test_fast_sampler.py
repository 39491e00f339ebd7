"""The fast sampler: the shipped 2-step, one-row student distilled from the guided model
(training/distill_motion.py), on the command line, in jobs and against bad requests."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cadence.inference.motion.diffusion import cosine_alphas_cumprod, ddim_step, sampler_timesteps
from cadence.inference.motion.model import (
    FAST_DECODER,
    STUDENT,
    GenerationError,
    GenerationRequest,
    MotionModel,
    clear_cache,
)
from cadence.inference.runtime.weights import DEFAULT_WEIGHTS_DIR, WeightsError, sha256_file, update_manifest
from cadence.motion.foot_lock import decode_generated
from cadence.motion.skeleton import CANONICAL

ROOT = Path(__file__).resolve().parents[1]
HIPS = CANONICAL.names.index("pelvis")


@pytest.fixture(scope="module")
def model():
    return MotionModel.load()


def fast(model, prompt, seconds=4.0, seed=0, **kw):
    return model.generate(GenerationRequest(prompt, seconds, seed=seed, solver="distilled", **kw))


def test_distilled_timesteps_start_on_noise_and_stay_in_the_trained_range():
    assert list(sampler_timesteps(1, "distilled")) == [999]
    assert list(sampler_timesteps(2, "distilled")) == [999, 500]
    for n in (3, 4):
        ts = sampler_timesteps(n, "distilled")
        assert ts[0] == 999 and len(ts) == n and all(200 <= t <= 800 for t in ts[1:])
        assert np.all(np.diff(ts) < 0)
    with pytest.raises(ValueError):
        sampler_timesteps(5, "distilled")


def test_a_ddim_jump_from_noise_is_the_state_the_second_step_learns():
    """The student's second step is trained on x0 noised again with the first step's own
    noise (distill_motion.student_loss): that is what a DDIM jump from pure noise gives."""
    abar = cosine_alphas_cumprod()
    rng = np.random.default_rng(0)
    noise, x0 = rng.standard_normal((2, 40, 16))
    jumped = ddim_step(noise, x0, abar[999], abar[500])
    trained = np.sqrt(abar[500]) * x0 + np.sqrt(1 - abar[500]) * noise
    assert np.abs(jumped - trained).max() < 0.01


def test_the_student_runs_one_row_a_step(model, monkeypatch):
    session = model._network(STUDENT)
    rows = []
    real_run = session.run

    def counting(outputs, feeds):
        rows.append(len(feeds["x"]))
        assert np.all(feeds["content_keep"] == 1) and np.all(feeds["style_keep"] == 1)
        return real_run(outputs, feeds)

    monkeypatch.setattr(session, "run", counting)
    out = model.generate(GenerationRequest("a person waves", 3.0, solver="distilled"), variations=2)
    assert rows == [2, 2]  # two steps, one row per variation
    assert len(out) == 2 and not np.allclose(out[0].features, out[1].features)


def test_fast_walks_and_runs_like_the_full_model(model):
    def travel(prompt):
        p = fast(model, prompt)[0].motion.positions()[:, HIPS]
        return float(np.linalg.norm(p[-1, :2] - p[0, :2])), p
    walk, p = travel("a person walks forward")
    run, _ = travel("someone is jogging")
    assert 2.0 < walk < 7.0 and run > 1.5 * walk
    assert np.all(np.isfinite(p)) and 0.6 < np.median(p[:, 2]) < 1.2  # hips at standing height, Z up


def test_fast_is_deterministic_by_seed_and_follows_the_sliders(model):
    def pace(styles):
        r = model.generate(GenerationRequest("a person walks", 4.0, styles, seed=3, solver="distilled"))[0]
        p = r.motion.root_positions
        return float(np.linalg.norm(p[-1, :2] - p[0, :2]) / 4.0), r.features
    normal, a = pace({})
    _, b = pace({})
    np.testing.assert_array_equal(a, b)
    old, _ = pace({"old": 1.0})
    active, _ = pace({"active": 1.0})
    assert old < 0.85 * normal < normal < active / 1.2  # an old walk is slower, an active one faster


@pytest.mark.parametrize("kw, message", [
    ({"text_guidance": 3.0}, "text guidance 2.5 built in"),
    ({"style_guidance": 0.5}, "style guidance 2 built in"),
    ({"steps": 5}, "between 1 and 4"),
    ({"reference_strength": 0.5}, "starts from noise"),
])
def test_fast_refuses_what_it_cannot_honour(model, kw, message):
    with pytest.raises(GenerationError, match=message):
        fast(model, "a person walks", **kw)


def _copy_weights(tmp_path, edit_meta=None):
    wd = tmp_path / "w"
    shutil.copytree(DEFAULT_WEIGHTS_DIR, wd)
    if edit_meta is not None:
        meta_path = wd / "motion_diffusion.json"
        meta = json.loads(meta_path.read_text())
        edit_meta(meta)
        meta_path.write_text(json.dumps(meta))
        update_manifest(wd / "manifest.json", [{"file": meta_path.name, "sha256": sha256_file(meta_path)}])
    clear_cache()
    return wd


def test_weights_without_a_student_say_so(tmp_path):
    wd = _copy_weights(tmp_path, lambda meta: meta.pop("fast"))
    m = MotionModel.load(wd)
    assert m.distilled is None
    with pytest.raises(GenerationError, match="no fast"):
        fast(m, "a person walks")
    assert m.generate(GenerationRequest("a person walks", 2.0, steps=2))[0].features.shape[0] == 60


def test_a_corrupt_student_is_refused_at_load(tmp_path):
    wd = _copy_weights(tmp_path)
    student = wd / json.loads((wd / "motion_diffusion.json").read_text())["fast"]["file"]
    student.write_bytes(student.read_bytes()[:1000])
    with pytest.raises(WeightsError):
        MotionModel.load(wd)


def test_the_fast_sampler_decodes_with_the_lighter_decoder(model, monkeypatch):
    """Fast previews decode with the distilled decoder (training/distill_decoder.py), the
    full sampler with the autoencoder's own; both read a latent alike."""
    assert model.distilled["decoder"]["file"] == "motion_fast_decoder.onnx"
    used = []
    for name in ("decoder", FAST_DECODER):
        session = model._network(name)
        monkeypatch.setattr(session, "run", lambda o, f, run=session.run, name=name: used.append(name) or run(o, f))
    z = fast(model, "a person waves", seconds=3.0)
    assert used == [FAST_DECODER]
    used.clear()
    model.generate(GenerationRequest("a person waves", 3.0, steps=2))
    assert used == ["decoder"]
    monkeypatch.undo()
    latent = model.encode_features(model.normalizer.normalize(z[0].features)[None].astype(np.float32))
    full, light = (decode_generated(model.normalizer.denormalize(model.decode_latents(latent, solver)[0]
                                                                 .astype(np.float64)), model.fps, False).positions()
                   for solver in (None, "distilled"))
    pose = np.linalg.norm((full - full[:, :1]) - (light - light[:, :1]), axis=-1)
    assert pose.mean() < 0.03  # metres (measured 1.2 cm; the student itself is 2 cm from the full sampler)


def test_weights_without_the_fast_decoder_decode_previews_with_the_full_one(tmp_path):
    wd = _copy_weights(tmp_path, lambda meta: meta["fast"].pop("decoder"))
    m = MotionModel.load(wd)
    z = np.random.default_rng(0).standard_normal((1, 6, m.latent_dim)).astype(np.float32)
    assert np.array_equal(m.decode_latents(z, "distilled"), m.decode_latents(z))
    assert fast(m, "a person walks", seconds=2.0)[0].features.shape[0] == 60


def test_a_corrupt_fast_decoder_is_refused_at_load(tmp_path):
    wd = _copy_weights(tmp_path)
    decoder = wd / json.loads((wd / "motion_diffusion.json").read_text())["fast"]["decoder"]["file"]
    decoder.write_bytes(decoder.read_bytes()[:1000])
    with pytest.raises(WeightsError):
        MotionModel.load(wd)


def test_cli_fast(tmp_path):
    out = tmp_path / "walk.bvh"
    r = subprocess.run([sys.executable, str(ROOT / "cadence"), "generate", "--prompt", "a person walks",
                        "--seconds", "3", "--fast", "--out", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert out.exists() and "walk" in r.stdout
    timeline = tmp_path / "t.txt"
    timeline.write_text("a person walks # 0 # 3 # legs\na person waves # 1 # 3 # right arm\n")
    both = tmp_path / "both.bvh"
    r = subprocess.run([sys.executable, str(ROOT / "cadence"), "generate", "--timeline", str(timeline),
                        "--fast", "--out", str(both)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    path = tmp_path / "path.json"
    path.write_text('{"points": [[0, 0], [0, -3]]}')
    walked = tmp_path / "walked.bvh"
    r = subprocess.run([sys.executable, str(ROOT / "cadence"), "generate", "--prompt", "a person walks",
                        "--path", str(path), "--fast", "--out", str(walked)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert walked.exists()
    bad = tmp_path / "bad.bvh"
    r = subprocess.run([sys.executable, str(ROOT / "cadence"), "generate", "--prompt", "a person walks",
                        "--fast", "--text-guidance", "4", "--out", str(bad)], capture_output=True, text=True)
    assert r.returncode == 2 and not bad.exists()
    assert r.stderr.strip().splitlines() == ["cadence generate: error: the fast (distilled) sampler has text "
                                             "guidance 2.5 built in (got 4): use the full sampler for other "
                                             "strengths"]


def test_timelines_sample_with_the_student_one_row_per_window(model, monkeypatch):
    from cadence.inference.motion.compose import compose
    from cadence.inference.motion.timeline import parse_stmc
    session = model._network(STUDENT)
    calls = []
    real_run = session.run
    monkeypatch.setattr(session, "run", lambda outputs, feeds: calls.append(feeds["content_keep"].copy())
                        or real_run(outputs, feeds))
    timeline = parse_stmc("a person walks # 0 # 4 # legs\na person waves # 1 # 3 # right arm\n")
    r = compose(model, timeline, seed=0, solver="distilled")
    assert calls and all(np.all(k == 1) for k in calls)  # every window conditioned: no unguided rows
    assert r.motion.num_frames == 120 and np.all(np.isfinite(r.features))
    with pytest.raises(GenerationError, match="starts from noise"):
        compose(model, timeline, seed=0, solver="distilled", reference_strength=0.5)


def test_paths_are_followed_with_the_student(model):
    from cadence.inference.motion.compose import compose
    from cadence.inference.motion.path_follow import PathFollow
    from cadence.inference.motion.timeline import Segment, Timeline, Track
    from cadence.motion.ground_path import GroundPath
    path = GroundPath(np.array([[0.0, 0.0], [0.0, -4.0], [3.0, -4.0]]))
    follow = PathFollow(path, model.normalizer, model.fps)
    tl = Timeline([Track([Segment("a person walks", 0.0, 7.0)])])
    r = compose(model, tl, seed=0, path=follow, solver="distilled")
    xy = r.motion.root_positions[:, :2]
    assert path.distance_to(xy).mean() < 0.10 and np.linalg.norm(xy[-1] - path.points[-1]) < 0.5


def test_jobs_refuse_the_student_for_partial_regeneration(model):
    from cadence.inference.motion.timeline import parse_stmc
    from cadence.inference.runtime.jobs import GenerationSpec, run_generation
    one = parse_stmc("a person waves # 0 # 2 # all\n")
    result = run_generation(GenerationSpec(one, solver="distilled", steps=2))
    assert result.motions[0].num_frames == 60
    features = result.features[0]
    with pytest.raises(GenerationError, match="Fast Preview samples whole timelines"):
        run_generation(GenerationSpec(one, solver="distilled", keep=([0], features)))
