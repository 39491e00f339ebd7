"""The phoneme and blend paths of generate_face on awkward input (issue 8's bad-input list)."""
import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("pocketsphinx")

from cadence.face import visemes as V
from cadence.face.arkit import INDEX
from cadence.inference.face.generate import generate_face
from cadence.inference.speech.audio import load_audio
from cadence.inference.speech.transcribe import TranscribeError

from conftest import FIXTURES

TEXT = "The big brown bear jumped over a bubbling brook."


@pytest.fixture(scope="module")
def speech():
    return load_audio(FIXTURES / "english_bear.flac")


def plain(source, **kw):
    return generate_face(source, blinks=False, gaze=False, head=False, **kw)


def test_phoneme_path_closes_the_lips_on_the_aligned_bilabials(speech):
    from cadence.inference.speech.transcribe import transcribe
    anim = plain(speech, method="phoneme", transcript=TEXT)
    assert anim.info["aligned"] and anim.info["method"] == "phoneme"
    aperture = V.lip_aperture(anim.weights)
    bilabials = [p for p in transcribe(speech, TEXT).phones if p.label in V.BILABIALS]
    assert len(bilabials) >= 7
    for p in bilabials:
        k = int(round(0.5 * (p.start + p.end) * anim.fps - 0.5))
        assert aperture[max(0, k - 1):k + 2].min() < 0.1, p
    # with emotion on top the closures hold (emotion never touches the lip shapes)
    happy = plain(speech, method="blend", transcript=TEXT, emotions={"happy": 1.0, "surprise": 1.0})
    aperture = V.lip_aperture(happy.weights)
    for p in bilabials:
        k = int(round(0.5 * (p.start + p.end) * happy.fps - 0.5))
        assert aperture[max(0, k - 1):k + 2].min() < 0.1, p
    assert happy.weights[:, INDEX["mouthSmileLeft"]].mean() > 0.3


def test_resampled_stereo_mp3_flac_and_clipped_input(speech, tmp_path):
    x = speech.samples
    stereo8k = np.stack([x[::2], 0.5 * x[::2]], axis=1)
    sf.write(tmp_path / "a8k.wav", stereo8k, 8000)
    t48 = np.interp(np.arange(int(len(x) * 3)) / 3, np.arange(len(x)), x).astype(np.float32)
    sf.write(tmp_path / "a48k.flac", np.stack([t48, t48], axis=1), 48000)
    sf.write(tmp_path / "a.mp3", x, 16000, format="MP3")
    sf.write(tmp_path / "clip.wav", np.clip(8 * x, -1, 1), 16000)
    reference = plain(speech, method="phoneme")
    for name in ("a8k.wav", "a48k.flac", "a.mp3", "clip.wav"):
        anim = plain(tmp_path / name, method="phoneme")
        assert abs(anim.num_frames - reference.num_frames) <= 2, name
        assert np.all(np.isfinite(anim.weights)) and anim.weights.min() >= 0 and anim.weights.max() <= 1
        assert anim.info["phones"] >= 10, name           # speech was heard
    assert any("clipped" in w for w in plain(tmp_path / "clip.wav", method="blend").warnings)


def test_noise_and_bad_transcripts(tmp_path, speech):
    rng = np.random.default_rng(0)
    sf.write(tmp_path / "noise.wav", (0.1 * rng.normal(size=32000)).astype(np.float32), 16000)
    anim = plain(tmp_path / "noise.wav", method="phoneme")  # not speech: some mouth, no crash
    assert anim.num_frames == 60 and np.all((anim.weights >= 0) & (anim.weights <= 1))
    with pytest.raises(TranscribeError, match="dictionary"):
        plain(speech, method="phoneme", transcript="zzxqv qqxzv")
    with pytest.raises(ValueError, match="unknown face method"):
        plain(speech, method="visemes")
