"""The training loop shared by the motion autoencoder and the latent denoiser.

One place for what every Cadence trainer needs on a 2-core CPU as on many GPUs:
data-parallel set-up under ``torchrun`` (DistributedDataParallel) or, on a CPU, one
single-threaded worker process per core (``launch_workers``: these small networks run
2.3x faster as two one-thread processes than as one two-thread process here), AdamW with warm-up and
cosine decay, an EMA copy of the weights, bfloat16 autocast where the hardware has it,
checkpoints every few minutes and resume from the last one, a step or minute budget
(whichever ends first), and a progress line with the loss and the ETA. A trainer gives
the model, a batch source and a loss.
"""
from __future__ import annotations

import copy
import math
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist


@dataclass
class LoopSettings:
    out: Path
    steps: int
    minutes: float
    lr: float
    ema: float = 0.999
    weight_decay: float = 0.01
    warmup: int = 200
    checkpoint_minutes: float = 5.0
    fresh: bool = False
    bf16: bool = False
    name: str = "model"
    extra: dict = field(default_factory=dict)  # saved in every checkpoint (config, vocabulary, ...)


def setup_distributed() -> tuple[int, int, torch.device]:
    """(rank, world size, device); initialises the process group under torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1:
        if not dist.is_initialized():
            dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        rank = dist.get_rank()
        device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}"
                              if torch.cuda.is_available() else "cpu")
        if device.type == "cuda":
            torch.cuda.set_device(device)
        return rank, world, device
    return 0, 1, torch.device("cuda" if torch.cuda.is_available() else "cpu")


def default_workers() -> int:
    """Worker processes for ``--workers 0``: one per CPU core (at most 8) without CUDA,
    else 1 (several GPUs: use torchrun)."""
    if torch.cuda.is_available():
        return 1
    return max(1, min(8, os.cpu_count() or 1))


def workers_to_launch(requested: int) -> int:
    """How many worker processes this process should start for ``--workers requested``
    (0: none, it trains itself: one worker asked for, or it is a worker already, under
    ``launch_workers`` or torchrun)."""
    workers = requested or default_workers()
    return workers if workers > 1 and "WORLD_SIZE" not in os.environ else 0


def setup_process(threads: int, seed: int, launching: bool = False) -> tuple[int, int, torch.device]:
    """(rank, world, device) of a training process, its threads (0: one per core) and its
    seed (``seed + rank``) set; ``launching``: this process only starts the workers (no
    process group: rank 0 of 1 on the CPU)."""
    rank, world, device = (0, 1, torch.device("cpu")) if launching else setup_distributed()
    torch.set_num_threads(threads or os.cpu_count() or 1)
    torch.manual_seed(seed + rank)
    return rank, world, device


def launch_workers(command: str, argv: list[str], workers: int) -> int:
    """Run ``training/train.py command argv`` in ``workers`` one-thread processes that
    train together (DistributedDataParallel over gloo); the exit code of the worst."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    script = Path(__file__).with_name("train.py")
    procs = []
    for rank in range(workers):
        env = dict(os.environ, RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(workers),
                   MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), OMP_NUM_THREADS="1")
        procs.append(subprocess.Popen([sys.executable, str(script), command, *argv, "--threads", "1"], env=env))
    try:
        return max(p.wait() for p in procs)
    except KeyboardInterrupt:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait()
        raise


def finish_distributed() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def use_bf16(precision: str, device: torch.device) -> bool:
    """bfloat16 autocast: asked for, or (``auto``) where the device has bf16 units."""
    if precision != "auto":
        return precision == "bf16"
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return bool(getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: False)())


def lr_at(step: int, total: int, base: float, warmup: int = 200, time_frac: float = 0.0) -> float:
    """Linear warm-up, then cosine decay to 10 % of ``base`` at ``total`` steps, or at the
    end of the time budget (``time_frac``: its share used) when that comes first, so a
    run stopped by ``--minutes`` still ends on a decayed learning rate."""
    if step < warmup:
        return base * (step + 1) / warmup
    frac = min(1.0, max((step - warmup) / max(1, total - warmup), time_frac))
    return base * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))


