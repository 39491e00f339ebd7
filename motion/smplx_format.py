"""SMPL-X / SMPL-H / SMPL parameter files (.npz) read into a canonical Motion.

Research tools write SMPL-family motion as arrays of axis-angle joint rotations plus a
translation. The layouts read here (docs/smplx.md has the details):

- ``amass``: ``poses`` (T, 165) SMPL-X, (T, 156) SMPL-H or (T, 72) SMPL, ``trans``,
  ``mocap_framerate`` / ``mocap_frame_rate``, ``gender``, ``betas``; stored Z up.
- ``beat2`` (BEAT2 / EMAGE): ``poses`` (T, 165), ``trans``, ``expressions``, ``betas``,
  ``mocap_frame_rate``; stored Y up (SMPL-X's own frame).
- ``split`` (smplx package outputs, SMPLer-X): ``global_orient``, ``body_pose``,
  ``jaw_pose``, ``leye_pose``, ``reye_pose``, ``left_hand_pose``, ``right_hand_pose``
  (45 values, or PCA coefficients expanded with the user's model), ``transl``,
  ``expression``, ``betas``; Y up.

The canonical skeleton is SMPL-X's joint set and order with world-aligned rest frames,
like SMPL-X's own parameterisation, so the conversion is a constant change of basis:
with ``C`` taking the model frame (Y up, facing +Z) to Cadence's (Z up, facing -Y) and
``A`` taking the file's world to Cadence's (``C`` for Y-up files, identity for Z-up
ones), every joint's local rotation becomes ``C R C^T`` and the root's ``A R C^T``; the
pelvis lands at ``A (J_pelvis + transl)``. ``J_pelvis`` (the shaped model's pelvis joint)
needs the user's model files; without them it is taken as zero and the feet are put on
the floor from the motion itself, as for BVH.

Files are opened with ``allow_pickle=False``: pickles (``.pkl``, object arrays) are
refused with a message, never loaded, since loading one can run arbitrary code.
"""
from __future__ import annotations

import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..errors import CadenceError
from ..limits import (
    MAX_FRAMES,
    MAX_NPZ_ARRAY_BYTES,
    MAX_NPZ_ARRAYS,
    MAX_NPZ_TOTAL_BYTES,
    MAX_SOURCE_FPS,
    MIN_SOURCE_FPS,
    in_range,
)
from . import rotations as rot
from .body_frame import floor_offset
from .kinematics import Motion
from .skeleton import CANONICAL, NUM_JOINTS
from .smplx_model import MODEL_TO_CADENCE, SmplxModel, load_smplx_model, model_missing_message

LAYOUTS = ("amass", "beat2", "split")
UP_AXES = ("y", "z")
DEFAULT_UP: dict[str, str] = {"amass": "z", "beat2": "y", "split": "y"}
DEFAULT_FPS = 30.0
FPS_KEYS = ("mocap_frame_rate", "mocap_framerate", "fps", "frame_rate")
EXPRESSION_KEYS = ("expressions", "expression")
# Keys Cadence adds to the files it writes (other tools ignore them).
UP_KEY = "cadence_up_axis"
PELVIS_KEY = "cadence_pelvis_offset"

# ``poses`` width -> (model, canonical joint of each file joint). SMPL-H has no jaw and
# eyes; SMPL's two hand joints have no canonical counterpart and are dropped.
_POSE_LAYOUTS: dict[int, tuple[str, list[int]]] = {
    165: ("smplx", list(range(NUM_JOINTS))),
    156: ("smplh", list(range(22)) + list(range(25, NUM_JOINTS))),
    72: ("smpl", list(range(22)) + [-1, -1]),
}
# Split keys: name -> (canonical joints in order, widths accepted).
_SPLIT_KEYS: dict[str, list[int]] = {
    "global_orient": [0],
    "body_pose": list(range(1, 22)),
    "jaw_pose": [22],
    "leye_pose": [23],
    "reye_pose": [24],
    "left_hand_pose": list(range(25, 40)),
    "right_hand_pose": list(range(40, 55)),
}
_UPRIGHT_COS = 0.5     # head-over-feet within 60 degrees of up counts as upright
_CLEARLY_UP_COS = 0.85  # the other axis choice must be clearly upright to suggest it


