"""Rotation conversions checked against each other and against known values."""
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadence.motion import rotations as rot

ORDERS = ["".join(p) for p in itertools.product("XYZ", repeat=3) if p[0] != p[1] and p[1] != p[2]]


@pytest.fixture
def quats():
    return rot.normalize(np.random.default_rng(0).normal(size=(500, 4)))


def test_known_quarter_turns():
    # 90 degrees about Z takes X to Y; about X takes Y to Z; about Y takes Z to X.
    for axis, v, expected in (("Z", [1, 0, 0], [0, 1, 0]), ("X", [0, 1, 0], [0, 0, 1]),
                              ("Y", [0, 0, 1], [1, 0, 0])):
        q = rot.axis_rotation_quat(axis, np.pi / 2)
        np.testing.assert_allclose(rot.quat_rotate(q, np.array(v, float)), expected, atol=1e-12)
        np.testing.assert_allclose(rot.quat_to_matrix(q) @ np.array(v, float), expected, atol=1e-12)
    np.testing.assert_allclose(rot.quat_to_matrix(rot.axis_rotation_quat("Z", np.pi / 2)),
                               [[0, -1, 0], [1, 0, 0], [0, 0, 1]], atol=1e-12)
    # Axis-angle (0, 0, pi/2) is the same quarter turn.
    np.testing.assert_allclose(rot.axis_angle_to_quat(np.array([0, 0, np.pi / 2])),
                               [np.cos(np.pi / 4), 0, 0, np.sin(np.pi / 4)], atol=1e-12)


def test_quaternion_product_composes_like_matrices(quats):
    a, b = quats[:250], quats[250:]
    np.testing.assert_allclose(rot.quat_to_matrix(rot.quat_mul(a, b)),
                               rot.quat_to_matrix(a) @ rot.quat_to_matrix(b), atol=1e-12)
    v = np.random.default_rng(1).normal(size=(250, 3))
    np.testing.assert_allclose(rot.quat_rotate(a, v),
                               np.einsum("nij,nj->ni", rot.quat_to_matrix(a), v), atol=1e-12)


def test_matrix_quaternion_round_trip(quats):
    m = rot.quat_to_matrix(quats)
    np.testing.assert_allclose(np.linalg.det(m), 1.0, atol=1e-12)
    q = rot.matrix_to_quat(m)
    np.testing.assert_allclose(np.abs(np.sum(q * quats, -1)), 1.0, atol=1e-12)
    # Near-180-degree rotations are where naive conversions fail.
    q180 = rot.axis_angle_to_quat(rot.normalize(np.random.default_rng(2).normal(size=(50, 3))) * np.pi)
    np.testing.assert_allclose(rot.quat_to_matrix(rot.matrix_to_quat(rot.quat_to_matrix(q180))),
                               rot.quat_to_matrix(q180), atol=1e-10)


def test_axis_angle(quats):
    aa = rot.quat_to_axis_angle(quats)
    assert np.all(np.linalg.norm(aa, axis=-1) <= np.pi + 1e-9)
    np.testing.assert_allclose(rot.axis_angle_to_matrix(aa), rot.quat_to_matrix(quats), atol=1e-10)
    np.testing.assert_allclose(rot.axis_angle_to_quat(np.zeros(3)), [1, 0, 0, 0])
    tiny = np.array([1e-10, 0, 0])
    np.testing.assert_allclose(rot.quat_to_axis_angle(rot.axis_angle_to_quat(tiny)), tiny, atol=1e-15)


def test_sixd(quats):
    m = rot.quat_to_matrix(quats)
    d6 = rot.matrix_to_6d(m)
    assert d6.shape == (500, 6)
    np.testing.assert_allclose(d6[:, :3], m[:, :, 0])
    np.testing.assert_allclose(rot.sixd_to_matrix(d6), m, atol=1e-12)
    # Unnormalised, non-orthogonal input still gives a proper rotation.
    noisy = rot.sixd_to_matrix(d6 * 3 + np.random.default_rng(3).normal(scale=0.1, size=d6.shape))
    np.testing.assert_allclose(np.linalg.det(noisy), 1.0, atol=1e-10)


@pytest.mark.parametrize("order", ORDERS)
def test_euler_every_order(order, quats):
    m = rot.quat_to_matrix(quats)
    e = rot.matrix_to_euler(m, order)
    np.testing.assert_allclose(rot.euler_to_matrix(e, order), m, atol=1e-10)
    # The definition: R = R_a(e0) R_b(e1) R_c(e2), intrinsic in the written order.
    angles = np.array([0.3, -0.5, 1.1])
    expected = (rot.quat_to_matrix(rot.axis_rotation_quat(order[0], 0.3))
                @ rot.quat_to_matrix(rot.axis_rotation_quat(order[1], -0.5))
                @ rot.quat_to_matrix(rot.axis_rotation_quat(order[2], 1.1)))
    np.testing.assert_allclose(rot.euler_to_matrix(angles, order), expected, atol=1e-12)


