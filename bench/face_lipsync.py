#!/usr/bin/env python3
"""Lip-sync quality and speed of the three face methods (learned / phoneme / blend),
printed as tables for docs/face.md. Not a test.

    .venv/bin/python bench/face_lipsync.py [--part facegood,english,speed,long]

1. **FACEGOOD held-out take** (``1114_2_05``, probably Mandarin, needs the unpacked data
   in .cache): per-shape MAE on the shapes that move, jawOpen Pearson r against the
   capture; the lag that best fits the phoneme path; blend shares.
2. **English synthesised with espeak-ng** (needs the Debian package ``espeak-ng``;
   its library is called through ctypes): 20 Harvard sentences, two voices. The
   reference phone timing is espeak-ng's own phoneme events (the synthesiser knows
   exactly when it starts each phoneme), converted from IPA to ARPAbet. Metrics:
   lip-closure hit rate at the reference bilabials (the lip aperture falls below 0.1
   at some frame of the p/b/m, ±20 ms); false closures at the middle of reference
   vowels; jawOpen r against the reference viseme track (``face/visemes.py`` on the
   reference phones: circular for the phoneme path's viseme model, so it measures the
   recognition and timing, not the poses). Also the phoneme path with the known text
   force-aligned.
3. **Speed**: 60 s of the English speech, each path alone (median of 3), and the phone
   recogniser under other decoder settings with their closure hit rate (the phone
   loop runs in the worker processes of ``inference/speech/sphinx_pool.py``).
4. ``--part long``: a 20-minute 48 kHz stereo file through the phoneme path (time, peak
   memory, progress).
"""
from __future__ import annotations

import argparse
import ctypes
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from _bootstrap import ROOT

from cadence.bench.timing import timed
from cadence.dataset.paths import cache_dir
from cadence.face import facegood
from cadence.face import visemes as V
from cadence.face.arkit import ARKIT_NAMES, INDEX
from cadence.inference.face.generate import BLEND_LEARNED, combine_mouth, generate_face
from cadence.inference.face.model import FaceSpeechModel
from cadence.inference.speech import audio as A
from cadence.inference.speech import transcribe as T

FPS = 30.0
CLOSED = 0.1          # lip aperture below this counts as closed
SHARES = (0.0, 0.25, 0.5, 0.75, 1.0)   # learned share of the blend

HARVARD = [
    "The birch canoe slid on the smooth planks.", "Glue the sheet to the dark blue background.",
    "It's easy to tell the depth of a well.", "These days a chicken leg is a rare dish.",
    "Rice is often served in round bowls.", "The juice of lemons makes fine punch.",
    "The box was thrown beside the parked truck.", "The hogs were fed chopped corn and garbage.",
    "Four hours of steady work faced us.", "A large size in stockings is hard to sell.",
    "The boy was there when the sun rose.", "A rod is used to catch pink salmon.",
    "The source of the huge river is the clear spring.", "Kick the ball straight and follow through.",
    "Help the woman get back to her feet.", "A pot of tea helps to pass the evening.",
    "Smoky fires lack flame and heat.", "The soft cushion broke the man's fall.",
    "The salt breeze came across from the sea.", "The girl at the booth sold fifty bonds.",
]

IPA = {  # espeak-ng en-us IPA -> ARPAbet (multi-phone entries split the time evenly)
    "ð": "DH", "θ": "TH", "ə": "AH", "ɐ": "AH", "ʌ": "AH", "ɪ": "IH", "ᵻ": "IH", "i": "IY",
    "ɛ": "EH", "æ": "AE", "ɑ": "AA", "ɒ": "AA", "ɔ": "AO", "ʊ": "UH", "u": "UW", "ɚ": "ER",
    "ɝ": "ER", "ɜ": "ER", "aɪ": "AY", "aʊ": "AW", "eɪ": "EY", "oʊ": "OW", "ɔɪ": "OY",
    "o": "OW", "e": "EY", "a": "AA",
    "b": "B", "p": "P", "m": "M", "f": "F", "v": "V", "t": "T", "d": "D", "n": "N", "l": "L",
    "ɫ": "L", "ɹ": "R", "r": "R", "s": "S", "z": "Z", "ʃ": "SH", "ʒ": "ZH", "tʃ": "CH",
    "dʒ": "JH", "k": "K", "ɡ": "G", "g": "G", "ŋ": "NG", "h": "HH", "w": "W", "j": "Y",
    "ɾ": "D", "ʔ": "T", "x": "HH",
}
VOWELS = {"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"}


