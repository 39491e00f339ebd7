#!/usr/bin/env python3
"""Quality of text + style to motion on the held-out test split (issue 4, section 4).

    .venv/bin/python bench/motion_quality.py [--weights DIR] [--evaluator PATH] [--limit N]

For every test take, generates a motion with the same content (a training paraphrase of
its label), the same style (its slider at 1) and the same duration, then compares the
generated set with the real test set through the evaluator trained on real motion only
(training/evaluator.py): content and style recognition, FID, diversity; and, on the
motion itself, foot skating and jitter. Real-vs-real figures come from the same run.
A second pass uses paraphrases never seen in training (training/prompts.HELD_OUT_PROMPTS).
A third column puts the real test takes through the model's autoencoder (encoder, then
decoder): the ceiling of what sampling in its latent space can reproduce.
Prints a table and writes .cache/bench/motion_quality.json (figures for the model card).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

import _bootstrap

from cadence.bench.metrics import diversity, foot_skating_ratio, frechet_distance, jitter
from cadence.dataset import pipeline
from cadence.dataset.paths import cache_dir
from cadence.inference.motion.diffusion import SOLVERS
from cadence.inference.motion.model import GenerationRequest, MotionModel
from cadence.inference.text.encoder import TextEncoder
from cadence.motion.foot_lock import decode_generated
from cadence.motion.mirror import mirror_features, mirror_label
from cadence.motion.skeleton import CANONICAL
from cadence.training.evaluator import DEFAULT_OUT, load_evaluator
from cadence.training.prompts import HELD_OUT_PROMPTS, PROMPTS

MIN_SECONDS = 2.0
JOINTS = {n: i for i, n in enumerate(CANONICAL.names)}


def motion_stats(clips: list[np.ndarray], fps: float, foot_lock: bool = False) -> dict:
    """Foot skating and jitter of decoded clips; ``foot_lock``: as generation delivers
    them (feet locked on the predicted contacts, motion/foot_lock.py)."""
    pos = [decode_generated(c, fps, foot_lock).positions() for c in clips]
    return {"foot_skating": float(np.mean([foot_skating_ratio(p, fps) for p in pos])),
            "jitter": float(np.mean([jitter(p, fps) for p in pos]))}


def autoencoded(model: MotionModel, clip: np.ndarray) -> np.ndarray:
    """A real clip through the model's encoder and decoder: the ceiling of what
    generation in its latent space can reproduce."""
    n = len(clip)
    x = model.normalizer.normalize(clip.astype(np.float64))
    pad = model.tokens_for(n) * model.frames_per_token - n
    x = np.concatenate([x, np.repeat(x[-1:], pad, axis=0)]).astype(np.float32)
    y = model.decode_latents(model.encode_features(x[None]))[0, :n]
    return model.normalizer.denormalize(y.astype(np.float64)).astype(np.float32)


def recognition(ev, clips, contents, styles=None) -> dict:
    emb = ev.embed(clips)
    pc, ps = ev.predict(embeddings=emb)
    out = {"content_acc": float(np.mean(pc == np.asarray(contents)))}
    if styles is not None:
        out["style_acc"] = float(np.mean(ps == np.asarray(styles)))
    return out, emb


def body_figures(clip: np.ndarray, fps: float) -> tuple[float, float, float]:
    """What an animator sees at once: planar root speed (m/s), the highest a foot gets
    above the other leg's knee (m; > 0 only in kicks and dances), and the heading change
    over the clip (degrees, left positive): figures the evaluator cannot be fooled on."""
    m = decode_generated(clip, fps, False)
    p = m.positions()
    speed = float(np.linalg.norm(np.diff(m.root_positions[:, :2], axis=0), axis=1).mean() * fps)
    lift = float(np.max(np.maximum(p[:, JOINTS["left_foot"], 2] - p[:, JOINTS["right_knee"], 2],
                                   p[:, JOINTS["right_foot"], 2] - p[:, JOINTS["left_knee"], 2])))
    hips = p[:, JOINTS["left_hip"], :2] - p[:, JOINTS["right_hip"], :2]
    angle = np.unwrap(np.arctan2(hips[:, 1], hips[:, 0]))
    return speed, lift, float(np.degrees(angle[-1] - angle[0]))


def every_action(model: MotionModel, encoder: TextEncoder, ev, ds, seeds: int, base_seed: int) -> dict:
    """Every action the model knows, including those with one or two takes and no test
    take: ``seeds`` clips each from paraphrases never used in training (normal style,
    the action's median take length, at least MIN_SECONDS), read by the evaluator.

    A clip counts as the action when the evaluator reads it, or its mirror image as the
    mirrored action: the evaluator was trained on the takes as recorded, and knows a
    one-take action (a right-leg kick) only on its recorded side, while the model
    performs one-sided actions on both sides (a left-leg kick is a kick).

    Also how close each clip is to its nearest training take of the same action
    (evaluator embedding distance; the same figure for the real test takes, where there
    are any, is the yardstick: a copy would be near 0) and the diversity between seeds
    (mean pairwise distance of one action's clips, against the real takes' of it).
    """
    train = ds.indices("train")
    train_emb = ev.embed([ds.clip(i) for i in train])
    test = ds.indices("test")
    test_emb = ev.embed([ds.clip(i) for i in test])
    out = {}
    for k, action in enumerate(model.labels):
        prompts = HELD_OUT_PROMPTS.get(action) or PROMPTS[action]
        lengths = [len(ds.clip(i)) for i in train if ds.contents[i] == action]
        seconds = float(np.clip(np.median(lengths) / ds.fps, MIN_SECONDS, model.max_seconds))
        clips = []
        for s in range(seeds):
            req = GenerationRequest(prompts[s % len(prompts)], seconds, {}, seed=base_seed + 101 * k + s)
            clips.append(model.generate(req, encoder)[0].features.astype(np.float32))
        emb = ev.embed(clips)
        pc, _ = ev.predict(embeddings=emb)
        emb_m = ev.embed([mirror_features(c.astype(np.float64)).astype(np.float32) for c in clips])
        pm, _ = ev.predict(embeddings=emb_m)
        other = mirror_label(action, model.labels)
        recognised = (pc == action) | (pm == other)
        own = train_emb[ds.contents[train] == action]
        nearest = np.minimum(np.linalg.norm(emb[:, None] - own[None], axis=-1).min(1),
                             np.linalg.norm(emb_m[:, None] - train_emb[ds.contents[train] == other][None],
                                            axis=-1).min(1))
        takes = [i for i in train if ds.contents[i] == action][:3]
        copy = np.linalg.norm(ev.embed([autoencoded(model, ds.clip(i)) for i in takes])
                              - train_emb[np.isin(train, takes)], axis=-1)
        gen_body = np.array([body_figures(c, ds.fps) for c in clips])
        real_body = np.array([body_figures(ds.clip(i), ds.fps) for i in train if ds.contents[i] == action])
        real = test_emb[ds.contents[test] == action]
        real_nearest = (np.linalg.norm(real[:, None] - own[None], axis=-1).min(1) if len(real) else np.zeros(0))

        def pair(e):
            if len(e) < 2:
                return float("nan")
            return float(np.mean([np.linalg.norm(a - b) for i, a in enumerate(e) for b in e[i + 1:]]))

        out[action] = {"train_takes": len(lengths), "seconds": seconds, "content_acc": float(np.mean(recognised)),
                       "as_recorded_side": float(np.mean(pc == action)),
                       "read_as": sorted(set(pc[~recognised].tolist())),
                       "nearest_train": float(nearest.mean()), "copy_level": float(copy.mean()),
                       "real_nearest_train": float(real_nearest.mean()) if len(real_nearest) else None,
                       "seed_diversity": pair(emb), "real_diversity": pair(np.concatenate([own, real])),
                       "root_speed": float(gen_body[:, 0].mean()), "real_root_speed": float(real_body[:, 0].mean()),
                       "foot_lift": float(gen_body[:, 1].max()), "real_foot_lift": float(real_body[:, 1].max()),
                       "turn_deg": float(gen_body[:, 2].mean()), "real_turn_deg": float(real_body[:, 2].mean())}
    accs = [v["content_acc"] for v in out.values()]
    return {"seeds": seeds, "mean_content_acc": float(np.mean(accs)), "min_content_acc": float(np.min(accs)),
            "actions": out}


def print_every_action(result: dict) -> None:
    print(f"every action ({result['seeds']} seeds each, held-out paraphrases, normal style): content "
          f"{result['mean_content_acc']:.3f} mean, {result['min_content_acc']:.2f} worst")
    print("  nearest: distance to the nearest training take (evaluator embedding); copy: a training take "
          "through the autoencoder; real: test takes")
    print("  speed: root m/s; lift: highest foot above the other knee, m; turn: heading change, deg "
          "(each with the training takes' figure)")
    print(f"  {'action':22}{'takes':>6}{'content':>9}{'nearest':>9}{'(copy)':>8}{'(real)':>8}{'seeds div':>10}"
          f"{'(real)':>8}{'speed':>7}{'(real)':>7}{'lift':>7}{'(real)':>7}{'turn':>6}{'(real)':>7}  read as")
    for action, v in result["actions"].items():
        real = "" if v["real_nearest_train"] is None else f"{v['real_nearest_train']:.2f}"
        print(f"  {action:22}{v['train_takes']:6d}{v['content_acc']:9.2f}{v['nearest_train']:9.2f}"
              f"{v['copy_level']:8.2f}{real:>8}"
              f"{v['seed_diversity']:10.2f}{v['real_diversity']:8.2f}{v['root_speed']:7.2f}{v['real_root_speed']:7.2f}"
              f"{v['foot_lift']:7.2f}{v['real_foot_lift']:7.2f}{v['turn_deg']:6.0f}{v['real_turn_deg']:7.0f}"
              f"  {', '.join(v['read_as'])}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", type=Path, default=None)
    p.add_argument("--evaluator", type=Path, default=DEFAULT_OUT)
    p.add_argument("--limit", type=int, default=0, help="use a fixed random subset of N test takes")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=None, help="override the model's sampling steps")
    p.add_argument("--solver", choices=SOLVERS, default=None, help="override the model's sampler")
    p.add_argument("--text-guidance", type=float, default=None)
    p.add_argument("--style-guidance", type=float, default=None)
    p.add_argument("--unguided-below", type=int, default=None,
                   help="override the model's unguided tail: timesteps below this run without guidance")
    p.add_argument("--reference-strength", type=float, default=None,
                   help="override the model's reference strength (1: sample from noise; references.py)")
    p.add_argument("--action-seeds", type=int, default=6,
                   help="clips per action in the every-action pass (0: skip it)")
    p.add_argument("--actions-only", action="store_true", help="only the every-action pass")
    p.add_argument("--out", type=Path, default=cache_dir() / "bench" / "motion_quality.json")
    args = p.parse_args()

    ds = pipeline.load_or_build()
    ev = load_evaluator(args.evaluator)
    model = MotionModel.load(args.weights)
    encoder = TextEncoder.load(args.weights)
    if args.unguided_below is not None:
        model.defaults["unguided_below"] = args.unguided_below
    if args.reference_strength is not None:
        model.defaults["reference_strength"] = args.reference_strength
    if args.solver is not None:
        model.defaults["solver"] = args.solver
    if args.solver == "distilled" and args.steps is not None:  # the student's steps, not the teacher's
        model.distilled["steps"], args.steps = args.steps, None
    for key in ("text_guidance", "style_guidance", "steps"):  # the every-action pass reads the defaults
        if getattr(args, key) is not None:
            model.defaults[key] = getattr(args, key)
    if args.actions_only:
        result = {"every_action": every_action(model, encoder, ev, ds, max(1, args.action_seeds), args.seed)}
        print_every_action(result["every_action"])
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
        return 0
    test = ds.indices("test")
    if args.limit:
        test = np.sort(np.random.default_rng(12345).choice(test, min(args.limit, len(test)), replace=False))
    rng = np.random.default_rng(args.seed)
    real = [ds.clip(i) for i in test]
    contents, styles = ds.contents[test], ds.styles[test]

    def generate_set(prompt_table) -> tuple[list[np.ndarray], float]:
        out, t0 = [], time.perf_counter()
        for k, i in enumerate(test):
            prompts = prompt_table[ds.contents[i]]
            prompt = prompts[rng.integers(len(prompts))]
            seconds = max(MIN_SECONDS, len(ds.clip(i)) / ds.fps)
            req = GenerationRequest(prompt, seconds, {ds.styles[i]: 1.0}, seed=args.seed + k,
                                    steps=args.steps, text_guidance=args.text_guidance,
                                    style_guidance=args.style_guidance)
            out.append(model.generate(req, encoder)[0].features.astype(np.float32))
        return out, (time.perf_counter() - t0) / len(test)

    gen, per_clip = generate_set(PROMPTS)
    held, _ = generate_set(HELD_OUT_PROMPTS)
    recon = [autoencoded(model, c) for c in real]

    real_rec, real_emb = recognition(ev, real, contents, styles)
    gen_rec, gen_emb = recognition(ev, gen, contents, styles)
    held_rec, held_emb = recognition(ev, held, contents, styles)
    recon_rec, recon_emb = recognition(ev, recon, contents, styles)
    half = len(test) // 2
    order = np.random.default_rng(args.seed).permutation(len(test))
    rr_fid = frechet_distance(real_emb[order[:half]], real_emb[order[half:2 * half]])
    result = {
        "test_takes": int(len(test)),
        "real": {**real_rec, "diversity": diversity(real_emb), **motion_stats(real, ds.fps),
                 "fid_real_vs_real_halves": rr_fid},
        "generated": {**gen_rec, "fid": frechet_distance(gen_emb, real_emb),
                      "fid_half_vs_real_half": frechet_distance(gen_emb[order[:half]], real_emb[order[half:2 * half]]),
                      "diversity": diversity(gen_emb), **motion_stats(gen, ds.fps, foot_lock=True),
                      **{f"{k}_raw": v for k, v in motion_stats(gen, ds.fps).items()},
                      "seconds_per_clip": per_clip},
        "held_out_prompts": {**held_rec, "fid": frechet_distance(held_emb, real_emb)},
        "real_through_autoencoder": {**recon_rec, "fid": frechet_distance(recon_emb, real_emb),
                                     **motion_stats(recon, ds.fps)},
        "settings": {"steps": model.sampling_steps(args.steps, model.sampling_solver(None)),
                     "text_guidance": (model.defaults["text_guidance"] if args.text_guidance is None
                                       else args.text_guidance),
                     "style_guidance": (model.defaults["style_guidance"] if args.style_guidance is None
                                        else args.style_guidance),
                     "unguided_below": int(model.defaults.get("unguided_below", 0)),
                     "reference_strength": model.reference_strength(), "seed": args.seed,
                     "solver": model.sampling_solver(None)},
    }
    per_content, per_style = {}, {}
    pc, ps = ev.predict(embeddings=gen_emb)
    _, real_ps = ev.predict(embeddings=real_emb)
    for c in sorted(set(contents)):
        sel = contents == c
        per_content[c] = {"takes": int(sel.sum()), "content_acc": float(np.mean(pc[sel] == c))}
    for s in sorted(set(styles)):  # which styles the model does not render (the weakest figure)
        sel = styles == s
        read_as = [str(x) for x in ps[sel] if x != s]
        per_style[s] = {"takes": int(sel.sum()), "style_acc": float(np.mean(ps[sel] == s)),
                        "real_style_acc": float(np.mean(real_ps[sel] == s)),
                        "read_as": max(set(read_as), key=read_as.count) if read_as else None}
    result["generated"]["per_content"] = per_content
    result["generated"]["per_style"] = per_style

    r, g, h = result["real"], result["generated"], result["held_out_prompts"]
    a = result["real_through_autoencoder"]
    print(f"motion quality on {len(test)} held-out test takes (evaluator trained on real motion), "
          f"settings {result['settings']}")
    print(f"{'':28}{'real test':>12}{'generated':>12}{'held-out prompts':>18}{'real via AE':>13}")
    print(f"{'content accuracy':28}{r['content_acc']:12.3f}{g['content_acc']:12.3f}{h['content_acc']:18.3f}"
          f"{a['content_acc']:13.3f}")
    print(f"{'style accuracy':28}{r['style_acc']:12.3f}{g['style_acc']:12.3f}{h['style_acc']:18.3f}"
          f"{a['style_acc']:13.3f}")
    print(f"{'FID vs real test':28}{'':>12}{g['fid']:12.3f}{h['fid']:18.3f}{a['fid']:13.3f}")
    print(f"{'FID half vs half':28}{rr_fid:12.3f}{g['fid_half_vs_real_half']:12.3f}")
    print(f"{'diversity':28}{r['diversity']:12.3f}{g['diversity']:12.3f}")
    print(f"{'foot skating ratio':28}{r['foot_skating']:12.3f}{g['foot_skating']:12.3f}"
          f"   (raw model feet: {g['foot_skating_raw']:.3f}; real via AE {a['foot_skating']:.3f})")
    print(f"{'jitter (m/s^3)':28}{r['jitter']:12.1f}{g['jitter']:12.1f}   (raw: {g['jitter_raw']:.1f}; "
          f"real via AE {a['jitter']:.1f})")
    print(f"style accuracy generated / real: {g['style_acc'] / max(r['style_acc'], 1e-9):.3f} "
          f"(target >= 0.95); FID ratio (half vs half): {g['fid_half_vs_real_half'] / max(rr_fid, 1e-9):.2f} "
          f"(target <= 2)")
    print("per content (generated):", ", ".join(f"{c} {v['content_acc']:.2f}" for c, v in per_content.items()))
    print("per style (generated / real; most often read as):", ", ".join(
        f"{s} {v['style_acc']:.2f}/{v['real_style_acc']:.2f}" + (f" ({v['read_as']})" if v["read_as"] else "")
        for s, v in per_style.items()))
    print(f"generation: {per_clip * 1000:.0f} ms per clip")
    if args.action_seeds:
        result["every_action"] = every_action(model, encoder, ev, ds, args.action_seeds, args.seed)
        print_every_action(result["every_action"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
