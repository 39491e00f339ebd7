"""Text + style to motion with the shipped weights: behaviour, determinism, bad input."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cadence.inference.motion.model import GenerationError, GenerationRequest, MotionModel, clear_cache, parse_styles
from cadence.inference.motion.sampler import GenerationCancelled
from cadence.inference.runtime.weights import DEFAULT_WEIGHTS_DIR, WeightsError
from cadence.motion.bvh import read_bvh
from cadence.motion.skeleton import CANONICAL

ROOT = Path(__file__).resolve().parents[1]
J = {n: i for i, n in enumerate(CANONICAL.names)}


@pytest.fixture(scope="module")
def model():
    return MotionModel.load()


def generate(model, prompt, seconds=4.0, seed=0, **styles):
    return model.generate(GenerationRequest(prompt, seconds, styles, seed))[0]


def test_vocabulary_comes_from_the_model(model):
    meta = json.loads((DEFAULT_WEIGHTS_DIR / "motion_diffusion.json").read_text())
    assert model.styles == meta["styles"] and "happy" in model.styles and "old" in model.styles
    assert len(model.styles) == 16 and "normal" in model.styles
    assert model.fps == 30.0


def test_walk_moves_forward_on_the_floor(model):
    r = generate(model, "a person walks forward")
    assert r.motion.num_frames == 120 and r.motion.fps == 30.0
    p = r.motion.positions()
    travel = p[-1, J["pelvis"], :2] - p[0, J["pelvis"], :2]
    assert np.linalg.norm(travel) > 1.5  # walking pace over 4 s
    feet = p[:, [J["left_foot"], J["right_foot"], J["left_ankle"], J["right_ankle"]], 2]
    assert abs(np.percentile(feet.min(axis=1), 10)) < 0.05
    assert np.all(p[:, J["head"], 2] > 1.3)
    assert r.matches[0][0] == "walk"


def test_running_is_faster_than_walking(model):
    def speed(prompt):
        p = generate(model, prompt, seed=1).motion.positions()
        return np.linalg.norm(np.diff(p[:, J["pelvis"], :2], axis=0), axis=1).mean() * 30
    assert speed("someone jogs") > 1.3 * speed("a person walks slowly forward")


def test_wave_raises_the_right_hand(model):
    p = generate(model, "waves with the right hand", seconds=5).motion.positions()
    right = p[:, J["right_wrist"], 2] - p[:, J["right_shoulder"], 2]
    left = p[:, J["left_wrist"], 2] - p[:, J["left_shoulder"], 2]
    assert right.max() > 0.0 and right.max() > left.max() + 0.2
    travel = np.linalg.norm(p[-1, J["pelvis"], :2] - p[0, J["pelvis"], :2])
    assert travel < 0.5  # waving on the spot


def test_seeds_give_different_valid_performances(model):
    a = generate(model, "waves with the left hand", seed=3)
    b = generate(model, "waves with the left hand", seed=3)
    c = generate(model, "waves with the left hand", seed=4)
    np.testing.assert_array_equal(a.features, b.features)
    assert np.abs(a.features - c.features).max() > 0.05
    for r in (a, c):  # both wave with the left hand: the left wrist goes above the shoulder
        p = r.motion.positions()
        assert (p[:, J["left_wrist"], 2] - p[:, J["left_shoulder"], 2]).max() > 0.0


def test_variations_and_cancel(model):
    rs = model.generate(GenerationRequest("someone runs", 2.0, {}, seed=5), variations=2)
    single = model.generate(GenerationRequest("someone runs", 2.0, {}, seed=6))[0]
    np.testing.assert_allclose(rs[1].features, single.features, atol=1e-5)
    with pytest.raises(GenerationCancelled):
        model.generate(GenerationRequest("someone runs", 2.0), progress=lambda d, t: d < 3)


@pytest.mark.parametrize("request_kwargs, message", [
    ({"prompt": "   "}, "prompt is empty"),
    ({"prompt": "walk", "seconds": 0}, "above 0 seconds"),
    ({"prompt": "walk", "seconds": 60}, "above the limit"),
    ({"prompt": "walk", "styles": {"grumpy": 1.0}}, "valid styles: .*happy"),
    ({"prompt": "walk", "styles": {"happy": 3.0}}, "from 0 to 1"),
    ({"prompt": "walk", "styles": {"happy": float("nan")}}, "from 0 to 1"),
    ({"prompt": "walk", "text_guidance": float("nan")}, "text guidance nan"),
    ({"prompt": "walk", "text_guidance": -1.0}, "text guidance"),
    ({"prompt": "walk", "style_guidance": 1e9}, "style guidance"),
    ({"prompt": "walk", "steps": 0}, "between 1 and 100"),
    ({"prompt": "walk", "steps": 101}, "between 1 and 100"),
])
def test_bad_requests(model, request_kwargs, message):
    with pytest.raises(GenerationError, match=message):
        model.generate(GenerationRequest(**request_kwargs))


def test_variations_are_bounded(model):
    with pytest.raises(GenerationError, match="variations"):
        model.generate(GenerationRequest("walk", 1.0), variations=10_000)
    with pytest.raises(GenerationError, match="variations"):
        model.generate(GenerationRequest("walk", 1.0), variations=0)


def test_parse_styles():
    assert parse_styles("happy=0.7, old=0.3") == {"happy": 0.7, "old": 0.3}
    assert parse_styles("") == {}
    with pytest.raises(GenerationError):
        parse_styles("happy=lots")
    with pytest.raises(GenerationError, match="twice"):
        parse_styles("happy=0.2,happy=0.9")


def test_corrupt_or_missing_weights(tmp_path):
    for f in DEFAULT_WEIGHTS_DIR.iterdir():
        shutil.copy(f, tmp_path / f.name)
    data = bytearray((tmp_path / "motion_diffusion.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / "motion_diffusion.onnx").write_bytes(bytes(data))
    clear_cache()
    with pytest.raises(WeightsError, match="motion_diffusion.onnx is corrupt"):
        MotionModel.load(tmp_path)
    (tmp_path / "motion_diffusion_stats.json").unlink()
    with pytest.raises(WeightsError, match="missing"):
        MotionModel.load(tmp_path)


def run_cli(*args):
    return subprocess.run([sys.executable, str(ROOT / "cadence"), *args], capture_output=True, text=True)


def test_cli_generate(tmp_path):
    out = tmp_path / "wave.bvh"
    r = run_cli("generate", "--prompt", "a person waves with the right hand", "--style",
                "happy=0.7,old=0.3", "--seconds", "3", "--seed", "3", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "prompt matched: wave-right-hand" in r.stdout
    b = read_bvh(out)
    assert b.num_frames == 90 and b.skeleton.names[0] == "pelvis"
    r = run_cli("generate", "--prompt", "walk " * 400, "--seconds", "1", "--out", str(tmp_path / "long.bvh"))
    assert r.returncode == 0 and "warning" in r.stderr


@pytest.mark.parametrize("args, message", [
    (["--prompt", "", "--seconds", "2"], "prompt is empty"),
    (["--prompt", "walk", "--seconds", "-1"], "above 0 seconds"),
    (["--prompt", "walk", "--style", "sleepy=1"], "valid styles"),
    (["--prompt", "a person kicks", "--reference-strength", "1.5"], "reference strength"),
    (["--prompt", "a person kicks", "--reference-strength", "0"], "reference strength"),
    (["--prompt", "walk", "--text-guidance", "nan"], "text guidance nan"),
    (["--prompt", "walk", "--steps", "0"], "between 1 and 100"),
    (["--prompt", "walk", "--variations", "100000"], "--variations must be between 1 and 32"),
    (["--prompt", "walk", "--fps", "inf"], "--fps must be between 1 and 240"),
    (["--prompt", "walk", "--style", "old=0.5,old=1"], "given twice"),
])
def test_cli_bad_input_writes_nothing(tmp_path, args, message):
    out = tmp_path / "x.bvh"
    r = run_cli("generate", *args, "--out", str(out))
    assert r.returncode == 2 and message in r.stderr
    assert not out.exists() and not list(tmp_path.iterdir())


def test_import_does_not_load_onnxruntime():
    code = (f"import sys; sys.path.insert(0, {str(ROOT / 'cli')!r}); from _package import load_package; "
            f"from pathlib import Path; load_package(Path({str(ROOT)!r})); "
            "import cadence.inference.motion.model; print('onnxruntime' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.stdout.strip() == "False", r.stderr


def test_cli_corrupt_weights_exit_code_and_no_output(tmp_path):
    weights = tmp_path / "w"
    shutil.copytree(DEFAULT_WEIGHTS_DIR, weights)
    (weights / "motion_diffusion.json").write_text("{}")
    out = tmp_path / "x.bvh"
    r = run_cli("generate", "--prompt", "walk", "--weights", str(weights), "--out", str(out))
    assert r.returncode == 2 and "motion_diffusion.json is corrupt" in r.stderr
    assert not out.exists()


@pytest.mark.parametrize("name", ["motion_decoder.onnx", "motion_encoder.onnx"])
def test_corrupt_autoencoder_half_is_refused(tmp_path, name):
    for f in DEFAULT_WEIGHTS_DIR.iterdir():
        shutil.copy(f, tmp_path / f.name)
    data = bytearray((tmp_path / name).read_bytes())
    data[len(data) // 3] ^= 0xFF
    (tmp_path / name).write_bytes(bytes(data))
    clear_cache()
    with pytest.raises(WeightsError, match=f"{name} is corrupt"):
        MotionModel.load(tmp_path)


def test_generation_runs_in_the_latent_space(model):
    assert model.meta["diffusion"]["space"] == "latent" and model.frames_per_token == 4
    r = generate(model, "someone runs", seconds=1.1)  # 33 frames: 9 tokens, cropped back
    assert r.motion.num_frames == 33 and np.isfinite(r.features).all()
    z = np.random.default_rng(0).standard_normal((1, 6, model.latent_dim)).astype(np.float32)
    feats = model.decode_latents(z)
    assert feats.shape == (1, 24, model.normalizer.mean.shape[0])
    back = model.encode_features(feats)
    assert back.shape == z.shape and np.isfinite(back).all()


def test_cli_lists_the_known_actions():
    r = run_cli("generate", "--list-actions")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 25 and any(line.startswith("wave-right-hand") and "right hand" in line for line in lines)
    assert lines[-1].startswith("stand ") and "idle" in lines[-1]       # built, not a take of the data
