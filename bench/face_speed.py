#!/usr/bin/env python3
"""Speed and memory of speech -> face (issue 8 target: 60 s of speech in <= 1 s on 2 CPU
cores), printed, not asserted.

    .venv/bin/python bench/face_speed.py [--threads 2] [--long]

- 60 s of speech (the held-out FACEGOOD take, or the test fixture tiled when the data is
  not unpacked) written as 44.1 kHz stereo WAV, then the whole ``generate_face`` (read,
  downmix, resample, features, ONNX model, emotion, blinks, gaze, head), median of 5,
  with the share of each stage;
- with ``--long``: a 20-minute 48 kHz stereo file end to end, its time and the peak
  resident memory of the process.

Only the learned path exists (the phoneme path of the issue is not built).
"""
from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from _bootstrap import ROOT

from cadence.bench.timing import timed
from cadence.dataset.paths import cache_dir
from cadence.inference.face.generate import generate_face
from cadence.inference.face.model import FaceSpeechModel
from cadence.inference.speech import audio as A


def speech(seconds: float) -> np.ndarray:
    take = cache_dir() / "data/facegood-audio2face/wav/1114_2_05.wav"
    if take.exists():
        x = A.load_audio(take).samples
    else:
        x = A.load_audio(ROOT / "tests/fixtures/facegood_1114_2_05_slice.flac").samples
    n = int(seconds * A.SAMPLE_RATE)
    return np.resize(x, n).astype(np.float32)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--long", action="store_true", help="also a 20-minute file")
    args = p.parse_args()
    model = FaceSpeechModel.load(intra_op_num_threads=args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        x = speech(60.0)
        path = Path(tmp) / "speech.wav"
        up = A.resample(x, 16000, 44100)
        sf.write(path, np.stack([up, 0.9 * up], axis=1), 44100, subtype="PCM_16")
        generate_face(path, {"happy": 0.5}, model=model)  # warm up
        total = timed(lambda: generate_face(path, {"happy": 0.5}, model=model), 5)
        audio = A.load_audio(path)
        stages = {
            "read + resample 44.1k stereo": timed(lambda: A.load_audio(path), 3),
            "log-mel features": timed(lambda: A.log_mel(audio.samples), 3),
            "ONNX model": timed(lambda: model.mouth_curves(A.log_mel(audio.samples)), 3),
        }
        print(f"60 s of speech -> face (learned path), {args.threads} threads: "
              f"median {statistics.median(total):.3f} s (min {min(total):.3f}); target <= 1 s")
        feat = statistics.median(stages["log-mel features"])
        for name, times in stages.items():
            t = statistics.median(times)
            if name == "ONNX model":
                t -= feat
            print(f"  {name:32s} {t:.3f} s")
        if args.long:
            minutes = 20
            long_path = Path(tmp) / "long.wav"
            with sf.SoundFile(long_path, "w", 48000, 2, subtype="PCM_16") as f:
                block = A.resample(speech(60.0), 16000, 48000)
                for _ in range(minutes):
                    f.write(np.stack([block, block], axis=1))
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            t0 = time.perf_counter()
            anim = generate_face(long_path, model=model)
            t = time.perf_counter() - t0
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"{minutes}-minute 48 kHz stereo file: {anim.num_frames} frames in {t:.1f} s; "
                  f"peak RSS {peak:.0f} MB (before: {before:.0f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
