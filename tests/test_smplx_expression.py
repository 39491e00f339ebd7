"""ARKit-52 -> SMPL-X expression coefficients: least squares on the expression basis."""
import numpy as np
import pytest

from cadence.face.arkit import ARKIT_NAMES, INDEX
from cadence.face.smplx_expression import ArkitMappingError, fit_arkit_to_expressions, load_arkit_offsets


def basis_and_shapes(seed=0, vertices=60, count=8):
    """A random expression basis and ARKit shapes inside its span, except jawOpen (outside)."""
    rng = np.random.default_rng(seed)
    basis = rng.normal(size=(vertices, 3, count))
    true = rng.normal(size=(count, 52))
    shapes = np.einsum("vce,ek->kvc", basis, true)
    flat = basis.reshape(-1, count)
    outside = rng.normal(size=vertices * 3)
    outside -= flat @ np.linalg.lstsq(flat, outside, rcond=None)[0]  # orthogonal to the span
    shapes[INDEX["jawOpen"]] = outside.reshape(vertices, 3)
    return basis, shapes, true


def test_fit_recovers_shapes_in_the_span_and_reports_what_is_not():
    basis, shapes, true = basis_and_shapes()
    fit = fit_arkit_to_expressions(basis, shapes)
    jaw = INDEX["jawOpen"]
    inside = [k for k in range(52) if k != jaw]
    np.testing.assert_allclose(fit.matrix[:, inside], true[:, inside], atol=1e-9)
    assert fit.residual[inside].max() < 1e-9
    assert fit.residual[jaw] == pytest.approx(1.0)   # nothing of it is expressible
    np.testing.assert_allclose(fit.matrix[:, jaw], 0.0, atol=1e-9)
    weights = np.random.default_rng(1).uniform(size=(5, 52))
    weights[:, jaw] = 0
    np.testing.assert_allclose(fit.expressions(weights), weights @ true.T, atol=1e-9)
    with pytest.raises(ValueError, match="52"):
        fit.expressions(np.zeros((5, 51)))
    with pytest.raises(ArkitMappingError, match="for this mesh"):
        fit_arkit_to_expressions(basis, shapes[:, :10])


def test_load_offsets_reorders_by_names_and_refuses_bad_files(tmp_path):
    _, shapes, _ = basis_and_shapes()
    order = np.random.default_rng(2).permutation(52)
    path = tmp_path / "SMPLX_ARKIT.npz"
    np.savez(path, arkit_offsets=shapes[order], names=np.array(ARKIT_NAMES)[order])
    np.testing.assert_allclose(load_arkit_offsets(path), shapes)
    np.savez(tmp_path / "bad.npz", arkit_offsets=shapes[:5])
    with pytest.raises(ArkitMappingError, match=r"must be \(52"):
        load_arkit_offsets(tmp_path / "bad.npz")
    with pytest.raises(ArkitMappingError, match="not part of SMPL-X"):
        load_arkit_offsets(tmp_path / "absent.npz")
    objects = np.empty(1, dtype=object)
    objects[0] = {"x": 1}
    np.savez(tmp_path / "obj.npz", arkit_offsets=objects)
    with pytest.raises(ArkitMappingError, match="cannot read"):
        load_arkit_offsets(tmp_path / "obj.npz")
