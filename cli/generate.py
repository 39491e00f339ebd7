"""``cadence generate``: a prompt and style sliders -> a canonical-skeleton BVH."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..output_file import check_output


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generate", help="generate motion from a text prompt",
                       description="Generate motion on the canonical skeleton from a prompt and "
                                   "emotion/style sliders, and write it as BVH (Y up, cm).")
    p.add_argument("--prompt", help='what the character does, e.g. "a person waves with the right hand"')
    p.add_argument("--timeline", type=Path, default=None, metavar="FILE",
                   help="a prompt timeline instead of --prompt: STMC text (one 'text # start # end # "
                        "parts' a line) or JSON; see docs/timeline.md. --style is the default for "
                        "segments without their own sliders; --seconds does not apply")
    p.add_argument("--style", default="",
                   help="slider settings NAME=WEIGHT[,NAME=WEIGHT...], weights 0-1, e.g. happy=0.7,old=0.3 "
                        "(--list-styles shows the names)")
    p.add_argument("--seconds", type=float, default=None,
                   help="duration (default 4; with --path: until the path's end is reached)")
    p.add_argument("--path", type=Path, default=None, metavar="FILE",
                   help='walk along a path: JSON {"points": [[x, y], ...], "times": [t, ...], "facing": [x, y]} '
                        "in metres on the ground (Blender axes: Z up, -Y forward), times optional (seconds), "
                        "facing optional (a point to face on arrival)")
    p.add_argument("--seed", type=int, default=0, help="random seed: another seed, another performance")
    p.add_argument("--variations", type=int, default=1,
                   help="write N variations (seeds SEED..SEED+N-1) as OUT_1.bvh ... (default 1)")
    p.add_argument("--steps", type=int, default=None, help="sampling steps (default from the model)")
    p.add_argument("--fast", action="store_true",
                   help="the 2-step distilled sampler: several times faster, for previews and drafts "
                        "(guidance fixed at the model's)")
    p.add_argument("--text-guidance", type=float, default=None, help="how strongly to follow the prompt")
    p.add_argument("--style-guidance", type=float, default=None, help="how strongly to apply the sliders")
    p.add_argument("--reference-strength", type=float, default=None, metavar="S",
                   help="0-1: how far from a real take of the matched action sampling starts (1: from "
                        "noise alone; lower keeps more of the take; default from the model)")
    p.add_argument("--target", action="append", default=[], metavar="HAND=X,Y,Z@SECONDS",
                   help="bring a hand to a point at a time, e.g. right_hand=0.3,-0.5,1.2@2 (metres, Blender "
                        "axes; repeatable; docs/path_control.md)")
    p.add_argument("--look-at", dest="look_at", action="append", default=[], metavar="X,Y,Z@START-END",
                   help="turn the head towards a point over a time range, e.g. 2,-3,1.6@1-4 (repeatable)")
    p.add_argument("--fps", type=float, default=None, help="output frame rate (default: the model's, 30)")
    p.add_argument("--no-foot-lock", dest="foot_lock", action="store_false",
                   help="keep the model's raw feet (default: planted feet pinned, shuffled steps lifted)")
    p.add_argument("--out", help="output .bvh")
    p.add_argument("--weights", type=Path, default=None, help="weights folder (default: weights/)")
    p.add_argument("--list-styles", action="store_true", help="print the style names and exit")
    p.add_argument("--list-actions", action="store_true",
                   help="print the actions the model knows (a prompt is read as the nearest one) and exit")
    p.add_argument("--quiet", action="store_true", help="print only errors")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..inference.motion.model import GenerationError, GenerationRequest, MotionModel, parse_styles
    from ..inference.runtime.weights import WeightsError
    from .main import CliError
    try:
        model = MotionModel.load(args.weights)
    except WeightsError as exc:
        raise CliError(str(exc)) from None
    if args.list_styles:
        print("\n".join(model.styles))
        return 0
    if args.list_actions:
        prompts = model.meta.get("label_prompts", {})
        from ..inference.motion.standing import STAND
        width = max(map(len, model.labels))
        print("\n".join(f"{name:<{width}}  {prompts.get(name, '')}".rstrip() for name in model.labels))
        print(f"{STAND:<{width}}  a person stands still (an idle: no take of its own; the calmest "
              "standing action, stilled)")
        return 0
    if not args.out:
        raise CliError("--out is required")
    if args.prompt is not None and args.timeline is not None:
        raise CliError("--prompt and --timeline are mutually exclusive: give one")
    if args.timeline is not None:
        if args.path is not None:
            raise CliError('--path goes with --prompt; in a timeline file a segment carries its own '
                           '"path": {"points": [[x, y], ...]} (JSON)')
        return run_timeline(args, model)
    if args.prompt is None:
        raise CliError("--prompt is required (or --timeline FILE)")
    if args.path is not None:
        return run_path(args, model)
    if args.seconds is None:
        args.seconds = 4.0
    check_common(args)
    try:
        request = GenerationRequest(args.prompt, args.seconds, parse_styles(args.style), args.seed,
                                    args.steps, args.text_guidance, args.style_guidance,
                                    foot_lock=args.foot_lock, reference_strength=args.reference_strength,
                                    solver="distilled" if args.fast else None)
        results = model.generate(request, variations=args.variations)
    except (GenerationError, WeightsError, ValueError) as exc:
        raise CliError(str(exc)) from None
    if results[0].truncated:
        print("cadence generate: warning: the prompt is longer than the text encoder reads; "
              "only its beginning was used", file=sys.stderr)
    from ..inference.text.prompt_matcher import weak_match_warning
    warning = weak_match_warning(args.prompt, results[0].matches)
    if warning:
        print(f"cadence generate: warning: {warning}", file=sys.stderr)
    results = apply_targets_to(args, results)
    paths = write_results(args, results)
    if not args.quiet:
        r = results[0]
        matched = ", ".join(f"{name} ({score:.2f})" for name, score in r.matches)
        print(f"prompt matched: {matched}")
        print(f"wrote {', '.join(map(str, paths))}: {r.motion.num_frames} frames at "
              f"{r.motion.fps:g} fps in {r.seconds_taken:.2f} s on {r.device}")
    return 0


def read_targets(args: argparse.Namespace) -> tuple[list, list]:
    """--look-at and --target, parsed before any work (one line for a bad one)."""
    from ..motion.targets import TargetError, parse_look_at, parse_reach
    from .main import CliError
    try:
        return ([parse_look_at(t) for t in getattr(args, "look_at", [])],
                [parse_reach(t) for t in getattr(args, "target", [])])
    except TargetError as exc:
        raise CliError(str(exc)) from None


def apply_targets_to(args: argparse.Namespace, results: list) -> list:
    """Each result's motion with the hands on their targets and the head on its points."""
    looks, reaches = read_targets(args)
    if not looks and not reaches:
        return results
    from ..motion.targets import TargetError, apply_targets
    from .main import CliError
    for r in results:
        try:
            r.motion = apply_targets(r.motion, looks, reaches)
        except TargetError as exc:
            raise CliError(str(exc)) from None
    return results


