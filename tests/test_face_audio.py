"""Audio loading, checks, resampling and features (inference/speech/audio.py)."""
import numpy as np
import pytest
import soundfile as sf

from cadence.inference.speech import audio as A
from cadence.inference.speech.audio import AudioError, load_audio


def tone(seconds=1.0, rate=16000, freq=440.0, amp=0.3, channels=1):
    t = np.arange(int(seconds * rate)) / rate
    x = (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.stack([x] * channels, axis=1) if channels > 1 else x


def syllables(seconds=2.0, rate=16000, seed=0):
    """Noise bursts at 4 Hz (speech-like energy modulation)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    envelope = np.clip(np.sin(2 * np.pi * 4 * t), 0, None) ** 2
    return (0.2 * envelope * rng.normal(size=t.size)).astype(np.float32)


def test_missing_empty_folder_and_non_audio(tmp_path):
    with pytest.raises(AudioError, match="no such file"):
        load_audio(tmp_path / "nope.wav")
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(AudioError, match="empty"):
        load_audio(tmp_path / "empty.wav")
    with pytest.raises(AudioError, match="folder"):
        load_audio(tmp_path)
    (tmp_path / "notes.wav").write_text("this is not audio\n" * 50)
    with pytest.raises(AudioError, match="not an audio file.*supported"):
        load_audio(tmp_path / "notes.wav")


def test_truncated_header(tmp_path):
    path = tmp_path / "cut.wav"
    sf.write(path, tone(), 16000)
    path.write_bytes(path.read_bytes()[:30])
    with pytest.raises(AudioError):
        load_audio(path)


def test_silent_and_too_short(tmp_path):
    sf.write(tmp_path / "silent.wav", np.zeros(16000, np.float32), 16000)
    with pytest.raises(AudioError, match="silent"):
        load_audio(tmp_path / "silent.wav")
    sf.write(tmp_path / "hiss.wav", tone(amp=1e-4), 16000)  # -83 dBFS
    with pytest.raises(AudioError, match="silent"):
        load_audio(tmp_path / "hiss.wav")
    sf.write(tmp_path / "blip.wav", tone(seconds=0.01), 16000)
    with pytest.raises(AudioError, match="too short"):
        load_audio(tmp_path / "blip.wav")
    sf.write(tmp_path / "zero.wav", np.zeros((0,), np.float32), 16000)
    with pytest.raises(AudioError, match="no audio samples|empty"):
        load_audio(tmp_path / "zero.wav")


def test_non_finite_samples(tmp_path):
    x = tone()
    x[100] = np.nan
    sf.write(tmp_path / "nan.wav", x, 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match="NaN"):
        load_audio(tmp_path / "nan.wav")


@pytest.mark.parametrize("rate,channels,fmt", [(48000, 2, "WAV"), (8000, 1, "WAV"),
                                               (44100, 2, "FLAC"), (22050, 1, "OGG")])
def test_resample_and_downmix(tmp_path, rate, channels, fmt):
    path = tmp_path / f"a.{fmt.lower()}"
    sf.write(path, tone(seconds=1.5, rate=rate, channels=channels), rate, format=fmt)
    audio = load_audio(path)
    assert audio.sample_rate == 16000 and audio.source_rate == rate
    assert audio.source_channels == channels
    assert audio.samples.dtype == np.float32 and audio.samples.ndim == 1
    assert abs(audio.duration - 1.5) < 0.01
    ref = tone(seconds=len(audio.samples) / 16000)[:len(audio.samples)]
    tol = 0.05 if fmt == "OGG" else 1e-3
    assert np.abs(audio.samples[400:-400] - ref[400:-400]).max() < tol


def test_mp3_when_libsndfile_has_it(tmp_path):
    if "MP3" not in sf.available_formats():
        pytest.skip("this libsndfile has no MP3")
    path = tmp_path / "a.mp3"
    try:
        sf.write(path, tone(seconds=1.0, rate=44100), 44100, format="MP3")
    except (sf.LibsndfileError, RuntimeError, TypeError):
        pytest.skip("this libsndfile cannot write MP3")
    audio = load_audio(path)
    assert abs(audio.duration - 1.0) < 0.1 and audio.source_rate == 44100


def test_clipping_warns(tmp_path):
    x = np.clip(tone(amp=3.0), -1, 1)
    sf.write(tmp_path / "loud.wav", x, 16000)
    audio = load_audio(tmp_path / "loud.wav")
    assert any("clipped" in w for w in audio.warnings)
    assert not load_audio_ok(tmp_path).warnings


def load_audio_ok(tmp_path):
    sf.write(tmp_path / "ok.wav", tone(), 16000)
    return load_audio(tmp_path / "ok.wav")


def test_progress_reaches_one(tmp_path):
    sf.write(tmp_path / "long.wav", tone(seconds=25), 16000)
    seen = []
    load_audio(tmp_path / "long.wav", progress=seen.append)
    assert len(seen) == 3 and seen[-1] == 1.0


def test_resampler_rejects_aliases():
    rate = 48000
    t = np.arange(rate) / rate
    high = np.sin(2 * np.pi * 9000 * t).astype(np.float32)  # above 8 kHz: must vanish
    assert np.sqrt(np.mean(A.resample(high, rate, 16000)[500:-500] ** 2)) < 0.01
    assert len(A.resample(np.ones(442, np.float32), 44100, 16000)) == 161


def test_frame_count_matches_the_dataset_convention():
    # FACEGOOD take 1114_2_01: 1,757,712 samples at 16 kHz, 3,295 frames at 30 fps
    assert A.num_frames(1757712, 30) == 3295
    assert A.num_frames(762432, 30) == 1429


def test_log_mel_shape_and_level_invariance():
    x = syllables(2.0)
    f = A.log_mel(x)
    assert f.shape == (60 * 4, 80) and f.dtype == np.float32 and np.isfinite(f).all()
    quiet = A.log_mel(x * 0.05)
    assert np.abs(quiet - f).max() < 1e-3  # loudness normalised
    assert A.log_mel(x, fps=25).shape == (50 * 4, 80)
    # a 1 kHz tone lights the band around 1 kHz
    bank = A.mel_filterbank()
    band = int(np.argmax(bank[:, int(1000 / 8000 * 256)]))
    g = A.log_mel(tone(seconds=0.5, freq=1000.0))
    assert abs(int(np.argmax(g[20])) - band) <= 1


def test_energy_envelope_follows_syllables():
    x = syllables(2.0)
    e = A.energy_envelope(x)
    assert e.shape == (60,) and e.min() >= 0 and e.max() <= 1
    t = (np.arange(60) + 0.5) / 30
    env = np.clip(np.sin(2 * np.pi * 4 * t), 0, None)
    assert np.corrcoef(e, env)[0, 1] > 0.6