# -- espeak-ng ---------------------------------------------------------------------------
class _Event(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint),
                ("text_position", ctypes.c_int), ("length", ctypes.c_int),
                ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", ctypes.c_char * 8)]


def ipa_to_arpabet(ipa: str) -> list[str]:
    """Greedy longest match of espeak-ng's IPA (stress and length marks dropped)."""
    s = "".join(c for c in ipa if c not in "ˈˌːˑ̩̃")
    out, i = [], 0
    while i < len(s):
        for n in (2, 1):
            if s[i:i + n] in IPA:
                out.append(IPA[s[i:i + n]])
                i += n
                break
        else:
            i += 1            # an unmapped symbol (rare diacritics): dropped
    return out


def synthesise(sentences: list[str], voice: str, wpm: int = 150, gap: float = 0.5):
    """(16 kHz samples, reference phones [(label, start, end)]) from espeak-ng."""
    lib = ctypes.CDLL("libespeak-ng.so.1")
    callback_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                                     ctypes.POINTER(_Event))
    rate = lib.espeak_Initialize(2, 0, None, 0x0003)   # synchronous; phoneme events in IPA
    chunks, events = [], []

    def collect(wav, n, ev):
        if n > 0:
            chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        i = 0
        while ev[i].type != 0:
            if ev[i].type == 7:
                events.append((ev[i].sample, ev[i].id.decode("utf-8", "replace")))
            i += 1
        return 0

    keep = callback_type(collect)
    lib.espeak_SetSynthCallback(keep)
    lib.espeak_SetVoiceByName(voice.encode())
    lib.espeak_SetParameter(1, wpm, 0)
    samples, phones, offset = [], [], 0
    for text in sentences:
        chunks.clear()
        events.clear()
        data = text.encode()
        lib.espeak_Synth(data, len(data) + 1, 0, 0, 0, 0, None, None)
        lib.espeak_Synchronize()
        x = np.concatenate(chunks).astype(np.float32) / 32768.0
        marks = sorted(events) + [(len(x), "")]
        for (start, ipa), (end, _) in zip(marks, marks[1:]):
            labels = ipa_to_arpabet(ipa) or ["SIL"]
            edges = np.linspace(start, end, len(labels) + 1)
            phones += [(label, (offset + edges[k]) / rate, (offset + edges[k + 1]) / rate)
                       for k, label in enumerate(labels)]
        pause = np.zeros(int(gap * rate), np.float32)
        samples += [x, pause]
        offset += len(x) + len(pause)
    audio = A.prepare(np.concatenate(samples), rate)
    return audio, phones


# -- metrics -----------------------------------------------------------------------------
def corr(a: np.ndarray, b: np.ndarray) -> float:
    n = min(len(a), len(b))
    return float(np.corrcoef(a[:n], b[:n])[0, 1])


def frames_of(start: float, end: float, pad: float = 0.0) -> slice:
    a = int(np.floor((start - pad) * FPS))
    b = max(a + 1, int(np.ceil((end + pad) * FPS)))
    return slice(max(0, a), b)


def closure_scores(weights: np.ndarray, phones) -> tuple[float, float]:
    """(hit rate at bilabials, false-closure rate at vowel middles)."""
    aperture = V.lip_aperture(weights)
    hits = [aperture[frames_of(s, e, 0.02)].min() < CLOSED
            for label, s, e in phones if label in V.BILABIALS and len(aperture[frames_of(s, e, 0.02)])]
    false = [aperture[min(len(aperture) - 1, int(0.5 * (s + e) * FPS))] < CLOSED
             for label, s, e in phones if label in VOWELS and e - s >= 0.06]
    return float(np.mean(hits)), float(np.mean(false))


def tracks(audio: A.Audio, model: FaceSpeechModel, transcript: str | None = None):
    learned = model.arkit_curves(A.log_mel(audio.samples, FPS))
    found = T.transcribe(audio, transcript, words=False)
    phoneme = V.phoneme_curves(found.phones, FPS, len(learned))
    return learned, phoneme, found.phones