def check_common(args: argparse.Namespace) -> None:
    """The numbers and outputs both forms share, checked before any work."""
    read_targets(args)
    from ..inference.motion.model import MAX_VARIATIONS
    from ..limits import MAX_FPS, MAX_SEED, MIN_FPS, in_range
    from .main import CliError
    if not 1 <= args.variations <= MAX_VARIATIONS:
        raise CliError(f"--variations must be between 1 and {MAX_VARIATIONS}")
    if args.fps is not None and not in_range(args.fps, MIN_FPS, MAX_FPS):
        raise CliError(f"--fps must be between {MIN_FPS:g} and {MAX_FPS:g}")
    if not 0 <= args.seed <= MAX_SEED - args.variations + 1:
        raise CliError(f"--seed must be between 0 and {MAX_SEED - args.variations + 1}")
    for path in output_paths(args.out, args.variations):
        check_output(path, [args.timeline], "--out", "out.bvh")


def output_paths(out, count: int) -> list[Path]:
    """OUT, or OUT_1, OUT_2, ... for variations."""
    out = Path(out)
    return [out] if count == 1 else [out.with_name(f"{out.stem}_{i + 1}{out.suffix}")
                                     for i in range(count)]


def write_results(args: argparse.Namespace, results) -> list[Path]:
    """Write each result's motion as a canonical BVH (OUT, or OUT_1, OUT_2, ... for
    variations), at --fps when given."""
    from ..motion.export import write_canonical_bvh
    paths = output_paths(args.out, len(results))
    for path, result in zip(paths, results):
        write_canonical_bvh(path, result.motion.resample(args.fps) if args.fps else result.motion)
    return paths


