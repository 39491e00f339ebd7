#!/usr/bin/env python3
"""The listener (issue 23's "Listening" mode): do its nods land where listeners nod?

    .venv/bin/python bench/gesture_listening.py [--seeds 3] [--clips 3] [--no-real] [--json OUT]

Speech: minutes of FACEGOOD's real recordings (calm read speech, most likely Mandarin;
``.cache/data/facegood-audio2face/wav``, as ``bench/gesture_speech.py`` finds them) and
the espeak-ng English paragraphs of ``bench/gesture_speech.py`` joined into one clip
(1.5 s between paragraphs). The listener's motion from each (``generate_listening``),
several seeds:

- **nods/min**;
- **after pause**: the share of nods that start within 0.5 s after the speaker pauses
  (a silence of >= 0.3 s between the VAD's speech, or the end of speech), against the
  same number of nods placed uniformly at random over the clip (the control, averaged
  over 2000 draws);
- **head speed**: the head's world angular speed (deg/s) in frames where the speaker
  speaks, in frames where they do not, and deep in long silences (frames more than
  1.5 s into a silence of 2 s or more: the head should be still there);
- **drift**: the pelvis' largest planar distance from its start (m);
- **foot skating** (``bench/metrics.py``) against the real Bandai-Namco standing
  communicative takes (range over takes; ``--no-real`` skips loading them);
- **time** for the clip (wall, the listener's whole call with a loaded model), against
  the speaker's gestures without word recognition (``--no-words``) on the same clip in
  the same run (with recognition the speaker path adds ~0.1x real time: docs/gesture.md).
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

import _bootstrap

from cadence.bench.gesture_speech import espeak_clips, real_range
from cadence.bench.metrics import foot_skating_ratio, jitter
from cadence.dataset.paths import cache_dir
from cadence.inference.gesture.generate import generate_gestures
from cadence.inference.gesture.listening import generate_listening, phrases
from cadence.inference.motion.model import MotionModel
from cadence.inference.speech.audio import SAMPLE_RATE, Audio, load_audio
from cadence.motion import rotations as rot
from cadence.motion.skeleton import JOINT_NAMES
from cadence.motion.smoothing import runs

HEAD = JOINT_NAMES.index("head")
PELVIS = JOINT_NAMES.index("pelvis")
CLIP_SECONDS = 60.0


def facegood_minutes(n: int) -> list[tuple[str, Audio]]:
    wav_dir = cache_dir() / "data" / "facegood-audio2face" / "wav"
    out = []
    for w in sorted(wav_dir.glob("1114_*.wav")):
        a = load_audio(w)
        if a.duration >= 5.0 + CLIP_SECONDS:
            s = a.samples[int(5.0 * SAMPLE_RATE):int((5.0 + CLIP_SECONDS) * SAMPLE_RATE)]
            out.append((f"FACEGOOD {w.stem}@5s", Audio(s.copy(), SAMPLE_RATE, SAMPLE_RATE, 1)))
        if len(out) == n:
            break
    if not out:
        print(f"  no FACEGOOD recordings in {wav_dir}: unpack ../shared/data/facegood-audio2face.tar.xz there")
    return out


def espeak_dialogue(work: Path) -> list[tuple[str, Audio]]:
    clips = espeak_clips(work)
    gap = np.zeros(int(1.5 * SAMPLE_RATE), np.float32)
    joined = np.concatenate([np.concatenate([a.samples, gap]) for _, a in clips])
    return [("espeak-ng English (4 paragraphs)", Audio(joined, SAMPLE_RATE, SAMPLE_RATE, 1))]


def pause_starts(segments, min_pause: float = 0.3) -> np.ndarray:
    runs = phrases(segments, min_pause)
    return np.array([b for a, b in runs])   # every phrase end is followed by >= min_pause (or the end)


def share_after(starts: np.ndarray, pauses: np.ndarray, window: float = 0.5) -> float:
    if not len(starts) or not len(pauses):
        return float("nan")
    d = starts[:, None] - pauses[None, :]
    return float(np.mean(np.any((d >= 0) & (d <= window), axis=1)))


def head_speed(motion) -> np.ndarray:
    """(T,) deg/s of the head's world rotation (the last frame repeats)."""
    mats = motion.forward_kinematics()[0][:, HEAD]
    q = rot.matrix_to_quat(mats)
    w = np.degrees(rot.angle_between_quats(q[1:], q[:-1])) * motion.fps
    return np.append(w, w[-1])


