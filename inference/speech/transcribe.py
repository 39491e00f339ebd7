"""Offline English speech recognition and forced alignment with pocketsphinx.

    from cadence.inference.speech.audio import load_audio
    from cadence.inference.speech.transcribe import transcribe
    t = transcribe(load_audio("line.wav"))                      # words + phones
    t = transcribe(audio, "the text that was spoken")           # forced alignment
    t = transcribe(audio, words=False)                          # phones only (faster)
    t.words[0].text, t.words[0].start, t.phones[0].label        # seconds, ARPAbet

Shared by the face (phonemes -> visemes) and the gesture engines (word timing). The
PyPI package ``pocketsphinx`` (5.x) ships the US English acoustic model, the CMU
dictionary, a word language model and a phone language model, so nothing is fetched at
run time; it is imported when the first decoder is made.

Three modes, all on 16 kHz mono :class:`~cadence.inference.speech.audio.Audio`:

- ``words=False``: phone-loop recognition (the phone language model, context-independent
  phones, narrow beams). Language independent in the sense that any speech gets the
  closest English phones, which is what lip sync needs.
- ``words=True``: word recognition with the language model, then a second pass that
  aligns the recognised words to get their phones.
- ``transcript`` given: the text is force-aligned (``aligned=True``); words the
  dictionary lacks are left out and named in ``Transcript.warnings``.

Long files are cut at the quietest point near every 8 s (6 s when aligning) and decoded
segment by segment (one decoder utterance each), so memory is bounded by a segment, and
``progress`` gets the fraction done after each segment. Recognition and the phone loop
share their segments between two worker processes (``inference/speech/sphinx_pool.py``:
pocketsphinx holds the GIL, so threads would not help). Alignment is a finite-state
grammar search over the transcript's words (see :class:`_TextAligner`): each segment
takes the words its share of the speaking time suggests, plus a margin; words it does
not hear carry over to the next. Phone times come from pocketsphinx's state-level
second pass; where that pass fails (it does on some synthetic speech), the dictionary
phones are laid over each word's time instead. The result types and the label clean-up
live in ``inference/speech/transcript.py``.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence

import numpy as np

from ...errors import CadenceError
from ...face.expression import smooth
from ..runtime.weights import DEFAULT_WEIGHTS_DIR, verify
from .audio import SAMPLE_RATE, Audio, energy_envelope
from .sphinx_worker import Decoders, align, decode_segment
from .transcript import SILENCE, Phone, Transcript, Word, is_filler, normalise_text, phone_label, tidy_phones, word_text

FRAME_RATE = 100                 # pocketsphinx frames per second
# Segment lengths (shortest, aim, longest) in seconds. Alignment is cut often, so that
# a word the grammar search misplaces costs little and the text carried over stays short.
# Segments short enough to share a minute between two worker processes evenly
# (inference/speech/sphinx_pool.py); on a minute of espeak-ng speech the word error rate was
# 0.57 with these and 0.61 with 10-30 s segments (the language model did not need more).
SEGMENT_SECONDS = (4.0, 8.0, 12.0)
ALIGN_SEGMENT_SECONDS = (3.0, 6.0, 10.0)
SPHINX_WORKERS = 2 if (os.cpu_count() or 1) >= 2 else 0   # processes; below 2: in-process
SKIP_PROBABILITY = 0.01          # of leaving out a transcript word in alignment
STOP_PROBABILITY = 0.01          # of a segment ending before its last candidate word
QUIET = 0.1                      # energy_envelope level of a pause (0 = -40 dB, 1 = speech level)
QUIET_MARGIN = 6                 # frames of quiet a phone may keep at each end
KEEP_QUIET = frozenset({"B", "P", "M"})   # lips shut: quiet by nature (a stop's closure)
PAD_SECONDS = 0.3                # quiet added around each segment (see _pcm16)
VOCABULARY_FILE = "speech_vocabulary.dict"   # in weights/: see vocabulary()

# Phone-loop settings: CMU's advice for phoneme recognition (language weight 2) with
# narrower beams, 2 Gaussians per frame and Gaussians computed every 2nd frame (ds 2),
# which together cut the time to a sixth for about the same phones (docs/face.md).
PHONE_LOOP_CONFIG = {"lw": 2.0, "beam": 1e-10, "pbeam": 1e-10, "topn": 2, "ds": 2}


class TranscribeError(CadenceError, RuntimeError):
    """Recognition or alignment is impossible: the message says why, for the user."""


# -- decoders ------------------------------------------------------------------------------
_LOCK = threading.Lock()         # a decoder is not re-entrant: one transcription at a time
_LOCAL: Decoders | None = None    # this process's decoders (sphinx_worker.Decoders)
_VOCABULARY: str | None = None    # the checked path of VOCABULARY_FILE


def _pocketsphinx():
    try:
        import pocketsphinx
    except ImportError:
        raise TranscribeError("speech recognition needs the Python package pocketsphinx "
                              "(pip install 'pocketsphinx>=5')") from None
    return pocketsphinx


def _decoders() -> Decoders:
    """This process's decoders (made again when :data:`PHONE_LOOP_CONFIG` changes)."""
    global _LOCAL
    _pocketsphinx()
    if _LOCAL is None or _LOCAL.phone_config != PHONE_LOOP_CONFIG:
        _LOCAL = Decoders(PHONE_LOOP_CONFIG, vocabulary())
    return _LOCAL


