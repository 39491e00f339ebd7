"""Speech understanding for gestures: voice activity, prosody and the style estimate."""
import numpy as np
import pytest

from cadence.inference.speech.audio import SAMPLE_RATE, load_audio, prepare
from cadence.inference.speech.prosody import Prosody, analyse, pick_peaks, yin_pitch
from cadence.inference.speech.style import estimate_style
from cadence.inference.speech.vad import HOP_SECONDS, detect_speech, segments_from_probabilities

SR = SAMPLE_RATE


def bursts(times, pitches, amps=None, seconds=3.0, length=0.18):
    """Harmonic tone bursts with a fast attack and an exponential decay (plucked-like)."""
    x = np.zeros(int(seconds * SR), np.float32)
    amps = amps or [0.3] * len(times)
    for t0, f0, a in zip(times, pitches, amps):
        n = int(length * SR)
        t = np.arange(n) / SR
        env = np.minimum(1.0, t / 0.005) * np.exp(-t / 0.06)
        tone = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6))
        i = int(t0 * SR)
        x[i:i + n] += (a * env * tone).astype(np.float32)
    return x


def test_onsets_fall_on_the_bursts_and_nowhere_else():
    times = [0.4, 0.9, 1.5, 2.2]
    p = analyse(bursts(times, [120, 150, 180, 210], length=0.4))  # decays to -60 dB: no click
    assert len(p.onsets) == len(times)
    assert np.abs(p.onsets - np.array(times)).max() < 0.03
    assert p.onset_envelope.max() == pytest.approx(1.0, abs=1e-6)


def test_pitch_of_tones_and_silence():
    x = np.zeros(SR, np.float32)
    t = np.arange(SR // 2) / SR
    x[:SR // 2] = 0.3 * np.sin(2 * np.pi * 173.0 * t)
    f0 = yin_pitch(x)
    assert len(f0) == 100
    assert np.median(f0[5:45]) == pytest.approx(173.0, rel=0.01)
    assert np.all(f0[60:] == 0)


def test_syllables_and_the_stressed_one():
    times = [0.3, 0.8, 1.3, 1.8, 2.3]
    amps = [0.15, 0.15, 0.5, 0.15, 0.15]      # the third is louder and higher: stressed
    p = analyse(bursts(times, [120, 120, 190, 120, 120], amps, length=0.22), stress_share=0.2)
    assert len(p.syllables) == 5
    assert np.abs(p.syllables - np.array(times) - 0.02).max() < 0.06
    assert p.stressed.tolist() == [False, False, True, False, False]
    np.testing.assert_allclose(p.stresses, p.syllables[2:3])


def test_peak_picking_ignores_flat_stretches():
    x = np.zeros(100)
    x[40], x[70] = 1.0, 0.5
    assert pick_peaks(x, delta=0.1).tolist() == [40, 70]
    assert pick_peaks(np.ones(50)).tolist() == []


def test_vad_rules_on_probabilities():
    hop = HOP_SECONDS
    probs = np.zeros(200)
    probs[10:40] = 0.9        # ~1 s of speech
    probs[41:43] = 0.2        # a 64 ms dip: shorter than min_silence, closed
    probs[43:60] = 0.9
    probs[100:104] = 0.9      # 128 ms: shorter than min_speech, dropped
    probs[150:170] = 0.45     # hysteresis: never reaches the 0.5 threshold
    segs = segments_from_probabilities(probs, 200 * hop)
    assert len(segs) == 1
    a, b = segs[0]
    assert a == pytest.approx(10 * hop - 0.03) and b == pytest.approx(60 * hop + 0.03)


def test_vad_finds_real_speech_and_no_speech_in_noise(fixtures_dir, tmp_path):
    speech = load_audio(fixtures_dir / "facegood_1114_2_05_slice.flac")   # real recording
    act = detect_speech(speech)
    assert act.speech_seconds > 0.5 * speech.duration
    assert float(np.max(act.probabilities)) > 0.9
    mask = act.frame_mask(30.0)
    assert mask.shape == (240,) and mask.any() and mask.mean() == pytest.approx(act.speech_seconds / 8, abs=0.05)
    # the same speech with 2 s of silence before it: nothing found in the silence
    padded = np.concatenate([np.zeros(2 * SR, np.float32), speech.samples])
    act2 = detect_speech(prepare(padded, SR))
    assert act2.segments[0][0] > 1.9
    noise = prepare(0.05 * np.random.default_rng(0).standard_normal(3 * SR).astype(np.float32), SR)
    assert detect_speech(noise).segments == []


def _prosody(rate_per_s, semitone_sd, loud_sd, seconds=10.0, seed=0):
    rng = np.random.default_rng(seed)
    n = int(seconds * 100)
    pitch = 120.0 * 2 ** (rng.normal(0, semitone_sd, n) / 12)
    loud = np.clip(0.7 + rng.normal(0, loud_sd, n), 0, 1)
    syll = np.sort(rng.uniform(0, seconds, int(rate_per_s * seconds)))
    return Prosody(100.0, loud.astype(np.float32), np.zeros(n, np.float32), pitch.astype(np.float32),
                   np.zeros(0), syll, np.zeros(len(syll), bool), np.zeros(len(syll)))


def test_style_estimate_follows_arousal():
    speech = [(0.0, 10.0)]
    lively = estimate_style(_prosody(5.8, 5.0, 0.40), speech)
    assert lively.arousal > 0.4 and lively.styles["active"] > 0 and lively.styles["happy"] > 0
    flat = estimate_style(_prosody(2.4, 0.8, 0.22), speech)
    assert flat.arousal < -0.4 and flat.styles["tired"] > 0 and flat.styles["sad"] > 0
    plain = estimate_style(_prosody(4.0, 2.5, 0.30), speech)
    assert plain.styles == {}
    assert all(0 < v <= 0.6 for v in {**lively.styles, **flat.styles}.values())
