"""Speech audio in: loading (soundfile), checks, resampling and features, in numpy.

- :func:`load_audio`: any file libsndfile reads (WAV, FLAC, OGG/Vorbis/Opus, MP3, AIFF,
  ...), read in blocks, downmixed to mono and resampled to 16 kHz (a windowed-sinc
  polyphase resampler, below), with clear :class:`AudioError` messages for a missing,
  empty, unreadable, too short or silent file; clipping gives a warning, not an error.
- :func:`log_mel`: 80 log-mel bands at 4 feature frames per output frame (120 per second
  for 30 fps animation) after loudness normalisation, the input of the face model.
- :func:`energy_envelope`: per output frame speech energy (0 silence .. 1 loud speech),
  which drives emotion intensity, blinks at pauses and head motion.

soundfile is imported inside :func:`load_audio`, so importing this module is cheap.
"""
from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...errors import CadenceError
from ...limits import MAX_AUDIO_SAMPLES, MAX_AUDIO_SECONDS, MAX_SOURCE_RATE

SAMPLE_RATE = 16000
MIN_SOURCE_RATE = 4000
N_FFT = 512
WIN_LENGTH = 400            # 25 ms at 16 kHz
N_MELS = 80
FMIN, FMAX = 20.0, 7600.0
FEATURES_PER_FRAME = 4      # feature frames per animation frame
LOG_FLOOR = 1e-5            # added to mel power before the log (about -50 dB re speech level)
SILENCE_DBFS = -60.0        # loudest 30 ms below this: the file is silent
SPEECH_LEVEL = 0.1          # loudness normalisation target for the loud frames (-20 dBFS)
READ_BLOCK_SECONDS = 10.0

SUPPORTED = "WAV, FLAC, OGG (Vorbis/Opus), MP3, AIFF and the other formats libsndfile reads"


class AudioError(CadenceError, ValueError):
    """The audio cannot be used: the message says why, for the user."""


@dataclass
class Audio:
    """Mono speech at :data:`SAMPLE_RATE`, float32 in [-1, 1]."""
    samples: np.ndarray
    sample_rate: int
    source_rate: int
    source_channels: int
    source_format: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate


