#!/usr/bin/env python3
"""Speed and memory of text-to-motion generation (issue 4 targets), printed, not asserted.

    .venv/bin/python bench/motion_speed.py [--threads 2] [--seconds 10]

Measures, on this machine's CPU with onnxruntime limited to --threads:
- a 10 s clip end to end (text encoding, 10 guided DDIM steps on latent tokens, the
  decoder back to 30 fps, the foot lock), and the same with the fast sampler (the
  distilled student: 2 steps of one row; ``--solver distilled``, Blender's Fast Preview);
- in the same run, the baseline it is compared with (issue 19): ONE guided step of an
  MDM-shaped transformer denoiser (8 layers, d 512, 4 heads, 196 frames, conditional and
  unconditional rows batched), same threads; target: end to end <= 1/3 of that step;
- the cost of one guided step, of the decoder (and of the fast sampler's lighter one) and
  of the foot lock, and the ratio to real time;
- peak resident memory of the process: target <= 1 GB.
"""
from __future__ import annotations

import argparse
import itertools
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

import _bootstrap

from cadence.bench.timing import timed
from cadence.inference.motion.cfg import CFG
from cadence.inference.motion.model import GenerationRequest, MotionModel
from cadence.inference.text.encoder import TextEncoder
from cadence.motion.foot_lock import decode_generated

BASELINE_FRAMES = 196


def baseline_step_seconds(threads: int, frames: int, repeats: int) -> float | None:
    """One guided step of an MDM-shaped transformer (8 x d512, full frame rate), batch 2."""
    try:
        import torch
    except ImportError:
        return None
    from cadence.inference.runtime.onnx_session import create_session

    class Baseline(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inp = torch.nn.Linear(206, 512)
            layer = torch.nn.TransformerEncoderLayer(512, 4, 1024, 0.0, batch_first=True)
            self.enc = torch.nn.TransformerEncoder(layer, 8, enable_nested_tensor=False)
            self.out = torch.nn.Linear(512, 206)

        def forward(self, x):
            return self.out(self.enc(self.inp(x)))

    path = Path(tempfile.mkdtemp()) / "baseline.onnx"
    x = np.random.default_rng(0).standard_normal((2, frames, 206)).astype(np.float32)
    torch.onnx.export(Baseline().eval(), (torch.from_numpy(x),), str(path), dynamo=False,
                      input_names=["x"], output_names=["y"], opset_version=17)
    session = create_session(path, intra_op_num_threads=threads, providers=["CPUExecutionProvider"])
    session.run(None, {"x": x})
    return statistics.median(timed(lambda: session.run(None, {"x": x}), repeats))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--weights", type=Path, default=None)
    args = p.parse_args()

    t0 = time.perf_counter()
    model = MotionModel.load(args.weights, threads=args.threads, providers=["CPUExecutionProvider"])
    encoder = TextEncoder.load(args.weights, intra_op_num_threads=args.threads,
                               providers=["CPUExecutionProvider"])
    _ = model.session
    load_s = time.perf_counter() - t0
    request = GenerationRequest("a person walks forward and waves with the right hand", args.seconds,
                                {"happy": 0.7}, seed=0)
    fresh = itertools.count()

    def new_prompt(r: GenerationRequest) -> GenerationRequest:
        """The same request with a prompt the text encoder has not read yet (it remembers
        recent prompts: a slider change re-reads the same one for free)."""
        return replace(r, prompt=f"{r.prompt}, take {next(fresh)}")

    model.generate(request, encoder)  # warm-up
    total = timed(lambda: model.generate(new_prompt(request), encoder), args.repeats)
    fast_total = fast_same = fast_steps = None
    if model.distilled is not None:
        fast_request = replace(request, solver="distilled")
        fast_steps = model.sampling_steps(None, "distilled")
        model.generate(fast_request, encoder)
        fast_total = timed(lambda: model.generate(new_prompt(fast_request), encoder), args.repeats * 4)
        fast_same = timed(lambda: model.generate(fast_request, encoder), args.repeats * 4)
    text = timed(lambda: encoder.encode([new_prompt(request).prompt]), args.repeats * 2)

    frames = model.frames_for(args.seconds)
    steps = int(model.defaults["steps"])
    content = model.encode_prompts([request.prompt], encoder).content[0]
    denoise = model.denoiser(content, model.style_vector({}), CFG(2.5, 2.0))
    x = np.random.default_rng(0).standard_normal((1, model.tokens_for(frames), model.latent_dim)).astype(np.float32)
    step = timed(lambda: denoise(x, 500), args.repeats * 2)
    decode = timed(lambda: model.decode_latents(x), args.repeats * 2)
    fast_decode = None
    if model.has_fast_decoder:
        fast_decode = timed(lambda: model.decode_latents(x, "distilled"), args.repeats * 2)
    feats = model.normalizer.denormalize(model.decode_latents(x)[0, :frames].astype(np.float64))
    lock = timed(lambda: decode_generated(feats, model.fps, True), args.repeats)
    base = baseline_step_seconds(args.threads, BASELINE_FRAMES, args.repeats)
    rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20

    med = statistics.median(total)
    print(f"motion generation speed ({args.threads} CPU threads, {args.seconds:g} s clip = {frames} frames, "
          f"{steps} steps, device {model.device})")
    print(f"  end to end (text + sampling + decode): median {med * 1000:.0f} ms, "
          f"best {min(total) * 1000:.0f} ms")
    print(f"  text encoding:                          median {statistics.median(text) * 1000:.1f} ms")
    print(f"  one guided step (3 conditions batched): median {statistics.median(step) * 1000:.1f} ms "
          f"({model.tokens_for(frames)} latent tokens)")
    print(f"  decoder (latents -> 30 fps features):   median {statistics.median(decode) * 1000:.1f} ms")
    if fast_decode is not None:
        print(f"  fast decoder (the fast sampler's):      median {statistics.median(fast_decode) * 1000:.1f} ms")
    print(f"  decode to joints + foot lock:           median {statistics.median(lock) * 1000:.1f} ms")
    print(f"  real-time factor: {args.seconds / med:.0f}x faster than real time")
    if fast_total is not None:
        fast_med = statistics.median(fast_total)
        print(f"  fast sampler ({fast_steps} distilled steps, one row): end to end median {fast_med * 1000:.1f} ms, "
              f"best {min(fast_total) * 1000:.1f} ms ({med / fast_med:.1f}x faster than the full sampler)")
        print(f"  fast sampler, prompt read before (a slider change): end to end median "
              f"{statistics.median(fast_same) * 1000:.1f} ms, best {min(fast_same) * 1000:.1f} ms")
    if base is not None:
        print(f"  baseline, ONE guided step of an MDM-shaped transformer (8 x d512, {BASELINE_FRAMES} frames, "
              f"batch 2): median {base * 1000:.1f} ms")
        print(f"  end to end / baseline step: {med / base:.2f} (target <= 0.33); "
              f"our step costs {statistics.median(step) / base:.2f} of it")
        if fast_total is not None:
            print(f"  fast sampler end to end / baseline step: {statistics.median(fast_total) / base:.2f} "
                  f"(target <= 0.33); prompt read before: {statistics.median(fast_same) / base:.2f}")
    print(f"  model load (verify + sessions): {load_s:.2f} s")
    print(f"  peak RSS: {rss_gb:.2f} GB   target <= 1 GB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
