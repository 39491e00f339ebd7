"""The shipped speech -> mouth ONNX model and the generate_face pipeline."""
import time

import numpy as np
import pytest

from cadence.face.arkit import INDEX, MOUTH_SHAPES
from cadence.inference.face.generate import generate_face
from cadence.inference.face.model import FaceSpeechModel
from cadence.inference.speech import audio as A

from conftest import FIXTURES

SLICE = FIXTURES / "facegood_1114_2_05_slice.flac"


@pytest.fixture(scope="module")
def model():
    return FaceSpeechModel.load()


@pytest.fixture(scope="module")
def held_out():
    audio = A.load_audio(SLICE)
    return audio, np.load(FIXTURES / "facegood_1114_2_05_slice_jaw.npy")


def test_metadata(model):
    assert model.outputs == list(MOUTH_SHAPES) and model.fps == 30.0
    assert FaceSpeechModel.load() is model  # cached


def test_held_out_slice_lip_sync(model, held_out):
    audio, jaw_true = held_out
    mel = A.log_mel(audio.samples)
    mouth = model.mouth_curves(mel)
    assert mouth.shape == (240, 27) and mouth.min() >= 0 and mouth.max() <= 1
    jaw = mouth[:, MOUTH_SHAPES.index("jawOpen")]
    energy = A.energy_envelope(audio.samples)
    assert np.corrcoef(jaw, energy)[0, 1] > 0.6          # lips move with the audio energy
    assert np.corrcoef(jaw, jaw_true)[0, 1] > 0.75       # and follow the captured jaw
    assert np.abs(jaw - jaw_true).mean() < 0.08
    quiet = energy < 0.05
    assert quiet.sum() > 10 and jaw[quiet].mean() < 0.08  # closed in the pauses


def test_chunks_match_one_pass(model, held_out):
    mel = A.log_mel(held_out[0].samples)
    whole = model.mouth_curves(mel, chunk_frames=10_000)
    chunked = model.mouth_curves(mel, chunk_frames=50)
    assert np.abs(whole - chunked).max() < 1e-5


@pytest.mark.parametrize("frames", [1, 7, 61])
def test_any_length(model, frames):
    rng = np.random.default_rng(frames)
    mel = rng.normal(-8, 2, size=(frames * 4, 80)).astype(np.float32)
    assert model.arkit_curves(mel).shape == (frames, 52)


def test_generate_face_pipeline(held_out):
    audio, _ = held_out
    t0 = time.perf_counter()
    anim = generate_face(audio, {"happy": 0.8}, seed=3)
    assert time.perf_counter() - t0 < 2.0
    assert anim.weights.shape == (240, 52) and anim.fps == 30.0
    assert anim.head.shape == (240, 3) and anim.eyes.shape == (240, 4)
    assert anim.weights[:, INDEX["mouthSmileLeft"]].mean() > 0.3
    assert anim.weights[:, INDEX["eyeBlinkLeft"]].max() > 0.85     # at least one blink in 8 s
    assert np.abs(anim.head).max() < 12 and anim.head.std() > 0.1
    plain = generate_face(audio, seed=3, blinks=False, gaze=False, head=False)
    jaw = INDEX["jawOpen"]
    assert np.array_equal(plain.weights[:, jaw], anim.weights[:, jaw])  # emotion keeps the lips
    assert np.all(plain.head == 0) and np.all(plain.eyes == 0)
    again = generate_face(audio, {"happy": 0.8}, seed=3)
    assert np.array_equal(again.weights, anim.weights)
    assert generate_face(audio, fps=24).num_frames == 192


def test_resampled_stereo_input_gives_the_same_lips(model, held_out, tmp_path):
    import soundfile as sf
    audio, _ = held_out
    stereo = np.stack([audio.samples, audio.samples], axis=1)
    up = A.resample(audio.samples, 16000, 48000)
    sf.write(tmp_path / "s.wav", np.stack([up, up], axis=1), 48000)
    a = generate_face(audio, blinks=False, gaze=False, head=False)
    b = generate_face(tmp_path / "s.wav", blinks=False, gaze=False, head=False)
    jaw = INDEX["jawOpen"]
    assert len(stereo) == len(audio.samples)
    assert np.corrcoef(a.weights[:, jaw], b.weights[:, jaw])[0, 1] > 0.98