class SmplxFormatError(CadenceError, ValueError):
    """The file cannot be read as SMPL-family motion; the message names file and reason."""


@dataclass
class SmplxMotion:
    """A SMPL-family motion file on the canonical skeleton, with what else it held."""

    motion: Motion
    expressions: np.ndarray | None  # (T, E) expression coefficients, None when absent
    betas: np.ndarray | None        # (B,) shape coefficients
    gender: str                     # "neutral", "male" or "female"
    fps: float                      # the file's frame rate (or the override)
    layout: str                     # one of LAYOUTS
    up: str                         # "y" or "z": the convention the file was read with
    model_type: str                 # "smplx", "smplh" or "smpl"
    pelvis_offset: np.ndarray = field(default_factory=lambda: np.zeros(3))  # J_pelvis used
    notes: list[str] = field(default_factory=list)
    model: SmplxModel | None = None  # the model used, when one was given

    def resample(self, fps: float) -> SmplxMotion:
        """The same take at ``fps``: rotations slerped (``Motion.resample``), expressions
        interpolated linearly on the same time grid."""
        motion = self.motion.resample(fps)
        expressions = self.expressions
        if expressions is not None and motion is not self.motion:
            src = np.arange(len(expressions)) / self.motion.fps
            dst = np.minimum(np.arange(motion.num_frames) / fps, src[-1])
            expressions = np.stack([np.interp(dst, src, c) for c in expressions.T], axis=1)
        return replace(self, motion=motion, expressions=expressions)


# --- reading arrays safely ------------------------------------------------------------

def read_npz_arrays(path: str | Path) -> dict[str, np.ndarray]:
    """Every array of an .npz, refusing pickles (by content, whatever the extension)."""
    path = Path(path)
    name = path.name
    if path.exists() and not path.is_file():
        raise SmplxFormatError(f"{name} is a folder or a device, not an .npz file")
    try:
        with open(path, "rb") as f:
            head = f.read(6)
    except OSError as exc:
        raise SmplxFormatError(f"cannot read {name}: {exc.strerror or exc}") from exc
    if head[:1] == b"\x80" or path.suffix.lower() in (".pkl", ".pickle"):
        raise SmplxFormatError(f"{name} is a Python pickle: refused, because loading a pickle "
                               "can run arbitrary code; save the arrays with numpy.savez "
                               "(see docs/smplx.md)")
    if head.startswith(b"\x93NUMPY"):
        raise SmplxFormatError(f"{name} is a single .npy array; SMPL-X motion needs named "
                               "arrays (poses, trans, ...) in an .npz file")
    if not head.startswith(b"PK"):
        raise SmplxFormatError(f"{name} is not an .npz file")
    check_npz_sizes(path)
    arrays = {}
    try:
        with np.load(path, allow_pickle=False) as data:
            for key in data.files:
                try:
                    arrays[key] = data[key]
                except ValueError as exc:
                    if "pickle" in str(exc):
                        raise SmplxFormatError(
                            f"{name}: array {key!r} holds pickled Python objects: refused, "
                            "because loading them can run arbitrary code; store plain "
                            "numeric arrays and strings") from None
                    raise SmplxFormatError(f"cannot read {name}: array {key!r}: {exc}") from exc
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise SmplxFormatError(f"cannot read {name}: {exc}") from exc
    return arrays


