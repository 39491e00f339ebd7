"""ARKit-52 names, alias matching and the FACEGOOD mapping (face/arkit.py, face/facegood.py)."""
import glob

import numpy as np
import pytest

from cadence.face import arkit, facegood
from cadence.face.arkit import ARKIT_NAMES, normalize
from cadence.face.shape_key_match import match_shape_keys


def test_fifty_two_names_in_apples_order():
    assert len(ARKIT_NAMES) == 52 == len(set(ARKIT_NAMES))
    assert ARKIT_NAMES[:7] == ("eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft",
                               "eyeLookUpLeft", "eyeSquintLeft", "eyeWideLeft")
    assert ARKIT_NAMES[14:18] == ("jawForward", "jawLeft", "jawRight", "jawOpen")
    assert ARKIT_NAMES[41] == "browDownLeft" and ARKIT_NAMES[-1] == "tongueOut"
    assert sum(len(v) for v in arkit.REGIONS.values()) == 52
    assert set(arkit.LIP_SHAPES) <= set(ARKIT_NAMES)


def test_live_link_face_order_swaps_two_pairs():
    llf = arkit.LIVE_LINK_FACE_ORDER
    assert sorted(llf) == sorted(ARKIT_NAMES)
    assert llf[15:17] == ("jawRight", "jawLeft")
    assert llf[21:23] == ("mouthRight", "mouthLeft")
    assert [a for a, b in zip(llf, ARKIT_NAMES) if a != b] == ["jawRight", "jawLeft", "mouthRight",
                                                                "mouthLeft"]
    assert arkit.pascal_case("eyeBlinkLeft") == "EyeBlinkLeft"


@pytest.mark.parametrize("spelling", ["eyeBlinkLeft", "EyeBlinkLeft", "eye_blink_left", "eyeBlink_L",
                                      "EYE-BLINK-LEFT", "blendShape1.eyeBlinkLeft", "head:eyeBlink_L",
                                      "CTRL_expressions_eyeBlinkL", "EyeBlink.L", "eye blink lt"])
def test_spellings_normalise_alike(spelling):
    assert normalize(spelling) == "eye blink left"
    assert arkit.arkit_name(spelling) == "eyeBlinkLeft"


def test_every_name_maps_back():
    for name in ARKIT_NAMES:
        assert arkit.arkit_name(name) == name
        assert arkit.arkit_name(arkit.pascal_case(name)) == name
    assert arkit.arkit_name("Basis") is None


def test_match_arkit_keys_any_case():
    keys = ["Basis"] + [arkit.pascal_case(n) for n in ARKIT_NAMES[:19]] + ["mouth_funnel", "Extra"]
    m = match_shape_keys(keys)
    assert m.keys["jawOpen"] == ("JawOpen",) and m.keys["mouthFunnel"] == ("mouth_funnel",)
    assert len(m.found) == 20 and m.missing[0] == "mouthPucker"
    assert m.found == [n for n in ARKIT_NAMES if n in m.keys]  # Apple's order
    assert "20 of 52" in m.summary() and "mouthPucker" in m.summary()


def test_exact_spelling_wins_over_another():
    m = match_shape_keys(["jaw_open", "jawOpen"])
    assert m.keys["jawOpen"] == ("jawOpen",)


def test_vrm_and_readyplayerme_aliases_share_keys():
    m = match_shape_keys(["Fcl_EYE_Close_L", "Fcl_EYE_Close_R", "Fcl_MTH_A", "Fcl_MTH_O", "LookUp"])
    assert m.keys["eyeBlinkLeft"] == ("Fcl_EYE_Close_L",) and m.conventions["jawOpen"] == "vrm"
    assert m.keys["mouthFunnel"] == ("Fcl_MTH_O",)
    assert m.sources_by_key()["LookUp"] == ["eyeLookUpLeft", "eyeLookUpRight"]
    rpm = match_shape_keys(["mouthOpen", "mouthSmile", "eyeBlinkLeft"])
    assert rpm.keys["jawOpen"] == ("mouthOpen",)
    assert rpm.sources_by_key()["mouthSmile"] == ["mouthSmileLeft", "mouthSmileRight"]


def test_metahuman_like_and_region_groups():
    keys = ["eyeBlinkL", "eyeBlinkR", "mouthCornerPullL", "eyeLookRightL", "browRaiseInL", "browRaiseInR",
            "jawOpen"]
    m = match_shape_keys(keys)
    assert m.keys["mouthSmileLeft"] == ("mouthCornerPullL",)
    assert m.keys["eyeLookInLeft"] == ("eyeLookRightL",)
    assert m.keys["browInnerUp"] == ("browRaiseInL", "browRaiseInR")
    # a group matches only when all its parts exist
    assert "browInnerUp" not in match_shape_keys(["browRaiseInL"]).keys


