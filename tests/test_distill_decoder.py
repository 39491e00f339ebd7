"""The fast previews' lighter decoder (training/distill_decoder.py), on a tiny
autoencoder: the student keeps the teacher's low-rate layers, learns the teacher's
output, and exports next to the fast sampler (or refuses to, changing nothing)."""
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from cadence.training import distill_decoder as dd  # noqa: E402
from cadence.training.autoencoder import AutoencoderConfig, MotionAutoencoder  # noqa: E402

TINY = AutoencoderConfig(features=12, width=32, latent=4, blocks=1)


@pytest.fixture(scope="module")
def teacher():
    torch.manual_seed(0)
    return MotionAutoencoder(TINY).decoder.eval().requires_grad_(False)


def test_the_student_starts_from_the_teachers_low_rate_layers(teacher):
    student = dd.student_decoder(teacher, TINY, full_width=16, full_blocks=1)
    mine, theirs = student.state_dict(), teacher.state_dict()
    for name in ("inp.weight", "at_quarter.0.conv1.weight", "up2.weight", "at_half.0.conv2.bias"):
        assert torch.equal(mine[name], theirs[name])
    assert mine["up1.weight"].shape == (16, 32, 3) and theirs["up1.weight"].shape == (32, 32, 3)
    assert mine["out.weight"].shape == (12, 16, 3)
    assert sum(p.numel() for p in student.parameters()) < sum(p.numel() for p in teacher.parameters())
    z = torch.randn(2, 5, 4)
    assert student(z).shape == teacher(z).shape == (2, 20, 12)


def test_crops_mix_both_sources_pad_short_ones_and_repeat_per_step():
    sampled = [np.full((30, 4), 1.0, np.float32)]
    real = [np.full((3, 4), -1.0, np.float32)]  # shorter than any crop: its last token held
    crops = dd.LatentCrops(sampled, real, (6, 10), 64, 0.0, np.ones(4, np.float32), torch.device("cpu"), 0)
    z = crops(7)["z"].numpy()
    assert 6 <= z.shape[1] <= 10 and z.shape[2] == 4 and len(z) == 64 // z.shape[1]
    assert np.all(z[0::2] == 1.0) and np.all(z[1::2] == -1.0)
    assert np.array_equal(crops(7)["z"].numpy(), z)
    noisy = dd.LatentCrops(sampled, real, (6, 10), 64, 0.5, np.ones(4, np.float32), torch.device("cpu"), 0)
    assert 0.3 < np.std(noisy(7)["z"].numpy() - z) < 0.7


def test_training_on_the_loss_brings_the_student_to_the_teacher(teacher):
    torch.manual_seed(1)
    student = dd.student_decoder(teacher, TINY, full_width=16, full_blocks=1)
    opt = torch.optim.Adam(student.parameters(), lr=3e-3)
    batch = {"z": torch.randn(16, 6, 4)}
    first = float(dd.decoder_loss(student, teacher, batch).detach())
    for _ in range(150):
        opt.zero_grad()
        loss = dd.decoder_loss(student, teacher, batch)
        loss.backward()
        opt.step()
    assert float(dd.decoder_loss(student, teacher, batch).detach()) < 0.2 * first


def _weights(tmp_path, fast: bool):
    weights = tmp_path / "weights"
    weights.mkdir()
    meta = {"latent": TINY.latent, "features": TINY.features}
    if fast:
        meta["fast"] = {"file": "motion_fast.onnx"}
    (weights / "motion_diffusion.json").write_text(json.dumps(meta))
    (weights / "manifest.json").write_text(json.dumps({"files": []}))
    return weights


def _checkpoint(teacher, tmp_path):
    out = tmp_path / "trained"
    out.mkdir()
    student = dd.student_decoder(teacher, TINY, 16, 1)
    torch.save({"ema": student.state_dict(), "config": TINY.to_dict(), "full_width": 16, "full_blocks": 1,
                "step": 10, "elapsed": 60.0, "report": {"mse_to_teacher": 0.01}}, out / "final.pt")
    return out


def test_export_writes_the_decoder_beside_the_fast_sampler(teacher, tmp_path):
    weights, out = _weights(tmp_path, fast=True), _checkpoint(teacher, tmp_path)
    assert dd.main(["--export", "--out", str(out), "--weights", str(weights)]) == 0
    meta = json.loads((weights / "motion_diffusion.json").read_text())
    entry = meta["fast"]["decoder"]
    assert entry["file"] == dd.FAST_DECODER_FILE and entry["full_width"] == 16
    assert entry["onnx_parity_max_abs"] < 1e-4 and entry["training"]["mse_to_teacher"] == 0.01
    assert meta["fast"]["file"] == "motion_fast.onnx"
    files = {f["file"]: f for f in json.loads((weights / "manifest.json").read_text())["files"]}
    assert files[dd.FAST_DECODER_FILE]["kind"] == "motion-fast-decoder-onnx"


def test_export_refuses_weights_without_a_fast_sampler_and_changes_nothing(teacher, tmp_path, capsys):
    weights, out = _weights(tmp_path, fast=False), _checkpoint(teacher, tmp_path)
    before = (weights / "motion_diffusion.json").read_text()
    assert dd.main(["--export", "--out", str(out), "--weights", str(weights)]) == 2
    assert "export the student first" in capsys.readouterr().out
    assert not (weights / dd.FAST_DECODER_FILE).exists()
    assert (weights / "motion_diffusion.json").read_text() == before
