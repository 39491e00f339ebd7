"""The motion evaluator: a motion encoder trained on real motion only, for measured quality.

It gives generated motion the numbers of issue 4 §4: a 256-d embedding per clip (the
feature space of FID and diversity, see ``bench/metrics.py``) and two classifiers
(content, 24 labels; style, 16 labels) whose accuracy on generated clips says whether
the prompt and the style came through. Run it as a script to train it:

    .venv/bin/python training/evaluator.py [--epochs N] [--seed S] [--out PATH]

Input: the features of ``motion/representation.py`` without the contacts, i.e. the root
channels (heading rate, planar velocity, pelvis height), the 6D rotations and the joint
positions (202 values per frame), normalised with the mean/std of the train split
(stored in the checkpoint). Contacts are left out: they are thresholded from the
positions and a generator's would only add noise.

Lengths: the network sees windows of at most ``window`` = 128 frames (4.3 s at 30 fps).
Training draws random crops: half of them a full window (or the whole clip if shorter),
half a random length from ``min_frames`` = 30 up to that. A clip to evaluate is used
whole when it fits a window; a longer one is cut into ceil(T / 128) evenly spaced,
overlapping windows whose embeddings are averaged (the heads are linear, so the class
scores are the mean of the windows' too). Clips shorter than 30 frames are accepted
(the data has takes of 19 frames) but the evaluator saw few of them.

Architecture: a 1D temporal conv stack (stride-2 input conv, residual blocks with a
per-frame LayerNorm, a second stride-2 conv: 1/4 time resolution), masked mean and
attention pooling, a linear layer to the 256-d embedding and two linear heads. Padded
frames are zeroed before every convolution, so a clip's embedding does not depend on
what it was batched with.

Sampling: contents are very imbalanced (1 to 444 takes), so takes are drawn with
probability proportional to count(content)^-1/2, and both cross-entropies carry class
weights frequency^-1/2 under that sampler; the checkpoint with the best validation
mean of content and style accuracy is kept. The test split is reported at the end.
Deterministic for a given seed on CPU (one thread).
"""
from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__" and not __package__:  # run as a script: bootstrap the package
    import _bootstrap

    from cadence.training.evaluator import main as _main

    sys.exit(_main())

import argparse
import copy
import math
import time
from dataclasses import asdict, dataclass, fields

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..motion.representation import CONTACTS, FEATURE_DIM, REPRESENTATION_VERSION

FORMAT = "cadence-evaluator-v1"
INPUT_DIM = CONTACTS.start  # root 4 + rotations 132 + positions 66 = 202
# Committed (weights in float16, ~4 MB), so the quality benches run on a fresh checkout
# without 12-15 minutes of training first; training again overwrites it.
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "bench" / "evaluator.pt"


@dataclass
class EvaluatorConfig:
    window: int = 128
    min_frames: int = 30
    hidden: int = 256
    embed_dim: int = 256
    dropout: float = 0.1
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4
    label_smoothing: float = 0.05
    balance_power: float = 0.5


# --- the network ------------------------------------------------------------------------

def _down_lengths(lengths: torch.Tensor) -> torch.Tensor:
    return (lengths + 1) // 2  # kernel 5, stride 2, padding 2: ceil(L / 2)


def _mask(lengths: torch.Tensor, size: int) -> torch.Tensor:
    return (torch.arange(size, device=lengths.device)[None] < lengths[:, None]).unsqueeze(1)


class _FrameNorm(nn.Module):
    """LayerNorm over channels, per frame, for (B, C, T) tensors."""

    def __init__(self, channels: int):
        super().__init__()
        self.norm = nn.LayerNorm(channels)

    def forward(self, x):
        return self.norm(x.transpose(1, 2)).transpose(1, 2)


class _ResBlock(nn.Module):
    def __init__(self, channels: int, kernel: int, dilation: int, dropout: float):
        super().__init__()
        self.norm1, self.norm2 = _FrameNorm(channels), _FrameNorm(channels)
        pad = dilation * (kernel - 1) // 2
        self.conv1 = nn.Conv1d(channels, channels, kernel, padding=pad, dilation=dilation)
        self.conv2 = nn.Conv1d(channels, channels, 1)
        self.drop = nn.Dropout(dropout)

    def forward(self, x, mask):
        h = self.conv1(F.gelu(self.norm1(x)) * mask)
        h = self.conv2(self.drop(F.gelu(self.norm2(h))))
        return (x + h) * mask


