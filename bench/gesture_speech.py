#!/usr/bin/env python3
"""Do the gestures follow *this* voice? (issue 23), on real and synthetic speech.

    .venv/bin/python bench/gesture_speech.py [--seeds 2] [--clips 4] [--json OUT]

Speech: FACEGOOD's real recordings (``.cache/data/facegood-audio2face/wav``, calm
read speech, most likely Mandarin: ``./cadence dataset`` or the face docs unpack it),
cut into 20 s clips from different takes, and espeak-ng English paragraphs (the
synthetic check; Debian's ``espeak-ng``). Gestures from the audio alone (no words:
beat gestures, as for any language), every figure against the *same motion* with the
audio shifted circularly by a third of its length (the control: speech of the same
kind, not this speech):

- **speak/pause**: mean wrist speed (both wrists, world, m/s) in frames where the
  project's VAD says speech over frames where it does not (issue target >= 1.5);
- **corr loud**: Pearson correlation of the wrist speed with loudness (frame RMS in
  dB, floor -50 dB below the clip's peak), both smoothed over 0.5 s (target >= 0.3
  and >= 0.15 above the shifted control);
- **BeatAlign** sigma 0.3 / 0.1 (``bench/beat_align.py``) against the onsets inside
  speech, control: onsets shifted (target >= control + 0.1 at sigma 0.3);
- **jitter** and **foot skating** (``bench/metrics.py``) against the real Bandai-Namco
  standing communicative takes (range over takes, ``--no-real`` skips loading them);
- **drift**: the pelvis' largest planar distance from its start (m; in place);
- the BeatAlign **ceiling**: motion beats exactly on the onsets score 1; the same
  beats against the shifted onsets show how much of a gap the metric allows at all.
"""
from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

import numpy as np

import _bootstrap

from cadence.bench.beat_align import beat_align, motion_beats, upper_body_speed
from cadence.bench.metrics import foot_skating_ratio, jitter
from cadence.dataset.paths import cache_dir
from cadence.inference.gesture.activity import ActivitySettings
from cadence.inference.gesture.generate import generate_gestures
from cadence.inference.gesture.guidance import BeatSettings
from cadence.inference.motion.model import MotionModel
from cadence.inference.speech.audio import SAMPLE_RATE, Audio, load_audio
from cadence.motion.skeleton import JOINT_NAMES

WRISTS = [JOINT_NAMES.index("left_wrist"), JOINT_NAMES.index("right_wrist")]
PELVIS = JOINT_NAMES.index("pelvis")
CLIP_SECONDS = 20.0
ENGLISH = [
    "Good morning everyone, and thank you for joining us today. I want to talk about how we "
    "build things together. When we started this project, nobody believed it could work. "
    "We had a small team, very little money, and a lot of questions.",
    "Of course, there were problems. Some days nothing worked, and we had to start again from "
    "the beginning. No plan survives the first meeting with reality, but we never stopped. "
    "So what comes next? We will open the platform to everyone this spring.",
]
# pauses between sentences as a speaker makes them ([[...]] is espeak-ng's SSML-less
# pause: a comma-free full stop gives ~0.3 s; we add 0.8 s silences between sentences)
ESPEAK_VOICES = [("en-us", 150, 50), ("en-gb+f3", 165, 60)]