def vocabulary() -> str:
    """The words-and-times recognition's dictionary, ``weights/speech_vocabulary.dict``
    (checked against the manifest): the 10,000 words pocketsphinx's language model finds
    most probable (``training/speech_vocabulary.py``): 1.2-1.4x faster than all 72,547,
    no worse on English speech (docs/gesture.md). Always the shipped file: it belongs
    with the pocketsphinx package, not with a weights folder of one's own models.
    Raises WeightsError."""
    global _VOCABULARY
    if _VOCABULARY is None:
        path = DEFAULT_WEIGHTS_DIR / VOCABULARY_FILE
        verify(path)
        _VOCABULARY = str(path)
    return _VOCABULARY


def _decoder_and_cmn(kind: str):
    """The cached decoder for ``"phones"`` (phone loop), ``"words"`` (the language
    model) or ``"align"`` (alignment and the dictionary), with its initial cepstral mean."""
    try:
        return _decoders().get(kind)
    except (RuntimeError, ValueError, OSError) as exc:
        raise TranscribeError(f"pocketsphinx could not load its English model ({exc})") from None


def _decoder(kind: str):
    return _decoder_and_cmn(kind)[0]


# -- public ---------------------------------------------------------------------------------
def transcribe(audio: Audio, transcript: str | None = None, *, words: bool = True, phones: bool = True,
               progress: Callable[[float], None] | None = None) -> Transcript:
    """Words and phones of English speech, with times in seconds from the audio's start.

    ``audio`` must be at 16 kHz (what :func:`~cadence.inference.speech.audio.load_audio` gives).
    ``transcript``: the spoken text, to force-align instead of recognising. ``words``:
    False runs the phone loop only (no words; ignored when a transcript is given).
    ``phones``: False gives words and their times only, faster (no state-level pass; in
    recognition no flat-lexicon search either; the phones are then one silence over the
    audio; ignored without words).
    ``progress`` gets 0..1 after each segment. Phones cover the audio without gaps
    (silence is ``"SIL"``); words are in time order.
    """
    if not isinstance(audio, Audio):
        raise TypeError("transcribe() takes an Audio (see inference.speech.audio.load_audio)")
    if audio.sample_rate != SAMPLE_RATE:
        raise TranscribeError(f"transcription needs {SAMPLE_RATE} Hz audio, got "
                              f"{audio.sample_rate} Hz (load it with load_audio)")
    if len(audio.samples) == 0:
        raise TranscribeError("the audio contains no samples")
    target: list[str] | None = None
    warnings: list[str] = []
    with _LOCK:
        if transcript is not None:
            target, missing = _dictionary_words(transcript)
            if missing:
                warnings.append("not in the pronunciation dictionary, left out of the alignment: "
                                + ", ".join(sorted(set(missing))))
            if not target:
                raise TranscribeError("the transcript has no word the English dictionary knows"
                                      if missing else "the transcript is empty")
        if target is None:
            mode = ("words" if phones else "word_times") if words else "phones"
            parts = _decode_all(audio.samples, mode, progress)
        else:
            parts = []
            pcm = _SegmentPCM(audio.samples, segment_bounds(audio.samples, ALIGN_SEGMENT_SECONDS))
            aligner = _TextAligner(audio.samples, target, warnings, phones, _align_worker(len(pcm)))
            for i in range(len(pcm)):
                a, b = (int(x) for x in pcm.spans[i])
                parts.append(aligner.segment(a, b, pcm[i], pcm.offset(i), last=i == len(pcm) - 1))
                if progress is not None:
                    progress((i + 1) / len(pcm))
    all_words = [Word(w.text, min(max(w.start, 0.0), audio.duration), min(w.end, audio.duration))
                 for ws, _ in parts for w in ws]
    phones = tidy_phones([p for _, ps in parts for p in ps], audio.duration)
    return Transcript(all_words, phones, target is not None, warnings)


