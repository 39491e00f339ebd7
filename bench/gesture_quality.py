#!/usr/bin/env python3
"""Quality of speech -> gestures (issue 9), printed as tables, not asserted.

    .venv/bin/python bench/gesture_quality.py [--seeds 2] [--threads 2] [--json OUT]

Needs the Debian package ``espeak-ng`` (benchmarks only, never tests): we have no
English speech recordings, so the English speech is synthesised, with known text.

1. **BeatAlign** (``bench/beat_align.py``; BEAT's beat consistency, audio onsets vs
   kinematic beats) on 8 clips (4 paragraphs x 2 espeak-ng voices, 13-20 s each),
   words from forced alignment of the known text, for
   - ``gestures``: the shipped system (semantic gestures + beat guidance);
   - ``no beat guidance``: the same plan and seeds with the guidance off (root hold only);
   - ``audio shuffled``: the ``gestures`` motion against the same clip's onsets shifted
     circularly by a random 2 s .. length - 2 s (the rhythm of speech, not this speech);
   - ``real takes``: real Bandai-Namco motion capture of communicative acts performed
     standing (respond, guide, call, bye, byebye: the closest the data has to talking;
     there is no talking take), each placed at 5 random offsets over the clips' onsets.
2. **Semantic gesture hit rate**: sentences with known keywords (listed in the lexicon,
   and synonyms that are not), the keyword's time from forced alignment of the known
   text; a hit is a semantic gesture of the expected kind whose word starts within
   0.5 s of the keyword. With words from forced alignment and from recognition
   (pocketsphinx, no text given). "performed": for arm gestures, the right wrist's
   highest point relative to the neck during the gesture, against the beat-only motion
   of the same seed.
3. **Foot skating and jitter** (``bench/metrics.py``) of the generated clips and the
   real takes.
4. **Style from the voice**: the estimate (``inference/speech/style.py``) on one
   paragraph spoken slow, plain and fast.
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
from cadence.inference.gesture.generate import generate_gestures
from cadence.inference.gesture.guidance import BeatSettings
from cadence.inference.motion.model import MotionModel
from cadence.inference.speech.audio import load_audio
from cadence.inference.speech.transcribe import transcribe
from cadence.motion.representation import decode
from cadence.motion.skeleton import JOINT_NAMES

PARAGRAPHS = [
    "Good morning everyone, and thank you for joining us today. I want to talk about how we "
    "build things together. When we started this project, nobody believed it could work.",
    "We had a small team, very little money, and a lot of questions. But we kept going, step "
    "by step, and we learned something new every week. Look at this chart over here.",
    "Of course, there were problems. Some days nothing worked, and we had to start again from "
    "the beginning. No plan survives the first meeting with reality, but we never stopped.",
    "So what comes next? We will open the platform to everyone this spring, and we will move "
    "into a bigger office. If you want to help, come and talk to me. Thank you, and goodbye.",
]
VOICES = [("en-us", 150, 50), ("en-gb+f3", 170, 60)]   # voice, words per minute, pitch

# (sentence, keyword, expected gesture); the second group's keywords are not in the lexicon
SEMANTIC = [
    ("Hello, it is good to see you all.", "hello", "wave"),
    ("Please look over there at the screen.", "over", "guide"),
    ("Thank you for your patience today.", "thank", "bow"),
    ("Yes, that is exactly what I meant.", "yes", "nod"),
    ("No, we will not do that again.", "no", "shake"),
    ("Everybody can join the meeting now.", "everybody", "raise"),
    ("Hey, come here for a second.", "hey", "call"),
    ("Goodbye, and see you tomorrow.", "goodbye", "wave"),
    ("Greetings to the whole team.", "greetings", "wave"),
    ("Farewell, my dear friends.", "farewell", "wave"),
    ("Folks, the show starts soon.", "folks", "raise"),
    ("Certainly, I can help with that.", "certainly", "nod"),
    ("Cheers for the lovely evening.", "cheers", "bow"),
    ("Nope, that will not work here.", "nope", "shake"),
]
TALKING_LIKE = ("respond", "guide", "call", "bye", "byebye")


def synthesise(text: str, voice: tuple[str, int, int], path: Path) -> Path:
    if not path.exists():
        name, wpm, pitch = voice
        subprocess.run(["espeak-ng", "-v", name, "-s", str(wpm), "-p", str(pitch), "-w", str(path), text],
                       check=True)
    return path


def onsets_of(result) -> np.ndarray:
    """Audio beats: the onsets picked by inference/speech/prosody.py inside speech."""
    mask = result.activity.frame_mask(100.0, len(result.prosody.loudness))
    on = result.prosody.onsets
    return on[[bool(mask[min(len(mask) - 1, int(t * 100))]) for t in on]] if len(on) else on


def scores(onsets: np.ndarray, positions: np.ndarray, fps: float) -> tuple[float, float]:
    beats = motion_beats(upper_body_speed(positions, fps), fps)
    return beat_align(onsets, beats, 0.3), beat_align(onsets, beats, 0.1)


def real_takes() -> list[np.ndarray]:
    """World positions of the standing communicative takes (all splits)."""
    from cadence.dataset.pipeline import load_or_build
    ds = load_or_build()
    out = []
    for i in range(len(ds)):
        if str(ds.contents[i]) in TALKING_LIKE:
            out.append(decode(ds.clip(i).astype(np.float64), ds.fps).positions())
    return out


def mean(xs) -> float:
    xs = [x for x in xs if np.isfinite(x)]
    return float(np.mean(xs)) if xs else float("nan")


def beat_table(model, args, work: Path) -> dict:
    rng = np.random.default_rng(0)
    rows = {k: [] for k in ("gestures", "no beat guidance", "audio shuffled", "real takes")}
    motion_stats = {"gestures": [], "no beat guidance": []}
    reals = real_takes()
    fps = model.fps
    for pi, text in enumerate(PARAGRAPHS):
        for vi, voice in enumerate(VOICES):
            wav = synthesise(text, voice, work / f"para{pi}_v{vi}.wav")
            audio = load_audio(wav)
            words = transcribe(audio, text).words
            for seed in range(args.seeds):
                for name, scale in (("gestures", 1.0), ("no beat guidance", 0.0)):
                    r = generate_gestures(audio, words=words, seed=seed, model=model,
                                          beat=BeatSettings(scale=scale))
                    pos = r.motion.positions()
                    on = onsets_of(r)
                    rows[name].append(scores(on, pos, fps))
                    motion_stats[name].append((foot_skating_ratio(pos, fps), jitter(pos, fps)))
                    if name == "gestures":
                        d = audio.duration
                        for _ in range(5):
                            shift = rng.uniform(2.0, d - 2.0)
                            rows["audio shuffled"].append(scores(np.sort((on + shift) % d), pos, fps))
            on = onsets_of(r)
            for take in reals:
                dur = len(take) / fps
                if dur >= audio.duration:
                    continue
                for _ in range(5):
                    off = rng.uniform(0, audio.duration - dur)
                    sel = on[(on >= off) & (on < off + dur)] - off
                    if len(sel):
                        rows["real takes"].append(scores(sel, take, fps))
            print(f"  paragraph {pi + 1}, voice {voice[0]}: {audio.duration:.1f} s, {len(on)} onsets",
                  flush=True)
    real_stats = [(foot_skating_ratio(p, fps), jitter(p, fps)) for p in reals]
    table = {}
    for name, vals in rows.items():
        table[name] = {"beat_align_0.3": mean([v[0] for v in vals]),
                       "beat_align_0.1": mean([v[1] for v in vals]), "n": len(vals)}
    for name, st in list(motion_stats.items()) + [("real takes", real_stats)]:
        table[name]["foot_skating"] = mean([s[0] for s in st])
        table[name]["jitter"] = mean([s[1] for s in st])
    table["audio shuffled"].update(foot_skating=table["gestures"]["foot_skating"],
                                   jitter=table["gestures"]["jitter"])
    return table


def semantic_table(model, args, work: Path) -> dict:
    neck = JOINT_NAMES.index("neck")
    wrist = JOINT_NAMES.index("right_wrist")
    out = {}
    for mode in ("aligned", "recognised"):
        hits, total, lifts = 0, 0, []
        per_kind: dict[str, list[int]] = {}
        for si, (text, keyword, kind) in enumerate(SEMANTIC):
            wav = synthesise(text, VOICES[0], work / f"sem{si}.wav")
            audio = load_audio(wav)
            ref = [w for w in transcribe(audio, text).words if w.text.lower().strip(",.") == keyword]
            if not ref:
                print(f"  {keyword!r}: not aligned, skipped")
                continue
            t_ref = ref[0].start
            words = transcribe(audio, text).words if mode == "aligned" else transcribe(audio).words
            r = generate_gestures(audio, words=words, semantic_amount=1.0, seed=0, model=model)
            ok = [p for p in r.plan.semantic if p.gesture.name == kind and abs(p.word_start - t_ref) <= 0.5]
            total += 1
            hits += bool(ok)
            per_kind.setdefault(kind, []).append(int(bool(ok)))
            if mode == "aligned" and ok and kind in ("wave", "raise", "call"):
                base = generate_gestures(audio, words=words, semantic_amount=0.0, seed=0, model=model)
                f0, f1 = int(ok[0].start * model.fps), int(ok[0].end * model.fps)
                def lift(m, f0=f0, f1=f1):
                    return float(np.max(m.positions()[f0:f1, wrist, 2] - m.positions()[f0:f1, neck, 2]))

                lifts.append((lift(r.motion), lift(base.motion)))
            heard = " ".join(w.text for w in words)
            print(f"  [{mode}] {keyword!r} -> {kind}: {'hit' if ok else 'miss'} "
                  f"(placed: {[p.gesture.name for p in r.plan.semantic]}; words: {heard!r})", flush=True)
        out[mode] = {"hit_rate": hits / max(total, 1), "n": total,
                     "per_kind": {k: float(np.mean(v)) for k, v in per_kind.items()}}
        if lifts:
            out[mode]["wrist_above_neck_m"] = mean([a for a, _ in lifts])
            out[mode]["wrist_above_neck_beat_only_m"] = mean([b for _, b in lifts])
    return out


def style_table(work: Path) -> dict:
    """The voice -> style estimate on the same paragraph spoken slow, plain and fast by
    espeak-ng (its command line sets the rate, not the pitch range)."""
    from cadence.inference.speech.prosody import analyse
    from cadence.inference.speech.style import estimate_style
    from cadence.inference.speech.vad import detect_speech
    out = {}
    for name, wpm in (("slow", 110), ("plain", 160), ("fast", 230)):
        wav = work / f"style_{wpm}.wav"
        if not wav.exists():
            subprocess.run(["espeak-ng", "-v", "en-us", "-s", str(wpm), "-w", str(wav), PARAGRAPHS[0]],
                           check=True)
        audio = load_audio(wav)
        est = estimate_style(analyse(audio.samples), detect_speech(audio).segments)
        out[name] = {"styles": est.styles, "arousal": est.arousal,
                     **{k: est.measures[k] for k in ("rate", "pitch_range", "loudness_variation")}}
        print(f"  {name:13s} {est.describe():40s} rate {est.measures['rate']:.1f}/s, pitch range "
              f"{est.measures['pitch_range']:.1f} st, loudness sd {est.measures['loudness_variation']:.2f}")
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--only-style", action="store_true", help="only the style estimate table")
    args = p.parse_args()
    work = cache_dir() / "bench" / "gesture"
    work.mkdir(parents=True, exist_ok=True)
    print("Style from the voice (espeak-ng, one paragraph at three rates):")
    style = style_table(work)
    if args.only_style:
        return 0
    model = MotionModel.load(threads=args.threads)
    print("BeatAlign (espeak-ng English, words by forced alignment):")
    beat = beat_table(model, args, work)
    print(f"{'':18s} {'BeatAlign s=0.3':>16s} {'s=0.1':>8s} {'n':>5s} {'foot skate':>11s} {'jitter':>8s}")
    for name, row in beat.items():
        print(f"{name:18s} {row['beat_align_0.3']:16.3f} {row['beat_align_0.1']:8.3f} {row['n']:5d} "
              f"{row['foot_skating']:11.3f} {row['jitter']:8.1f}")
    print("Semantic gestures (amount 1):")
    sem = semantic_table(model, args, work)
    for mode, row in sem.items():
        print(f"  {mode}: hit rate {row['hit_rate']:.2f} of {row['n']}; per kind "
              + ", ".join(f"{k} {v:.2f}" for k, v in row["per_kind"].items()))
        if "wrist_above_neck_m" in row:
            print(f"    right wrist above the neck during wave/raise/call: {row['wrist_above_neck_m']:+.3f} m "
                  f"(beat only, same seed: {row['wrist_above_neck_beat_only_m']:+.3f} m)")
    if args.json:
        args.json.write_text(json.dumps({"beat": beat, "semantic": sem, "style": style}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