def deep_silence(speaking: np.ndarray, fps: float, min_len: float = 2.0, skip: float = 1.5) -> np.ndarray:
    """Frames more than ``skip`` s into a silence of at least ``min_len`` s."""
    out = np.zeros(len(speaking), bool)
    for start, stop in runs(~np.asarray(speaking, bool)):
        if (stop - start) / fps >= min_len:
            out[start + int(skip * fps):stop] = True
    return out


def figures(r, rng: np.random.Generator) -> dict:
    m = r.motion
    fps, dur = m.fps, m.num_frames / m.fps
    starts = np.array([n.start for n in r.nods])
    pauses = pause_starts(r.activity.segments)
    control = [share_after(np.sort(rng.uniform(0, dur - 1.0, len(starts))), pauses) for _ in range(2000)] \
        if len(starts) else [float("nan")]
    speaking = r.activity.frame_mask(fps, m.num_frames)
    deep = deep_silence(speaking, fps)
    w = head_speed(m)
    pos = m.positions()
    planar = pos[:, PELVIS, :2] - pos[0, PELVIS, :2]
    return {"nods_per_min": 60.0 * len(starts) / dur, "after_pause": share_after(starts, pauses),
            "after_pause_random": float(np.nanmean(control)),
            "double_share": float(np.mean([n.double for n in r.nods])) if r.nods else float("nan"),
            "head_deg_s_speech": float(w[speaking].mean()) if speaking.any() else float("nan"),
            "head_deg_s_silence": float(w[~speaking].mean()) if (~speaking).any() else float("nan"),
            "head_deg_s_deep_silence": float(w[deep].mean()) if deep.any() else float("nan"),
            "drift_m": float(np.linalg.norm(planar, axis=1).max()),
            "foot_skating": foot_skating_ratio(pos, fps), "jitter": jitter(pos, fps),
            "seconds": r.timings["total"], "seconds_per_min": 60.0 * r.timings["total"] / dur, "audio_s": dur}


def _mean(values: list[float]) -> float:
    v = np.array(values, np.float64)
    return float(v[~np.isnan(v)].mean()) if (~np.isnan(v)).any() else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--clips", type=int, default=3, help="FACEGOOD minutes")
    ap.add_argument("--no-real", action="store_true")
    ap.add_argument("--repeats", type=int, default=5,
                    help="timing: the listener and the speaker (no words) on the first clip, interleaved")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    model = MotionModel.load()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        groups = {"FACEGOOD": facegood_minutes(args.clips), "espeak-ng": espeak_dialogue(Path(tmp))}
    # warm: sessions, VAD
    generate_listening(Audio(groups["espeak-ng"][0][1].samples[:5 * SAMPLE_RATE].copy(), SAMPLE_RATE,
                             SAMPLE_RATE, 1), model=model)
    report: dict = {}
    for group, clips in groups.items():
        rows, speaker = [], []
        for name, audio in clips:
            for seed in range(args.seeds):
                rows.append(figures(generate_listening(audio, seed=seed, model=model), rng))
                print(f"  {name} seed {seed}: " + ", ".join(f"{k} {v:.3f}" for k, v in rows[-1].items()))
            t0 = time.perf_counter()
            generate_gestures(audio, words=[], semantic_amount=0.0, seed=0, model=model)
            speaker.append(60.0 * (time.perf_counter() - t0) / audio.duration)
            print(f"  {name}: speaker gestures without words {speaker[-1]:.2f} s per minute")
        if rows:
            report[group] = {k: _mean([r[k] for r in rows]) for k in rows[0]}
            report[group]["speaker_no_words_seconds_per_min"] = float(np.mean(speaker))
            report[group]["runs"] = len(rows)
    first = (groups["FACEGOOD"] or groups["espeak-ng"])[0]
    stages: dict[str, list[float]] = {}
    speaker_times = []
    for _ in range(args.repeats):
        r = generate_listening(first[1], seed=0, model=model)
        for k, v in r.timings.items():
            stages.setdefault(k, []).append(v)
        t0 = time.perf_counter()
        generate_gestures(first[1], words=[], semantic_amount=0.0, seed=0, model=model)
        speaker_times.append(time.perf_counter() - t0)
    report["timing"] = {"clip": first[0], "audio_s": first[1].duration,
                        "listener_median_s": {k: float(np.median(v)) for k, v in stages.items()},
                        "listener_fastest_s": float(np.min(stages["total"])),
                        "speaker_no_words_median_s": float(np.median(speaker_times)),
                        "speaker_no_words_fastest_s": float(np.min(speaker_times))}
    if not args.no_real:
        report["real_takes"] = real_range()
    print(json.dumps(report, indent=1))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