def methods(learned, phoneme, phones) -> dict[str, np.ndarray]:
    out = {"learned": learned, "phoneme": phoneme}
    for share in SHARES[1:-1]:
        out[f"blend {share:g}"] = combine_mouth(learned, phoneme, phones, FPS, share)
    return out


# -- parts -------------------------------------------------------------------------------
def facegood_part(model: FaceSpeechModel) -> None:
    folder = cache_dir() / "data/facegood-audio2face"
    wav = folder / "wav/1114_2_05.wav"
    if not wav.exists():
        print("FACEGOOD data not unpacked in .cache (run the face training once): skipped")
        return
    audio = A.load_audio(wav)
    target = facegood.to_arkit(facegood.load_take(folder / "bs_value/bs_value_1114_2_05.npy"))
    learned, phoneme, phones = tracks(audio, model)
    n = min(len(target), len(learned))
    target = target[:n]
    moving = [j for j in range(target.shape[1]) if target[:, j].std() > 0.02]
    print(f"\n## FACEGOOD held-out take 1114_2_05 ({n / FPS:.0f} s), {len(moving)} moving shapes")
    results = methods(learned[:n], phoneme[:n], phones)
    print("| method | jawOpen r | mean MAE (moving shapes) | " + " | ".join(ARKIT_NAMES[j] for j in moving) + " |")
    print("|---" * (3 + len(moving)) + "|")
    for name, w in results.items():
        mae = [float(np.abs(w[:n, j] - target[:, j]).mean()) for j in moving]
        print(f"| {name} | {corr(w[:, INDEX['jawOpen']], target[:, INDEX['jawOpen']]):.3f} | "
              f"{np.mean(mae):.4f} | " + " | ".join(f"{m:.3f}" for m in mae) + " |")
    zero = [float(np.abs(target[:, j]).mean()) for j in moving]
    print(f"| predict 0 | - | {np.mean(zero):.4f} | " + " | ".join(f"{m:.3f}" for m in zero) + " |")
    jaw = target[:, INDEX["jawOpen"]]
    lags = {lag: corr(np.roll(phoneme[:n, INDEX["jawOpen"]], -lag)[:n - 10], jaw[:n - 10])
            for lag in range(-3, 4)}
    print("phoneme jawOpen r by shift (frames, + = earlier): "
          + ", ".join(f"{k:+d}: {v:.3f}" for k, v in lags.items()))


def english_part(model: FaceSpeechModel) -> None:
    try:
        ctypes.CDLL("libespeak-ng.so.1")
    except OSError:
        print("espeak-ng not installed (apt-get install espeak-ng): English part skipped")
        return
    print("\n## English, espeak-ng, 20 Harvard sentences (reference: espeak-ng's phoneme events)")
    print("| voice | method | bilabial closure hit rate | false closures at vowels | jawOpen r vs reference |")
    print("|---|---|---|---|---|")
    text = " ".join(HARVARD)
    for voice in ("en-us", "en-us+m3"):
        audio, ref = synthesise(HARVARD, voice)
        reference = V.phoneme_curves(ref, FPS, A.num_frames(len(audio.samples), FPS))
        learned, phoneme, phones = tracks(audio, model)
        rows = methods(learned, phoneme, phones)
        _, aligned, aligned_phones = tracks(audio, model, text)
        rows["phoneme, text aligned"] = aligned
        rows[f"blend {BLEND_LEARNED:g}, text aligned"] = combine_mouth(learned, aligned, aligned_phones, FPS)
        rows["reference visemes"] = reference
        bilabials = sum(label in V.BILABIALS for label, _, _ in ref)
        for name, w in rows.items():
            hit, false = closure_scores(w, ref)
            print(f"| {voice} ({bilabials} p/b/m, {audio.duration:.0f} s) | {name} | {hit:.2f} | "
                  f"{false:.2f} | {corr(w[:, INDEX['jawOpen']], reference[:, INDEX['jawOpen']]):.3f} |")


