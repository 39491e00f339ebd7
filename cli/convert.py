"""``cadence convert``: a motion file (any BVH, or SMPL-X / SMPL-H / SMPL parameters in an
.npz) -> the canonical skeleton, written as BVH or as an AMASS-style SMPL-X .npz."""
from __future__ import annotations

import argparse
from pathlib import Path

OUTPUT_SUFFIXES = (".bvh", ".npz")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("convert", help="convert a motion file to the canonical skeleton",
                       description="Read a BVH with any skeleton (Bandai Namco, CMU, Mixamo or "
                                   "canonical names; cm or m; Y or Z up) or a SMPL-X / SMPL-H / "
                                   "SMPL parameter file (.npz: AMASS, BEAT2/EMAGE or split "
                                   "smplx keys) and write it on Cadence's canonical SMPL-X "
                                   "skeleton: as a Y-up, centimetre BVH (--out *.bvh), the "
                                   "convention most tools import, or as an AMASS-style SMPL-X "
                                   ".npz (--out *.npz; docs/smplx.md).")
    p.add_argument("input", help="input .bvh or SMPL-X .npz")
    p.add_argument("--out", required=True, help="output .bvh or .npz")
    p.add_argument("--fps", type=float, default=30.0, help="output frame rate (default 30)")
    p.add_argument("--no-floor", action="store_true",
                   help="keep the source's height instead of putting the feet on the floor")
    smplx = p.add_argument_group("SMPL-X files (docs/smplx.md)")
    smplx.add_argument("--up", choices=("y", "z"),
                       help="up axis of an .npz input (default: the one a Cadence file stores, "
                            "else z for AMASS files, y for BEAT2/EMAGE and split-key files)")
    smplx.add_argument("--source-fps", type=float,
                       help="frame rate of an .npz input, overriding its mocap_frame_rate "
                            "(default: the file's, else 30)")
    smplx.add_argument("--out-up", choices=("z", "y"), default="z",
                       help="up axis of an .npz output (default z, as AMASS)")
    smplx.add_argument("--model", type=Path,
                       help="folder with your SMPL-X model files (SMPLX_NEUTRAL.npz, ...; from "
                            "smpl-x.is.tue.mpg.de): the real pelvis position and PCA hands")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import OutputError
    from ..limits import MAX_FPS, MAX_SOURCE_FPS, MIN_FPS, MIN_SOURCE_FPS, in_range
    from ..motion.bvh import BvhError, read_bvh
    from ..motion.convert import SMPLX_SUFFIXES, bvh_to_canonical
    from ..motion.export import write_canonical_bvh
    from ..motion.smplx_format import load_smplx_motion
    from ..output_file import check_output
    from .main import CliError
    if not in_range(args.fps, MIN_FPS, MAX_FPS):
        raise CliError(f"--fps must be between {MIN_FPS:g} and {MAX_FPS:g}")
    if args.source_fps is not None and not in_range(args.source_fps, MIN_SOURCE_FPS, MAX_SOURCE_FPS):
        raise CliError(f"--source-fps must be between {MIN_SOURCE_FPS:g} and {MAX_SOURCE_FPS:g}")
    out = Path(args.out)
    if out.suffix.lower() not in OUTPUT_SUFFIXES:
        raise CliError(f"--out must end in .bvh or .npz, got {out.name}")
    check_output(out, [args.input], "--out", f"out{out.suffix.lower()}")
    smplx_in = Path(args.input).suffix.lower() in SMPLX_SUFFIXES
    if not smplx_in and (args.up or args.source_fps is not None):
        raise CliError("--up and --source-fps apply to SMPL-X (.npz) input only")
    source = None
    try:
        if smplx_in:
            source = load_smplx_motion(args.input, up=args.up, fps=args.source_fps,
                                       model=args.model, fix_floor=not args.no_floor)
            source = source.resample(args.fps)
            motion = source.motion
        else:
            motion = bvh_to_canonical(read_bvh(args.input), fps=args.fps,
                                      fix_floor=not args.no_floor)
        if out.suffix.lower() == ".npz":
            _write_npz(out, motion, source, args)
        else:
            write_canonical_bvh(out, motion)
    except (BvhError, ValueError) as exc:
        raise CliError(str(exc)) from None
    except OutputError:
        raise
    except OSError as exc:
        raise CliError(f"cannot read or write: {exc}") from None
    print(f"wrote {out}: {motion.num_frames} frames at {motion.fps:g} fps "
          f"({motion.duration:.2f} s) on the canonical skeleton")
    for note in [] if source is None else source.notes:
        print(f"note: {note}")
    return 0


def _write_npz(out: Path, motion, source, args: argparse.Namespace) -> None:
    """AMASS-style SMPL-X; an SMPL-X input's expressions, shape and gender go along."""
    from ..motion.smplx_model import load_smplx_model
    from ..motion.smplx_write import save_smplx_motion
    if source is None:
        model = load_smplx_model(args.model) if args.model else None
        save_smplx_motion(out, motion, up=args.out_up, model=model)
    else:
        save_smplx_motion(out, motion, expressions=source.expressions, betas=source.betas,
                          gender=source.gender, up=args.out_up, model=source.model)