def test_euler_known_values_and_gimbal_lock():
    # ZXY with only a 90-degree X: pure pitch.
    np.testing.assert_allclose(rot.euler_to_matrix(np.array([0, np.pi / 2, 0]), "ZXY"),
                               [[1, 0, 0], [0, 0, -1], [0, 1, 0]], atol=1e-12)
    # Gimbal lock: the middle angle at 90 degrees still reproduces the matrix.
    for order in ("XYZ", "ZXY", "ZYX"):
        m = rot.euler_to_matrix(np.array([0.4, np.pi / 2, 0.7]), order)
        np.testing.assert_allclose(rot.euler_to_matrix(rot.matrix_to_euler(m, order), order), m,
                                   atol=1e-6)
    with pytest.raises(ValueError):
        rot.euler_to_quat(np.zeros(3), "XXY")


def test_slerp_between_and_continuity():
    a = rot.quat_identity()
    b = rot.axis_rotation_quat("Z", np.pi / 2)
    np.testing.assert_allclose(rot.quat_slerp(a, b, 0.5), rot.axis_rotation_quat("Z", np.pi / 4), atol=1e-12)
    q = rot.quat_between(np.array([1.0, 0, 0]), np.array([0, 1.0, 0]))
    np.testing.assert_allclose(rot.quat_rotate(q, np.array([1.0, 0, 0])), [0, 1, 0], atol=1e-12)
    opposite = rot.quat_between(np.array([0, 0, 1.0]), np.array([0, 0, -1.0]))
    np.testing.assert_allclose(rot.quat_rotate(opposite, np.array([0, 0, 1.0])), [0, 0, -1], atol=1e-12)
    seq = rot.axis_rotation_quat("Y", np.linspace(0, 4 * np.pi, 50))
    seq[1::2] *= -1
    cont = rot.quat_continuous(seq)
    assert np.all(np.sum(cont[1:] * cont[:-1], -1) > 0)
    np.testing.assert_allclose(rot.angle_between_quats(cont, seq), 0, atol=1e-6)


def test_quat_continuous_flips_whole_runs_per_joint_along_any_axis():
    rng = np.random.default_rng(5)
    q = rng.normal(size=(40, 3, 4))
    q /= np.linalg.norm(q, axis=-1, keepdims=True)
    smooth = rot.quat_slerp(q[:1], q[-1:], np.linspace(0, 1, 40)[:, None])  # (40, 3, 4), continuous
    signs = np.where(rng.random((40, 3)) < 0.5, -1.0, 1.0)
    flipped = smooth * signs[..., None]
    cont = rot.quat_continuous(flipped)
    np.testing.assert_allclose(cont, smooth * signs[:1, :, None])  # the first frame's sign is kept
    np.testing.assert_allclose(rot.quat_continuous(np.swapaxes(flipped, 0, 1), axis=1),
                               np.swapaxes(cont, 0, 1))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=0, max_size=3), st.booleans(), st.integers(0, 2 ** 31))
def test_cross_and_product_are_numpys_arithmetic_on_any_broadcast_shapes(lead, broadcast, seed):
    """rot.cross and rot.quat_mul skip numpy's axis handling (the decode of a clip calls
    them dozens of times): the same values, bit for bit, on any leading shape, and
    broadcasting one operand as numpy does."""
    rng = np.random.default_rng(seed)
    shape_b = (1,) * len(lead) if broadcast else tuple(lead)
    a, b = rng.normal(size=(*lead, 3)), rng.normal(size=(*shape_b, 3))
    assert np.array_equal(rot.cross(a, b), np.cross(a, b))
    qa, qb = rng.normal(size=(*lead, 4)), rng.normal(size=(*shape_b, 4))
    w1, x1, y1, z1 = np.moveaxis(qa, -1, 0)
    w2, x2, y2, z2 = np.moveaxis(np.broadcast_to(qb, qa.shape), -1, 0)
    hamilton = np.stack([w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2, w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
                         w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2, w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2], -1)
    assert np.array_equal(rot.quat_mul(qa, qb), hamilton)
    v = rng.normal(size=(*lead, 3))
    assert np.array_equal(rot.normalize(v), v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12))