def speed_part(model: FaceSpeechModel) -> None:
    try:
        audio, ref = synthesise(HARVARD, "en-us")
    except OSError:
        print("espeak-ng not installed: speed part skipped")
        return
    n = int(60 * A.SAMPLE_RATE)
    samples = np.resize(audio.samples, n)
    ref60 = [(label, s, e) for label, s, e in ref if e <= audio.duration]
    audio60 = A.Audio(samples, A.SAMPLE_RATE, A.SAMPLE_RATE, 1)
    print("\n## Speed: 60 s of English speech -> face (median of 3, this 2-core machine, shared)")
    for method in ("learned", "phoneme", "blend"):
        generate_face(audio60, method=method, model=model)          # warm-up (decoders, session)
        t = statistics.median(timed(lambda method=method: generate_face(audio60, method=method, model=model), 3))
        print(f"- {method}: {t:.2f} s")
    print("\nPhone recogniser settings (60 s; closure hit rate on the first "
          f"{audio.duration:.0f} s):")
    print("| settings | seconds | bilabial hit rate | false closures |")
    print("|---|---|---|---|")
    shipped = dict(T.PHONE_LOOP_CONFIG)
    variants = {
        "pocketsphinx defaults": {},
        "CMU phoneme advice (lw 2, beams 1e-20)": {"lw": 2.0, "beam": 1e-20, "pbeam": 1e-20},
        "shipped: lw 2, beams 1e-10, topn 2, ds 2": shipped,
        "shipped without ds 2": {**shipped, "ds": 1},
        "lw 2, beams 1e-5, topn 1": {"lw": 2.0, "beam": 1e-5, "pbeam": 1e-5, "topn": 1},
    }
    try:
        for name, config in variants.items():
            T.PHONE_LOOP_CONFIG.clear()
            T.PHONE_LOOP_CONFIG.update(config)
            T.transcribe(audio60, words=False)
            seconds = statistics.median(timed(lambda: T.transcribe(audio60, words=False), 3))
            phones = T.transcribe(audio, words=False).phones
            w = V.phoneme_curves(phones, FPS, A.num_frames(len(audio.samples), FPS))
            hit, false = closure_scores(w, ref60)
            print(f"| {name} | {seconds:.2f} | {hit:.2f} | {false:.2f} |")
    finally:
        T.PHONE_LOOP_CONFIG.clear()
        T.PHONE_LOOP_CONFIG.update(shipped)


def long_part(model: FaceSpeechModel) -> None:
    """A 20-minute 48 kHz stereo WAV (the English speech tiled, written in blocks) through
    the phoneme path in a child process: time, peak memory of the child, progress calls."""
    import resource
    import subprocess
    import tempfile

    import soundfile as sf
    try:
        audio, _ = synthesise(HARVARD, "en-us")
    except OSError:
        print("espeak-ng not installed: long part skipped")
        return
    block = A.resample(audio.samples, A.SAMPLE_RATE, 48000)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long.wav"
        with sf.SoundFile(path, "w", 48000, 2, subtype="PCM_16") as f:
            written = 0
            while written < 20 * 60 * 48000:
                piece = block[:20 * 60 * 48000 - written]
                f.write(np.stack([piece, piece], axis=1))
                written += len(piece)
        child = (
            f"import sys, time; sys.path.insert(0, {str(ROOT / 'bench')!r}); import _bootstrap; "
            "from cadence.inference.face.generate import generate_face; calls = []; t = time.perf_counter(); "
            f"a = generate_face({str(path)!r}, method='phoneme', progress=calls.append); "
            "print(f'{time.perf_counter() - t:.1f} {a.num_frames} {len(calls)} {calls == sorted(calls)}')"
        )
        out = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, check=True)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    seconds, frames, calls, monotone = out.stdout.split()
    print(f"\n## 20-minute 48 kHz stereo WAV (220 MB), phoneme path in a child process: {seconds} s, "
          f"{frames} frames, {calls} progress calls (monotone: {monotone}), peak RSS {peak:.0f} MB")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--part", default="facegood,english,speed")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    model = FaceSpeechModel.load(intra_op_num_threads=args.threads)
    parts = {"facegood": facegood_part, "english": english_part, "speed": speed_part,
             "long": long_part}
    for name in args.part.split(","):
        started = time.perf_counter()
        parts[name](model)
        print(f"({name}: {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
