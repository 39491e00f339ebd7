"""Text + style to motion: the shipped denoiser, its metadata, and guided sampling.

``MotionModel.load()`` checks the files against weights/manifest.json, reads the
vocabulary (styles, known actions) and the prompt matcher from the model's files, and
opens the ONNX session lazily. ``generate()`` turns a prompt, slider settings and a
duration into a canonical-skeleton Motion: the prompt is encoded (text_encoder.py),
matched onto the known actions (prompt_matcher.py), and the denoiser is conditioned on
the best match.

Guidance follows classifier-free guidance with separate text (action) and style scales:
x0 = x0(-,-) + g_text * (x0(text,-) - x0(-,-)) + g_style * (x0(text,style) - x0(text,-)),
the predictions computed in one batched call; only those with a non-zero weight run
(inference/motion/cfg.py), and the nearly clean last steps may run unguided.

Weights may also carry a distilled student (``motion_fast.onnx``, the ``fast`` entry of
the metadata; training/distill_motion.py): the same network trained to give the guided
10-step result in 2 steps of one row, at the guidance it was distilled with. It runs
when the request's solver is "distilled" (``cadence generate --fast``, Blender's Fast
Preview) or when the model names it as its default solver; what it makes is decoded by
the fast decoder when the entry has one (``fast.decoder``, training/distill_decoder.py).
"""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...errors import CadenceError
from ...motion.foot_lock import decode_generated
from ...motion.kinematics import Motion
from ...motion.representation import REPRESENTATION_VERSION, Normalizer
from ..runtime.model_cache import ModelCache
from ..runtime.onnx_session import create_session
from ..runtime.weights import DEFAULT_WEIGHTS_DIR, WeightsError, verify
from ..text.cues import with_cues
from ..text.encoder import TextEncoder
from ..text.prompt_matcher import WEAK_MATCH, PromptMatcher
from . import standing
from .cfg import CFG, KEEP
from .diffusion import MAX_DISTILLED_STEPS, SOLVERS, cosine_alphas_cumprod, sampler_timesteps
from .references import REFERENCES_FILE, ReferenceBank, noised
from .sampler import sample

MODEL_NAME = "motion_diffusion"
MAX_GUIDANCE = 10.0   # beyond this guidance only breaks the motion (docs: style accuracy falls from 4)
MAX_STEPS = 100
MAX_VARIATIONS = 32   # sampled in one batch: memory grows with it
_MODELS: ModelCache[tuple, MotionModel] = ModelCache()


class GenerationError(CadenceError, ValueError):
    """A request the model cannot honour; the message says what to change."""


@dataclass
class GenerationRequest:
    prompt: str
    seconds: float = 4.0
    styles: Mapping[str, float] = field(default_factory=dict)  # slider name -> 0..1
    seed: int = 0
    steps: int | None = None
    text_guidance: float | None = None
    style_guidance: float | None = None
    foot_lock: bool = True  # pin planted feet, lift shuffled steps (motion/foot_lock.py)
    reference_strength: float | None = None  # 1: from noise; below: from a noised real take (references.py)
    solver: str | None = None  # "ddim", "dpm++2m" or "distilled" (diffusion.py); None: the model's default


@dataclass
class PromptReading:
    """How prompts were read: the denoiser's action input and the matcher's view."""

    content: np.ndarray        # (N, C) one-hot of the best-matching action: the model's input
    probabilities: np.ndarray  # (N, C) probability of every known action
    truncated: np.ndarray      # (N,) the prompt was longer than the encoder reads
    stand: np.ndarray | None = None   # (N,) score of a prompt read as a standing idle, else 0

    def stand_score(self, i: int) -> float:
        return float(self.stand[i]) if self.stand is not None else 0.0


@dataclass
class GenerationResult:
    motion: Motion
    features: np.ndarray          # (frames, F), denormalised
    matches: list[tuple[str, float]]  # known actions nearest the prompt, best first
    truncated: bool               # the prompt was longer than the encoder reads
    seconds_taken: float
    device: str


