"""pocketsphinx in a child process, for speech segments sent over a pipe.

Why a process: pocketsphinx holds the GIL while it decodes (a Python thread makes no
progress meanwhile), so transcription can only use the second core from another
process (``inference/speech/sphinx_pool.py``). This file is run as a script by the
interpreter that hosts Cadence (Blender's bundled Python, or the venv's): it imports
nothing from Cadence (no package, no bpy), only pocketsphinx. ``transcribe.py`` calls
the same functions in-process, so both decode a segment the same way and give the same
result.

Four modes, chosen by the first line:
- ``"phones"``: the phone loop (the face's phoneme lip sync);
- ``"words"``: word recognition with the language model, then a state-level second
  pass over the recognised words for their phones;
- ``"word_times"``: word recognition alone, the words timed by the decoder's own path,
  no flat-lexicon search and the vocabulary the parent names (the gestures, which need
  common words and their times only);
- ``"align"``: forced alignment of given words (a transcript), one segment at a time.

Protocol on the child's stdin/stdout (bytes): the parent writes one JSON line,
``{"mode": ..., "config": {decoder settings of the phone loop}, "vocabulary": dictionary
file of the "word_times" decoder or null, "path": [folders]}``
(the child runs in isolated mode, ``-I``, and appends ``path``, the folder holding
pocketsphinx, after the standard library); the child answers
``"ready"`` (or ``{"error": ...}``); then per segment the parent writes a 4-byte
little-endian length and that many bytes of 16-bit mono PCM at 16 kHz, and the child
answers one JSON line, ``{"words": [[text, first, last], ...], "phones": [[label, first,
last], ...]}`` in frames (100/s) of the segment, or ``{"error": message}``. A length of 0
or end of input ends it. In ``"align"`` mode a request comes first: a length with
:data:`REQUEST` set, then that many bytes of JSON ``{"words": [...], "phones": bool,
"skip": p, "stop": p}`` (see :func:`align`), then the segment as above; the answer adds
``"aligned": bool`` (whether the phones come from the state-level pass).
"""
from __future__ import annotations

import json
import os
import struct
import sys
import warnings

Spans = list[tuple[str, int, int]]      # (label, first frame, last frame)
# Word recognition (the gestures' words): at most 3000 HMMs active per frame (the
# default is 30000). On a minute of espeak-ng English: 1.5-1.9x faster, word error rate
# 0.52 against 0.53 (docs/gesture.md); 2000 was faster still but 0.54. The forced
# alignment of a transcript (gestures and face) uses this decoder too: its grammar
# search stays under the limit (the same words, phones and times on that minute).
WORD_CONFIG = {"maxhmmpf": 3000}
# Words and times only (the gestures): also without the flat-lexicon second search
# (``fwdflat``), and no phone pass after: 2.4x less decoding on a minute of FACEGOOD
# speech for the gestures' words (docs/gesture.md).
WORD_TIMES_CONFIG = {**WORD_CONFIG, "fwdflat": False}
# Forced alignment and dictionary lookups need no language model: without loading it a
# decoder starts in 0.1 s instead of 0.3 (the same words and times: docs/gesture.md).
ALIGN_CONFIG = {**WORD_CONFIG, "lm": None}
ALIGN_SEARCH = "cadence_align"
REQUEST = 0x80000000        # a length with this bit set announces an alignment request


class Decoders:
    """The decoders one process uses, made when first needed, with their initial
    cepstral means (each utterance starts from them: see :func:`decode_utterance`)."""

    def __init__(self, phone_config: dict, vocabulary: str | None = None):
        self.phone_config = dict(phone_config)
        self.vocabulary = vocabulary        # the "word_times" decoder's dictionary (None: the package's)
        self._made: dict[str, tuple[object, str]] = {}

    def get(self, kind: str):
        """(decoder, initial CMN) for ``"phones"``, ``"words"``, ``"word_times"`` or
        ``"align"`` (no language model: alignment and the dictionary)."""
        if kind not in self._made:
            import pocketsphinx as ps
            if kind == "phones":
                d = ps.Decoder(allphone=ps.get_model_path("en-us/en-us-phone.lm.bin"),
                               loglevel="FATAL", **self.phone_config)
            else:
                config = {"word_times": WORD_TIMES_CONFIG, "align": ALIGN_CONFIG}.get(kind, WORD_CONFIG)
                if kind == "word_times" and self.vocabulary:
                    config = {**config, "dict": self.vocabulary}
                d = ps.Decoder(loglevel="FATAL", **config)
            self._made[kind] = (d, d.get_cmn())
        return self._made[kind]


def decode_utterance(decoder, initial_cmn: str, pcm: bytes) -> None:
    """One utterance, from the decoder's initial cepstral mean and fresh noise
    statistics: both otherwise carry over from the previous utterance, so the same
    audio decoded twice would give (slightly) different phones. Raises RuntimeError."""
    decoder.set_cmn(initial_cmn)
    with warnings.catch_warnings():          # "deprecated and unnecessary": it is not
        warnings.simplefilter("ignore", DeprecationWarning)
        decoder.start_stream()
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()


def segments(decoder) -> Spans:
    """(label, first frame, last frame) of the last decoded path."""
    return [(s.word, s.start_frame, s.end_frame) for s in decoder.seg()]


def phone_loop(decoders: Decoders, pcm: bytes) -> Spans:
    decoder, cmn = decoders.get("phones")
    decode_utterance(decoder, cmn, pcm)
    return segments(decoder)