def check_npz_sizes(path: str | Path, max_array: int = MAX_NPZ_ARRAY_BYTES,
                    max_total: int = MAX_NPZ_TOTAL_BYTES, max_arrays: int = MAX_NPZ_ARRAYS) -> None:
    """Refuse an .npz whose arrays would take too much memory, from each array's .npy
    header (its shape and type) before anything is decompressed in full: a small file can
    hold arrays that decompress to tens of gigabytes."""
    path = Path(path)
    name = path.name
    total = 0
    try:
        with zipfile.ZipFile(path) as archive:
            members = [i for i in archive.infolist() if not i.is_dir()]
            if len(members) > max_arrays:
                raise SmplxFormatError(f"{name} holds {len(members)} arrays; the limit is {max_arrays}")
            for info in members:
                with archive.open(info) as member:
                    try:
                        version = np.lib.format.read_magic(member)
                        if version == (1, 0):
                            shape, _, dtype = np.lib.format.read_array_header_1_0(member)
                        else:
                            shape, _, dtype = np.lib.format.read_array_header_2_0(member)
                    except ValueError as exc:
                        raise SmplxFormatError(f"{name}: {info.filename} is not a numpy array "
                                               f"({exc})") from None
                count = 1
                for n in shape:
                    count *= int(n)
                size = count * dtype.itemsize
                total += size
                if size > max_array or total > max_total:
                    raise SmplxFormatError(
                        f"{name}: array {info.filename.removesuffix('.npy')!r} of shape {tuple(shape)} "
                        f"would take {size / 2**20:.0f} MiB; the limits are {max_array / 2**20:.0f} MiB "
                        f"an array and {max_total / 2**20:.0f} MiB a file")
    except (OSError, EOFError, zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError,
            RuntimeError) as exc:
        raise SmplxFormatError(f"cannot read {name}: {exc}") from None


def _text(value: np.ndarray | None, default: str) -> str:
    if value is None:
        return default
    item = np.asarray(value).ravel()
    if item.size != 1:
        return default
    item = item[0]
    return (item.decode("utf-8", "replace") if isinstance(item, bytes) else str(item)).strip()


def _numeric(name: str, key: str, value: np.ndarray, ndim: tuple[int, ...]) -> np.ndarray:
    if value.dtype.kind not in "fiu":
        raise SmplxFormatError(f"{name}: {key!r} must be numbers, got {value.dtype}")
    value = np.asarray(value, dtype=np.float64)
    if value.ndim not in ndim:
        raise SmplxFormatError(f"{name}: {key!r} has shape {value.shape}")
    if not np.all(np.isfinite(value)):
        raise SmplxFormatError(f"{name}: {key!r} contains NaN or infinite values")
    return value


def _per_frame(name: str, key: str, value: np.ndarray, width: int | None,
               frames: int | None) -> np.ndarray:
    """(T, width) from (T, width), (T, width/3, 3) or a single frame (width,)."""
    value = _numeric(name, key, value, (1, 2, 3))
    if value.ndim == 1:
        value = value[None]
    elif value.ndim == 3:
        value = value.reshape(value.shape[0], value.shape[1] * value.shape[2])
    if width is not None and value.shape[1] != width:
        raise SmplxFormatError(f"{name}: {key!r} must have {width} values per frame, got "
                               f"shape {value.shape}")
    if frames is not None and len(value) != frames:
        if len(value) == 1:
            value = np.repeat(value, frames, axis=0)
        else:
            raise SmplxFormatError(f"{name}: {key!r} has {len(value)} frames, the poses "
                                   f"have {frames}")
    return value


# --- layouts -> per-joint axis-angle --------------------------------------------------

def detect_layout(arrays: dict[str, np.ndarray]) -> str:
    """``amass``, ``beat2`` or ``split`` from the keys present (None of them: error)."""
    if "poses" in arrays:
        return "beat2" if any(k in arrays for k in EXPRESSION_KEYS) else "amass"
    if any(k in arrays for k in ("global_orient", "body_pose")):
        return "split"
    raise KeyError("poses")


