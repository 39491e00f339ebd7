#!/usr/bin/env python3
"""Training entry point: ``training/train.py <what> [options]``.

    autoencoder the motion autoencoder: features <-> latent tokens (train_autoencoder.py)
    motion      the prompt matcher and the latent action + style denoiser (train_motion.py)
    export      write the trained denoiser to weights/ as ONNX (export_motion.py)
    references  the bank of real takes sampling may start from (references.py; export runs it)
    distill     a 2-step, one-row student of the guided denoiser, for fast previews (distill_motion.py)
    distill-decoder  a lighter decoder for the fast previews (distill_decoder.py)
    warm-start  torch checkpoints rebuilt from the shipped ONNX motion model, to fine-tune (warm_start.py)
    face        the speech -> ARKit mouth model: train, test, export (train_face.py)
    gesture     an audio-conditioned gesture denoiser on your own BEAT2 / ZEGGS takes (train_gesture.py)

Loads the repository as the package ``cadence`` so training code shares the motion
core with the add-on. Run with the project's .venv (tools/bootstrap).
"""
import os
import sys

import _bootstrap

# Under contention (a 2-core machine also running tests), OpenMP threads that spin while
# waiting slow training down several times; sleeping waits cost nothing when idle. Set
# before any training module imports torch (loading the package imports nothing heavy).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

COMMANDS = {"autoencoder": "cadence.training.train_autoencoder", "motion": "cadence.training.train_motion",
            "export": "cadence.training.export_motion", "references": "cadence.training.references",
            "warm-start": "cadence.training.warm_start", "face": "cadence.training.train_face",
            "gesture": "cadence.training.train_gesture",
            "distill": "cadence.training.distill_motion",
            "distill-decoder": "cadence.training.distill_decoder"}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__)
        sys.exit(2)
    import importlib
    sys.exit(importlib.import_module(COMMANDS[sys.argv[1]]).main(sys.argv[2:]))
