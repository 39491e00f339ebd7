"""Cadence's add-on preferences: execution device, threads, weights folder, system check.

Settings that belong to the machine rather than to a .blend live here. ``get_preferences``
returns them, or the defaults when Cadence runs without an add-on entry (the bpy module
in tests and scripts, where ``CADENCE_WEIGHTS_DIR`` may name the weights folder).
"""
from __future__ import annotations

import os
from types import SimpleNamespace

import bpy

from .inference.runtime.model_info import motion_model_info, weights_folder
from .inference.runtime.onnx_session import import_onnxruntime
from .motion.smplx_model import find_model_file, model_missing_message

DEVICE_ITEMS = (
    ('AUTO', "Auto", "CUDA when onnxruntime offers it, else the CPU"),
    ('CPU', "CPU", "Always run the models on the CPU"),
    ('CUDA', "CUDA", "Run the models on an NVIDIA GPU (needs onnxruntime-gpu)"),
)


class CadencePreferences(bpy.types.AddonPreferences):
    bl_idname = __package__

    device: bpy.props.EnumProperty(
        name="Execution Device", items=DEVICE_ITEMS, default='AUTO',
        description="Where the models run (onnxruntime execution provider)")
    threads: bpy.props.IntProperty(
        name="Threads", default=0, min=0, max=256,
        description="CPU threads for the models; 0 lets onnxruntime choose (all cores)")
    weights_dir: bpy.props.StringProperty(
        name="Weights Folder", subtype='DIR_PATH', default="",
        description="Folder with the model files and manifest.json; empty uses the weights "
                    "shipped with Cadence")
    smplx_model_dir: bpy.props.StringProperty(
        name="SMPL-X Model Folder", subtype='DIR_PATH', default="",
        description="Folder with your own SMPL-X model files (SMPLX_NEUTRAL.npz, ...; licensed "
                    "by their owners, from smpl-x.is.tue.mpg.de) for the optional SMPL-X body "
                    "on import; Cadence never ships or downloads them")

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        layout.use_property_split = True
        col = layout.column()
        col.prop(self, "device")
        col.prop(self, "threads")
        col.prop(self, "weights_dir")
        info = motion_model_info(weights_dir_setting(self))
        row = col.row()
        if info.available:
            row.label(text=f"Motion model {info.version}: {len(info.styles)} styles "
                           f"({info.licence})", icon='CHECKMARK')
        else:
            row.label(text=info.problem, icon='ERROR')
        col.operator("cadence.system_check", icon='CHECKMARK')
        col.prop(self, "smplx_model_dir")
        col.label(text=smplx_model_status(smplx_model_dir_setting(self)))


def weights_dir_setting(prefs) -> str:
    """The weights folder from preferences (absolute), or the ``CADENCE_WEIGHTS_DIR``
    environment variable, or "" for the shipped weights."""
    text = (getattr(prefs, "weights_dir", "") or "").strip()
    if text:
        return bpy.path.abspath(text)
    return os.environ.get("CADENCE_WEIGHTS_DIR", "")


def smplx_model_dir_setting(prefs) -> str:
    """The SMPL-X model folder from preferences (absolute), or the
    ``CADENCE_SMPLX_MODEL_DIR`` environment variable, or "" (no body offered)."""
    text = (getattr(prefs, "smplx_model_dir", "") or "").strip()
    if text:
        return bpy.path.abspath(text)
    return os.environ.get("CADENCE_SMPLX_MODEL_DIR", "")


def smplx_model_status(folder: str) -> str:
    """One line for the preferences: the model file found, or how to get one."""
    found = find_model_file(folder) if folder else None
    return f"SMPL-X body available: {found.name}" if found else model_missing_message(folder or None)


def smplx_model_dir(context: bpy.types.Context | None = None) -> str:
    return smplx_model_dir_setting(get_preferences(context))


def get_preferences(context: bpy.types.Context | None = None):
    """Cadence's AddonPreferences, or an object with the defaults when the add-on has no
    preferences entry (running as a module)."""
    context = context or bpy.context
    addon = context.preferences.addons.get(__package__)
    prefs = getattr(addon, "preferences", None) if addon is not None else None
    if prefs is None:
        return SimpleNamespace(device='AUTO', threads=0, weights_dir="", smplx_model_dir="")
    return prefs


def weights_dir(context: bpy.types.Context | None = None) -> str:
    return weights_dir_setting(get_preferences(context))


class CADENCE_OT_system_check(bpy.types.Operator):
    """Report the onnxruntime version, its execution providers and the state of the model files"""

    bl_idname = "cadence.system_check"
    bl_label = "System Check"

    def execute(self, context: bpy.types.Context) -> set[str]:
        for level, line in system_report(get_preferences(context)):
            self.report({level}, line)
        return {'FINISHED'}


def system_report(prefs) -> list[tuple[str, str]]:
    """(report level, line) pairs: onnxruntime, providers, chosen device, model files."""
    lines: list[tuple[str, str]] = []
    try:
        ort = import_onnxruntime()  # telemetry off before the library loads
    except ImportError as exc:
        return [('ERROR', f"onnxruntime is not installed ({exc}); reinstall Cadence")]
    providers = ort.get_available_providers()
    lines.append(('INFO', f"onnxruntime {ort.__version__}; providers: {', '.join(providers)}"))
    device = getattr(prefs, "device", 'AUTO')
    if device == 'CUDA' and "CUDAExecutionProvider" not in providers:
        lines.append(('WARNING', "Execution device is CUDA but this onnxruntime has no CUDA "
                                 "provider: generation will refuse to start; choose Auto or CPU"))
    else:
        uses = ("CUDA" if device != 'CPU' and "CUDAExecutionProvider" in providers else "CPU")
        threads = getattr(prefs, "threads", 0)
        lines.append(('INFO', f"Models run on {uses}" + (f" with {threads} threads" if threads and uses == "CPU"
                                                          else f" ({os.cpu_count()} CPU cores)")))
    wd = weights_dir_setting(prefs)
    info = motion_model_info(wd)
    if info.available:
        lines.append(('INFO', f"Motion model {info.version} in {weights_folder(wd)}: "
                              f"{len(info.styles)} styles, licence {info.licence}"))
    else:
        lines.append(('WARNING', info.problem))
    return lines


classes = (CadencePreferences, CADENCE_OT_system_check)
