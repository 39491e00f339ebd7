"""Stand-in geometry and contact sheets (pictures/, bpy-free)."""
import struct
import zlib

import numpy as np
import pytest

from cadence.face.arkit import ARKIT_NAMES
from cadence.motion.skeleton import CANONICAL
from cadence.pictures.body import body_mesh, checker_floor, head_ball, sphere, tube
from cadence.pictures.characters import STOCKY, mixamo_character
from cadence.pictures.face_mesh import build_face
from cadence.pictures.sheet import encode_png, evenly_spaced, tile


def decode_png(data: bytes) -> np.ndarray:
    """Enough of a PNG reader for encode_png's output (8-bit RGB, filter 'up')."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, size = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        assert struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0] == zlib.crc32(kind + body)
        if kind == b"IHDR":
            size = struct.unpack(">II", body[:8])
            assert body[8:10] == b"\x08\x02"
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    w, h = size
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(h, 1 + 3 * w)
    assert (raw[:, 0] == 2).all()
    return (np.cumsum(raw[:, 1:].astype(np.int64), axis=0) % 256).reshape(h, w, 3)


def test_tile_places_frames_in_reading_order_with_gaps():
    frames = [np.full((2, 3, 1), k, float) for k in range(5)]
    out = tile(frames, columns=3, gap=1, background=(9.0,))
    assert out.shape == (2 * 2 + 3, 3 * 3 + 4, 1)
    assert out[1, 1, 0] == 0 and out[1, 5, 0] == 1 and out[1, 9, 0] == 2   # first row
    assert out[4, 1, 0] == 3 and out[4, 5, 0] == 4                        # second row
    assert out[4, 9, 0] == 9 and out[0, 0, 0] == 9 and out[3, 2, 0] == 9  # blank cell, gaps
    assert tile(frames[:2], columns=6, gap=0, background=(0.0,)).shape == (2, 6, 1)         # no empty columns


def test_tile_rejects_mixed_sizes_and_empty_input():
    with pytest.raises(ValueError, match="same size"):
        tile([np.zeros((2, 2, 3)), np.zeros((2, 3, 3))], 2, background=(1.0, 1.0, 1.0))
    with pytest.raises(ValueError, match="no frames"):
        tile([], 2)


def test_evenly_spaced_covers_both_ends():
    assert evenly_spaced(1, 101, 5) == [1, 26, 51, 76, 101]
    assert evenly_spaced(10, 20, 1) == [15]


def test_png_round_trip_and_posterise():
    rng = np.random.default_rng(0)
    pixels = rng.random((7, 5, 4))
    exact = decode_png(encode_png(pixels, levels=None))
    np.testing.assert_array_equal(exact, np.clip(pixels[..., :3] * 255 + 0.5, 0, 255).astype(int))
    coarse = decode_png(encode_png(pixels, levels=4))
    assert set(np.unique(coarse)) <= {32, 96, 160, 224}
    assert np.abs(coarse - exact).max() <= 33


def _outward_fraction(mesh, centre_of) -> float:
    out = []
    for f in mesh.faces:
        p = mesh.vertices[list(f)]
        n = np.cross(p[1] - p[0], p[2] - p[0])
        c = p.mean(0)
        out.append(np.dot(n, c - centre_of(c)) > 0)
    return float(np.mean(out))


def test_spheres_and_tubes_face_outwards():
    centre = np.array([1.0, 2.0, 3.0])
    assert _outward_fraction(sphere(centre, 0.5, 0), lambda c: centre) == 1.0
    down = tube((0, 0, 1), (0, 0, 0), 0.1, 0.05, 0)
    assert _outward_fraction(down, lambda c: np.array([0.0, 0.0, c[2]])) == 1.0
    assert len(tube((0, 0, 0), (0, 0, 0), 0.1, 0.1, 0).vertices) == 0


def _canonical_joints(names):
    rest = CANONICAL.rest_positions()
    heads = {n: rest[CANONICAL.index(n)] for n in names}
    tails = {n: h + [0.0, 0.0, 0.2] for n, h in heads.items()}
    return heads, tails


def test_body_mesh_skins_every_vertex_to_a_mapped_joint():
    names = [n for n in CANONICAL.names[:22] if n != "spine2"]  # a rig without spine2
    heads, tails = _canonical_joints(names)
    mesh, owners = body_mesh(heads, tails)
    assert owners == names
    assert set(np.unique(mesh.owners)) == set(range(len(names)))
    assert max(max(f) for f in mesh.faces) == len(mesh.vertices) - 1
    # spine3's segment hangs from spine1 (the nearest mapped ancestor)
    top = mesh.vertices[mesh.owners == owners.index("spine1")][:, 2].max()
    assert top > heads["spine3"][2] - 0.01
    centre, radius = head_ball(heads, tails)
    assert mesh.vertices[:, 2].max() == pytest.approx(centre[2] + radius)
    headless, _ = body_mesh(heads, tails, with_head=False)
    assert headless.vertices[:, 2].max() < centre[2]
    with pytest.raises(ValueError, match="pelvis"):
        body_mesh({"head": heads["head"]}, {"head": tails["head"]})


def test_checker_floor_alternates():
    verts, faces, colours = checker_floor(1.0, 4)
    assert verts.shape == (25, 3) and len(faces) == 16
    assert colours[:5] == [0, 1, 0, 1, 1] and sum(colours) == 8


def test_face_keys_are_arkit_and_move_the_right_features():
    face = build_face()
    assert set(face.shape_keys) <= set(ARKIT_NAMES) and len(face.shape_keys) >= 40
    assert len(face.materials) == len(face.faces)
    for name, moved in face.shape_keys.items():
        assert moved.shape == face.vertices.shape
        assert np.abs(moved - face.vertices).max() > 1e-4, name
    delta = face.shape_keys["jawOpen"] - face.vertices
    assert delta[:, 2].min() < -0.02 and delta[:, 2].max() <= 1e-9      # the jaw only drops
    blink = face.shape_keys["eyeBlinkLeft"] - face.vertices
    moved = np.abs(blink).max(axis=1) > 1e-6
    assert (face.vertices[moved, 0] > 0).all()                         # the left eye is at +X
    assert (blink[moved, 2] < 0).all()                                 # the lid comes down
    # features lie in front of the head (the face looks at -Y)
    assert (face.vertices[np.abs(blink).max(axis=1) > 0, 1] < -0.05).all()


def test_mixamo_character_is_another_build_on_the_floor():
    sk = mixamo_character()
    assert sk.names[0] == "mixamorig:Hips" and "mixamorig:LeftHandIndex1" in sk.names
    rest = sk.rest_positions()
    assert 0.0 < rest[:, 2].min() < 0.03                                # feet on the floor
    can = CANONICAL.rest_positions()
    leg = rest[sk.names.index("mixamorig:Hips"), 2] / can[0, 2]
    assert leg == pytest.approx(STOCKY["legs"], abs=0.05)
    torso = rest[sk.names.index("mixamorig:Neck"), 2] - rest[sk.names.index("mixamorig:Hips"), 2]
    assert torso / (can[CANONICAL.index("neck"), 2] - can[0, 2]) == pytest.approx(STOCKY["torso"])
    shoulder = rest[sk.names.index("mixamorig:LeftArm")]
    hand = rest[sk.names.index("mixamorig:LeftHand")]
    drop = np.degrees(np.arctan2(shoulder[2] - hand[2], hand[0] - shoulder[0]))
    assert drop == pytest.approx(40.0, abs=0.5)                          # A-pose
