"""Helpers for the panel / Generate tests: which weights to use, a timeline in the
panel's settings, a fingerprint of the scene, and a recording stand-in for UILayout so
that panels' ``draw`` can run headless."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The shipped weights when the motion model is in weights/, else an interim export
# (training/train.py export --out /tmp/cadence-ui-weights) while it is still training.
CANDIDATES = (ROOT / "weights", Path("/tmp/cadence-ui-weights"))


def run_job_to_end(spec, run, timeout: float = 120.0):
    """Start the generation job and wait for it as the modal operator's timer does (the
    main thread applies nothing meanwhile); returns the finished job."""
    from cadence.blender.runs import end_job, start_job
    job = start_job(spec, run)
    deadline = time.time() + timeout
    while not job.done and time.time() < deadline:
        time.sleep(0.05)
    end_job(job)
    return job


def weights_path() -> Path | None:
    for path in CANDIDATES:
        if (path / "motion_diffusion.onnx").is_file() and (path / "motion_diffusion.json").is_file():
            return path
    return None


@pytest.fixture
def weights(monkeypatch):
    path = weights_path()
    if path is None:
        pytest.skip("no motion model: weights/motion_diffusion.* are not there yet")
    monkeypatch.setenv("CADENCE_WEIGHTS_DIR", str(path))
    return path


def add_prompt(bpy, text: str, start: int, end: int, parts=None, track: int = 0):
    settings = bpy.context.scene.cadence
    while len(settings.tracks) <= track:
        t = settings.tracks.add()
        t.name = f"Track {len(settings.tracks)}"
    seg = settings.tracks[track].segments.add()
    seg.text, seg.frame_start, seg.frame_end = text, start, end
    if parts is not None:
        seg.parts = set(parts)
    return seg


def fcurves(action) -> list:
    if hasattr(action, "layers") and action.layers:
        return [f for layer in action.layers for strip in layer.strips
                for bag in strip.channelbags for f in bag.fcurves]
    return list(action.fcurves)


def fingerprint(bpy) -> tuple:
    """What Generate/Bake may change: objects, actions, assignments, poses, settings."""
    s = bpy.context.scene.cadence
    objects = []
    for o in sorted(bpy.data.objects, key=lambda o: o.name):
        act = o.animation_data.action.name if o.animation_data and o.animation_data.action else None
        pose = tuple((pb.name, pb.rotation_mode, tuple(round(v, 6) for v in pb.rotation_quaternion),
                      tuple(round(v, 6) for v in pb.location)) for pb in o.pose.bones) if o.pose else ()
        props = tuple(sorted(o.keys())) + (tuple(sorted(o.data.keys())) if o.data else ())
        nla = len(o.animation_data.nla_tracks) if o.animation_data else 0
        objects.append((o.name, act, pose, props, nla))
    return (tuple(objects), tuple(sorted((a.name, a.use_fake_user) for a in bpy.data.actions)),
            s.preview_object, s.preview_action, s.result.frames, s.result.token,
            bpy.context.scene.frame_start, bpy.context.scene.frame_end, bpy.context.scene.render.fps)


class Recorder:
    """Stands in for ``UILayout``: records every call; sub-layouts are Recorders too;
    ``operator`` returns an object that takes any property assignment."""

    _NESTED = {"row", "column", "box", "split", "grid_flow", "column_flow", "menu_pie"}

    def __init__(self, log: list | None = None):
        object.__setattr__(self, "log", [] if log is None else log)

    def __setattr__(self, name, value):
        self.log.append(("set", name, value))

    def __getattr__(self, name):
        def call(*args, **kwargs):
            if name == "operator":
                props = OperatorCall(args[0], kwargs)
                self.log.append(("operator", props))
                return props
            self.log.append((name, args, kwargs))
            return Recorder(self.log) if name in self._NESTED else None
        return call

    # what a test looks at
    def calls(self, name: str) -> list:
        return [entry for entry in self.log if entry[0] == name]

    def labels(self) -> list[str]:
        return [kw.get("text", args[0] if args else "") for _, args, kw in self.calls("label")]

    def operators(self) -> list[str]:
        return [entry[1].idname for entry in self.calls("operator")]


class OperatorCall:
    def __init__(self, idname: str, kwargs: dict):
        self.__dict__.update(idname=idname, kwargs=kwargs, props={})

    def __setattr__(self, name, value):
        self.props[name] = value


def check_layout_calls(bpy, log: list) -> None:
    """Every operator drawn exists, every icon is one of Blender's, every property
    drawn exists on its data."""
    icons = set(bpy.types.UILayout.bl_rna.functions["label"].parameters["icon"].enum_items.keys())
    for entry in log:
        if entry[0] == "operator":
            op = entry[1]
            module, name = op.idname.split(".")
            assert hasattr(getattr(bpy.ops, module), name), op.idname
            icon = op.kwargs.get("icon")
            assert icon is None or icon in icons, icon
            continue
        if entry[0] == "set":
            continue
        name, args, kwargs = entry
        function = bpy.types.UILayout.bl_rna.functions.get(name)
        assert function is not None, f"UILayout has no {name}()"
        unknown = set(kwargs) - {p.identifier for p in function.parameters}
        assert not unknown, (name, unknown)
        icon = kwargs.get("icon")
        assert icon is None or icon in icons, (name, icon)
        if name in ("prop", "prop_search") and args:
            data, prop = args[0], args[1]
            assert prop in data.bl_rna.properties, (data, prop)
        if name == "template_list":
            assert args[0] in dir(bpy.types), args[0]