def _align_worker(segments: int):
    """A process for the alignment (one: it goes segment by segment), so the caller's
    other threads run meanwhile (pocketsphinx holds the interpreter while it decodes);
    None for a single segment or where workers cannot run."""
    if segments < 2:
        return None
    workers = _pool("align")
    return workers.workers[0] if workers is not None and workers.workers else None


def _pool(mode: str):
    """The worker pool of ``mode`` ("align": one process; the others
    :data:`SPHINX_WORKERS`), started on first use; None where workers cannot run."""
    from . import sphinx_pool
    if mode == "align":
        return sphinx_pool.pool("align", PHONE_LOOP_CONFIG, min(1, SPHINX_WORKERS))
    return sphinx_pool.pool(mode, PHONE_LOOP_CONFIG, SPHINX_WORKERS, vocabulary())


# -- segmentation ---------------------------------------------------------------------------
def segment_bounds(samples: np.ndarray,
                   lengths: tuple[float, float, float] = SEGMENT_SECONDS) -> np.ndarray:
    """Sample indices ``[0, cut1, ..., len]``: with ``lengths`` (shortest, aim, longest)
    in seconds, each cut is at the quietest point (energy smoothed over 0.3 s, so long
    pauses win) between shortest and longest after the previous cut, nearest the aim."""
    shortest, aim, longest = lengths
    n = len(samples)
    if n <= longest * SAMPLE_RATE:
        return np.array([0, n], dtype=np.int64)
    energy = smooth(energy_envelope(samples, FRAME_RATE), FRAME_RATE, 0.3)   # long pauses win
    hop = SAMPLE_RATE // FRAME_RATE
    cuts = [0]
    frames = len(energy)
    while (frames - cuts[-1]) * hop > longest * SAMPLE_RATE:
        lo = cuts[-1] + int(shortest * FRAME_RATE)
        hi = min(frames, cuts[-1] + int(longest * FRAME_RATE))
        window = energy[lo:hi]
        # quietest frame; ties (a long pause) go to the one nearest the target length
        target = cuts[-1] + int(aim * FRAME_RATE) - lo
        quiet = np.flatnonzero(window <= window.min() + 1e-6)
        cuts.append(lo + int(quiet[np.argmin(np.abs(quiet - target))]))
    return np.array([c * hop for c in cuts] + [n], dtype=np.int64)


def _speech_end(x: np.ndarray) -> float:
    """Seconds to the end of the last loud 10 ms of ``x`` (its length if none)."""
    loud = np.flatnonzero(energy_envelope(x, FRAME_RATE) > 0.5)
    return (loud[-1] + 1) / FRAME_RATE if len(loud) else len(x) / SAMPLE_RATE


