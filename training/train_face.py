"""Train the speech -> ARKit mouth model on FACEGOOD Audio2Face, test it on the held-out
take, export it to ``weights/face_speech.onnx`` and check ONNX against torch.

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python training/train.py face [--minutes 7] [--threads 1]
    .venv/bin/python training/train.py face --export-only      # from .cache/face/best.pt

Runs on CPU in minutes (the model has 0.39 M parameters). Crops of 128 frames are drawn
from the six training takes (minus their last 15%, the validation split that picks the
checkpoint); the features get noise, level, tilt and masking augmentation in the log-mel
domain so the very clean studio speech of the dataset generalises to ordinary
microphones. Metrics on the held-out take are computed from the exported ONNX through
the runtime (inference/face/model.py) and written to ``.cache/face/metrics.json``.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from ..dataset.paths import cache_dir
from ..inference.runtime.weights import DEFAULT_WEIGHTS_DIR, sha256_file, update_manifest
from ..inference.speech import audio as A
from . import face_data as D
from .face_net import FaceNet, FaceNetConfig

MODEL_FILE = "face_speech.onnx"
MODEL_VERSION = "1"
LICENCE = "MIT"
PARITY_LIMIT = 1e-4


def parse_args(argv):
    p = argparse.ArgumentParser(prog="train.py face", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=7.0, help="training time budget")
    p.add_argument("--max-steps", type=int, default=0, help="stop after N steps (0: time only)")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--crop", type=int, default=128, help="frames per training crop")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--channels", type=int, default=96)
    p.add_argument("--dropout", type=float, default=0.3)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--no-tie", action="store_true", help="predict left and right separately")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--eval-every", type=int, default=150)
    p.add_argument("--out", type=Path, default=None, help="checkpoints (default .cache/face)")
    p.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS_DIR, help="export folder")
    p.add_argument("--export-only", action="store_true")
    p.add_argument("--no-export", action="store_true")
    return p.parse_args(argv)


# -- augmentation (log-mel domain) --------------------------------------------------------
def augment(mel: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Noise at 13-45 dB below loud speech (white to pink, fluctuating), +-3 dB level,
    spectral tilt, one frequency and one time mask per crop."""
    b, t, m = mel.shape
    u = lambda *s: torch.rand(*s, generator=gen)  # noqa: E731
    power = torch.exp(mel) - A.LOG_FLOOR
    level = -11.0 + 7.0 * u(b, 1, 1)
    slope = 3.0 * u(b, 1, 1)
    bins = torch.linspace(0, 1, m).view(1, 1, m)
    noise = torch.exp(level - slope * bins + 0.3 * torch.randn(b, t, 1, generator=gen)
                      + 0.5 * torch.randn(b, t, m, generator=gen))
    noisy = (u(b, 1, 1) < 0.8).float() * noise
    out = torch.log(power.clamp_min(0) + noisy + A.LOG_FLOOR)
    out = out + (u(b, 1, 1) - 0.5) * 1.4 + (u(b, 1, 1) - 0.5) * 1.0 * (bins - 0.5)
    for i in range(b):
        w = int(u(1) * 10)
        f0 = int(u(1) * (m - w))
        out[i, :, f0:f0 + w] = out[i].mean()
        w = int(u(1) * 6)
        t0 = int(u(1) * max(1, t - w))
        out[i, t0:t0 + w, :] = out[i].mean()
    return out


def sample_batch(pieces: list[D.Take], rng: np.random.Generator, batch: int, crop: int):
    lengths = np.array([p.frames - crop for p in pieces], dtype=float)
    probs = np.clip(lengths, 0, None) / np.clip(lengths, 0, None).sum()
    f = A.FEATURES_PER_FRAME
    mels, targets = [], []
    for k in rng.choice(len(pieces), size=batch, p=probs):
        s = int(rng.integers(0, pieces[k].frames - crop))
        mels.append(pieces[k].mel[s * f:(s + crop) * f])
        targets.append(pieces[k].target[s:s + crop])
    return torch.from_numpy(np.stack(mels)), torch.from_numpy(np.stack(targets))