def _poses_layout(name: str, arrays: dict) -> tuple[np.ndarray, str, list[str]]:
    poses = _numeric(name, "poses", arrays["poses"], (2, 3))
    if poses.ndim == 3:
        poses = poses.reshape(poses.shape[0], poses.shape[1] * poses.shape[2])
    width = poses.shape[1]
    if width not in _POSE_LAYOUTS:
        raise SmplxFormatError(f"{name}: 'poses' must be (frames, 165) SMPL-X, (frames, 156) "
                               f"SMPL-H or (frames, 72) SMPL axis-angle, got {poses.shape}")
    if len(poses) == 0:
        raise SmplxFormatError(f"{name}: the motion has no frames")
    model_type, joints = _POSE_LAYOUTS[width]
    aa = np.zeros((len(poses), NUM_JOINTS, 3))
    file_aa = poses.reshape(len(poses), -1, 3)
    for k, j in enumerate(joints):
        if j >= 0:
            aa[:, j] = file_aa[:, k]
    notes = []
    if model_type == "smplh":
        notes.append("SMPL-H file: no jaw or eye rotations (left at rest)")
    elif model_type == "smpl":
        notes.append("SMPL file: no finger, jaw or eye joints; SMPL's two hand joints have no "
                     "canonical counterpart and are dropped (hands at rest)")
    return aa, model_type, notes


def _split_layout(name: str, arrays: dict, model: SmplxModel | None
                  ) -> tuple[np.ndarray, str, list[str]]:
    present = [k for k in _SPLIT_KEYS if k in arrays]
    frames = max(1 if np.ndim(arrays[k]) < 2 else len(arrays[k]) for k in present)
    if frames == 0:
        raise SmplxFormatError(f"{name}: the motion has no frames")
    aa = np.zeros((frames, NUM_JOINTS, 3))
    notes = []
    for key in present:
        joints = _SPLIT_KEYS[key]
        value = _per_frame(name, key, arrays[key], None, frames)
        width = value.shape[1]
        if key == "body_pose" and width == 69:  # SMPL: 23 joints, the last two are hands
            value, width = value[:, :63], 63
            notes.append("SMPL body_pose: SMPL's two hand joints are dropped")
        if key.endswith("hand_pose") and width != 45:
            side = key.split("_")[0]
            if model is None:
                raise SmplxFormatError(
                    f"{name}: {key!r} holds {width} PCA hand components; expanding them "
                    f"needs the SMPL-X model's hands_components: {model_missing_message()}")
            value, width = model.expand_hand_pca(side, value), 45
            notes.append(f"{key}: expanded from PCA coefficients with the model's hand "
                         "components and mean")
        if width != 3 * len(joints):
            raise SmplxFormatError(f"{name}: {key!r} must have {3 * len(joints)} values per "
                                   f"frame, got shape {np.shape(arrays[key])}")
        aa[:, joints] = value.reshape(frames, len(joints), 3)
    missing = [k for k in _SPLIT_KEYS if k not in arrays]
    if missing:
        notes.append(f"no {', '.join(missing)}: those joints stay at rest")
    return aa, "smplx", notes


# --- the change of basis --------------------------------------------------------------

def world_to_cadence(up: str) -> np.ndarray:
    """``A``: the file's world axes -> Cadence's (Z up, facing -Y)."""
    if up not in UP_AXES:
        raise ValueError(f"up must be one of {', '.join(UP_AXES)}, got {up!r}")
    return MODEL_TO_CADENCE if up == "y" else np.eye(3)


def axis_angle_to_canonical(aa: np.ndarray, up: str) -> np.ndarray:
    """SMPL-X axis-angle (T, 55, 3) -> canonical local quaternions (T, 55, 4).

    Conjugating by the constant ``C`` keeps a quaternion's scalar part and turns its
    vector part by ``C``; the root gets ``A q C^T`` in full.
    """
    q = rot.axis_angle_to_quat(aa)
    c = rot.matrix_to_quat(MODEL_TO_CADENCE)
    a = rot.matrix_to_quat(world_to_cadence(up))
    out = q.copy()
    out[..., 1:] = q[..., 1:] @ MODEL_TO_CADENCE.T
    out[:, 0] = rot.quat_mul(rot.quat_mul(a, q[:, 0]), rot.quat_conjugate(c))
    return out