def test_conventions_and_overrides():
    m = match_shape_keys(["Fcl_MTH_A", "MyJaw"], conventions=("readyplayerme",))
    assert "jawOpen" in m.missing
    m = match_shape_keys(["Fcl_MTH_A", "MyJaw"], overrides={"jawOpen": "MyJaw"})
    assert m.keys["jawOpen"] == ("MyJaw",) and m.conventions["jawOpen"] == "override"
    with pytest.raises(ValueError, match="Nope"):
        match_shape_keys(["a"], overrides={"jawOpen": "Nope"})


def test_facegood_mapping_from_sheet():
    rules = facegood.ARKIT_FROM_FACEGOOD
    assert list(rules) == list(ARKIT_NAMES)
    assert len(facegood.FACEGOOD_NAMES) == 116
    assert rules["jawOpen"].sources == ("mouth_stretch_c",) and rules["jawOpen"].combine == "copy"
    assert rules["mouthFunnel"].combine == "max" and len(rules["mouthFunnel"].sources) == 4
    assert rules["tongueOut"].combine == "none"
    assert rules["cheekSquintLeft"].sources == ("cheek_UP",)  # the sheet's "cheek_up" fixed
    valid = [n for n, r in rules.items() if r.valid]
    assert valid == list(arkit.MOUTH_SHAPES)  # the dataset animates mouth and jaw only
    for rule in rules.values():
        assert set(rule.sources) <= set(facegood.FACEGOOD_NAMES)


def test_facegood_mesh_matches_51_of_52():
    m = match_shape_keys(["Basis", *facegood.FACEGOOD_NAMES])
    assert m.missing == ["tongueOut"]
    assert m.keys["jawOpen"] == ("mouth_stretch_c",)
    assert set(m.keys["mouthFunnel"]) == {"mouth_funnel_dl", "mouth_funnel_dr", "mouth_funnel_ul",
                                          "mouth_funnel_ur"}


def test_to_arkit_max_and_extensions():
    cols = facegood.column_names()
    values = np.zeros((2, 116))
    values[0, cols.index("mouth_funnel_ul")] = 0.3
    values[0, cols.index("mouth_funnel_dr")] = 0.6
    values[1, cols.index("mouth_oh_c")] = 0.8
    out = facegood.to_arkit(values)
    f, j = arkit.INDEX["mouthFunnel"], arkit.INDEX["jawOpen"]
    assert out.shape == (2, 52) and out[0, f] == pytest.approx(0.6)
    assert out[1, f] == pytest.approx(0.8) and out[1, j] == pytest.approx(0.28)
    assert facegood.to_arkit(values, extensions=False)[1, f] == 0.0
    with pytest.raises(ValueError):
        facegood.to_arkit(np.zeros((3, 52)))


def test_column_alignment_on_the_data():
    """Column c holds bsname[c-1]: then (and only then) the symmetric halves are identical."""
    from cadence.dataset.paths import cache_dir
    files = sorted(glob.glob(str(cache_dir() / "data/facegood-audio2face/bs_value/*.npy")))
    if not files:
        pytest.skip("FACEGOOD data not unpacked")
    values = facegood.load_take(files[0])
    cols = facegood.column_names()
    for left, right in [("mouth_funnel_dl", "mouth_funnel_dr"), ("mouth_pucker_l", "mouth_pucker_r"),
                        ("mouth_lowerLipDepress_l", "mouth_lowerLipDepress_r")]:
        a, b = values[:, cols.index(left)], values[:, cols.index(right)]
        assert a.std() > 0 and np.allclose(a, b, atol=0.01)
    assert np.all(values[:, 0] == 0)
    jaw = values[:, cols.index("mouth_stretch_c")]
    assert jaw.mean() == max(values[:, c].mean() for c in range(116))


def test_key_curves_mean_of_shared_keys():
    m = match_shape_keys(["mouthSmile", "jawOpen", "browRaiseInL", "browRaiseInR"])
    w = np.zeros((3, 52), np.float32)
    w[:, arkit.INDEX["mouthSmileLeft"]] = 1.0
    w[:, arkit.INDEX["jawOpen"]] = [0.1, 0.2, 0.3]
    w[:, arkit.INDEX["browInnerUp"]] = 0.4
    curves = m.key_curves(w)
    assert np.allclose(curves["mouthSmile"], 0.5) and np.allclose(curves["jawOpen"], [0.1, 0.2, 0.3])
    assert np.allclose(curves["browRaiseInL"], 0.4) and np.allclose(curves["browRaiseInR"], 0.4)