def parse_styles(text: str) -> dict[str, float]:
    """"happy=0.7,old=0.3" -> {"happy": 0.7, "old": 0.3} (names checked later)."""
    out: dict[str, float] = {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        name, sep, value = item.partition("=")
        if name.strip() in out:
            raise GenerationError(f"style {name.strip()!r} is given twice: give each slider once")
        try:
            out[name.strip()] = float(value) if sep else 1.0
        except ValueError:
            raise GenerationError(f"style {item!r}: expected NAME=WEIGHT, e.g. happy=0.7") from None
    return out


NETWORKS = {"denoiser": f"{MODEL_NAME}.onnx", "decoder": "motion_decoder.onnx", "encoder": "motion_encoder.onnx"}
STUDENT = "student"  # the distilled network; its file is named by the metadata's "fast" entry
FAST_DECODER = "fast decoder"  # the fast previews' lighter decoder: the "fast" entry's "decoder"


class MotionModel:
    """The shipped motion model: a denoiser over latent tokens (one per
    ``frames_per_token`` frames), the autoencoder's decoder and encoder, the feature
    normalisation, the latent scaling and the prompt matcher."""

    def __init__(self, weights_dir: Path, meta: dict, normalizer: Normalizer,
                 matcher: PromptMatcher, latent_mean: np.ndarray, latent_std: np.ndarray,
                 threads: int | None = None, providers: list[str] | None = None,
                 references: ReferenceBank | None = None):
        self.weights_dir = weights_dir
        self.meta = meta
        self.normalizer = normalizer
        self.matcher = matcher
        self.latent_mean = np.asarray(latent_mean, np.float32)
        self.latent_std = np.asarray(latent_std, np.float32)
        self.latent_dim = int(meta["latent"])
        self.frames_per_token = int(meta["frames_per_token"])
        self.styles: list[str] = list(meta["styles"])
        self.labels: list[str] = list(meta["contents"])
        if list(matcher.labels) != self.labels:
            raise WeightsError("the prompt matcher's actions differ from the model's: "
                               "re-export the weights (training/train.py export)")
        self.fps = float(meta["fps"])
        self.defaults = dict(meta["defaults"])
        self.references = references
        self._threads, self._providers = threads, providers
        self._sessions: dict[str, object] = {}
        self._lock = threading.Lock()

    @classmethod
    def load(cls, weights_dir: str | Path | None = None, threads: int | None = None,
             providers: list[str] | None = None) -> MotionModel:
        """The model in ``weights_dir`` (default: weights/), verified and cached."""
        wd = Path(weights_dir) if weights_dir else DEFAULT_WEIGHTS_DIR
        key = (str(wd.resolve()), threads, tuple(providers or ()))
        return _MODELS.get(key, lambda: cls._read(wd, threads, providers))

    @classmethod
    def _read(cls, wd: Path, threads: int | None, providers: list[str] | None) -> MotionModel:
        """Verify and read the model's files in ``wd`` (the cache calls this once per key)."""
        files = [wd / f"{MODEL_NAME}.json", wd / f"{MODEL_NAME}_stats.json"]
        for f in files + [wd / name for name in NETWORKS.values()]:
            verify(f)
        meta = json.loads(files[0].read_text(encoding="utf-8"))
        if "fast" in meta:
            verify(wd / str(meta["fast"]["file"]))
            if "decoder" in meta["fast"]:
                verify(wd / str(meta["fast"]["decoder"]["file"]))
        if meta.get("representation") != REPRESENTATION_VERSION:
            raise WeightsError(f"{files[0].name} uses representation {meta.get('representation')!r}, "
                               f"this Cadence reads {REPRESENTATION_VERSION!r}")
        if meta.get("diffusion", {}).get("space") != "latent":
            raise WeightsError(f"{files[0].name} is an older motion model (no latent space): "
                               "install the weights that came with this Cadence")
        st = json.loads(files[1].read_text(encoding="utf-8"))
        norm = Normalizer(np.array(st["mean"], np.float64), np.array(st["std"], np.float64),
                          str(st["version"]))
        try:
            matcher = PromptMatcher.from_dict(st["prompt_matcher"])
        except (KeyError, TypeError, ValueError) as exc:
            raise WeightsError(f"{files[1].name} has no usable prompt matcher ({exc}): "
                               "re-export the weights (training/train.py export)") from None
        references = None
        if (wd / REFERENCES_FILE).exists():
            verify(wd / REFERENCES_FILE)
            try:
                references = ReferenceBank.load(wd / REFERENCES_FILE)
            except (OSError, KeyError, ValueError) as exc:
                raise WeightsError(f"{REFERENCES_FILE} cannot be read ({exc}): "
                                   "re-export the weights (training/train.py export)") from None
            if references.latents.shape[1] != int(meta["latent"]):
                raise WeightsError(f"{REFERENCES_FILE} holds {references.latents.shape[1]}-d latents, the "
                                   f"model {meta['latent']}-d ones: re-export the weights")
        return cls(wd, meta, norm, matcher, np.array(st["latent_mean"]), np.array(st["latent_std"]),
                   threads, providers, references)

    def _file(self, name: str) -> str:
        """The ONNX file of a network: the fixed ones, or the fast sampler's as its
        metadata names them."""
        if name == STUDENT:
            return str(self.distilled["file"])
        if name == FAST_DECODER:
            return str(self.distilled["decoder"]["file"])
        return NETWORKS[name]

    def _network(self, name: str):
        with self._lock:
            if name not in self._sessions:
                self._sessions[name] = create_session(self.weights_dir / self._file(name),
                                                      intra_op_num_threads=self._threads,
                                                      providers=self._providers)
            return self._sessions[name]

    @property
    def session(self):
        """The denoiser's onnxruntime session (loaded on first use)."""
        return self._network("denoiser")

    def network_for(self, solver: str) -> object:
        """The session that samples with ``solver``: the distilled student or the denoiser."""
        return self._network(STUDENT) if solver == "distilled" else self.session

    def prepare(self, solver: str | None = None) -> None:
        """Open now the sessions sampling with ``solver`` uses (network, decoder,
        encoder), which otherwise open on first use: a caller that waits for something
        else (the gestures wait for the words) hides their ~0.15 s there."""
        fast = solver == "distilled" and self.has_fast_decoder
        self.network_for(solver or "ddim")
        self._network(FAST_DECODER if fast else "decoder")
        self._network("encoder")

    def tokens_for(self, frames: int) -> int:
        """Latent tokens that cover ``frames`` frames."""
        return -(-int(frames) // self.frames_per_token)

    def decode_latents(self, z: np.ndarray, solver: str | None = None) -> np.ndarray:
        """(B, N, Z) normalised latents -> (B, N x frames_per_token, F) normalised features.

        What the fast sampler ("distilled") made is decoded by the fast decoder when the
        weights have one (training/distill_decoder.py: a narrower full-rate stage, for
        previews); everything else by the autoencoder's own decoder."""
        z = np.asarray(z, np.float32) * self.latent_std + self.latent_mean
        fast = solver == "distilled" and self.has_fast_decoder
        return self._network(FAST_DECODER if fast else "decoder").run(None, {"z": z.astype(np.float32)})[0]

    def encode_features(self, x: np.ndarray) -> np.ndarray:
        """(B, T, F) normalised features (T a multiple of frames_per_token) -> (B, T / 4, Z)
        normalised latents."""
        z = self._network("encoder").run(None, {"x": np.asarray(x, np.float32)})[0]
        return ((z - self.latent_mean) / self.latent_std).astype(np.float32)

    @property
    def device(self) -> str:
        return "CUDA" if self.session.get_providers()[0].startswith("CUDA") else "CPU"

    @property
    def max_seconds(self) -> float:
        return float(self.defaults["max_seconds"])

    def style_vector(self, styles: Mapping[str, float]) -> np.ndarray:
        unknown = sorted(set(styles) - set(self.styles))
        if unknown:
            raise GenerationError(f"unknown style {', '.join(map(repr, unknown))}; "
                                  f"valid styles: {', '.join(self.styles)}")
        w = np.zeros(len(self.styles), np.float32)
        for name, value in styles.items():
            if not 0.0 <= value <= 1.0:
                raise GenerationError(f"style {name}={value:g}: weights go from 0 to 1")
            w[self.styles.index(name)] = value
        return w

    def encode_prompts(self, prompts: list[str], encoder: TextEncoder | None = None) -> PromptReading:
        """Read prompts: sentence embedding + side cues -> probabilities over the known
        actions -> the denoiser's action input (the best match)."""
        encoder = encoder or TextEncoder.load(self.weights_dir)
        emb, truncated = encoder.encode_with_info(prompts)
        probs = self.matcher.probabilities(with_cues(emb, list(prompts)))
        content = self.matcher.content_vector(probs)
        stand = standing.stand_scores(encoder, emb, list(self.meta.get("label_prompts", {}).values()),
                                      probs.max(axis=1), WEAK_MATCH)
        if stand.any():     # a standing idle: sampled as the calmest standing action, then settled
            content[stand > 0] = self.matcher.one_hot([standing.SAMPLED_AS])[0]
        return PromptReading(content, probs, np.asarray(truncated, bool), stand)

    def match(self, probabilities: np.ndarray, top: int = 3, stand: float = 0.0) -> list[tuple[str, float]]:
        """The known actions a prompt matched best, with probabilities, best first; a
        prompt read as a standing idle (``stand``: its score) first names ``stand``."""
        if stand > 0:
            return [(standing.STAND, float(stand))] + self.matcher.top(probabilities, top - 1)
        return self.matcher.top(probabilities, top)

    def frames_for(self, seconds: float) -> int:
        if not np.isfinite(seconds) or seconds <= 0:
            raise GenerationError(f"duration must be above 0 seconds (got {seconds:g})")
        if seconds > self.max_seconds:
            raise GenerationError(f"duration {seconds:g} s is above the limit of "
                                  f"{self.max_seconds:g} s for one prompt; use the timeline for longer")
        return max(8, int(round(seconds * self.fps)))

    @property
    def distilled(self) -> dict | None:
        """The distilled student's metadata (file, built-in guidance, training), or None."""
        return self.meta.get("fast")

    @property
    def has_fast_decoder(self) -> bool:
        """Whether the fast sampler's clips have their own, lighter decoder."""
        return "decoder" in (self.distilled or {})

    def cfg(self, text_guidance: float | None = None, style_guidance: float | None = None,
            solver: str | None = None) -> CFG:
        """Guidance for one sampling run: the given scales or the model's defaults, and the
        default unguided tail (``unguided_below``: timesteps sampled without guidance).
        Scales go from 0 (ignore the prompt or sliders) to MAX_GUIDANCE. The distilled
        student has its guidance built in: it runs one row (CFG 1, 1), and other scales
        are refused rather than ignored."""
        if solver == "distilled":
            fast = self.distilled or {}
            for name, value in (("text", text_guidance), ("style", style_guidance)):
                want = float(fast.get(f"{name}_guidance", self.defaults[f"{name}_guidance"]))
                if value is not None and abs(float(value) - want) > 1e-6:
                    raise GenerationError(f"the fast (distilled) sampler has {name} guidance {want:g} built in "
                                          f"(got {float(value):g}): use the full sampler for other strengths")
            return CFG(1.0, 1.0)
        d = self.defaults
        scales = []
        for name, value in (("text", text_guidance), ("style", style_guidance)):
            v = float(d[f"{name}_guidance"] if value is None else value)
            if not 0.0 <= v <= MAX_GUIDANCE:  # also refuses NaN
                raise GenerationError(f"{name} guidance {v:g}: give a value from 0 to {MAX_GUIDANCE:g}")
            scales.append(v)
        return CFG(scales[0], scales[1], int(d.get("unguided_below", 0)))

    def sampling_steps(self, steps: int | None, solver: str | None = None) -> int:
        """The steps asked for (1-100; the distilled student 1-4) or the default when None."""
        if solver == "distilled":
            n = int((self.distilled or {}).get("steps", 2)) if steps is None else steps
            top = MAX_DISTILLED_STEPS
        else:
            n = int(self.defaults["steps"]) if steps is None else steps
            top = MAX_STEPS
        if not isinstance(n, (int, np.integer)) or not 1 <= n <= top:
            kind = "the fast (distilled) sampler's steps" if solver == "distilled" else "sampling steps"
            raise GenerationError(f"{kind} must be between 1 and {top} (got {n})")
        return int(n)

    def sampling_solver(self, solver: str | None) -> str:
        """The solver asked for or the model's default ("ddim" when the model names none)."""
        name = str(self.defaults.get("solver", "ddim")) if solver is None else solver
        if name not in SOLVERS:
            raise GenerationError(f"unknown solver {name!r}: use one of {', '.join(SOLVERS)}")
        if name == "distilled" and self.distilled is None:
            raise GenerationError("these weights have no fast (distilled) sampler: use the full one (ddim)")
        return name

    def denoiser(self, content: np.ndarray, style: np.ndarray, cfg: CFG, solver: str = "ddim"
                 ) -> Callable[[np.ndarray, int], np.ndarray]:
        """denoise(x_t (B, N, Z), t) -> guided latent x0 for B samples sharing one condition
        (``content``: (C,) action weights, ``style``: (S,) slider weights).

        Runs only the conditions (none / text / text + style) the step's guidance needs;
        for the "distilled" solver the student network (give it ``cfg(solver=...)``).
        """
        session = self.network_for(solver)

        def run(x: np.ndarray, t: int) -> np.ndarray:
            b = x.shape[0]
            kinds = cfg.kinds(t)
            keep = np.array([KEEP[k] for k in kinds], np.float32)  # (kinds, 2)
            n = len(kinds) * b
            feeds = {
                "x": np.concatenate([x] * len(kinds)).astype(np.float32, copy=False),
                "t": np.full(n, t, np.float32),
                "content": np.tile(content[None], (n, 1)).astype(np.float32),
                "content_keep": np.repeat(keep[:, 0], b),
                "style": np.tile(style[None], (n, 1)).astype(np.float32),
                "style_keep": np.repeat(keep[:, 1], b),
            }
            x0 = session.run(None, feeds)[0]
            return cfg.combine({k: x0[i * b:(i + 1) * b] for i, k in enumerate(kinds)}, t)

        return run

    def reference_strength(self, value: float | None = None, solver: str | None = None) -> float:
        """The share of the schedule sampled from a noised real take (1: from noise); the
        distilled student only samples from noise."""
        strength = float(self.defaults.get("reference_strength", 1.0) if value is None else value)
        if not 0.0 < strength <= 1.0 or not np.isfinite(strength):
            raise GenerationError(f"reference strength {strength:g}: give a value above 0 and at most 1")
        if solver == "distilled" and strength < 1.0:
            raise GenerationError("the fast (distilled) sampler starts from noise: use the full sampler "
                                  "with a reference strength")
        return strength

    def start_from_references(self, noise: np.ndarray, content: np.ndarray, style: np.ndarray, steps: int,
                              request: GenerationRequest) -> tuple[np.ndarray, int]:
        """(x_start, first step): each variation's noise laid over a real take of the
        matched action and style when the strength is below 1 (references.py)."""
        solver = self.sampling_solver(request.solver)
        strength = self.reference_strength(request.reference_strength, solver)
        if self.references is None or strength >= 1.0:
            return noise, 0
        timesteps = sampler_timesteps(steps, solver)
        start = len(timesteps) - max(1, int(round(strength * len(timesteps))))
        if start == 0:
            return noise, 0
        abar = float(cosine_alphas_cumprod()[timesteps[start]])
        out = noise.copy()
        for i in range(len(noise)):
            ref = self.references.pick(int(np.argmax(content)), style, int(self.meta["normal_style"]),
                                       noise.shape[1], np.random.default_rng([request.seed + i, 7]))
            if ref is None:
                return noise, 0
            out[i] = noised(ref, noise[i], abar)
        return out, start

    def generate(self, request: GenerationRequest, encoder: TextEncoder | None = None,
                 progress: Callable[[int, int], bool | None] | None = None,
                 variations: int = 1) -> list[GenerationResult]:
        """Sample ``variations`` motions (seeds seed, seed+1, ...) for one request."""
        t0 = time.perf_counter()
        if not isinstance(request.prompt, str) or not request.prompt.strip():
            raise GenerationError("the prompt is empty: describe the motion, e.g. 'a person waves'")
        frames = self.frames_for(request.seconds)
        style = self.style_vector(request.styles)
        solver = self.sampling_solver(request.solver)
        steps = self.sampling_steps(request.steps, solver)
        if not 1 <= variations <= MAX_VARIATIONS:
            raise GenerationError(f"variations must be between 1 and {MAX_VARIATIONS} (got {variations})")
        reading = self.encode_prompts([request.prompt.strip()], encoder)
        tokens = self.tokens_for(frames)
        denoise = self.denoiser(reading.content[0], style,
                                self.cfg(request.text_guidance, request.style_guidance, solver), solver)
        # Variation i starts from seed + i's noise, so it can be reproduced on its own.
        noise = np.stack([np.random.default_rng(request.seed + i).standard_normal((tokens, self.latent_dim))
                          for i in range(variations)]).astype(np.float32)
        noise, start = self.start_from_references(noise, reading.content[0], style, steps, request)
        z0 = sample(denoise, noise.shape, steps, np.random.default_rng(request.seed), progress,
                    x_start=noise, start=start, solver=solver)
        feats = self.normalizer.denormalize(self.decode_latents(z0, solver)[:, :frames].astype(np.float64))
        matches = self.match(reading.probabilities[0], stand=reading.stand_score(0))
        results = []
        for i, f in enumerate(feats):
            if reading.stand_score(0) > 0:   # the whole clip stands
                weights = standing.part_weights([(0.0, frames / self.fps, standing.ALL_PARTS)], frames, self.fps)
                motion, f = standing.settle(f, self.fps, weights, request.foot_lock, seed=request.seed + i)
            else:
                motion = decode_generated(f, self.fps, request.foot_lock)
            results.append(GenerationResult(motion, f, matches, bool(reading.truncated[0]), 0.0, self.device))
        took = time.perf_counter() - t0
        for r in results:
            r.seconds_taken = took
        return results


def load_model(weights_dir: str | Path | None = None) -> MotionModel:
    return MotionModel.load(weights_dir)


def clear_cache() -> None:
    """Forget the loaded models (training/references.py does after rewriting the files)."""
    _MODELS.clear()