def canonical_to_axis_angle(rotations: np.ndarray, up: str) -> np.ndarray:
    """Inverse of :func:`axis_angle_to_canonical`: (T, 55, 4) -> (T, 55, 3)."""
    q = rot.normalize(np.asarray(rotations, dtype=float))
    c = rot.matrix_to_quat(MODEL_TO_CADENCE)
    a = rot.matrix_to_quat(world_to_cadence(up))
    out = q.copy()
    out[..., 1:] = q[..., 1:] @ MODEL_TO_CADENCE
    out[:, 0] = rot.quat_mul(rot.quat_mul(rot.quat_conjugate(a), q[:, 0]), c)
    return rot.quat_to_axis_angle(out)


def _upness(p: np.ndarray) -> np.ndarray:
    """Mean head-over-feet direction (unit) of canonical positions (T, 55, 3)."""
    feet = p[:, [CANONICAL.index("left_ankle"), CANONICAL.index("right_ankle")]].mean(1)
    return rot.normalize((p[:, CANONICAL.index("head")] - feet).mean(0))


def _check_upright(name: str, positions: np.ndarray, up: str, explicit: bool,
                   notes: list[str]) -> None:
    """Refuse a layout-default up axis under which the body lies down while the other
    axis stands it up (a mislabeled file); with an explicit ``up`` only note it."""
    direction = _upness(positions)
    if direction[2] >= _UPRIGHT_COS:
        return
    other = "z" if up == "y" else "y"
    # Only the root changes between the two readings: positions turn by A_other A^T.
    turned = world_to_cadence(other) @ world_to_cadence(up).T @ direction
    if turned[2] < _CLEARLY_UP_COS:
        return  # lying or upside down either way: a motion we cannot judge
    message = (f"{name}: read {up.upper()} up, the body lies down (head-to-feet "
               f"{np.degrees(np.arccos(np.clip(direction[2], -1, 1))):.0f} degrees from "
               f"vertical) but stands upright read {other.upper()} up")
    if not explicit:
        raise SmplxFormatError(f"{message}: read it {other.upper()} up (--up {other}, or "
                               f"Up Axis in File > Import > SMPL-X Motion), or give "
                               f"--up {up} to keep it")
    notes.append(message)


# --- public API -----------------------------------------------------------------------