class MotionEncoder(nn.Module):
    """(B, T, INPUT_DIM) normalised features + lengths -> embeddings and class logits."""

    def __init__(self, cfg: EvaluatorConfig, num_contents: int, num_styles: int):
        super().__init__()
        c = cfg.hidden
        self.inp = nn.Conv1d(INPUT_DIM, c, 5, stride=2, padding=2)
        self.blocks1 = nn.ModuleList([_ResBlock(c, 5, 1, cfg.dropout)])
        self.norm_down = _FrameNorm(c)
        self.down = nn.Conv1d(c, c, 5, stride=2, padding=2)
        self.blocks2 = nn.ModuleList([_ResBlock(c, 3, 1, cfg.dropout),
                                      _ResBlock(c, 3, 2, cfg.dropout),
                                      _ResBlock(c, 3, 4, cfg.dropout)])
        self.norm_out = _FrameNorm(c)
        self.score = nn.Conv1d(c, 1, 1)
        self.project = nn.Sequential(nn.LayerNorm(2 * c), nn.Linear(2 * c, cfg.embed_dim))
        self.drop = nn.Dropout(cfg.dropout)
        self.content_head = nn.Linear(cfg.embed_dim, num_contents)
        self.style_head = nn.Linear(cfg.embed_dim, num_styles)

    def embed(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        x = x.transpose(1, 2) * _mask(lengths, x.shape[1])
        lengths = _down_lengths(lengths)
        h = self.inp(x)
        mask = _mask(lengths, h.shape[-1])
        h = h * mask
        for block in self.blocks1:
            h = block(h, mask)
        h = self.down(F.gelu(self.norm_down(h)) * mask)
        lengths = _down_lengths(lengths)
        mask = _mask(lengths, h.shape[-1])
        h = h * mask
        for block in self.blocks2:
            h = block(h, mask)
        h = F.gelu(self.norm_out(h))
        valid = mask.to(h.dtype)
        mean = (h * valid).sum(-1) / valid.sum(-1).clamp(min=1.0)
        score = self.score(h).masked_fill(~mask, float("-inf"))
        attn = (h * torch.softmax(score, dim=-1)).sum(-1)
        return self.project(torch.cat([mean, attn], dim=1))

    def heads(self, emb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        emb = self.drop(emb)
        return self.content_head(emb), self.style_head(emb)


# --- windows, batching -----------------------------------------------------------------

def clip_windows(length: int, window: int) -> list[tuple[int, int]]:
    """(start, stop) of the windows a clip of ``length`` frames is evaluated on."""
    if length <= window:
        return [(0, length)]
    n = math.ceil(length / window)
    starts = np.round(np.linspace(0, length - window, n)).astype(int)
    return [(int(s), int(s) + window) for s in starts]


def _pad_batch(windows: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    lengths = torch.tensor([len(w) for w in windows], dtype=torch.long)
    out = np.zeros((len(windows), int(lengths.max()), INPUT_DIM), dtype=np.float32)
    for i, w in enumerate(windows):
        out[i, :len(w)] = w
    return torch.from_numpy(out), lengths


class Evaluator:
    """A trained evaluator: ``embed`` and ``predict`` on lists of (T, 206) float32 clips."""

    def __init__(self, model: MotionEncoder, config: EvaluatorConfig, contents: list[str],
                 styles: list[str], mean: np.ndarray, std: np.ndarray, metrics: dict | None = None):
        self.model = model.eval()
        self.config = config
        self.contents = list(contents)
        self.styles = list(styles)
        self.mean = np.asarray(mean, dtype=np.float32)
        self.std = np.asarray(std, dtype=np.float32)
        self.metrics = dict(metrics or {})

    @property
    def embed_dim(self) -> int:
        return self.config.embed_dim

    def normalize(self, clip: np.ndarray) -> np.ndarray:
        clip = np.asarray(clip, dtype=np.float32)
        if clip.ndim != 2 or clip.shape[1] != FEATURE_DIM:
            raise ValueError(f"a clip must be (frames, {FEATURE_DIM}), got {clip.shape}")
        if len(clip) < 1:
            raise ValueError("empty clip")
        return (clip[:, :INPUT_DIM] - self.mean) / self.std

    @torch.no_grad()
    def embed(self, clips: list[np.ndarray], batch_size: int = 256) -> np.ndarray:
        """(N, embed_dim) float32 embeddings, one per clip (mean over its windows)."""
        if len(clips) == 0:
            return np.zeros((0, self.embed_dim), dtype=np.float32)
        windows, owner = [], []
        for i, clip in enumerate(clips):
            x = self.normalize(clip)
            for a, b in clip_windows(len(x), self.config.window):
                windows.append(x[a:b])
                owner.append(i)
        order = np.argsort([len(w) for w in windows], kind="stable")
        emb = np.zeros((len(windows), self.embed_dim), dtype=np.float64)
        self.model.eval()
        for s in range(0, len(order), batch_size):
            idx = order[s:s + batch_size]
            x, lengths = _pad_batch([windows[i] for i in idx])
            emb[idx] = self.model.embed(x, lengths).double().numpy()
        owner = np.asarray(owner)
        out = np.zeros((len(clips), self.embed_dim), dtype=np.float64)
        np.add.at(out, owner, emb)
        out /= np.bincount(owner, minlength=len(clips))[:, None]
        return out.astype(np.float32)

    @torch.no_grad()
    def logits(self, clips: list[np.ndarray] | None = None,
               embeddings: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Content (N, 24) and style (N, 16) logits, from clips or from their embeddings."""
        emb = self.embed(clips) if embeddings is None else embeddings
        e = torch.as_tensor(np.asarray(emb, dtype=np.float32))
        self.model.eval()
        c, s = self.model.heads(e)
        return c.numpy(), s.numpy()

    def predict(self, clips: list[np.ndarray] | None = None,
                embeddings: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Predicted (content labels, style labels) as arrays of str, one per clip."""
        c, s = self.logits(clips, embeddings)
        return (np.array(self.contents, dtype=object)[c.argmax(1)].astype(str),
                np.array(self.styles, dtype=object)[s.argmax(1)].astype(str))

    def save(self, path: str | Path, half: bool = False) -> None:
        """``half``: weights in float16 (half the size; embeddings within ~1e-3), as the
        committed bench/evaluator.pt is stored."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".part")
        torch.save({
            "format": FORMAT,
            "representation": REPRESENTATION_VERSION,
            "input_dim": INPUT_DIM,
            "config": asdict(self.config),
            "contents": self.contents,
            "styles": self.styles,
            "mean": torch.from_numpy(self.mean.copy()),
            "std": torch.from_numpy(self.std.copy()),
            "state_dict": {k: v.half() if half and v.is_floating_point() else v
                           for k, v in self.model.state_dict().items()},
            "metrics": self.metrics,
        }, tmp)
        tmp.replace(path)


def load_evaluator(path: str | Path = DEFAULT_OUT) -> Evaluator:
    """Load a checkpoint written by ``Evaluator.save`` (CPU, eval mode)."""
    ckpt = torch.load(Path(path), map_location="cpu", weights_only=True)
    if ckpt.get("format") != FORMAT:
        raise ValueError(f"{path}: not a {FORMAT} checkpoint")
    if ckpt["representation"] != REPRESENTATION_VERSION:
        raise ValueError(f"{path}: representation {ckpt['representation']!r}, this Cadence "
                         f"reads {REPRESENTATION_VERSION!r}")
    known = {f.name for f in fields(EvaluatorConfig)}
    cfg = EvaluatorConfig(**{k: v for k, v in ckpt["config"].items() if k in known})
    model = MotionEncoder(cfg, len(ckpt["contents"]), len(ckpt["styles"]))
    model.load_state_dict(ckpt["state_dict"])
    return Evaluator(model, cfg, ckpt["contents"], ckpt["styles"], ckpt["mean"].numpy(),
                     ckpt["std"].numpy(), ckpt.get("metrics"))


# --- training --------------------------------------------------------------------------

def _class_weights(labels: np.ndarray, probs: np.ndarray, n: int, power: float) -> np.ndarray:
    freq = np.bincount(labels, weights=probs, minlength=n)
    w = np.where(freq > 0, np.maximum(freq, 1e-12) ** -power, 0.0)
    return w / (w[labels] * probs).sum()  # mean weight 1 under the sampler


def _sample_crop(rng: np.random.Generator, clip: np.ndarray, cfg: EvaluatorConfig) -> np.ndarray:
    t = len(clip)
    longest = min(t, cfg.window)
    if rng.random() < 0.5:
        n = longest
    else:
        n = int(rng.integers(min(longest, cfg.min_frames), longest + 1))
    start = int(rng.integers(0, t - n + 1))
    return clip[start:start + n]


def accuracy_report(ev: Evaluator, clips: list[np.ndarray], contents: np.ndarray,
                    styles: np.ndarray, sets: np.ndarray | None = None) -> dict:
    """Content/style accuracy (and balanced content accuracy, per-set accuracies)."""
    pc, ps = ev.predict(clips)
    contents, styles = np.asarray(contents).astype(str), np.asarray(styles).astype(str)
    ok_c, ok_s = pc == contents, ps == styles
    per_class = [ok_c[contents == c].mean() for c in sorted(set(contents))]
    out = {"clips": len(clips), "content_acc": float(ok_c.mean()),
           "style_acc": float(ok_s.mean()), "content_balanced_acc": float(np.mean(per_class))}
    if sets is not None:
        sets = np.asarray(sets).astype(str)
        out["per_set"] = {str(s): {"clips": int((sets == s).sum()),
                                   "content_acc": float(ok_c[sets == s].mean()),
                                   "style_acc": float(ok_s[sets == s].mean())}
                          for s in sorted(set(sets))}
    return out


def train_evaluator(clips: list[np.ndarray], contents: np.ndarray, styles: np.ndarray,
                    val: tuple[list[np.ndarray], np.ndarray, np.ndarray] | None = None,
                    config: EvaluatorConfig | None = None, steps: int = 1000,
                    eval_every: int = 50, seed: int = 0, content_vocab: list[str] | None = None,
                    style_vocab: list[str] | None = None, log=print) -> tuple[Evaluator, list]:
    """Train on ``clips`` (list of (T, 206)) with their labels; select on ``val``.

    Returns the evaluator (the best validation checkpoint when ``val`` is given, else
    the last) and the history [(step, train loss, val metrics or None)].
    """
    cfg = config or EvaluatorConfig()
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    contents, styles = np.asarray(contents).astype(str), np.asarray(styles).astype(str)
    cvocab = list(content_vocab or sorted(set(contents.tolist())))
    svocab = list(style_vocab or sorted(set(styles.tolist())))
    cy = np.array([cvocab.index(c) for c in contents])
    sy = np.array([svocab.index(s) for s in styles])

    data = np.concatenate(clips, axis=0)[:, :INPUT_DIM].astype(np.float64)
    mean, std = data.mean(0), np.maximum(data.std(0), 1e-3)
    del data
    model = MotionEncoder(cfg, len(cvocab), len(svocab))
    ev = Evaluator(model, cfg, cvocab, svocab, mean, std)
    normed = [ev.normalize(c) for c in clips]

    counts = np.bincount(cy, minlength=len(cvocab)).astype(np.float64)
    probs = counts[cy] ** -cfg.balance_power
    probs /= probs.sum()
    wc = torch.tensor(_class_weights(cy, probs, len(cvocab), cfg.balance_power), dtype=torch.float32)
    ws = torch.tensor(_class_weights(sy, probs, len(svocab), cfg.balance_power), dtype=torch.float32)

    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    warmup = max(1, min(100, steps // 10))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))
    history, best, best_score, running, t0 = [], None, -1.0, [], time.time()
    for step in range(1, steps + 1):
        model.train()
        idx = rng.choice(len(normed), cfg.batch_size, p=probs)
        x, lengths = _pad_batch([_sample_crop(rng, normed[i], cfg) for i in idx])
        lc, ls = model.heads(model.embed(x, lengths))
        loss = (F.cross_entropy(lc, torch.from_numpy(cy[idx]), weight=wc,
                                label_smoothing=cfg.label_smoothing)
                + F.cross_entropy(ls, torch.from_numpy(sy[idx]), weight=ws,
                                  label_smoothing=cfg.label_smoothing))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        running.append(loss.item())
        if step % eval_every == 0 or step == steps:
            entry = None
            if val is not None:
                entry = accuracy_report(ev, *val)
                score = (entry["content_acc"] + entry["style_acc"]) / 2
                if score > best_score:
                    best_score, best = score, copy.deepcopy(model.state_dict())
                    entry["best"] = True
            history.append((step, float(np.mean(running)), entry))
            msg = f"step {step}/{steps}  loss {np.mean(running):.3f}  {time.time() - t0:.0f} s"
            if entry:
                msg += (f"  val content {entry['content_acc']:.3f} style {entry['style_acc']:.3f}"
                        + ("  *" if entry.get("best") else ""))
            log(msg)
            running = []
    if best is not None:
        model.load_state_dict(best)
    model.eval()
    return ev, history


def steps_per_epoch(lengths: np.ndarray, cfg: EvaluatorConfig) -> int:
    """An epoch draws about as many frames as the train split holds."""
    mean_crop = np.minimum(lengths, cfg.window).mean() * 0.75
    return max(1, int(round(lengths.sum() / (mean_crop * cfg.batch_size))))


def main(argv: list[str] | None = None) -> int:
    from ..bench.metrics import diversity, frechet_distance, real_vs_real_fid
    from ..dataset import pipeline

    p = argparse.ArgumentParser(description="Train the motion evaluator (FID feature space, "
                                            "content/style classifiers) on real motion.")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)

    t0 = time.time()
    ds = pipeline.load_or_build(progress=True)
    lengths = ds.lengths()
    tr, va, te = ds.indices("train"), ds.indices("val"), ds.indices("test")
    cvocab = sorted(set(ds.contents.astype(str).tolist()))
    svocab = sorted(set(ds.styles.astype(str).tolist()))

    def part(idx):
        return [ds.clip(i) for i in idx], ds.contents[idx], ds.styles[idx]

    cfg = EvaluatorConfig()
    per_epoch = steps_per_epoch(lengths[tr], cfg)
    steps = per_epoch * args.epochs
    print(f"evaluator: {len(tr)} train / {len(va)} val / {len(te)} test takes, "
          f"{args.epochs} epochs x {per_epoch} steps of {cfg.batch_size} crops", flush=True)
    ev, history = train_evaluator(*part(tr), val=part(va), config=cfg, steps=steps,
                                  eval_every=per_epoch, seed=args.seed, content_vocab=cvocab,
                                  style_vocab=svocab, log=lambda m: print(m, flush=True))
    train_s = time.time() - t0

    test_clips, test_c, test_s = part(te)
    report = accuracy_report(ev, test_clips, test_c, test_s, ds.sets[te])
    emb = ev.embed(test_clips)
    fids = [real_vs_real_fid(ev, test_clips, seed=s) for s in range(5)]
    train_emb = ev.embed([ds.clip(i) for i in tr])
    metrics = {
        "test": report,
        "val_best": max((h[2] for h in history if h[2]), default=None,
                        key=lambda e: (e["content_acc"] + e["style_acc"]) / 2),
        "real_vs_real_fid_test_halves": {"mean": float(np.mean(fids)), "std": float(np.std(fids)),
                                         "seeds": list(range(5)), "values": fids,
                                         "clips_per_half": len(te) // 2},
        "fid_train_vs_test": frechet_distance(train_emb, emb),
        "diversity_test": diversity(emb, pairs=300, seed=0),
        "train_seconds": train_s, "steps": steps, "seed": args.seed, "epochs": args.epochs,
        "dataset_cache": pipeline.cache_path().name,
    }
    ev.metrics = metrics
    ev.save(args.out, half=True)
    print(f"test: content acc {report['content_acc']:.3f} (balanced "
          f"{report['content_balanced_acc']:.3f}), style acc {report['style_acc']:.3f}")
    for s, r in report["per_set"].items():
        print(f"  set {s}: {r['clips']} clips, content acc {r['content_acc']:.3f}, "
              f"style acc {r['style_acc']:.3f}")
    print(f"real-vs-real FID (test halves of {len(te) // 2}, 5 seeds): "
          f"{np.mean(fids):.3f} +- {np.std(fids):.3f}; train-vs-test FID "
          f"{metrics['fid_train_vs_test']:.3f}; test diversity {metrics['diversity_test']:.3f}")
    print(f"saved {args.out} ({train_s:.0f} s)")
    return 0