def load_audio(path: str | os.PathLike, *, sample_rate: int = SAMPLE_RATE,
               progress: Callable[[float], None] | None = None,
               max_seconds: float = MAX_AUDIO_SECONDS) -> Audio:
    """Read ``path`` as mono float32 at ``sample_rate``; raise :class:`AudioError` when
    it cannot serve as speech.

    The file is read in 10-second blocks, each downmixed to mono before it is kept, so a
    long stereo 48 kHz file costs 4 bytes per source sample, not 16. ``progress`` gets
    the fraction read (0..1) after each block. A file longer than ``max_seconds`` (from
    its header, before decoding; and while decoding, for streams whose header
    under-counts) or with a sample rate above MAX_SOURCE_RATE is refused.
    """
    import soundfile as sf

    path = Path(path)
    if not path.exists():
        raise AudioError(f"{path}: no such file")
    if path.is_dir():
        raise AudioError(f"{path} is a folder, not an audio file")
    if not path.is_file():
        raise AudioError(f"{path} is not a regular file (a device or pipe?)")
    if path.stat().st_size == 0:
        raise AudioError(f"{path} is empty (0 bytes)")
    try:
        handle = sf.SoundFile(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise AudioError(f"{path} is not an audio file Cadence can read ({_short(exc)}); "
                         f"supported: {SUPPORTED}") from None
    with handle:
        rate, channels, total = int(handle.samplerate), int(handle.channels), int(handle.frames)
        fmt = f"{handle.format} {handle.subtype}".strip()
        if rate < MIN_SOURCE_RATE:
            raise AudioError(f"{path}: sample rate {rate} Hz is too low for speech "
                             f"(need at least {MIN_SOURCE_RATE} Hz)")
        if rate > MAX_SOURCE_RATE:
            raise AudioError(f"{path}: sample rate {rate} Hz is above the limit of "
                             f"{MAX_SOURCE_RATE} Hz (a damaged header?)")
        limit = min(int(max_seconds * rate), MAX_AUDIO_SAMPLES)
        if total > limit:
            if total <= max_seconds * rate:  # short enough, but too many samples at this rate
                raise AudioError(f"{path}: {total / rate:.0f} s at {rate} Hz is {total} samples; the "
                                 f"limit is {MAX_AUDIO_SAMPLES} ({MAX_AUDIO_SAMPLES / 48000 / 60:.0f} min "
                                 "at 48 kHz): resample it to 48 kHz or split the recording")
            raise AudioError(_too_long(path, total / rate, max_seconds))
        block = max(1, int(READ_BLOCK_SECONDS * rate))
        # one mono buffer of the announced length (grown if a compressed stream's count
        # was short), so a long file never holds its blocks twice
        mono = np.empty(max(0, total), np.float32)
        done = 0
        try:
            for chunk in handle.blocks(blocksize=block, dtype="float32", always_2d=True):
                if done + len(chunk) > limit:
                    raise AudioError(_too_long(path, (done + len(chunk)) / rate,
                                               min(max_seconds, limit / rate)))
                if done + len(chunk) > len(mono):
                    mono = np.concatenate([mono[:done], np.empty(done + len(chunk) + block, np.float32)])
                mono[done:done + len(chunk)] = chunk.mean(axis=1) if channels > 1 else chunk[:, 0]
                done += len(chunk)
                if progress is not None and total > 0:
                    progress(min(1.0, done / total))
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise AudioError(f"{path}: the audio data is damaged ({_short(exc)})") from None
    mono = mono[:done]
    if mono.size == 0:
        raise AudioError(f"{path} contains no audio samples")
    audio = prepare(mono, rate, sample_rate=sample_rate, name=str(path))
    audio.source_channels = channels
    audio.source_format = fmt
    return audio


def _too_long(path, seconds: float, max_seconds: float) -> str:
    return (f"{path} lasts {'more than ' if seconds <= max_seconds else ''}"
            f"{max(seconds, max_seconds):.0f} s; the limit is {max_seconds:.0f} s at a time: "
            "split the recording")


def prepare(samples: np.ndarray, rate: int, *, sample_rate: int = SAMPLE_RATE,
            name: str = "the audio") -> Audio:
    """Checks and resampling for mono samples already in memory (see :func:`load_audio`)."""
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim == 2:
        samples = samples.mean(axis=1, dtype=np.float32)
    if samples.ndim != 1 or samples.size == 0:
        raise AudioError(f"{name} contains no audio samples")
    if not np.all(np.isfinite(samples)):
        raise AudioError(f"{name} contains NaN or infinite samples: the file is damaged")
    warnings = []
    min_samples = math.ceil(rate / 30)
    if samples.size < min_samples:
        raise AudioError(f"{name} is too short ({samples.size / rate * 1000:.0f} ms): "
                         "give at least one animation frame (34 ms) of speech")
    loudest = _loudest_dbfs(samples, rate)
    if loudest < SILENCE_DBFS:
        raise AudioError(f"{name} is silent (loudest part {loudest:.0f} dBFS, below "
                         f"{SILENCE_DBFS:.0f} dBFS): no speech to animate")
    clipped = float(np.mean(np.abs(samples) >= 0.999))
    if clipped > 0.001:
        warnings.append(f"{name} is clipped ({clipped:.1%} of samples at full scale); "
                        "lip sync may be less accurate")
    if rate != sample_rate:
        samples = resample(samples, rate, sample_rate)
    return Audio(samples, sample_rate, rate, 1, "", warnings)


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]


def _sum_squares(x: np.ndarray, bounds: np.ndarray, chunk: int = 1 << 20) -> np.ndarray:
    """Sum of ``x**2`` over ``[bounds[j], bounds[j+1])`` for each j, in float64, reading
    ``x`` in chunks (no full-length float64 copy of a long signal)."""
    bounds = np.asarray(bounds, dtype=np.int64)
    out = np.zeros(max(0, len(bounds) - 1))
    j = 0
    while j < len(out):
        k = min(len(out), j + max(1, int(np.searchsorted(bounds, bounds[j] + chunk)) - j))
        a, b = bounds[j], bounds[k]
        if b > a:
            seg = x[a:b].astype(np.float64)
            starts = bounds[j:k] - a
            sums = np.add.reduceat(seg * seg, np.minimum(starts, len(seg) - 1))
            sums[bounds[j + 1:k + 1] - bounds[j:k] == 0] = 0.0
            out[j:k] = sums
        j = k
    return out