def load_smplx_motion(path: str | Path, up: str | None = None, fps: float | None = None,
                      model: SmplxModel | str | Path | None = None,
                      fix_floor: bool = True) -> SmplxMotion:
    """Read a SMPL-X / SMPL-H / SMPL parameter file onto the canonical skeleton.

    up: "y" or "z", the file's up axis; None takes the one stored by Cadence, else the
    layout's default (:data:`DEFAULT_UP`). A default under which the body lies down while
    the other axis stands it up is refused (the message says which to pass).
    fps: the file's frame rate, overriding ``mocap_frame_rate`` (default 30 when absent).
    model: the user's SMPL-X model (:func:`~motion.smplx_model.load_smplx_model`), or the
    folder holding the model files (the file's gender is picked), for the shaped pelvis
    position and PCA hands; without it the pelvis is ``transl``.
    fix_floor: without a model, shift the motion so the canonical feet rest on the floor
    (as BVH conversion does); with a model the real pelvis position is kept as is.
    The motion keeps the file's frame rate (resample it with ``Motion.resample``).
    Raises SmplxFormatError (a ValueError) with a message fit for the user.
    """
    path = Path(path)
    name = path.name
    arrays = read_npz_arrays(path)
    try:
        layout = detect_layout(arrays)
    except KeyError:
        raise SmplxFormatError(f"{name}: no 'poses' array and no split SMPL-X keys "
                               f"(global_orient, body_pose, ...); keys found: "
                               f"{', '.join(sorted(arrays)) or 'none'}") from None
    stored_up = _text(arrays.get(UP_KEY), "").lower() or None
    explicit = up is not None
    up = (up or stored_up or DEFAULT_UP[layout]).lower()
    if up not in UP_AXES:
        raise SmplxFormatError(f"{name}: up axis must be y or z, got {up!r}")
    gender = _text(arrays.get("gender"), "neutral").lower()
    unknown_gender = gender not in ("neutral", "male", "female")
    gender = "neutral" if unknown_gender else gender
    if model is not None and not isinstance(model, SmplxModel):
        model = load_smplx_model(model, gender)
    if layout == "split":
        aa, model_type, notes = _split_layout(name, arrays, model)
    else:
        aa, model_type, notes = _poses_layout(name, arrays)
    if unknown_gender:
        notes.append(f"unknown gender {_text(arrays.get('gender'), '')!r}: neutral used")
    frames = len(aa)
    if not 1 <= frames <= MAX_FRAMES:
        raise SmplxFormatError(f"{name}: {frames} frames; give 1 to {MAX_FRAMES}")
    trans_key = next((k for k in ("trans", "transl") if k in arrays), None)
    if trans_key is None:
        notes.append("no translation (trans/transl): the pelvis stays in place")
        transl = np.zeros((frames, 3))
    else:
        transl = _per_frame(name, trans_key, arrays[trans_key], 3, frames)
    expr_key = next((k for k in EXPRESSION_KEYS if k in arrays), None)
    expressions = (None if expr_key is None or model_type != "smplx" else
                   _per_frame(name, expr_key, arrays[expr_key], None, frames))
    betas = None
    if "betas" in arrays:
        if np.size(arrays["betas"]) == 0:
            raise SmplxFormatError(f"{name}: 'betas' is empty (shape {np.shape(arrays['betas'])}); "
                                   "give the shape coefficients or leave the array out")
        betas = _numeric(name, "betas", arrays["betas"], (1, 2)).reshape(-1, np.shape(
            arrays["betas"])[-1])[0]
    rate = _frame_rate(name, arrays, fps, notes)

    if model is not None:
        pelvis_offset = model.joint_positions(betas)[0]
    elif PELVIS_KEY in arrays:
        pelvis_offset = _per_frame(name, PELVIS_KEY, arrays[PELVIS_KEY], 3, None)[0]
    else:
        pelvis_offset = np.zeros(3)
    a = world_to_cadence(up)
    motion = Motion(axis_angle_to_canonical(aa, up), (transl + pelvis_offset) @ a.T, rate)
    positions = motion.positions()
    _check_upright(name, positions, up, explicit, notes)
    if fix_floor and model is None and PELVIS_KEY not in arrays:
        motion.root_positions[:, 2] -= floor_offset(positions)
    return SmplxMotion(motion, expressions, betas, gender, rate, layout, up, model_type,
                       pelvis_offset, notes, model)


def _frame_rate(name: str, arrays: dict, fps: float | None, notes: list[str]) -> float:
    if fps is not None:
        if not in_range(fps, MIN_SOURCE_FPS, MAX_SOURCE_FPS):
            raise SmplxFormatError(f"frame rate must be positive, between {MIN_SOURCE_FPS:g} and "
                                   f"{MAX_SOURCE_FPS:g}, got {fps}")
        return float(fps)
    key = next((k for k in FPS_KEYS if k in arrays), None)
    if key is None:
        notes.append(f"no frame rate in the file ({FPS_KEYS[0]}): {DEFAULT_FPS:g} fps assumed")
        return DEFAULT_FPS
    value = _numeric(name, key, arrays[key], (0, 1)).ravel()
    if value.size != 1 or not in_range(value[0], MIN_SOURCE_FPS, MAX_SOURCE_FPS):
        raise SmplxFormatError(f"{name}: {key!r} must be one positive number from {MIN_SOURCE_FPS:g} to "
                               f"{MAX_SOURCE_FPS:g}, got {value[:4]}")
    return float(value[0])
