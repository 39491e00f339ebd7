"""Distil the shipped 10-step, 3-row guided sampler into a 2-step, 1-row student.

    .venv/bin/python training/train.py warm-start          # the shipped denoiser as the teacher
    .venv/bin/python training/train.py distill --minutes 35                     # ~19 min pairs + 35 min
    .venv/bin/python training/train.py distill --unconditional 640 --minutes 55  # + gap pairs, 20 min more
    .venv/bin/python training/train.py distill --export    # weights/motion_fast.onnx (the shipped recipe)

Why: the live slider preview (issue 19, item 5) wants a 10 s clip in a third of ONE
guided step of an MDM-sized transformer; the teacher needs 10 steps x 3 condition rows.

How (noise-to-sample distillation with a fixed coupling; Luhman & Luhman 2021, and the
"reflow" of Liu et al. 2022 in variance-preserving form):
1. *Pairs.* The teacher (the shipped denoiser, ``train.py warm-start``) samples latents
   exactly as the runtime does (``inference/motion/sampler.sample``: 10 DDIM steps,
   classifier-free guidance text 2.5 / style 2.0) from Gaussian noise, for random actions
   (uniform: the one-take actions as often as walks), style mixes (normal, one slider at
   1, mixes of partial sliders) and lengths of 16-96 tokens (2-13 s). Each pair is
   (noise, condition, the teacher's sample x0*). The ODE is deterministic, so x0* is a
   function of the noise the student can learn. ``--unconditional`` chunks more are
   sampled without action and style (the teacher's "none" row alone): what a timeline's
   gaps are filled with, so the student can fill them too.
2. *Student.* Same network, initialised from the teacher, run on one row (the guided
   combination is what it learns). It learns x0* from the noise itself (t = 999, the
   first step) and from x0 noised again *with the same noise* at a random t in 200-800:
   sqrt(abar) x0 + sqrt(1 - abar) noise, which is exactly the state a DDIM step from the
   noise reaches after a perfect first step. Half of those second-step inputs are built
   from the student's own first-step prediction instead of x0*, so the second step
   learns to correct the first. Sampling: x0 = S(noise, 999); x = DDIM to t2; x0 = S(x, t2).

Pairs are written in chunks (resumable) under .cache/models/motion_fast/pairs/, the
student trains with the shared loop (checkpoints, resume, workers, EMA).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from ..dataset.paths import cache_dir
from ..inference.motion.cfg import CFG, KEEP
from ..inference.motion.diffusion import DISTILLED_FIRST, DISTILLED_RANGE, cosine_alphas_cumprod
from ..inference.motion.sampler import sample
from ..inference.runtime.weights import DEFAULT_WEIGHTS_DIR
from .denoiser import DenoiserConfig, MotionDenoiser, exportable
from .loop import (
    LoopSettings,
    finish_distributed,
    launch_workers,
    setup_process,
    train,
    use_bf16,
    workers_to_launch,
)

OUT = cache_dir() / "models" / "motion_fast"
TEACHER = cache_dir() / "models" / "motion_diffusion" / "shipped.pt"
FAST_FILE = "motion_fast.onnx"
CHUNK = 64              # pairs per file (one length each)
TEACHER_STEPS = 10
FIRST_T = DISTILLED_FIRST   # the first step: pure noise
SECOND_T = DISTILLED_RANGE  # the second step's timestep is drawn from this range in training
DEFAULT_SECOND_T = 500      # and sampled at this one (diffusion.sampler_timesteps(2, "distilled"))


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="train.py distill", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pairs", type=int, default=6400, help="teacher samples to distil from (chunks of 64)")
    p.add_argument("--unconditional", type=int, default=0,
                   help="more pairs sampled without action and style (timeline gaps), after the others")
    p.add_argument("--tokens", type=int, nargs=2, default=(16, 96), help="lengths drawn, in latent tokens")
    p.add_argument("--teacher", type=Path, default=TEACHER, help="denoiser weights (train.py warm-start)")
    p.add_argument("--steps", type=int, default=20000)
    p.add_argument("--minutes", type=float, default=35.0)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--tokens-per-batch", type=int, default=1024)
    p.add_argument("--self-share", type=float, default=0.5,
                   help="share of second-step inputs built from the student's own first step")
    p.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--workers", type=int, default=0)
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--fresh", action="store_true")
    p.add_argument("--checkpoint-minutes", type=float, default=5.0)
    p.add_argument("--export", action="store_true", help="write the trained student to --weights and stop")
    p.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS_DIR)
    return p.parse_args(argv)


def load_teacher(path: Path) -> MotionDenoiser:
    if not path.exists():
        raise SystemExit(f"no teacher at {path}: run training/train.py warm-start first")
    ck = torch.load(path, map_location="cpu", weights_only=False)
    model = MotionDenoiser(DenoiserConfig(**ck["config"]))
    model.load_state_dict(ck["model"])
    return model.eval()


def random_styles(rng: np.random.Generator, n: int, styles: int, normal: int) -> np.ndarray:
    """Slider settings as an animator sets them: all zero (normal), one slider at 1, or a
    mix of one or two partial sliders."""
    out = np.zeros((n, styles), np.float32)
    others = [s for s in range(styles) if s != normal]
    for row in out:
        kind = rng.uniform()
        if kind < 0.35:
            continue
        if kind < 0.8:
            row[rng.choice(others)] = 1.0
        else:
            for s in rng.choice(others, size=int(rng.integers(1, 3)), replace=False):
                row[s] = rng.uniform(0.2, 1.0)
    return out


def guided_denoiser(model: MotionDenoiser, content: np.ndarray, style: np.ndarray, cfg: CFG):
    """The runtime's guided denoise(x, t) (inference/motion/model.py) with one condition
    per sample, on the torch teacher."""
    def run(x: np.ndarray, t: int) -> np.ndarray:
        b = len(x)
        kinds = cfg.kinds(t)
        keep = torch.tensor([KEEP[k] for k in kinds], dtype=torch.float32).repeat_interleave(b, 0)
        rows = len(kinds) * b
        with torch.inference_mode():
            x0 = model(torch.from_numpy(np.concatenate([x] * len(kinds))), torch.full((rows,), float(t)),
                       torch.from_numpy(np.tile(content, (len(kinds), 1))), keep[:, 0],
                       torch.from_numpy(np.tile(style, (len(kinds), 1))), keep[:, 1]).numpy()
        return cfg.combine({k: x0[i * b:(i + 1) * b] for i, k in enumerate(kinds)}, t)
    return run


def make_pairs(teacher: MotionDenoiser, folder: Path, count: int, tokens: tuple[int, int], seed: int,
               cfg: CFG, unconditional: int = 0) -> list[Path]:
    """Write (noise, content, style, keep, teacher sample) chunks: ``count`` guided ones,
    then ``unconditional`` ones sampled with the "none" row alone (keep 0). Chunks
    already written are kept."""
    folder.mkdir(parents=True, exist_ok=True)
    c = teacher.cfg
    guided = -(-count // CHUNK)
    total = guided + -(-unconditional // CHUNK)
    chunks = []
    t0 = time.time()
    for i in range(total):
        path = folder / f"{i:04d}.npz"
        chunks.append(path)
        if path.exists():
            continue
        rng = np.random.default_rng([seed, i])
        n = int(rng.integers(tokens[0], tokens[1] + 1))
        content = np.eye(c.num_contents, dtype=np.float32)[rng.integers(0, c.num_contents, CHUNK)]
        style = random_styles(rng, CHUNK, c.num_styles, c.normal_style)
        keep = np.full(CHUNK, 1.0 if i < guided else 0.0, np.float32)
        noise = rng.standard_normal((CHUNK, n, c.latent)).astype(np.float32)
        x0 = sample(guided_denoiser(teacher, content, style, cfg if i < guided else CFG(0.0, 0.0)), noise.shape,
                    TEACHER_STEPS, rng, x_start=noise.copy())
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, noise=noise, content=content, style=style, keep=keep, x0=x0.astype(np.float32))
        tmp.replace(path)
        print(f"pairs: chunk {i + 1}/{total} ({n} tokens), {(time.time() - t0) / 60:.1f} min", flush=True)
    return chunks


class PairSource:
    """Batches of distillation pairs: a random chunk, as many of its pairs as the token
    budget allows."""

    def __init__(self, chunks: list[Path], tokens_per_batch: int, device: torch.device, seed: int):
        self.data = [dict(np.load(p)) for p in chunks]
        for d in self.data:  # chunks written before unconditional pairs existed are all guided
            d.setdefault("keep", np.ones(len(d["noise"]), np.float32))
        self.budget, self.device, self.seed = tokens_per_batch, device, seed

    def __call__(self, step: int) -> dict:
        rng = np.random.default_rng([self.seed, step])
        d = self.data[int(rng.integers(len(self.data)))]
        n = d["noise"].shape[1]
        idx = rng.choice(len(d["noise"]), size=min(len(d["noise"]), max(4, self.budget // n)), replace=False)
        return {k: torch.from_numpy(v[idx]).to(self.device) for k, v in d.items()}


def student_loss(net, b: dict, abar: torch.Tensor, self_share: float) -> torch.Tensor:
    """Both steps' error in one forward pass (DistributedDataParallel allows one a step):
    the first step on the noise, the second on x0 (or the student's own first-step
    guess, from a gradient-free pass) noised again with the same noise."""
    noise, x0, content, style, keep = b["noise"], b["x0"], b["content"], b["style"], b["keep"]
    bsz, dev = len(noise), noise.device
    first_t = torch.full((bsz,), float(FIRST_T), device=dev)
    start = x0
    if self_share > 0:
        module = getattr(net, "module", net)
        with torch.no_grad():
            guess = module(noise, first_t, content, keep, style, keep).float()
        own = (torch.rand(bsz, 1, 1, device=dev) < self_share).float()
        start = own * guess + (1 - own) * x0
    t = torch.randint(SECOND_T[0], SECOND_T[1] + 1, (bsz,), device=dev)
    a = abar[t].view(-1, 1, 1)
    second_x = a.sqrt() * start + (1 - a).sqrt() * noise
    pred = net(torch.cat([noise, second_x]), torch.cat([first_t, t.float()]), torch.cat([content, content]),
               torch.cat([keep, keep]), torch.cat([style, style]), torch.cat([keep, keep])).float()
    target = torch.cat([x0, x0])
    return 2 * (F.mse_loss(pred, target) + F.mse_loss(pred[:, 1:] - pred[:, :-1], target[:, 1:] - target[:, :-1]))


def quantize_matmuls(float_path: Path, path: Path, model: MotionDenoiser) -> dict:
    """Write ``float_path`` to ``path`` with its matrix products in int8 (weights per
    tensor, activations quantized on the fly), and say how far it lands from torch.

    Why: the student's two steps were ~15 of a fast clip's ~40 ms. The student is
    exported channels last (denoiser.exportable_channels_last), so its convolutions are
    matrix products too and all of them go int8: a 10 s step 8.7 -> 4.7 ms (2 threads)
    at a mean difference of ~0.007 in the unit-variance latent, which the decoder
    smooths away (card protocol in docs/motion_model.md). ONNX Conv nodes would stay
    float: ConvInteger was slower than float here.
    """
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from .export_motion import fixed_inputs
    ops = ["MatMul", "Gemm"]
    quantize_dynamic(str(float_path), str(path), op_types_to_quantize=ops, weight_type=QuantType.QInt8)
    feeds = fixed_inputs(model.cfg)
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    with torch.no_grad():
        want = exportable(model)(*(torch.from_numpy(v) for v in feeds.values())).numpy()
    return {"ops": ops, "layout": "channels last: convolutions as matrix products",
            "weights": "int8 per tensor, activations dynamic",
            "mean_abs_to_torch": float(np.abs(got - want).mean()), "max_abs_to_torch": float(np.abs(got - want).max())}


def export_student(args: argparse.Namespace) -> int:
    from .export_motion import PARITY_LIMIT, export_denoiser, write_fast_entry
    src = next((args.out / n for n in ("final.pt", "checkpoint.pt") if (args.out / n).exists()), None)
    if src is None:
        print(f"no student in {args.out}: run training/train.py distill first")
        return 2
    ck = torch.load(src, map_location="cpu", weights_only=False)
    model = MotionDenoiser(DenoiserConfig(**ck["config"]))
    model.load_state_dict(ck["ema"])
    meta_path = args.weights / "motion_diffusion.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if len(meta["contents"]) != model.cfg.num_contents or len(meta["styles"]) != model.cfg.num_styles:
        print(f"the student does not match {meta_path}: distil from the shipped model")
        return 2
    path = args.weights / FAST_FILE
    float_path = path.with_name(path.stem + ".float.onnx")
    err = export_denoiser(model, float_path, channels_last=True)
    if err > PARITY_LIMIT:
        float_path.unlink(missing_ok=True)
        print(f"parity {err:.2e} above {PARITY_LIMIT}: not exported")
        return 1
    int8 = quantize_matmuls(float_path, path, model)
    float_path.unlink()
    fast = {"file": FAST_FILE, "text_guidance": ck["guidance"][0], "style_guidance": ck["guidance"][1],
            "training": {"steps": ck["step"], "minutes": round(ck["elapsed"] / 60, 1),
                         "pairs": ck["pairs"], "teacher_steps": TEACHER_STEPS,
                         "pair_minutes": ck.get("pair_minutes")},
            "onnx_parity_max_abs": err, "int8": int8}
    if "decoder" in meta.get("fast", {}):  # the fast decoder is exported apart (distill_decoder.py)
        fast["decoder"] = meta["fast"]["decoder"]
    meta["fast"] = fast
    write_fast_entry(args.weights, meta, {path: "motion-student-onnx"})
    print(f"wrote {path} (parity {err:.1e}) and the 'fast' entry of {meta_path.name}")
    return 0


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.export:
        return export_student(args)
    workers = workers_to_launch(args.workers)
    rank, world, device = setup_process(args.threads, args.seed, launching=workers > 0)
    meta = json.loads((args.weights / "motion_diffusion.json").read_text(encoding="utf-8"))
    cfg = CFG(float(meta["defaults"]["text_guidance"]), float(meta["defaults"]["style_guidance"]))
    teacher = load_teacher(args.teacher)
    pair_dir = args.out / "pairs"
    marker = pair_dir / "done.json"
    wanted = -(-args.pairs // CHUNK) + -(-args.unconditional // CHUNK)
    if rank == 0 and (not marker.exists() or len(json.loads(marker.read_text())["chunks"]) != wanted):
        before = json.loads(marker.read_text())["minutes"] if marker.exists() else 0.0
        t0 = time.time()
        chunks = make_pairs(teacher, pair_dir, args.pairs, tuple(args.tokens), args.seed, cfg, args.unconditional)
        marker.write_text(json.dumps({"chunks": [p.name for p in chunks],
                                      "minutes": round(before + (time.time() - t0) / 60, 1)}), encoding="utf-8")
    if world > 1:
        torch.distributed.barrier()
    if workers:
        return launch_workers("distill", argv + ["--workers", "1"], workers)
    done = json.loads(marker.read_text(encoding="utf-8"))
    chunks = [pair_dir / n for n in done["chunks"]]
    abar = torch.tensor(cosine_alphas_cumprod(), dtype=torch.float32, device=device)
    source = PairSource(chunks, args.tokens_per_batch, device, args.seed * 1000 + rank * 7919)
    st = LoopSettings(out=args.out, steps=args.steps, minutes=args.minutes, lr=args.lr, warmup=100,
                      checkpoint_minutes=args.checkpoint_minutes, fresh=args.fresh,
                      bf16=use_bf16(args.precision, device), name="student",
                      extra={"config": teacher.cfg.to_dict(), "pairs": len(chunks) * CHUNK,
                             "unconditional_pairs": -(-args.unconditional // CHUNK) * CHUNK,
                             "pair_minutes": done["minutes"], "guidance": [cfg.text, cfg.style],
                             "args": vars(args) | {
                                 "out": str(args.out), "teacher": str(args.teacher), "weights": str(args.weights)}})
    train(teacher.train(), source, lambda net, b: student_loss(net, b, abar, args.self_share), st, rank, world, device)
    finish_distributed()
    return 0
