"""pocketsphinx's phone loop in a child process, for segments sent over a pipe.

Why a process: pocketsphinx holds the GIL while it decodes (a Python thread makes no
progress meanwhile), so the phoneme lip-sync path can only use the second core from
another process (``inference/phone_pool.py``). This file is run as a script by the
interpreter that hosts Cadence (Blender's bundled Python, or the venv's): it imports
nothing from Cadence (no package, no bpy), only pocketsphinx. ``transcribe.py``
imports the same functions, so both decode an utterance the same way and give the
same phones.

Protocol on the child's stdin/stdout (bytes): the parent writes one JSON line with
the decoder settings; the child answers ``"ready"`` (or ``{"error": ...}``); then per
segment the parent writes a 4-byte little-endian length and that many bytes of 16-bit
mono PCM at 16 kHz, and the child answers one JSON line, ``[[label, first frame, last
frame], ...]`` (100 frames/s) or ``{"error": message}``. A length of 0 or end of input
ends it.
"""
from __future__ import annotations

import json
import os
import struct
import sys
import warnings


def phone_loop_decoder(config: dict):
    """pocketsphinx's allphone decoder with US English phones and ``config``."""
    import pocketsphinx as ps
    return ps.Decoder(allphone=ps.get_model_path("en-us/en-us-phone.lm.bin"),
                      loglevel="FATAL", **config)


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


def segments(decoder) -> list[tuple[str, int, int]]:
    """(label, first frame, last frame) of the decoded phones."""
    return [(s.word, s.start_frame, s.end_frame) for s in decoder.seg()]


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
        decoder = phone_loop_decoder(json.loads(source.readline()))
        initial = decoder.get_cmn()
    except Exception as exc:                 # noqa: BLE001 - reported to the parent
        answer({"error": f"{type(exc).__name__}: {exc}"})
        return 1
    answer("ready")
    while True:
        head = _read_exactly(source, 4)
        if len(head) < 4:
            return 0
        (n,) = struct.unpack("<I", head)
        if n == 0:
            return 0
        pcm = _read_exactly(source, n)
        try:
            decode_utterance(decoder, initial, pcm)
            answer(segments(decoder))
        except RuntimeError as exc:
            answer({"error": str(exc)})


if __name__ == "__main__":
    raise SystemExit(main())