def loss_fn(pred: torch.Tensor, target: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """L1 + 4 MSE on the values and on the frame-to-frame velocities. L1 alone pulls
    sparse shapes to their median (zero) and can stall there; the squared term keeps a
    gradient on the rare large values."""
    err = pred - target
    verr = pred.diff(dim=1) - target.diff(dim=1)
    value = ((err.abs() + 4.0 * err * err) * weights).mean()
    velocity = ((verr.abs() + 4.0 * verr * verr) * weights).mean()
    return value + 0.5 * velocity


@torch.no_grad()
def predict(model: FaceNet, take: D.Take) -> np.ndarray:
    model.eval()
    return model(torch.from_numpy(take.mel)[None])[0].numpy()[:take.frames]


# -- metrics -----------------------------------------------------------------------------
def metrics(pred: np.ndarray, target: np.ndarray, energy: np.ndarray,
            names=D.OUTPUT_SHAPES, train_mean: np.ndarray | None = None) -> dict:
    """Per-shape MAE / RMSE / correlation, jaw-open correlation and two baselines."""
    out = {"frames": int(len(target)), "per_shape": {}}
    for k, name in enumerate(names):
        t, p = target[:, k], pred[:, k]
        row = {"mae": float(np.abs(p - t).mean()), "rmse": float(np.sqrt(np.mean((p - t) ** 2))),
               "target_mean": float(t.mean()), "target_std": float(t.std())}
        if t.std() > 1e-3 and p.std() > 1e-6:
            row["corr"] = float(np.corrcoef(p, t)[0, 1])
        if train_mean is not None:
            row["mae_predict_mean"] = float(np.abs(train_mean[k] - t).mean())
        out["per_shape"][name] = row
    jaw = list(names).index("jawOpen")
    out["jaw_open_corr"] = float(np.corrcoef(pred[:, jaw], target[:, jaw])[0, 1])
    out["jaw_open_corr_energy_baseline"] = float(np.corrcoef(energy, target[:, jaw])[0, 1])
    active = [k for k in range(len(names)) if target[:, k].std() > 1e-3]
    out["mae_active_mean"] = float(np.mean([out["per_shape"][names[k]]["mae"] for k in active]))
    out["mae_all_mean"] = float(np.abs(pred - target).mean())
    if train_mean is not None:
        out["mae_active_mean_predict_mean"] = float(np.mean(
            [out["per_shape"][names[k]]["mae_predict_mean"] for k in active]))
    # lip closure: frames where the target mouth is nearly shut (jaw < 0.05)
    shut = target[:, jaw] < 0.05
    out["jaw_open_mae_on_closed_frames"] = float(np.abs(pred[shut, jaw] - target[shut, jaw]).mean())
    return out


# -- export ------------------------------------------------------------------------------
def export_onnx(model: FaceNet, path: Path, probe: np.ndarray) -> float:
    """Write the ONNX file (dynamic batch and length) and return max |ORT - torch|."""
    import onnx
    import onnxruntime as ort

    model = model.eval()
    example = torch.from_numpy(probe[None, :512])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (example,), str(path), dynamo=False, input_names=["mel"],
                          output_names=["weights"], opset_version=17,
                          dynamic_axes={"mel": {0: "batch", 1: "mel_frames"},
                                        "weights": {0: "batch", 1: "frames"}})
    proto = onnx.load(str(path))
    meta = {
        "model": "cadence-face-speech", "version": MODEL_VERSION, "licence": LICENCE,
        "outputs": json.dumps(list(D.OUTPUT_SHAPES)), "fps": str(D.FPS),
        "features_per_frame": str(A.FEATURES_PER_FRAME), "n_mels": str(A.N_MELS),
        "features": json.dumps({"sample_rate": A.SAMPLE_RATE, "n_fft": A.N_FFT,
                                "win_length": A.WIN_LENGTH, "fmin": A.FMIN, "fmax": A.FMAX,
                                "log_floor": A.LOG_FLOOR, "loudness_normalised": True}),
        "receptive_frames": str(model.cfg.receptive_frames),
        "trained_on": "FACEGOOD Audio2Face (MIT), held-out take " + D.TEST_TAKE,
    }
    del proto.metadata_props[:]
    for k, v in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = k, v
    onnx.save(proto, str(path))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feed = probe[None]
    got = session.run(None, {"mel": feed})[0]
    with torch.no_grad():
        want = model(torch.from_numpy(feed)).numpy()
    return float(np.abs(got - want).max())


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    torch.set_num_threads(max(1, args.threads))
    torch.manual_seed(args.seed)
    out = args.out or cache_dir() / "face"
    out.mkdir(parents=True, exist_ok=True)
    takes = D.load_takes()
    train, val, test = D.split(takes)
    all_train = np.concatenate([p.mel for p in train])
    train_mean = np.concatenate([p.target for p in train]).mean(0)
    cfg = FaceNetConfig(channels=args.channels, outputs=len(D.OUTPUT_SHAPES), dropout=args.dropout,
                        tied=() if args.no_tie else D.SYMMETRIC)
    model = FaceNet(cfg)
    model.mel_mean.copy_(torch.from_numpy(all_train.mean(0)))
    # one scale for all bands: the clean studio data leaves the top bands at the log
    # floor (per-band std ~0.05), and augmentation noise there would be blown up 50x
    model.mel_std.fill_(float(all_train.std()))
    best_path = out / "best.pt"

    if not args.export_only:
        n_params = sum(p.numel() for p in model.parameters())
        print(f"face model: {n_params / 1e6:.2f} M parameters; train {sum(p.frames for p in train)} "
              f"frames, val {sum(p.frames for p in val)}, test {test.frames} ({test.name})", flush=True)
        weights = torch.ones(len(D.OUTPUT_SHAPES))
        weights[D.OUTPUT_SHAPES.index("jawOpen")] = 2.0
        opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
        rng = np.random.default_rng(args.seed)
        gen = torch.Generator().manual_seed(args.seed)
        budget = args.minutes * 60.0
        t0 = time.time()
        step, best, history = 0, math.inf, []
        while True:
            elapsed = time.time() - t0
            if elapsed > budget or (args.max_steps and step >= args.max_steps):
                break
            frac = elapsed / budget if not args.max_steps else step / args.max_steps
            for g in opt.param_groups:
                decay = 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, frac)))
                g["lr"] = args.lr * min(1.0, (step + 1) / 100) * decay
            model.train()
            mel, target = sample_batch(train, rng, args.batch, args.crop)
            loss = loss_fn(model(augment(mel, gen)), target, weights)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
            if step % args.eval_every == 0:
                with torch.no_grad():
                    v = float(np.mean([loss_fn(torch.from_numpy(predict(model, p))[None],
                                               torch.from_numpy(p.target)[None], weights)
                                       for p in val]))
                history.append({"step": step, "seconds": round(time.time() - t0), "train": loss.item(),
                                "val": v})
                mark = ""
                if v < best:
                    best, mark = v, " *"
                    torch.save({"model": model.state_dict(), "config": cfg.to_dict(), "step": step,
                                "val": v}, best_path)
                print(f"step {step:5d}  {time.time() - t0:6.0f} s  train {loss.item():.4f}  val {v:.4f}{mark}",
                      flush=True)
        (out / "history.json").write_text(json.dumps(history, indent=1))

    ck = torch.load(best_path, map_location="cpu", weights_only=False)
    saved = dict(ck["config"])
    saved["dilations"] = tuple(saved["dilations"])
    saved["tied"] = tuple(tuple(pair) for pair in saved.get("tied", ()))
    cfg = FaceNetConfig(**saved)       # the checkpoint's own shape (--export-only)
    model = FaceNet(cfg)
    model.load_state_dict(ck["model"])
    print(f"best checkpoint: step {ck['step']}, val {ck['val']:.4f}", flush=True)
    torch_metrics = metrics(predict(model, test), test.target, test.energy, train_mean=train_mean)
    print(f"test (torch): jawOpen corr {torch_metrics['jaw_open_corr']:.3f} "
          f"(energy baseline {torch_metrics['jaw_open_corr_energy_baseline']:.3f}), "
          f"mean MAE over active shapes {torch_metrics['mae_active_mean']:.4f} "
          f"(predict-the-mean {torch_metrics['mae_active_mean_predict_mean']:.4f})", flush=True)
    if args.no_export:
        return 0

    args.weights.mkdir(parents=True, exist_ok=True)
    onnx_path = args.weights / MODEL_FILE
    parity = export_onnx(model, onnx_path, test.mel[:4 * 900])
    print(f"ONNX parity vs torch: max abs diff {parity:.2e}", flush=True)
    if parity > PARITY_LIMIT:
        raise SystemExit(f"ONNX output differs from torch by {parity:.2e} > {PARITY_LIMIT}")
    update_manifest(args.weights / "manifest.json", [
        {"file": MODEL_FILE, "sha256": sha256_file(onnx_path), "version": MODEL_VERSION,
         "licence": LICENCE, "kind": "face-speech-onnx"}])

    # metrics through the shipped runtime (ONNX, chunked), on the held-out take
    from ..inference.face.model import FaceSpeechModel
    runtime = FaceSpeechModel(onnx_path)
    t1 = time.perf_counter()
    pred = runtime.mouth_curves(test.mel)
    seconds = time.perf_counter() - t1
    result = {"test_take": test.name, "checkpoint_step": ck["step"], "onnx_parity": parity,
              "onnx_seconds_for_test_take": seconds, "test_take_seconds": test.frames / D.FPS,
              "torch": {k: torch_metrics[k] for k in ("jaw_open_corr", "mae_active_mean")},
              "onnx": metrics(pred, test.target, test.energy, train_mean=train_mean),
              "config": cfg.to_dict(), "args": {k: str(v) for k, v in vars(args).items()}}
    (out / "metrics.json").write_text(json.dumps(result, indent=1))
    m = result["onnx"]
    print(f"test (onnx runtime): jawOpen corr {m['jaw_open_corr']:.3f}, mean MAE active "
          f"{m['mae_active_mean']:.4f}; {seconds * 1000:.0f} ms for {test.frames / D.FPS:.0f} s", flush=True)
    for name, row in m["per_shape"].items():
        if row["target_std"] > 1e-3:
            print(f"  {name:20s} MAE {row['mae']:.4f}  RMSE {row['rmse']:.4f}  corr {row.get('corr', float('nan')):.3f}"
                  f"  (mean-predictor MAE {row['mae_predict_mean']:.4f})")
    return 0
