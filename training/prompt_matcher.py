"""Train the prompt matcher: paraphrase embeddings + side cues -> the action labels.

A multinomial logistic regression (one linear layer, L2 on the weights) on the sentence
embeddings of every paraphrase in ``training/prompts.PROMPTS``, full batch, deterministic.
The paraphrases never seen in training (``HELD_OUT_PROMPTS``) measure it. It takes
seconds, so ``train.py motion`` fits it before the denoiser and ``train.py export``
ships it inside ``motion_diffusion_stats.json`` (inference/text/prompt_matcher.py reads it).
"""
from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from ..inference.text.cues import with_cues
from ..inference.text.prompt_matcher import PromptMatcher
from .prompts import HELD_OUT_PROMPTS, PROMPTS

WEIGHT_DECAY = 1e-4
EPOCHS = 600


def _table(table: dict[str, tuple[str, ...]], labels: list[str], encode) -> tuple[np.ndarray, np.ndarray]:
    x, y = [], []
    for i, label in enumerate(labels):
        texts = list(table[label])
        x.append(with_cues(encode(texts), texts))
        y += [i] * len(texts)
    return np.concatenate(x).astype(np.float32), np.array(y)


def fit_matcher(x: np.ndarray, y: np.ndarray, labels: list[str], weight_decay: float = WEIGHT_DECAY,
                epochs: int = EPOCHS, seed: int = 0) -> PromptMatcher:
    """Logistic regression of labels ``y`` on inputs ``x`` (full batch Adam)."""
    gen = torch.Generator().manual_seed(seed)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    w = (torch.randn(len(labels), x.shape[1], generator=gen) * 0.01).requires_grad_()
    b = torch.zeros(len(labels), requires_grad=True)
    opt = torch.optim.Adam([w, b], lr=1e-2)
    for _ in range(epochs):
        loss = F.cross_entropy(xt @ w.T + b, yt) + weight_decay * (w ** 2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return PromptMatcher(tuple(labels), w.detach().numpy().copy(), b.detach().numpy().copy())


def accuracy(matcher: PromptMatcher, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.argmax(matcher.probabilities(x), axis=1) == y))


def train_matcher(labels: list[str], encode) -> tuple[PromptMatcher, dict]:
    """The matcher for ``labels`` (the model's content vocabulary) and its accuracies on
    the training and the held-out paraphrases. ``encode(texts) -> (N, 384)``."""
    missing = sorted(set(labels) - set(PROMPTS))
    if missing:
        raise ValueError(f"no paraphrases for action labels {missing} (training/prompts.py)")
    x, y = _table(PROMPTS, labels, encode)
    matcher = fit_matcher(x, y, labels)
    xh, yh = _table(HELD_OUT_PROMPTS, labels, encode)
    return matcher, {"train_accuracy": accuracy(matcher, x, y), "held_out_accuracy": accuracy(matcher, xh, yh),
                     "train_paraphrases": int(len(y)), "held_out_paraphrases": int(len(yh))}
