"""``cadence face``: speech audio (+ emotion sliders) -> per-frame ARKit-52 CSV."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "face", help="animate a face (ARKit-52 weights) from speech audio",
        description="Lip sync, emotion, blinks, gaze and head motion from a speech recording, "
                    "written as a CSV: time, the 52 ARKit weights in Apple's order, head "
                    "yaw/pitch/roll and eye yaw/pitch in degrees (Live Link Face style).")
    p.add_argument("--audio", type=Path, help="speech file (WAV, FLAC, OGG, MP3, ...; any rate, "
                                              "mono or stereo)")
    p.add_argument("--emotion", default="",
                   help="emotion sliders NAME=WEIGHT[,NAME=WEIGHT...], weights 0-1, e.g. happy=0.8 "
                        "(--list-emotions shows the names)")
    p.add_argument("--out", type=Path, help="output .csv")
    p.add_argument("--method", choices=("learned", "phoneme", "blend"), default=None,
                   help="lip sync: the learned model (any language), English phoneme "
                        "recognition with visemes, or their blend (default: blend; see docs/face.md)")
    p.add_argument("--transcript", default=None,
                   help="the English text spoken (phoneme/blend: aligned instead of recognised); "
                        "@FILE reads it from a file")
    p.add_argument("--seed", type=int, default=0,
                   help="random seed for blinks, gaze and head motion (default 0)")
    p.add_argument("--fps", type=float, default=None, help="frame rate (default 30)")
    p.add_argument("--no-blinks", action="store_true", help="no blinks")
    p.add_argument("--no-gaze", action="store_true", help="eyes look straight ahead")
    p.add_argument("--no-head", action="store_true", help="head rotation columns stay zero")
    p.add_argument("--weights", type=Path, default=None, help="weights folder (default: weights/)")
    p.add_argument("--list-emotions", action="store_true", help="print the emotion names and exit")
    p.add_argument("--quiet", action="store_true", help="print only errors")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..face.expression import EMOTIONS, parse_emotions
    from .main import CliError

    if args.list_emotions:
        print("\n".join(EMOTIONS))
        return 0
    if args.audio is None:
        raise CliError("--audio is required")
    if args.out is None:
        raise CliError("--out is required")
    from ..limits import MAX_FPS, MAX_SEED, MAX_TRANSCRIPT_BYTES, MIN_FPS, check_input_file, in_range
    from ..output_file import check_output
    if args.fps is not None and not in_range(args.fps, MIN_FPS, MAX_FPS):
        raise CliError(f"--fps must be between {MIN_FPS:g} and {MAX_FPS:g}")
    if not 0 <= args.seed <= MAX_SEED:
        raise CliError(f"--seed must be between 0 and {MAX_SEED}")
    transcript_file = Path(args.transcript[1:]) if (args.transcript or "").startswith("@") else None
    check_output(args.out, [args.audio, transcript_file], "--out", "face.csv")
    try:
        emotions = parse_emotions(args.emotion)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    transcript = args.transcript
    if transcript is not None and transcript.startswith("@"):
        check_input_file(transcript[1:], "the transcript", MAX_TRANSCRIPT_BYTES)
        try:
            transcript = Path(transcript[1:]).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CliError(f"cannot read the transcript {transcript[1:]}: {exc}") from None
    if transcript is not None and args.method == "learned":
        raise CliError("--transcript needs --method phoneme or blend (the learned model ignores text)")

    from ..face.csv_io import write_face_csv
    from ..inference.face.generate import DEFAULT_METHOD, generate_face
    from ..inference.runtime.weights import WeightsError
    from ..inference.speech.audio import AudioError
    from ..inference.speech.transcribe import TranscribeError

    show = not args.quiet and sys.stderr.isatty()

    def progress(fraction: float) -> None:
        print(f"\rcadence face: {fraction:4.0%}", end="", file=sys.stderr, flush=True)

    try:
        anim = generate_face(args.audio, emotions, seed=args.seed, fps=args.fps,
                             weights_dir=args.weights, blinks=not args.no_blinks,
                             gaze=not args.no_gaze, head=not args.no_head,
                             method=args.method or DEFAULT_METHOD, transcript=transcript,
                             progress=progress if show else None)
    except (AudioError, WeightsError, TranscribeError) as exc:
        raise CliError(str(exc)) from None
    finally:
        if show:
            print(file=sys.stderr)
    write_face_csv(args.out, anim)  # OutputError: one line from cli/main.py
    if not args.quiet:
        for warning in anim.warnings:
            print(f"cadence face: warning: {warning}", file=sys.stderr)
        print(f"wrote {args.out}: {anim.num_frames} frames at {anim.fps:g} fps "
              f"({anim.duration:.1f} s of speech) in {anim.info['seconds_taken']:.2f} s")
    return 0