def train(model: torch.nn.Module, batches: Callable[[int], dict],
          loss_fn: Callable[[torch.nn.Module, dict], torch.Tensor], st: LoopSettings,
          rank: int = 0, world: int = 1, device: torch.device | None = None) -> dict:
    """Train ``model`` until ``st.steps`` or ``st.minutes``; returns the final state.

    ``batches(step)`` returns a dict of tensors on ``device`` (``step`` lets a sampler
    reseed on resume), ``loss_fn(net, batch)`` the scalar loss (run under autocast when
    ``st.bf16``). The state (model, EMA, optimiser, step, elapsed time, ``st.extra``) is
    saved to ``st.out/checkpoint.pt`` every ``st.checkpoint_minutes`` and at the end
    also to ``final.pt``; a rerun resumes from ``checkpoint.pt`` unless ``st.fresh``.
    """
    device = device or torch.device("cpu")
    st.out.mkdir(parents=True, exist_ok=True)
    model = model.to(device)
    ema = copy.deepcopy(model).eval().requires_grad_(False)
    opt = torch.optim.AdamW(model.parameters(), lr=st.lr, weight_decay=st.weight_decay)
    step, elapsed_before = 0, 0.0
    ckpt_path = st.out / "checkpoint.pt"
    if ckpt_path.exists() and not st.fresh:
        ck = torch.load(ckpt_path, map_location=device, weights_only=False)
        model.load_state_dict(ck["model"])
        ema.load_state_dict(ck["ema"])
        opt.load_state_dict(ck["opt"])
        step, elapsed_before = ck["step"], ck.get("elapsed", 0.0)
        if rank == 0:
            print(f"{st.name}: resumed at step {step} ({elapsed_before / 60:.1f} min trained)", flush=True)
    net = model
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None)
    if rank == 0:
        n = sum(p.numel() for p in model.parameters())
        print(f"{st.name}: {n / 1e6:.2f} M parameters; {world} process(es) on {device}"
              f"{', bf16 autocast' if st.bf16 else ''}", flush=True)
    t_start = time.time()

    def state() -> dict:
        return {"model": model.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(),
                "step": step, "elapsed": elapsed_before + time.time() - t_start, **st.extra}

    def save(final: bool = False) -> None:
        if rank != 0:
            return
        s = state()
        tmp = ckpt_path.with_suffix(".tmp")
        torch.save(s, tmp)
        tmp.replace(ckpt_path)
        if final:
            torch.save(s, st.out / "final.pt")

    last_save = last_print = t_start
    loss_avg = None
    model.train()
    while step < st.steps:
        # Rank 0's clock decides for all ranks (a rank that stopped alone would leave the
        # others waiting in their gradient all-reduce).
        used = torch.tensor([(elapsed_before + time.time() - t_start) / (st.minutes * 60)], device=device)
        if world > 1:
            torch.distributed.broadcast(used, 0)
        if used.item() > 1.0:
            if rank == 0:
                print(f"{st.name}: time budget of {st.minutes:g} min reached at step {step}", flush=True)
            break
        batch = batches(step)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=st.bf16):
            loss = loss_fn(net, batch)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, st.steps, st.lr, st.warmup, used.item())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        decay = min(st.ema, (1 + step) / (10 + step))
        with torch.no_grad():
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.mul_(decay).add_(pm.detach(), alpha=1 - decay)
        step += 1
        loss_avg = loss.item() if loss_avg is None else 0.98 * loss_avg + 0.02 * loss.item()
        now = time.time()
        if rank == 0 and (now - last_print > 30 or step == st.steps):
            rate = step / max(1e-9, elapsed_before + now - t_start)
            eta = min((st.steps - step) / max(rate, 1e-9), st.minutes * 60 - elapsed_before - (now - t_start))
            bar = "#" * int(30 * step / st.steps)
            print(f"{st.name} [{bar:<30}] step {step}/{st.steps} loss {loss_avg:.4f} "
                  f"{rate * 60:.0f} steps/min ETA {max(eta, 0) / 60:.1f} min", flush=True)
            last_print = now
        if now - last_save > st.checkpoint_minutes * 60:
            save()
            last_save = now
    save(final=True)
    if rank == 0:
        print(f"{st.name}: saved {st.out / 'final.pt'} at step {step}", flush=True)
    return state()
