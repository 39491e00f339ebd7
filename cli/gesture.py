"""``cadence gesture``: speech audio (+ transcript, style sliders) -> body gestures as BVH."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

SEMANTIC = 0.5  # --semantic's default
BEAT_STRENGTH = 1.0  # --beat-strength's default


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "gesture", help="body gestures from speech audio",
        description="Semantic and beat gestures for a speech recording, sampled zero-shot from "
                    "the text-to-motion model (no speech+mocap training data: see docs/gesture.md), "
                    "written as a canonical-skeleton BVH (Y up, cm) as long as the audio.")
    p.add_argument("--audio", type=Path, help="speech file (WAV, FLAC, OGG, MP3, ...; any rate, "
                                              "mono or stereo; English for the semantic gestures)")
    p.add_argument("--transcript", type=Path, default=None, metavar="TXT",
                   help="what was said (UTF-8 text): aligned to the audio instead of recognised")
    p.add_argument("--emotion", "--style", dest="emotion", default=None,
                   help="style sliders NAME=WEIGHT[,NAME=WEIGHT...], weights 0-1, e.g. angry=0.6 "
                        "(default: estimated from the voice; 'neutral' for none; --list-emotions)")
    p.add_argument("--semantic", type=float, default=SEMANTIC,
                   help="how many semantic gestures (wave, point, bow, nod...): 0 none .. 1 many "
                        "(default 0.5)")
    p.add_argument("--beat-strength", type=float, default=BEAT_STRENGTH,
                   help="how strongly the arms follow the speech rhythm: 0 off .. 3 (default 1)")
    p.add_argument("--listen", action="store_true",
                   help="the listener instead: the other character in a dialogue stands, nods at the "
                        "ends of this voice's phrases and shifts posture (no words recognised)")
    p.add_argument("--no-words", action="store_true",
                   help="skip speech recognition (beats only; faster, any language)")
    p.add_argument("--timeline", type=Path, default=None, metavar="FILE",
                   help="your own prompts composed with the gestures (STMC text or JSON, as for "
                        "generate --timeline), e.g. 'walk forward # 0 # 6 # legs': the character "
                        "stays in place except where the timeline moves the legs")
    p.add_argument("--seed", type=int, default=0, help="random seed: another seed, another performance")
    p.add_argument("--steps", type=int, default=None, help="sampling steps (default 4; 2 with --fast)")
    p.add_argument("--fast", action="store_true",
                   help="the 2-step distilled sampler: the same figures on real speech, ~2x faster "
                        "sampling (docs/gesture.md)")
    p.add_argument("--fps", type=float, default=None, help="output frame rate (default: the model's, 30)")
    p.add_argument("--out", type=Path, help="output .bvh")
    p.add_argument("--save-timeline", type=Path, default=None, metavar="FILE",
                   help="also write the gesture timeline that was sampled (.json or STMC text)")
    p.add_argument("--weights", type=Path, default=None, help="weights folder (default: weights/)")
    p.add_argument("--list-emotions", action="store_true", help="print the slider names and exit")
    p.add_argument("--quiet", action="store_true", help="print only errors")
    p.set_defaults(func=run)


def _read_transcript(path: Path) -> str:
    from ..limits import MAX_TRANSCRIPT_BYTES, check_input_file
    from .main import CliError
    check_input_file(path, "transcript", MAX_TRANSCRIPT_BYTES)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot read transcript {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise CliError(f"transcript {path} is not UTF-8 text") from None
    if not text.strip():
        raise CliError(f"transcript {path} is empty")
    return text


def _check_out(path: Path | None, what: str, example: str, inputs=()) -> None:
    """Refuse an output that is a folder, a device, in a missing folder or an input."""
    from ..output_file import check_output
    if path is not None:
        check_output(path, inputs, what, example)


def run(args: argparse.Namespace) -> int:
    from ..inference.motion.model import GenerationError, MotionModel, parse_styles
    from ..inference.runtime.weights import WeightsError
    from .main import CliError

    if args.list_emotions:
        try:
            print("\n".join(MotionModel.load(args.weights).styles))
        except WeightsError as exc:
            raise CliError(str(exc)) from None
        return 0
    if args.audio is None:
        raise CliError("--audio is required")
    if args.out is None:
        raise CliError("--out is required")
    from ..limits import MAX_FPS, MAX_SEED, MIN_FPS, in_range
    from ..output_file import check_distinct
    inputs = [args.audio, args.transcript, args.timeline]
    check_distinct([("--out", args.out), ("--save-timeline", args.save_timeline)])
    _check_out(args.out, "--out", "gestures.bvh", inputs)
    _check_out(args.save_timeline, "--save-timeline", "gestures.json", inputs)
    if args.fps is not None and not in_range(args.fps, MIN_FPS, MAX_FPS):
        raise CliError(f"--fps must be between {MIN_FPS:g} and {MAX_FPS:g}")
    if not 0 <= args.seed <= MAX_SEED:
        raise CliError(f"--seed must be between 0 and {MAX_SEED}")
    if not in_range(args.semantic, 0.0, 1.0):
        raise CliError("--semantic must be between 0 and 1")
    if not in_range(args.beat_strength, 0.0, 3.0):
        raise CliError("--beat-strength must be between 0 and 3")
    if args.steps is not None and not 1 <= args.steps <= 100:
        raise CliError("--steps must be between 1 and 100")
    transcript = _read_transcript(args.transcript) if args.transcript is not None else None
    if transcript is not None and args.no_words:
        raise CliError("--transcript and --no-words contradict each other: give one")
    styles = None
    if args.emotion is not None and args.emotion.strip().lower() not in ("", "auto"):
        try:
            styles = {} if args.emotion.strip().lower() in ("neutral", "none") else parse_styles(args.emotion)
        except GenerationError as exc:
            raise CliError(str(exc)) from None

    if args.listen:
        given = [flag for flag, on in (("--transcript", args.transcript is not None), ("--timeline", args.timeline),
                                       ("--save-timeline", args.save_timeline),
                                       ("--emotion", args.emotion), ("--semantic", args.semantic != SEMANTIC),
                                       ("--beat-strength", args.beat_strength != BEAT_STRENGTH),
                                       ("--fast", args.fast)) if on]
        if given:
            raise CliError(f"--listen makes the listener from the voice alone: drop {', '.join(given)}")
        return _run_listen(args)
    from ..inference.gesture.generate import GestureError, generate_gestures
    from ..inference.gesture.guidance import BeatSettings
    from ..inference.motion.timeline import TimelineError, load_timeline
    from ..inference.speech.audio import AudioError
    from ..inference.speech.transcribe import TranscribeError  # pocketsphinx is imported only when used
    from ..motion.export import write_canonical_bvh

    show = not args.quiet and sys.stderr.isatty()

    def progress(fraction: float) -> None:
        print(f"\rcadence gesture: {fraction:4.0%}", end="", file=sys.stderr, flush=True)

    try:
        timeline = load_timeline(args.timeline) if args.timeline is not None else None
    except TimelineError as exc:
        raise CliError(f"{args.timeline}: {exc}") from None
    try:
        result = generate_gestures(args.audio, transcript, recognise=not args.no_words, styles=styles,
                                   timeline=timeline,
                                   semantic_amount=args.semantic,
                                   beat=BeatSettings(scale=args.beat_strength), seed=args.seed,
                                   steps=args.steps, weights_dir=args.weights,
                                   progress=progress if show else None,
                                   solver="distilled" if args.fast else None)
    except (AudioError, GestureError, GenerationError, TimelineError, TranscribeError,
            WeightsError) as exc:
        raise CliError(str(exc)) from None
    finally:
        if show:
            print(file=sys.stderr)
    motion = result.motion.resample(args.fps) if args.fps else result.motion
    write_canonical_bvh(args.out, motion)  # OutputError: one line from cli/main.py
    if args.save_timeline is not None:
        result.plan.timeline.write(args.save_timeline)
    if not args.quiet:
        for warning in result.warnings:
            print(f"cadence gesture: warning: {warning}", file=sys.stderr)
        est = result.style_estimate
        print(f"style: {est.describe() + ' (estimated from the voice)' if est else result.styles or 'neutral'}")
        for p in result.plan.semantic:
            print(f"{p.gesture.name} at {p.word_start:.2f} s for {p.phrase!r} ({p.score:.2f})")
        t = result.timings
        print(f"wrote {args.out}: {motion.num_frames} frames at {motion.fps:g} fps "
              f"({result.activity.duration:.1f} s of audio, {len(result.words)} words, "
              f"{len(result.plan.semantic)} semantic gestures) in {t['total']:.2f} s "
              f"(recognition {t['recognition']:.2f} s, sampling {t['sampling']:.2f} s)")
    return 0


def _run_listen(args: argparse.Namespace) -> int:
    """``--listen``: the other character's idle, nods and posture shifts."""
    from ..inference.gesture.generate import GestureError
    from ..inference.gesture.listening import generate_listening
    from ..inference.motion.model import GenerationError
    from ..inference.runtime.weights import WeightsError
    from ..inference.speech.audio import AudioError
    from ..motion.export import write_canonical_bvh
    from .main import CliError

    try:
        result = generate_listening(args.audio, seed=args.seed, steps=args.steps, weights_dir=args.weights)
    except (AudioError, GestureError, GenerationError, WeightsError) as exc:
        raise CliError(str(exc)) from None
    motion = result.motion.resample(args.fps) if args.fps else result.motion
    write_canonical_bvh(args.out, motion)  # OutputError: one line from cli/main.py
    if not args.quiet:
        for warning in result.warnings:
            print(f"cadence gesture: warning: {warning}", file=sys.stderr)
        for n in result.nods:
            print(f"{'double nod' if n.double else 'nod'} at {n.start:.2f} s, {n.degrees:.0f} degrees ({n.cause})")
        t = result.timings
        print(f"wrote {args.out}: {motion.num_frames} frames at {motion.fps:g} fps (listening to "
              f"{result.activity.duration:.1f} s of audio, {len(result.nods)} nods) in {t['total']:.2f} s "
              f"(sampling {t['sampling']:.2f} s)")
    return 0