def _window_rms(x: np.ndarray, hop: int) -> np.ndarray:
    n = len(x) // hop
    if n == 0:
        return np.array([math.sqrt(float(np.mean(np.square(x, dtype=np.float64))))])
    return np.sqrt(_sum_squares(x, np.arange(n + 1) * hop) / hop)


def _loudest_dbfs(samples: np.ndarray, rate: int) -> float:
    """The RMS level of the loudest 30 ms window, dBFS."""
    rms = float(_window_rms(samples, max(1, int(0.03 * rate))).max())
    return 20.0 * math.log10(max(rms, 1e-12))


# -- resampling ----------------------------------------------------------------------------
ZERO_CROSSINGS = 16
_KERNELS: dict[tuple[int, int], tuple[np.ndarray, int]] = {}


def resample(x: np.ndarray, rate_in: int, rate_out: int, *, block: int = 1 << 18) -> np.ndarray:
    """Band-limited resampling of a mono signal (Hann-windowed sinc, polyphase).

    Output sample ``n`` sits at input position ``n * rate_in / rate_out``; the kernel
    spans 16 zero crossings of the lower rate each side with the cut-off at 95% of the
    lower Nyquist frequency. The output has ``ceil(len(x) * rate_out / rate_in)`` samples.
    Rates are reduced by their gcd to ``up/down``; output is made in blocks of about
    ``block`` samples, each phase of a block one strided matrix-vector product over a
    zero-padded slice of the input, so memory stays bounded for long inputs.
    """
    x = np.asarray(x, dtype=np.float32)
    rate_in, rate_out = int(rate_in), int(rate_out)
    if rate_in == rate_out:
        return x.copy()
    g = math.gcd(rate_in, rate_out)
    up, down = rate_out // g, rate_in // g            # output n <-> input n * down / up
    table, half = _kernel_table(up, down)
    taps = table.shape[1]
    n_out = -(-len(x) * up // down)
    out = np.empty(n_out, np.float32)
    per_block = max(1, block // up) * up               # whole phase cycles per block
    for n0 in range(0, n_out, per_block):
        n1 = min(n_out, n0 + per_block)
        base0 = (n0 * down) // up                      # input base of output n0
        lo = base0 - half + 1                          # first input index any tap reads
        hi = ((n1 - 1) * down) // up + half + 1
        piece = np.zeros(hi - lo, np.float32)
        a, b = max(lo, 0), min(hi, len(x))
        if b > a:
            piece[a - lo:b - lo] = x[a:b]
        item = piece.strides[0]
        for phase in range(min(up, n1 - n0)):
            n_first = n0 + phase
            count = len(range(n_first, n1, up))
            start = (n_first * down) // up - half + 1 - lo
            view = np.lib.stride_tricks.as_strided(
                piece[start:], shape=(count, taps), strides=(down * item, item), writeable=False)
            out[n_first:n1:up] = view @ table[(n_first * down) % up]
    return out


def _kernel_table(up: int, down: int) -> tuple[np.ndarray, int]:
    """Per phase ``r/up`` the taps for input offsets ``-half+1 .. half`` around the base."""
    key = (up, down)
    if key not in _KERNELS:
        cutoff = 0.95 * min(1.0, up / down)           # in units of the input Nyquist
        half = int(math.ceil(ZERO_CROSSINGS / cutoff))
        offsets = np.arange(-half + 1, half + 1, dtype=np.float64)
        frac = np.arange(up, dtype=np.float64) / up
        t = offsets[None, :] - frac[:, None]          # input index minus the exact position
        window = 0.5 + 0.5 * np.cos(np.pi * np.clip(t / (half + 1), -1.0, 1.0))
        table = cutoff * np.sinc(cutoff * t) * window
        table /= table.sum(axis=1, keepdims=True)     # unity gain at DC for every phase
        _KERNELS[key] = (table.astype(np.float32), half)
    return _KERNELS[key]


# -- features ------------------------------------------------------------------------------
def num_frames(num_samples: int, fps: float, sample_rate: int = SAMPLE_RATE) -> int:
    """Animation frames for ``num_samples``: frame k covers [k/fps, (k+1)/fps)."""
    return int(math.floor(num_samples * fps / sample_rate + 1e-9))


def loudness_gain(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> float:
    """The gain that puts the loud (95th percentile) 25 ms frames at -20 dBFS."""
    level = float(np.percentile(_window_rms(samples, int(0.025 * sample_rate)), 95))
    return float(np.clip(SPEECH_LEVEL / max(level, 1e-9), 1e-2, 1e3))


def mel_filterbank(sample_rate: int = SAMPLE_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS,
                   fmin: float = FMIN, fmax: float = FMAX) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) triangular filters on the HTK mel scale, area-normalised."""
    def hz_to_mel(f):
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    def mel_to_hz(m):
        return 700.0 * (10.0 ** (np.asarray(m) / 2595.0) - 1.0)

    freqs = np.linspace(0.0, sample_rate / 2.0, n_fft // 2 + 1)
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (freqs[None, :] - lower) / (centre - lower)
    falling = (upper - freqs[None, :]) / (upper - centre)
    bank = np.maximum(0.0, np.minimum(rising, falling))
    bank *= (2.0 / (upper - lower))
    return bank.astype(np.float32)


_MEL = None
_WINDOW = None


def log_mel(samples: np.ndarray, fps: float = 30.0, *, sample_rate: int = SAMPLE_RATE,
            normalize: bool = True, chunk_frames: int = 8192) -> np.ndarray:
    """Log-mel features ``(num_frames * 4, 80)`` float32 for mono ``samples``.

    Feature frame ``j`` is a 25 ms Hann window centred at ``(j + 0.5) / (4 fps)`` seconds,
    so the four frames of animation frame ``k`` cover ``[k/fps, (k+1)/fps)``. With
    ``normalize`` the audio is first scaled by :func:`loudness_gain`, which makes the
    features independent of recording level. Computed in chunks (bounded memory).
    """
    global _MEL, _WINDOW
    if sample_rate != SAMPLE_RATE:
        raise ValueError(f"features expect {SAMPLE_RATE} Hz audio (resample first)")
    if _MEL is None:
        _MEL = mel_filterbank()
        _WINDOW = np.hanning(WIN_LENGTH + 2)[1:-1].astype(np.float32)
    x = np.asarray(samples, dtype=np.float32)
    power_gain = np.float32(loudness_gain(x, sample_rate) ** 2 if normalize else 1.0)
    count = num_frames(len(x), fps, sample_rate) * FEATURES_PER_FRAME
    step = sample_rate / (fps * FEATURES_PER_FRAME)
    pad = N_FFT
    padded = np.concatenate([np.zeros(pad, np.float32), x, np.zeros(pad, np.float32)])
    out = np.empty((count, N_MELS), np.float32)
    offsets = np.arange(WIN_LENGTH)
    for j0 in range(0, count, chunk_frames):
        j = np.arange(j0, min(count, j0 + chunk_frames))
        starts = np.rint((j + 0.5) * step).astype(np.int64) - WIN_LENGTH // 2 + pad
        frames = padded[starts[:, None] + offsets[None, :]] * _WINDOW
        spectrum = np.fft.rfft(frames, n=N_FFT, axis=1)
        power = (spectrum.real ** 2 + spectrum.imag ** 2).astype(np.float32)
        out[j0:j0 + len(j)] = np.log(power_gain * (power @ _MEL.T) + LOG_FLOOR)
    return out


def energy_envelope(samples: np.ndarray, fps: float = 30.0, *,
                    sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Per animation frame speech energy in 0..1: RMS over a 2-frame window centred on
    the frame, in dB relative to the loud frames, mapped -40 dB -> 0 and 0 dB -> 1."""
    x = np.asarray(samples, dtype=np.float32)
    gain = loudness_gain(x, sample_rate)
    count = num_frames(len(x), fps, sample_rate)
    if count == 0:
        return np.zeros(0, np.float32)
    # half-frame energies, then frame k sums half-frames 2k-1 .. 2k+2 (2 frames centred)
    halves = np.clip(np.rint(np.arange(2 * count + 3) * sample_rate / (2 * fps)).astype(np.int64),
                     0, len(x))
    sums = np.concatenate([[0.0], _sum_squares(x, halves), [0.0]])
    sizes = np.concatenate([[0], np.diff(halves), [0]])
    k = 2 * np.arange(count)
    energy = sums[k] + sums[k + 1] + sums[k + 2] + sums[k + 3]
    size = sizes[k] + sizes[k + 1] + sizes[k + 2] + sizes[k + 3]
    rms = gain * np.sqrt(energy / np.maximum(size, 1))
    db = 20.0 * np.log10(np.maximum(rms, 1e-9) / SPEECH_LEVEL)
    return np.clip((db + 40.0) / 40.0, 0.0, 1.0).astype(np.float32)