def run_path(args: argparse.Namespace, model) -> int:
    """``--prompt P --path FILE``: the prompt performed while walking the path."""
    from ..inference.motion.compose import compose
    from ..inference.motion.model import GenerationError, parse_styles
    from ..inference.motion.path_follow import LOCOMOTION, PathFollow, clip_seconds
    from ..inference.motion.timeline import MAX_SECONDS, Segment, Timeline, TimelineError, Track
    from ..inference.runtime.weights import WeightsError
    from ..motion.ground_path import GroundPath, PathError
    from .main import CliError
    check_common(args)
    try:
        path = GroundPath.load(args.path)
        styles = parse_styles(args.style)
        model.style_vector(styles)  # unknown names fail before any work
        if not args.prompt.strip():
            raise GenerationError("the prompt is empty: describe the motion, e.g. 'a person walks'")
        reading = model.encode_prompts([args.prompt.strip()])
        action = model.match(reading.probabilities[0], 1)[0][0]
        seconds = args.seconds if args.seconds is not None else clip_seconds(path, action, styles=styles)
        if not 0 < seconds <= MAX_SECONDS:
            raise GenerationError(f"the path takes {seconds:.0f} s, longer than the {MAX_SECONDS:g} s a clip "
                                  "may last: give it times, or a shorter path")
        timeline = Timeline([Track([Segment(args.prompt.strip(), 0.0, float(seconds))])])
        results = []
        for i in range(args.variations):
            follow = PathFollow(path, model.normalizer, model.fps)
            r = compose(model, timeline, seed=args.seed + i, steps=args.steps,
                        text_guidance=args.text_guidance, style_guidance=args.style_guidance,
                        styles=styles, foot_lock=args.foot_lock, reference_strength=args.reference_strength,
                        path=follow, solver="distilled" if args.fast else None)
            if args.seconds is None:  # untimed: the clip ends just after the arrival
                keep = follow.trimmed(r)
                r.motion, r.features = r.motion.slice(0, keep), r.features[:keep]
            results.append(r)
    except (PathError, TimelineError, GenerationError, WeightsError, ValueError) as exc:
        raise CliError(str(exc)) from None
    if action not in LOCOMOTION:
        print(f"cadence generate: warning: the prompt reads as {action!r}, not a walk or a run: the path "
              "moves the character, but the legs may not step along it", file=sys.stderr)
    results = apply_targets_to(args, results)
    paths = write_results(args, results)
    if not args.quiet:
        r = results[0]
        off = path.distance_to(r.motion.root_positions[:, :2])
        print(f"prompt matched: {', '.join(f'{n} ({p:.2f})' for n, p in r.matches[0])}")
        print(f"path: {path.length:.1f} m in {r.motion.num_frames / r.motion.fps:.1f} s; the hips within "
              f"{100 * off.mean():.0f} cm of it on average ({100 * off.max():.0f} cm at most)")
        print(f"wrote {', '.join(map(str, paths))}: {r.motion.num_frames} frames at "
              f"{r.motion.fps:g} fps in {r.seconds_taken:.2f} s on {r.device}")
    return 0


def run_timeline(args: argparse.Namespace, model) -> int:
    """``--timeline FILE``: compose the timeline's prompts into one motion."""
    from ..inference.motion.compose import compose
    from ..inference.motion.model import GenerationError, parse_styles
    from ..inference.motion.timeline import TimelineError, load_timeline
    from ..inference.runtime.weights import WeightsError
    from .main import CliError
    check_common(args)
    try:
        timeline = load_timeline(args.timeline)
        styles = parse_styles(args.style)
        model.style_vector(styles)  # unknown names fail before any work
        walking = [i for i, seg in enumerate(timeline.segments()) if seg.path is not None]
        results = []
        for i in range(args.variations):
            follow = None
            if walking:  # the segment's path, timed from its start (steady without times)
                from ..inference.runtime.jobs import segment_path
                follow = segment_path(model, timeline.validate(), walking[0], timeline.segments()[walking[0]].path)
            results.append(compose(model, timeline, seed=args.seed + i, steps=args.steps,
                                   text_guidance=args.text_guidance, style_guidance=args.style_guidance,
                                   styles=styles, foot_lock=args.foot_lock,
                                   reference_strength=args.reference_strength, path=follow,
                                   solver="distilled" if args.fast else None))
    except (TimelineError, GenerationError, WeightsError, ValueError) as exc:
        raise CliError(f"{args.timeline}: {exc}" if isinstance(exc, TimelineError) else str(exc)) from None
    if any(results[0].truncated):
        print("cadence generate: warning: a prompt is longer than the text encoder reads; "
              "only its beginning was used", file=sys.stderr)
    from ..inference.text.prompt_matcher import weak_match_warning
    warned = set()
    for seg, matches in zip(timeline.segments(), results[0].matches):
        warning = weak_match_warning(seg.text, matches)
        if warning and seg.text not in warned:
            warned.add(seg.text)
            print(f"cadence generate: warning: {warning}", file=sys.stderr)
    results = apply_targets_to(args, results)
    paths = write_results(args, results)
    if not args.quiet:
        r = results[0]
        for seg, matches in zip(timeline.segments(), r.matches):
            print(f"{seg.describe()} on {' '.join(seg.parts)}: matched "
                  f"{', '.join(f'{name} ({score:.2f})' for name, score in matches[:2])}")
        print(f"wrote {', '.join(map(str, paths))}: {r.motion.num_frames} frames at "
              f"{r.motion.fps:g} fps in {r.seconds_taken:.2f} s on {r.device}")
    return 0
