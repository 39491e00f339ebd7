"""The user's own SMPL-X model files, read with numpy only (no torch, no ``smplx`` package).

SMPL-X model files are licensed by their owners (https://smpl-x.is.tue.mpg.de,
registration required): Cadence never ships nor downloads them. When the user points
the preferences (or ``--model``) at the folder holding ``SMPLX_NEUTRAL.npz`` /
``SMPLX_MALE.npz`` / ``SMPLX_FEMALE.npz``, this module reads just the arrays Cadence
needs, with ``allow_pickle=False`` (the official files also hold pickled dictionaries,
``joint2num`` and ``part2num``, which are never touched):

- ``v_template``, ``shapedirs`` (shape and expression blend shapes), ``J_regressor``,
  ``weights``, ``kintree_table``, ``f``: the shaped rest body, its joints and skinning;
- ``hands_componentsl/r`` and ``hands_meanl/r``: to expand PCA hand poses.

``posedirs`` (pose-corrective blend shapes) is not read: the Blender body is skinned by
linear blend skinning only, so elbows and knees lose a little volume where SMPL-X
would correct them.

Everything here is in the model's own frame (Y up, facing +Z); :func:`model_skeleton`
turns it into Cadence's (Z up, facing -Y).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import CadenceError
from .export import Z_UP_TO_Y_UP
from .skeleton import JOINT_NAMES, PARENTS, Skeleton

SMPLX_WEBSITE = "https://smpl-x.is.tue.mpg.de"
MODEL_FILES: dict[str, str] = {
    "neutral": "SMPLX_NEUTRAL.npz", "male": "SMPLX_MALE.npz", "female": "SMPLX_FEMALE.npz",
}
# The smplx package's split of ``shapedirs``: 300 shape then 100 expression components
# (SMPL-X 1.1); older files have 10 + 10.
SHAPE_SPACE_DIM = 300
_REQUIRED_KEYS = ("v_template", "shapedirs", "J_regressor", "weights", "kintree_table", "f")
# Model frame (Y up, facing +Z) -> Cadence (Z up, facing -Y): the inverse of the BVH writer's.
MODEL_TO_CADENCE = Z_UP_TO_Y_UP.T


class SmplxModelError(CadenceError, ValueError):
    """The model files are missing or not SMPL-X; the message says what to do."""


def model_missing_message(folder: str | Path | None = None) -> str:
    """How to get the model files (shown where the optional body would be)."""
    where = f" in {folder}" if folder else ""
    return (f"no SMPL-X model files{where}: register at {SMPLX_WEBSITE}, download the "
            f"SMPL-X model (npz) and point Cadence at the folder holding "
            f"{MODEL_FILES['neutral']} (and MALE/FEMALE if wanted); Cadence never ships "
            "or downloads them")


@dataclass(frozen=True)
class SmplxModel:
    """The arrays of one SMPL-X model file that Cadence uses (model frame, metres)."""

    path: Path
    v_template: np.ndarray        # (V, 3)
    shapedirs: np.ndarray         # (V, 3, S) shape blend shapes
    exprdirs: np.ndarray          # (V, 3, E) expression blend shapes
    j_regressor: np.ndarray       # (55, V)
    weights: np.ndarray           # (V, 55) skinning weights
    faces: np.ndarray             # (F, 3)
    hands_components: dict        # side -> (k, 45) PCA basis, or missing
    hands_mean: dict              # side -> (45,)

    @property
    def num_betas(self) -> int:
        return self.shapedirs.shape[2]

    @property
    def num_expressions(self) -> int:
        return self.exprdirs.shape[2]

    def shaped_vertices(self, betas: np.ndarray | None = None) -> np.ndarray:
        """Rest vertices for ``betas`` (extra coefficients beyond the model's are ignored)."""
        v = self.v_template.copy()
        if betas is not None and len(betas):
            b = np.asarray(betas, dtype=float).ravel()[:self.num_betas]
            v += self.shapedirs[:, :, :len(b)] @ b
        return v

    def joint_positions(self, betas: np.ndarray | None = None) -> np.ndarray:
        """Rest joint positions (55, 3) of the shaped body, model frame."""
        return self.j_regressor @ self.shaped_vertices(betas)

    def expand_hand_pca(self, side: str, coefficients: np.ndarray) -> np.ndarray:
        """PCA hand coefficients (T, k) -> axis-angle (T, 45), as the smplx package does
        with ``use_pca=True`` (components times coefficients, plus the mean hand)."""
        if side not in self.hands_components:
            raise SmplxModelError(f"{self.path.name} has no hands_components for PCA hands")
        comps = self.hands_components[side]
        k = coefficients.shape[-1]
        if k > len(comps):
            raise SmplxModelError(f"{k} PCA hand components given; the model has {len(comps)}")
        return coefficients @ comps[:k] + self.hands_mean[side]


def find_model_file(folder: str | Path, gender: str = "neutral") -> Path | None:
    """The model file for ``gender`` in ``folder`` (or its ``smplx`` sub-folder), else the
    neutral one, else any SMPL-X model there, else None."""
    folder = Path(folder).expanduser()
    wanted = MODEL_FILES.get(gender.lower(), MODEL_FILES["neutral"])
    for name in (wanted, MODEL_FILES["neutral"], *MODEL_FILES.values()):
        for base in (folder, folder / "smplx"):
            if (base / name).is_file():
                return base / name
    return None


def load_smplx_model(path: str | Path, gender: str = "neutral") -> SmplxModel:
    """Read a SMPL-X model: ``path`` is a model .npz or a folder holding them."""
    path = Path(path).expanduser()
    if path.is_dir():
        found = find_model_file(path, gender)
        if found is None:
            raise SmplxModelError(model_missing_message(path))
        path = found
    if not path.is_file():
        raise SmplxModelError(model_missing_message(path))
    if path.suffix.lower() != ".npz":
        raise SmplxModelError(f"{path.name}: use the SMPL-X model's .npz files (the .pkl ones "
                              "are pickles, which Cadence never loads)")
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in _REQUIRED_KEYS if k not in data.files]
            if missing:
                raise SmplxModelError(f"{path.name} is not a SMPL-X model: no {', '.join(missing)}")
            arrays = {k: np.asarray(data[k]) for k in _REQUIRED_KEYS}
            hands = {k: np.asarray(data[k], dtype=float) for k in
                     ("hands_componentsl", "hands_componentsr", "hands_meanl", "hands_meanr")
                     if k in data.files}
    except (OSError, ValueError, EOFError) as exc:
        if isinstance(exc, SmplxModelError):
            raise
        raise SmplxModelError(f"cannot read {path.name}: {exc}") from exc
    return _checked_model(path, arrays, hands)