def facegood_clips(n: int) -> list[tuple[str, Audio]]:
    wav_dir = cache_dir() / "data" / "facegood-audio2face" / "wav"
    wavs = sorted(wav_dir.glob("1114_*.wav"))
    if not wavs:
        print(f"  no FACEGOOD recordings in {wav_dir}: unpack ../shared/data/facegood-audio2face.tar.xz there")
        return []
    out = []
    k = 0
    while len(out) < n and k < 4 * n:
        w = wavs[k % len(wavs)]
        a = load_audio(w)
        start = 5.0 + 25.0 * (k // len(wavs))
        k += 1
        if start + CLIP_SECONDS > a.duration:
            continue
        s = a.samples[int(start * SAMPLE_RATE):int((start + CLIP_SECONDS) * SAMPLE_RATE)]
        out.append((f"{w.stem}@{start:.0f}s", Audio(s.copy(), SAMPLE_RATE, SAMPLE_RATE, 1)))
    return out


def espeak_clips(work: Path) -> list[tuple[str, Audio]]:
    out = []
    for pi, text in enumerate(ENGLISH):
        for vi, (voice, wpm, pitch) in enumerate(ESPEAK_VOICES):
            path = work / f"speech_p{pi}_v{vi}.wav"
            if not path.exists():
                parts = []
                sentences = (s.strip() for s in text.replace("?", "?|").replace(". ", ".|").split("|"))
                for si, sentence in enumerate(sentences):
                    if not sentence:
                        continue
                    part = work / f"_part{si}.wav"
                    subprocess.run(["espeak-ng", "-v", voice, "-s", str(wpm), "-p", str(pitch), "-w", str(part),
                                    sentence], check=True)
                    parts.append(load_audio(part).samples)
                gap = np.zeros(int(0.8 * SAMPLE_RATE), np.float32)
                joined = np.concatenate([np.concatenate([p, gap]) for p in parts])
                import soundfile as sf
                sf.write(str(path), joined, SAMPLE_RATE)
            out.append((f"espeak {voice} p{pi}", load_audio(path)))
    return out


def smooth(x: np.ndarray, frames: int) -> np.ndarray:
    k = np.ones(frames) / frames
    return np.convolve(np.pad(x, (frames // 2, frames - 1 - frames // 2), mode="edge"), k, mode="valid")


def frame_loudness_db(samples: np.ndarray, fps: float, frames: int) -> np.ndarray:
    """RMS level per animation frame in dB, floored 50 dB below the clip's loudest frame."""
    hop = SAMPLE_RATE / fps
    out = np.empty(frames)
    for i in range(frames):
        s = samples[int(i * hop):int((i + 1) * hop)]
        out[i] = np.sqrt(np.mean(np.square(s, dtype=np.float64))) if len(s) else 0.0
    db = 20 * np.log10(np.maximum(out, 1e-9))
    return np.maximum(db, db.max() - 50.0)


def hand_speed(positions: np.ndarray, fps: float) -> np.ndarray:
    """(T,) mean speed of the two wrists, m/s (the last frame repeats)."""
    v = np.linalg.norm(np.diff(positions[:, WRISTS], axis=0), axis=-1).mean(axis=1) * fps
    return np.append(v, v[-1])


def corr(a: np.ndarray, b: np.ndarray) -> float:
    if a.std() < 1e-12 or b.std() < 1e-12:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def follow_figures(positions: np.ndarray, fps: float, speaking: np.ndarray, loud_db: np.ndarray,
                   onsets: np.ndarray, duration: float, stresses: np.ndarray | None = None) -> dict:
    """The figures of one motion against its audio and against the audio shifted by a
    third of its length (``*_shifted``); with ``stresses`` (the stressed syllables in
    speech, s) also BeatAlign at sigma 0.1 against them (``beat_align_stress``)."""
    frames = len(positions)
    speed = hand_speed(positions, fps)
    s_speed = smooth(speed, int(round(0.5 * fps)))
    s_loud = smooth(loud_db, int(round(0.5 * fps)))
    shift = frames // 3
    beats = motion_beats(upper_body_speed(positions, fps), fps)
    out = {}
    for tag, k in (("", 0), ("_shifted", shift)):
        mask = np.roll(speaking, k)
        sp = speed[mask].mean() if mask.any() else float("nan")
        pa = speed[~mask].mean() if (~mask).any() else float("nan")
        out["speak_pause" + tag] = float(sp / max(pa, 1e-9))
        out["corr_loud" + tag] = corr(s_speed, np.roll(s_loud, k))
        on = np.sort((onsets + k / fps) % duration)
        out["beat_align_0.3" + tag] = beat_align(on, beats, 0.3)
        out["beat_align_0.1" + tag] = beat_align(on, beats, 0.1)
        if stresses is not None:
            out["beat_align_stress" + tag] = beat_align(np.sort((stresses + k / fps) % duration), beats, 0.1)
    # the metric's ceiling: motion beats exactly on the onsets, scored against the shift
    shifted = np.sort((onsets + shift / fps) % duration)
    out["ceiling_0.3_shifted"] = beat_align(shifted, onsets, 0.3)
    out["ceiling_0.1_shifted"] = beat_align(shifted, onsets, 0.1)
    out["speed_speaking"] = float(speed[speaking].mean()) if speaking.any() else float("nan")
    out["speed_pausing"] = float(speed[~speaking].mean()) if (~speaking).any() else float("nan")
    out["jitter"] = jitter(positions, fps)
    out["foot_skating"] = foot_skating_ratio(positions, fps)
    planar = positions[:, PELVIS, :2] - positions[0, PELVIS, :2]
    out["drift_m"] = float(np.linalg.norm(planar, axis=1).max())
    return out


def onsets_in_speech(result) -> np.ndarray:
    mask = result.activity.frame_mask(100.0, len(result.prosody.loudness))
    on = result.prosody.onsets
    return on[[bool(mask[min(len(mask) - 1, int(t * 100))]) for t in on]] if len(on) else on


def stresses_in_speech(result) -> np.ndarray:
    """The stressed syllables' nuclei (s) where the voice activity hears speech."""
    mask = result.activity.frame_mask(100.0, len(result.prosody.loudness))
    st = result.prosody.syllables[result.prosody.stressed]
    return st[[bool(mask[min(len(mask) - 1, int(t * 100))]) for t in st]] if len(st) else st


def real_range() -> dict:
    from cadence.dataset.pipeline import load_or_build
    from cadence.motion.representation import decode
    ds = load_or_build()
    j, f = [], []
    for i in range(len(ds)):
        if str(ds.contents[i]) in ("respond", "guide", "call", "bye", "byebye"):
            p = decode(ds.clip(i).astype(np.float64), ds.fps).positions()
            j.append(jitter(p, ds.fps))
            f.append(foot_skating_ratio(p, ds.fps))
    return {"jitter": [float(np.percentile(j, 10)), float(np.median(j)), float(np.percentile(j, 90))],
            "foot_skating": [float(np.percentile(f, 10)), float(np.median(f)), float(np.percentile(f, 90))],
            "n": len(j)}


KEYS = ("speak_pause", "corr_loud", "beat_align_0.3", "beat_align_0.1", "beat_align_stress")


def run(model, clips, seeds: int, beat: BeatSettings | None, label: str,
        activity: ActivitySettings | None = None, solver: str | None = None) -> dict:
    rows = []
    for name, audio in clips:
        for seed in range(seeds):
            r = generate_gestures(audio, words=[], semantic_amount=0.0, seed=seed, model=model, beat=beat,
                                  activity=activity, solver=solver)
            pos = r.motion.positions()
            fps = r.motion.fps
            frames = len(pos)
            speaking = r.activity.frame_mask(fps, frames)
            loud = frame_loudness_db(audio.samples, fps, frames)
            fig = follow_figures(pos, fps, speaking, loud, onsets_in_speech(r), audio.duration,
                                 stresses_in_speech(r))
            fig["clip"], fig["seed"], fig["sampling_s"] = name, seed, r.timings.get("sampling", 0.0)
            rows.append(fig)
    summary = {k: float(np.nanmean([r[k] for r in rows])) for k in rows[0] if k not in ("clip", "seed")}
    summary["corr_loud_min"] = float(np.nanmin([r["corr_loud"] for r in rows]))
    summary["speak_pause_min"] = float(np.nanmin([r["speak_pause"] for r in rows]))
    print(f"  {label:28s} " + "  ".join(f"{k} {summary[k]:.3f}/{summary[k + '_shifted']:.3f}" for k in KEYS)
          + f"  jitter {summary['jitter']:.1f} skate {summary['foot_skating']:.3f} drift {summary['drift_m']:.3f}"
          + f"  sampling {summary['sampling_s']:.2f} s a clip"
          + f"  (min speak/pause {summary['speak_pause_min']:.2f}, min corr {summary['corr_loud_min']:.2f};"
          + f" beats exactly on the onsets would score 1 against shifted {summary['ceiling_0.3_shifted']:.3f}"
          + f" / {summary['ceiling_0.1_shifted']:.3f})",
          flush=True)
    return {"summary": summary, "rows": rows}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--clips", type=int, default=4, help="FACEGOOD clips of 20 s")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--no-real", action="store_true", help="skip the real takes' jitter/skating range")
    p.add_argument("--no-english", action="store_true")
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--without-activity", action="store_true",
                   help="also run with the activity envelope off (the earlier behaviour)")
    p.add_argument("--iterations", type=int, default=None, help="beat guidance iterations")
    p.add_argument("--fast", action="store_true", help="also sample with the fast (distilled) student")
    for name, default in vars(ActivitySettings()).items():
        if name != "enabled":
            p.add_argument("--" + name.replace("_", "-"), type=type(default), default=default)
    args = p.parse_args()
    activity = ActivitySettings(**{k: getattr(args, k) for k in vars(ActivitySettings()) if k != "enabled"})
    beat = BeatSettings(iterations=args.iterations) if args.iterations is not None else None
    work = cache_dir() / "bench" / "gesture"
    work.mkdir(parents=True, exist_ok=True)
    model = MotionModel.load(threads=args.threads)
    out = {}
    sets = [("FACEGOOD real speech", facegood_clips(args.clips))]
    if not args.no_english:
        sets.append(("espeak-ng English", espeak_clips(work)))
    print("figure: this audio / audio shifted by a third")
    for label, clips in sets:
        if clips:
            out[label] = run(model, clips, args.seeds, beat, label, activity)
            if args.fast:
                out[label + ", fast sampler"] = run(model, clips, args.seeds, beat, label + " (fast)", activity,
                                                    "distilled")
            if args.without_activity:
                out[label + ", no activity envelope"] = run(model, clips, args.seeds, beat, label + " (no envelope)",
                                                            ActivitySettings(enabled=False))
    if not args.no_real:
        out["real takes"] = real_range()
        r = out["real takes"]
        print(f"  real takes (n={r['n']}) jitter p10/median/p90 {r['jitter'][0]:.1f}/{r['jitter'][1]:.1f}/"
              f"{r['jitter'][2]:.1f}  skating {r['foot_skating'][0]:.3f}/{r['foot_skating'][1]:.3f}/"
              f"{r['foot_skating'][2]:.3f}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
