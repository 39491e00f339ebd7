#!/usr/bin/env python3
"""Speed of speech -> gestures (issue 9 target: 60 s of speech -> gestures in <= 2 s on
2 CPU cores; recognition and sampling reported separately), printed, not asserted.

    .venv/bin/python bench/gesture_speed.py [--threads 2] [--repeats 3]
    .venv/bin/python bench/gesture_speed.py --whole [--repeats 5]

``--whole``: the issue-23 figure instead, the whole call as a user runs it: ``./cadence
gesture --audio X --out X.bvh`` timed from outside (process start to exit), on a minute
of FACEGOOD's real speech (take 1114_2_01 from 5 s) and on the espeak-ng minute, words
recognised (fast and full sampler) and with the transcript given; median and fastest
wall time of ``--repeats`` runs, and the stages the command prints.

60 s of English speech synthesised with espeak-ng (needs the Debian package; cached in
.cache/bench/gesture/), then each stage of ``generate_gestures`` on its own (median of
``--repeats``): reading, voice activity, prosody, recognition (pocketsphinx, no text),
forced alignment of the known text, planning (lexicon matching with a warm encoder) and
sampling (composition + beat guidance, 4 DDIM steps: the gestures' default, 6, and the
model's 10).

The machine is shared, so a 10 s single-prompt generation runs in the same process as
a yardstick: its idle time is 0.337 s (weights/motion_diffusion.md), and the ratio of
the two is printed as the contention factor; "idle-equivalent" figures divide by it.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import time
from pathlib import Path

import _bootstrap

from cadence.bench.timing import timed
from cadence.dataset.paths import cache_dir
from cadence.inference.gesture.generate import GESTURE_STEPS, generate_gestures, phrase_index
from cadence.inference.gesture.plan import plan_gestures
from cadence.inference.motion.model import GenerationRequest, MotionModel
from cadence.inference.speech.audio import load_audio
from cadence.inference.speech.prosody import analyse
from cadence.inference.speech.transcribe import transcribe
from cadence.inference.speech.vad import detect_speech
from cadence.inference.text.encoder import TextEncoder

IDLE_PROMPT_SECONDS = 0.337   # 10 s prompt on the idle machine (model card)
TEXT = (
    "Good morning everyone, and thank you for joining us today. I want to talk about how we "
    "build things together. When we started this project, nobody believed it could work. We "
    "had a small team, very little money, and a lot of questions. But we kept going, step by "
    "step, and we learned something new every week. Look at this chart over here. The first "
    "line shows where we were a year ago. The second line shows where we are now. That is a "
    "huge difference, and all of you made it happen. Of course, there were problems. Some "
    "days nothing worked, and we had to start again from the beginning. But we listened to "
    "our users, we changed our minds when we were wrong, and we never stopped asking why. So "
    "what comes next? We will open the platform to everyone this spring. Thank you so much.")


def recognition_time(audio, text: str | None) -> float:
    """Seconds for pocketsphinx on the whole file (nan when it fails, said on stdout)."""
    from cadence.inference.speech.transcribe import TranscribeError
    try:
        return timed(lambda: transcribe(audio, text), 1)[0]
    except TranscribeError as exc:
        print(f"  {'alignment' if text else 'recognition'} failed: {exc}")
        return float("nan")


def whole_calls(work: Path, espeak: Path, repeats: int) -> None:
    """Wall time of ``./cadence gesture`` from outside, per case (see the docstring)."""
    import soundfile as sf
    facegood = cache_dir() / "data" / "facegood-audio2face" / "wav" / "1114_2_01.wav"
    cases = []
    if facegood.exists():
        minute = work / "facegood60.wav"
        if not minute.exists():
            audio = load_audio(facegood)
            sf.write(minute, audio.samples[5 * audio.sample_rate:65 * audio.sample_rate], audio.sample_rate)
        cases += [("FACEGOOD minute, words recognised, fast", [minute], ["--fast"]),
                  ("FACEGOOD minute, words recognised, full", [minute], [])]
    else:
        print(f"  no FACEGOOD recordings in {facegood.parent}: its cases are skipped")
    text = work / "speech60.txt"
    text.write_text(TEXT + "\n")
    cases += [("espeak-ng minute, words recognised, fast", [espeak], ["--fast"]),
              ("espeak-ng minute, transcript given, fast", [espeak], ["--fast", "--transcript", str(text)])]
    cli = Path(__file__).resolve().parents[1] / "cadence"
    for label, (audio,), extra in cases:
        walls, last = [], ""
        for _ in range(repeats):
            t0 = time.perf_counter()
            run = subprocess.run([str(cli), "gesture", "--audio", str(audio), "--out", str(work / "whole.bvh"),
                                  *extra], capture_output=True, text=True)
            walls.append(time.perf_counter() - t0)
            if run.returncode != 0:
                print(f"  {label}: failed: {run.stderr.strip()}")
                break
            last = next((line for line in run.stdout.splitlines() if line.startswith("wrote")), "")
        stages = last[last.find(") in ") + 2:] if ") in " in last else last
        print(f"  {label:44s} wall median {statistics.median(walls):5.2f} s, fastest {min(walls):5.2f} s"
              f" (target {'2.5' if '--transcript' in extra else '5'} s); last run: {stages}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--whole", action="store_true", help="time the whole ./cadence gesture call instead")
    args = p.parse_args()
    work = cache_dir() / "bench" / "gesture"
    work.mkdir(parents=True, exist_ok=True)
    wav = work / "speech60.wav"
    if not wav.exists():
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "135", "-w", str(wav), TEXT], check=True)
    if args.whole:
        print(f"whole call, {args.repeats} runs each; load average {os.getloadavg()[0]:.1f}")
        whole_calls(work, wav, args.repeats)
        return 0
    model = MotionModel.load(threads=args.threads)
    encoder = TextEncoder.load(intra_op_num_threads=args.threads)
    audio = load_audio(wav)
    med = lambda f: statistics.median(timed(f, args.repeats))  # noqa: E731

    yard = med(lambda: model.generate(GenerationRequest("a person waves", 10.0), encoder))
    factor = yard / IDLE_PROMPT_SECONDS
    activity = detect_speech(audio)
    analyse(audio.samples)  # warm-up, like the calls above
    words = transcribe(audio, TEXT).words
    phrase_index(encoder)
    stages = {
        "read (load_audio)": med(lambda: load_audio(wav)),
        "voice activity (silero ONNX)": med(lambda: detect_speech(audio)),
        "prosody (numpy)": med(lambda: analyse(audio.samples)),
        "planning (lexicon, warm encoder)": med(lambda: plan_gestures(
            words, activity.segments, audio.duration, phrase_index(encoder), 0.5)),
    }
    understanding = sum(stages.values())
    sampling = {}
    whole = {}
    for steps in (GESTURE_STEPS, 6, 10):
        runs = [generate_gestures(audio, words=words, model=model, encoder=encoder, steps=steps).timings
                for _ in range(args.repeats)]
        sampling[steps] = statistics.median(r["sampling"] for r in runs)
        whole[steps] = (statistics.median(r["total"] for r in runs), min(r["total"] for r in runs))
    recognition, alignment = recognition_time(audio, None), recognition_time(audio, TEXT)

    load = os.getloadavg()
    print(f"{audio.duration:.1f} s of speech, {args.threads} threads; load average {load[0]:.1f} "
          f"(2 cores, shared); yardstick 10 s prompt {yard:.3f} s = {factor:.2f}x its idle time")
    for name, t in stages.items():
        print(f"  {name:36s} {t:7.3f} s")
    for steps, t in sampling.items():
        print(f"  {'sampling, ' + str(steps) + ' steps (compose + guidance)':36s} {t:7.3f} s "
              f"(idle-equivalent {t / factor:.3f} s)")
    print(f"  {'recognition (pocketsphinx, no text)':36s} {recognition:7.3f} s")
    print(f"  {'forced alignment of the known text':36s} {alignment:7.3f} s")
    total = understanding + sampling[GESTURE_STEPS]
    print(f"gestures without recognition: {total:.3f} s measured, idle-equivalent {total / factor:.3f} s "
          f"(target <= 2 s); with recognition add {recognition:.1f} s")
    print("one generate_gestures call with the words given (every stage in one call), median / fastest of "
          f"{args.repeats}: " + ", ".join(f"{whole[k][0]:.3f} / {whole[k][1]:.3f} s at {k} steps" for k in whole))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