def _pcm16(x: np.ndarray) -> bytes:
    """16-bit PCM with :data:`PAD_SECONDS` of quiet each side (the aligner needs silence
    before the first word and after the last: it fails or drops words without) and a
    faint dither (about -80 dBFS) over everything: digital silence, runs of exact zeros,
    makes the aligner fail."""
    pad = int(PAD_SECONDS * SAMPLE_RATE)
    out = np.random.default_rng(0).normal(0.0, 1e-4, len(x) + 2 * pad).astype(np.float32)
    out[pad:pad + len(x)] += np.clip(x, -1.0, 1.0)
    return (np.clip(out, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


# -- the three modes --------------------------------------------------------------------------
def _phones(found: Sequence[tuple[str, int, int]], offset: float) -> list[Phone]:
    return [Phone(phone_label(label), offset + a / FRAME_RATE, offset + (b + 1) / FRAME_RATE)
            for label, a, b in found]


def _words(found: Sequence[tuple[str, int, int]], offset: float) -> list[Word]:
    return [Word(word_text(text), offset + a / FRAME_RATE, offset + (b + 1) / FRAME_RATE)
            for text, a, b in found if not is_filler(text)]


class _SegmentPCM(Sequence):
    """The PCM of each segment, made when asked (a long file is not held twice);
    ``bounds``: ``[0, cut1, ..., len]`` (:func:`segment_bounds`)."""

    def __init__(self, samples: np.ndarray, bounds: np.ndarray):
        self.samples = samples
        self.spans = np.stack([bounds[:-1], bounds[1:]], axis=1).astype(np.int64)

    def __len__(self) -> int:
        return len(self.spans)

    def __getitem__(self, i: int) -> bytes:
        a, b = self.spans[i]
        return _pcm16(self.samples[int(a):int(b)])

    def offset(self, i: int) -> float:
        return int(self.spans[i][0]) / SAMPLE_RATE - PAD_SECONDS


def _decode_all(samples: np.ndarray, mode: str, progress: Callable[[float], None] | None
                ) -> list[tuple[list[Word], list[Phone]]]:
    """Word recognition (``mode="words"``, ``"word_times"``) or the phone loop (``"phones"``) over the whole
    audio in :data:`SEGMENT_SECONDS` segments, shared between :data:`SPHINX_WORKERS`
    processes when there are several (the same result as in-process: same decoders,
    settings and segments; tested)."""
    from . import sphinx_pool
    pcm = _SegmentPCM(samples, segment_bounds(samples, SEGMENT_SECONDS))
    count = len(pcm)
    done = [0]

    def step(_: int = 0) -> None:
        done[0] += 1
        if progress is not None:
            progress(done[0] / count)

    workers = _pool(mode) if count > 1 else None
    found = workers.decode(pcm, step) if workers is not None else [None] * count
    if workers is not None and workers.broken:
        sphinx_pool.disable()                     # in-process from now on
    energy = energy_envelope(samples, FRAME_RATE) if mode == "phones" else None
    parts = []
    for i, result in enumerate(found):
        if result is None:
            try:
                result = decode_segment(_decoders(), mode, pcm[i])
            except RuntimeError as exc:
                raise TranscribeError(f"pocketsphinx failed on the audio ({exc})") from None
            step()
        words, phones = _words(result[0], pcm.offset(i)), _phones(result[1], pcm.offset(i))
        if energy is not None:
            phones = _quiet_as_silence(phones, energy)
        parts.append((words, phones))
    return parts


def _quiet_as_silence(phones: list[Phone], energy: np.ndarray) -> list[Phone]:
    """The quiet ends of phones (below :data:`QUIET`, about -36 dB under the speech
    level, for more than :data:`QUIET_MARGIN`) become silence, and so do phones quiet
    throughout, except the bilabials (a closure is quiet): the phone loop, with
    Gaussians every 2nd frame, sometimes stretches its last phone over the pause that
    follows, which would hold a mouth shape there. ``energy``: ``energy_envelope`` of
    the whole audio at :data:`FRAME_RATE`."""
    margin = QUIET_MARGIN / FRAME_RATE
    out = []
    for p in phones:
        a = max(0, int(p.start * FRAME_RATE))
        b = min(len(energy), max(a + 1, int(np.ceil(p.end * FRAME_RATE))))
        gated = p.label != SILENCE and p.label not in KEEP_QUIET and a < len(energy)
        loud = np.flatnonzero(energy[a:b] >= QUIET) if gated else None
        if loud is None:
            out.append(p)
        elif not len(loud):
            out.append(Phone(SILENCE, p.start, p.end))
        else:
            start = max(p.start, (a + loud[0]) / FRAME_RATE - margin)
            end = min(p.end, (a + loud[-1] + 1) / FRAME_RATE + margin)
            if start > p.start:
                out.append(Phone(SILENCE, p.start, start))
            out.append(Phone(p.label, start, end))
            if end < p.end:
                out.append(Phone(SILENCE, end, p.end))
    return out


class _TextAligner:
    """Forced alignment of a word list, segment by segment.

    Each segment gets the words not yet placed, as many as its share of the remaining
    speaking time suggests plus a margin, as a finite-state grammar: the words in order,
    each skippable, and the segment free to end before the last of them, both at a low
    probability. (pocketsphinx's own text aligner,
    ``set_align_text``, gave up or dropped the last words on some synthetic speech where
    this grammar search did not.) Words after the last one heard carry over to the next
    segment; skipped words between heard ones get the time between their neighbours;
    words never heard are spread over the end of the speech; both are warned about.
    """

    def __init__(self, samples: np.ndarray, text: list[str], warnings: list[str], phones: bool = True,
                 worker=None):
        self.text, self.warnings, self.pos, self.phones, self.worker = text, warnings, 0, phones, worker
        self.speaking = np.concatenate(
            [[0.0], np.cumsum(energy_envelope(samples, FRAME_RATE) > 0.3)])
        self.samples = samples
        self.skipped = 0

    def _speech(self, sample: int) -> float:
        k = min(len(self.speaking) - 1, sample * FRAME_RATE // SAMPLE_RATE)
        return float(self.speaking[k])

    def segment(self, a: int, b: int, pcm: bytes, offset: float,
                last: bool) -> tuple[list[Word], list[Phone]]:
        left = len(self.text) - self.pos
        if left == 0:
            return [], []
        if last:
            take = left
        else:
            rest = self._speech(len(self.samples)) - self._speech(a)
            share = (self._speech(b) - self._speech(a)) / rest if rest > 0 else 0.0
            take = min(left, int(np.ceil(1.3 * share * left)) + 5)
        chunk = self.text[self.pos:self.pos + take]
        try:
            heard, phones = _align_chunk(pcm, chunk, offset, self.phones, self.worker)
        except OSError:                         # the worker failed: this process from now on
            from . import sphinx_pool
            sphinx_pool.disable()
            self.worker = None
            heard, phones = _align_chunk(pcm, chunk, offset, self.phones)
        used = [k for k, _ in heard]
        consumed = len(chunk) if last else (used[-1] + 1 if used else 0)
        start = a / SAMPLE_RATE
        speech_end = start + _speech_end(self.samples[a:b])
        placed: list[Word] = []
        k = 0
        prev_end = start
        for index, word in heard + [(consumed, None)]:
            if index > k:                       # skipped words k..index-1: fill the gap
                stop = word.start if word is not None else max(speech_end, prev_end)
                stop = max(stop, prev_end + 0.05 * (index - k))
                gap_words, gap_phones = _spread(chunk[k:index], prev_end, stop)
                placed += gap_words
                phones = [p for p in phones if not (p.start >= prev_end and p.end <= stop
                                                    and p.label == SILENCE)] + gap_phones
                self.skipped += index - k
            if word is not None:
                placed.append(word)
                prev_end = word.end
            k = index + 1
        self.pos += consumed
        if last and self.skipped:
            self.warnings.append(f"{self.skipped} word(s) of the transcript were not heard in "
                                 "the audio and were given evenly spread times")
        return placed, phones


def _align_chunk(pcm: bytes, chunk: Sequence[str], offset: float, phones: bool = True,
                 worker=None) -> tuple[list[tuple[int, Word]], list[Phone]]:
    """Align ``chunk`` (dictionary words) with skips allowed: (index in chunk, word) for
    each word heard, and the phones of the path (``phones`` False: none, and no
    state-level pass; the words keep the search's times). ``worker``: a process of the
    ``"align"`` pool to run it in (the same decoder and result), else this process."""
    if worker is None:
        _decoder_and_cmn("align")                 # TranscribeError where the model cannot load
    try:
        if worker is not None:
            spans = worker.align(pcm, list(chunk), phones, SKIP_PROBABILITY, STOP_PROBABILITY)
        else:
            spans = align(_decoders(), pcm, list(chunk), phones, SKIP_PROBABILITY, STOP_PROBABILITY)
    except (RuntimeError, ValueError, TranscribeError):
        return [], []
    found = _words(spans[0], offset)
    if spans[2]:
        path = _phones(spans[1], offset)
    else:                                          # the state-level pass failed or was not asked for
        path = [p for w in found for p in _word_phones(w)] if phones else []
    heard, j = [], 0
    for word in found:                            # the path is a subsequence of the chunk
        while j < len(chunk) and chunk[j] != word.text:
            j += 1
        if j == len(chunk):
            break
        heard.append((j, word))
        j += 1
    return heard, path


# -- text ---------------------------------------------------------------------------------------
def _dictionary_words(text: str) -> tuple[list[str], list[str]]:
    decoder = _decoder("align")
    known, missing = [], []
    for w in normalise_text(text):
        (known if decoder.lookup_word(w) is not None else missing).append(w)
    return known, missing


def pronunciation(word: str) -> list[str]:
    """The dictionary phones of ``word`` (empty when unknown)."""
    phones = _decoder("align").lookup_word(word.lower())
    return phones.split() if phones else []


def _spread(text: Sequence[str], start: float, end: float) -> tuple[list[Word], list[Phone]]:
    """Words laid evenly over [start, end] with their dictionary phones."""
    found = [Word(w, start + i * (end - start) / len(text), start + (i + 1) * (end - start) / len(text))
             for i, w in enumerate(text)]
    return found, [p for w in found for p in _word_phones(w)]


def _word_phones(word: Word) -> list[Phone]:
    """The dictionary phones of ``word`` laid over its time, vowels twice as long as
    consonants (roughly their mean durations in read English)."""
    labels = [phone_label(raw) for raw in pronunciation(word.text)] or [SILENCE]
    weights = np.array([2.0 if label[0] in "AEIOU" else 1.0 for label in labels])
    edges = word.start + (word.end - word.start) * np.concatenate([[0.0], np.cumsum(weights)]) / weights.sum()
    return [Phone(label, float(edges[k]), float(edges[k + 1])) for k, label in enumerate(labels)]