def recognise(decoders: Decoders, pcm: bytes) -> tuple[Spans, Spans]:
    """(words, phones) of a segment: the language model's words (fillers included),
    their phones from a state-level alignment pass; where that pass fails, the
    decoder's word times and the phone loop's phones; no words: the phone loop."""
    decoder, cmn = decoders.get("words")
    decode_utterance(decoder, cmn, pcm)
    hyp = decoder.hyp()
    if hyp is None or not hyp.hypstr.strip():
        return [], phone_loop(decoders, pcm)          # no words heard: phones still matter
    heard = segments(decoder)
    aligned = second_pass(decoder, cmn, pcm, None)    # phones: align the recognised words
    return aligned if aligned is not None else (heard, phone_loop(decoders, pcm))


def second_pass(decoder, initial_cmn: str, pcm: bytes, restore: str | None
                ) -> tuple[Spans, Spans] | None:
    """(words, phones) from pocketsphinx's state-level alignment of the path just
    decoded, or None where that pass fails. Activates the search ``restore`` afterwards
    (None: the default, the language model): the next utterance decoded with this
    alignment search fails, or crashes pocketsphinx in ``hyp()``."""
    try:
        decoder.set_alignment()
        decode_utterance(decoder, initial_cmn, pcm)
        alignment = decoder.get_alignment()
    except RuntimeError:
        return None
    finally:
        decoder.activate_search(restore)
    if alignment is None:
        return None
    words, phones = [], []
    for entry in alignment:
        words.append((entry.name, entry.start, entry.start + entry.duration - 1))
        phones += [(p.name, p.start, p.start + p.duration - 1) for p in entry]
    return words, phones


def align(decoders: Decoders, pcm: bytes, words: list[str], phones: bool, skip: float,
          stop: float) -> tuple[Spans, Spans, bool]:
    """Forced alignment of ``words`` (dictionary words) to a segment, as a finite-state
    grammar: the words in order, each skippable (``skip``), and the segment free to end
    before the last of them (``stop``). (words, phones, aligned): the words heard and,
    with ``phones``, the phones of a state-level pass over them (``aligned`` False
    where that pass failed or was not asked for: the words keep the search's times).
    Raises RuntimeError or ValueError where pocketsphinx refuses the grammar."""
    decoder, cmn = decoders.get("align")
    n = len(words)
    transitions = ([(i, i + 1, 1.0 - skip - stop, w) for i, w in enumerate(words)]
                   + [(i, i + 1, skip) for i in range(n)]
                   + [(i, n, stop) for i in range(n - 1)])
    decoder.add_fsg(ALIGN_SEARCH, decoder.create_fsg(ALIGN_SEARCH, 0, n, transitions))
    decoder.activate_search(ALIGN_SEARCH)
    decode_utterance(decoder, cmn, pcm)
    if decoder.hyp() is None:
        return [], [], False
    heard = segments(decoder)
    aligned = second_pass(decoder, cmn, pcm, ALIGN_SEARCH) if phones else None
    return (aligned[0], aligned[1], True) if aligned is not None else (heard, [], False)


def word_times(decoders: Decoders, pcm: bytes) -> Spans:
    """The words of a segment (fillers included) timed by the decoder's path."""
    decoder, cmn = decoders.get("word_times")
    decode_utterance(decoder, cmn, pcm)
    hyp = decoder.hyp()
    return segments(decoder) if hyp is not None and hyp.hypstr.strip() else []


def decode_segment(decoders: Decoders, mode: str, pcm: bytes) -> tuple[Spans, Spans]:
    """(words, phones) of a segment in ``mode`` ("phones": no words; "word_times": no
    phones)."""
    if mode == "phones":
        return [], phone_loop(decoders, pcm)
    if mode == "word_times":
        return word_times(decoders, pcm), []
    return recognise(decoders, pcm)


def _read_exactly(stream, n: int) -> bytes:
    data = b""
    while len(data) < n:
        part = stream.read(n - len(data))
        if not part:
            break
        data += part
    return data


def main() -> int:
    source = sys.stdin.buffer
    # answers go to the original stdout; anything the C library prints goes to stderr
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())

    def answer(value) -> None:
        answers.write(json.dumps(value) + "\n")
        answers.flush()

    try:
        setup = json.loads(source.readline())
        # the folder(s) holding pocketsphinx, after the standard library (run with -I)
        sys.path.extend(p for p in setup.get("path", []) if isinstance(p, str) and p not in sys.path)
        mode = setup["mode"]
        decoders = Decoders(setup.get("config", {}), setup.get("vocabulary"))
        decoders.get(mode)                  # load the model now, before "ready"
    except Exception as exc:
        answer({"error": f"{type(exc).__name__}: {exc}"})
        return 1
    answer("ready")
    while True:
        head = _read_exactly(source, 4)
        if len(head) < 4:
            return 0
        (n,) = struct.unpack("<I", head)
        request = None
        if n & REQUEST:
            try:
                request = json.loads(_read_exactly(source, n & ~REQUEST))
            except ValueError:
                request = {}
            head = _read_exactly(source, 4)
            if len(head) < 4:
                return 0
            (n,) = struct.unpack("<I", head)
        if n == 0:
            return 0
        pcm = _read_exactly(source, n)
        try:
            if request is not None:
                words, phones, aligned = align(decoders, pcm, list(request["words"]), bool(request["phones"]),
                                               float(request["skip"]), float(request["stop"]))
                answer({"words": words, "phones": phones, "aligned": aligned})
            else:
                words, phones = decode_segment(decoders, mode, pcm)
                answer({"words": words, "phones": phones})
        except (RuntimeError, ValueError, KeyError, TypeError) as exc:
            answer({"error": str(exc)})


if __name__ == "__main__":
    raise SystemExit(main())
