"""Distilling the guided sampler into a 2-step student (training/distill_motion.py), on a
tiny random teacher: the pairs are the runtime sampler's own output, generation resumes,
and training brings the student's 2-step samples closer to the teacher's 10-step ones."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from cadence.inference.motion.cfg import CFG  # noqa: E402
from cadence.inference.motion.diffusion import sampler_timesteps  # noqa: E402
from cadence.inference.motion.sampler import sample  # noqa: E402
from cadence.training import distill_motion as dm  # noqa: E402
from cadence.training.denoiser import DenoiserConfig, MotionDenoiser  # noqa: E402

TINY = DenoiserConfig(width=32, cond_dim=32, attention_layers=1, heads=2, blocks=1, dropout=0.0)


@pytest.fixture(scope="module")
def teacher_file(tmp_path_factory):
    torch.manual_seed(0)
    model = MotionDenoiser(TINY)
    for p in model.parameters():  # a teacher whose output depends on its input
        if p.dim() > 1:
            torch.nn.init.normal_(p, std=0.3)
    path = tmp_path_factory.mktemp("teacher") / "teacher.pt"
    torch.save({"config": TINY.to_dict(), "model": model.state_dict(), "step": 0}, path)
    return path


def test_pairs_are_the_runtime_samplers_output_and_resume(teacher_file, tmp_path):
    teacher = dm.load_teacher(teacher_file)
    cfg = CFG(2.5, 2.0)
    chunks = dm.make_pairs(teacher, tmp_path, 70, (6, 9), 0, cfg, unconditional=10)
    assert [c.name for c in chunks] == ["0000.npz", "0001.npz", "0002.npz"]
    d = dict(np.load(chunks[0]))
    assert np.all(d["keep"] == 1) and np.all(np.load(chunks[2])["keep"] == 0)
    assert d["noise"].shape == d["x0"].shape and 6 <= d["noise"].shape[1] <= 9
    assert np.all(d["content"].sum(1) == 1)  # one action each
    assert np.all(d["style"][:, TINY.normal_style] == 0) and np.all((d["style"] >= 0) & (d["style"] <= 1))
    again = sample(dm.guided_denoiser(teacher, d["content"][:3], d["style"][:3], cfg), d["noise"][:3].shape,
                   dm.TEACHER_STEPS, np.random.default_rng(0), x_start=d["noise"][:3].copy())
    np.testing.assert_allclose(again, d["x0"][:3], atol=1e-4)
    u = dict(np.load(chunks[2]))  # the teacher's "none" row alone: the action and style play no part
    unguided = sample(dm.guided_denoiser(teacher, np.roll(u["content"][:2], 1, axis=1), u["style"][:2] * 0,
                                         CFG(0.0, 0.0)), u["noise"][:2].shape, dm.TEACHER_STEPS,
                      np.random.default_rng(0), x_start=u["noise"][:2].copy())
    np.testing.assert_allclose(unguided, u["x0"][:2], atol=1e-4)
    before = chunks[1].stat().st_mtime_ns
    dm.make_pairs(teacher, tmp_path, 70, (6, 9), 0, cfg, unconditional=10)
    assert chunks[1].stat().st_mtime_ns == before  # kept, not redone


def two_step_error(model, pairs) -> float:
    model.eval()
    errs = []
    for d in pairs:
        def run(x, t, d=d):
            ones = torch.from_numpy(d["keep"])
            with torch.no_grad():
                return model(torch.from_numpy(x), torch.full((len(x),), float(t)), torch.from_numpy(d["content"]),
                             ones, torch.from_numpy(d["style"]), ones).numpy()
        got = sample(run, d["noise"].shape, 2, np.random.default_rng(0), x_start=d["noise"].copy(),
                     solver="distilled")
        errs.append(np.mean((got - d["x0"]) ** 2))
    return float(np.mean(errs))


def test_training_brings_two_steps_closer_to_the_teachers_ten(teacher_file, tmp_path):
    out = tmp_path / "student"
    code = dm.main(["--teacher", str(teacher_file), "--out", str(out), "--pairs", "128", "--unconditional", "64",
                    "--tokens", "6", "8",
                    "--steps", "150", "--lr", "3e-3", "--workers", "1", "--threads", "1", "--precision", "fp32",
                    "--tokens-per-batch", "256"])
    assert code == 0
    pairs = [dict(np.load(p)) for p in sorted((out / "pairs").glob("0*.npz"))]
    ck = torch.load(out / "final.pt", weights_only=False)
    assert ck["pairs"] == 192 and ck["unconditional_pairs"] == 64 and ck["guidance"] == [2.5, 2.0]
    assert ck["step"] == 150
    student = MotionDenoiser(TINY)
    student.load_state_dict(ck["model"])
    untrained = two_step_error(dm.load_teacher(teacher_file), pairs)
    trained = two_step_error(student, pairs)
    assert trained < 0.5 * untrained
    assert list(sampler_timesteps(2, "distilled")) == [999, dm.DEFAULT_SECOND_T]


def test_the_student_ships_with_int8_matrix_products_close_to_torch(teacher_file, tmp_path):
    """The student exports channels last (convolutions as matrix products: the same
    network to ~1e-6) and quantize_matmuls makes every product int8, the convolutions'
    included; the file still computes the network."""
    import onnx

    from cadence.training.denoiser import exportable, exportable_channels_last
    from cadence.training.export_motion import export_denoiser, fixed_inputs
    model = dm.load_teacher(teacher_file)
    feeds = [torch.from_numpy(v) for v in fixed_inputs(model.cfg, tokens=13).values()]
    with torch.no_grad():
        assert torch.allclose(exportable_channels_last(model)(*feeds), exportable(model)(*feeds), atol=1e-5)
    float_path, path = tmp_path / "s.float.onnx", tmp_path / "s.onnx"
    assert export_denoiser(model, float_path, channels_last=True) < 1e-4
    info = dm.quantize_matmuls(float_path, path, model)
    ops = [n.op_type for n in onnx.load(str(path)).graph.node]
    assert "Conv" not in ops
    assert ops.count("MatMulInteger") + ops.count("DynamicQuantizeMatMul") >= 2 * TINY.blocks * 2 + 2
    assert 0 < info["mean_abs_to_torch"] < 0.05