def _checked_model(path: Path, a: dict, hands: dict) -> SmplxModel:
    v = np.asarray(a["v_template"], dtype=float)
    n = len(v)
    shapedirs = np.asarray(a["shapedirs"], dtype=float)
    joints = len(JOINT_NAMES)
    problems = []
    if v.ndim != 2 or v.shape[1] != 3:
        problems.append(f"v_template {v.shape}")
    if shapedirs.ndim != 3 or shapedirs.shape[:2] != (n, 3):
        problems.append(f"shapedirs {shapedirs.shape}")
    if a["J_regressor"].shape != (joints, n):
        problems.append(f"J_regressor {a['J_regressor'].shape}")
    if a["weights"].shape != (n, joints):
        problems.append(f"weights {a['weights'].shape}")
    kintree = np.asarray(a["kintree_table"]).astype(np.int64)
    if kintree.shape != (2, joints) or tuple(int(p) if 0 <= p < joints else -1
                                             for p in kintree[0]) != PARENTS:
        problems.append("kintree_table is not SMPL-X's 55-joint tree")
    if problems:
        raise SmplxModelError(f"{path.name} is not a SMPL-X model ({'; '.join(problems)})")
    total = shapedirs.shape[2]
    split = SHAPE_SPACE_DIM if total > SHAPE_SPACE_DIM else total // 2
    comps = {side: hands[f"hands_components{side[0]}"] for side in ("left", "right")
             if f"hands_components{side[0]}" in hands}
    means = {side: hands.get(f"hands_mean{side[0]}", np.zeros(45)) for side in comps}
    return SmplxModel(path, v, shapedirs[:, :, :split], shapedirs[:, :, split:],
                      np.asarray(a["J_regressor"], dtype=float),
                      np.asarray(a["weights"], dtype=float),
                      np.asarray(a["f"], dtype=np.int64), comps, means)


def model_skeleton(model: SmplxModel, betas: np.ndarray | None = None) -> Skeleton:
    """The shaped model's joints as a Cadence skeleton (Z up, facing -Y; canonical names),
    rest frames world-aligned like the canonical one, so the same local rotations drive it."""
    positions = model.joint_positions(betas) @ MODEL_TO_CADENCE.T
    offsets = np.array([positions[j] - (positions[p] if p >= 0 else 0.0)
                        for j, p in enumerate(PARENTS)])
    return Skeleton(JOINT_NAMES, PARENTS, offsets)
