"""ARKit-52 curves -> SMPL-X expression coefficients, by least squares on the model's
expression basis.

Both are linear blend shapes on a mesh, so a frame of ARKit weights ``w`` is the vertex
offset ``D w`` (``D``: the 52 ARKit shapes as offsets) and SMPL-X reproduces it best with
the coefficients ``psi`` minimising ``|E psi - D w|`` (``E``: the expression basis). The
solution is linear in ``w``: one (E, 52) matrix, ``pinv(E) D``, solved once.

What this needs and Cadence does not have: the ARKit shapes *on the SMPL-X mesh*. The
SMPL-X model holds only its own expression basis; nothing public and licence-clean gives
ARKit shapes in its vertex space, and inventing them would be guessing. So the fit runs
only when the user supplies them (``SMPLX_ARKIT.npz`` beside their model files, key
``arkit_offsets`` (52, V, 3) in the model's frame, optional ``names``), for instance shapes
sculpted or transferred onto the SMPL-X mesh. The relative residual per shape says how
much of each ARKit shape the expression space can hold: the jaw opening in particular is
mostly SMPL-X's jaw *joint*, not an expression, so ``jawOpen`` fits poorly by design.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import CadenceError
from .arkit import ARKIT_NAMES, NUM_SHAPES

ARKIT_MAPPING_FILE = "SMPLX_ARKIT.npz"


class ArkitMappingError(CadenceError, ValueError):
    """The ARKit-on-SMPL-X shapes are missing or malformed; the message says why."""


@dataclass(frozen=True)
class ArkitExpressionFit:
    matrix: np.ndarray    # (E, 52): ARKit weights -> expression coefficients
    residual: np.ndarray  # (52,) |E psi_k - d_k| / |d_k| for each ARKit shape (0 = exact)

    def expressions(self, weights: np.ndarray) -> np.ndarray:
        """ARKit weights (T, 52) -> expression coefficients (T, E)."""
        weights = np.asarray(weights, dtype=float)
        if weights.ndim != 2 or weights.shape[1] != NUM_SHAPES:
            raise ValueError(f"ARKit weights must be (frames, {NUM_SHAPES}), got {weights.shape}")
        return weights @ self.matrix.T


def fit_arkit_to_expressions(expression_basis: np.ndarray,
                             arkit_offsets: np.ndarray) -> ArkitExpressionFit:
    """Least-squares fit of each ARKit shape by the expression basis.

    expression_basis: (V, 3, E) vertex offsets per unit coefficient;
    arkit_offsets: (52, V, 3) vertex offsets of the ARKit shapes at weight 1, same frame.
    """
    basis = np.asarray(expression_basis, dtype=float)
    shapes = np.asarray(arkit_offsets, dtype=float)
    if basis.ndim != 3 or basis.shape[1] != 3:
        raise ValueError(f"expression basis must be (vertices, 3, E), got {basis.shape}")
    if shapes.shape != (NUM_SHAPES,) + basis.shape[:2]:
        raise ArkitMappingError(f"ARKit offsets must be ({NUM_SHAPES}, {basis.shape[0]}, 3) for "
                                f"this mesh, got {shapes.shape}")
    e = basis.reshape(-1, basis.shape[2])        # (3V, E)
    d = shapes.reshape(NUM_SHAPES, -1).T         # (3V, 52)
    matrix = np.linalg.lstsq(e, d, rcond=None)[0]  # (E, 52)
    norms = np.linalg.norm(d, axis=0)
    residual = np.linalg.norm(e @ matrix - d, axis=0) / np.where(norms > 0, norms, 1.0)
    return ArkitExpressionFit(matrix, residual)


def load_arkit_offsets(path: str | Path) -> np.ndarray:
    """The user's ARKit shapes on the SMPL-X mesh, (52, V, 3) in Apple's order.

    ``names`` (52 strings, optional) gives the order of ``arkit_offsets`` when it is not
    Apple's. Read with ``allow_pickle=False``.
    """
    path = Path(path)
    if not path.is_file():
        raise ArkitMappingError(f"no {path.name}: the ARKit shapes on the SMPL-X mesh are not "
                                "part of SMPL-X; see docs/smplx.md for how to supply them")
    try:
        with np.load(path, allow_pickle=False) as data:
            if "arkit_offsets" not in data.files:
                raise ArkitMappingError(f"{path.name} has no 'arkit_offsets' array")
            offsets = np.asarray(data["arkit_offsets"], dtype=float)
            names = [str(n) for n in data["names"]] if "names" in data.files else None
    except (OSError, ValueError, EOFError) as exc:
        if isinstance(exc, ArkitMappingError):
            raise
        raise ArkitMappingError(f"cannot read {path.name}: {exc}") from exc
    if offsets.ndim != 3 or offsets.shape[0] != NUM_SHAPES or offsets.shape[2] != 3:
        raise ArkitMappingError(f"{path.name}: 'arkit_offsets' must be ({NUM_SHAPES}, vertices, "
                                f"3), got {offsets.shape}")
    if not np.all(np.isfinite(offsets)):
        raise ArkitMappingError(f"{path.name}: 'arkit_offsets' contains NaN or infinite values")
    if names is not None:
        if sorted(names) != sorted(ARKIT_NAMES):
            raise ArkitMappingError(f"{path.name}: 'names' must be the 52 ARKit names")
        offsets = offsets[[names.index(n) for n in ARKIT_NAMES]]
    return offsets
