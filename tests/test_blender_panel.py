"""The Cadence sidebar: registration, settings stored in the .blend, timeline editing
operators, sliders from the model's metadata, preferences, the speech hook, and the
panels' draw code run headless against a recording layout."""
import sys
from types import SimpleNamespace

import pytest

import cadence

import rig_builders as rb
from panel_support import Recorder, add_prompt, check_layout_calls


def test_register_unregister_twice_with_panels(blender):
    for _ in range(2):
        cadence.unregister()
        assert not hasattr(blender.types.Scene, "cadence")
        for name in ("CADENCE_PT_main", "CADENCE_PT_generate", "CADENCE_OT_generate",
                     "CADENCE_UL_segments", "CadencePreferences"):
            assert not hasattr(blender.types, name), name
        cadence.register()
        settings = blender.context.scene.cadence
        assert len(settings.tracks) == 0 and settings.variations == 1
        assert blender.ops.cadence.generate.poll()
        assert hasattr(blender.types, "CADENCE_PT_timeline")


def test_registering_imports_no_onnxruntime():
    # bench/register_time.py measures it in a fresh process; here: the modules that
    # registration imports do not pull it in.
    import subprocess

    import cadence.registration
    from cadence.blender import bake_preview, prompt_generation, sliders  # noqa: F401
    from cadence.panels import sidebar  # noqa: F401
    code = ("import sys; sys.path.insert(0, 'cli'); import bpy; from _package import load_package; "
            "from pathlib import Path; p = load_package(Path('.')); p.register(); "
            "print(sorted(m for m in ('onnxruntime', 'tokenizers', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=str(cadence.__path__[0]), check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_every_property_has_a_tooltip(blender):
    from cadence import preferences, timeline_properties
    from cadence.properties import CadenceSettings
    groups = [CadenceSettings, preferences.CadencePreferences, *timeline_properties.classes]
    for cls in groups:
        for prop in cls.bl_rna.properties:
            if prop.identifier in ("rna_type", "name", "bl_idname"):
                continue
            assert prop.description.strip(), f"{cls.__name__}.{prop.identifier} has no tooltip"
    from cadence.operators import generate, timeline
    for cls in generate.classes + timeline.classes + (preferences.CADENCE_OT_system_check,):
        assert (cls.__doc__ or "").strip(), f"{cls.__name__} has no tooltip"
        module, name = cls.bl_idname.split(".")
        for prop in getattr(getattr(blender.ops, module), name).get_rna_type().properties:
            if prop.identifier != "rna_type":
                assert prop.description.strip(), f"{cls.__name__}.{prop.identifier} has no tooltip"
    changing = [c for c in cadence.operators.classes
                if c.bl_idname.split(".")[1] in ("generate", "bake", "clear_preview", "step_variation",
                                                 "track_add", "segment_add", "randomize_seed")]
    assert all({'REGISTER', 'UNDO'} <= c.bl_options for c in changing)


def test_settings_persist_through_save_and_reload(blender, tmp_path):
    bpy = blender
    obj = rb.build_object(bpy, rb.mixamo(prefix=""), name="Hero")
    s = bpy.context.scene.cadence
    s.target = obj
    add_prompt(bpy, "walk forward", 1, 150, ["legs", "torso"])
    seg = add_prompt(bpy, "wave with the right hand", 30, 90, ["right_arm"], track=1)
    seg.use_style = True  # fills the model's sliders when a model is installed
    item = seg.styles.get("happy") or seg.styles.add()
    item.name, item.value = "happy", 0.8
    slider = s.styles.add()
    slider.name, slider.value = "old", 0.3
    s.seed, s.variations, s.text_guidance, s.bake_name, s.bake_nla = 42, 3, 3.5, "Hero walk", True
    s.audio_path, s.root_motion = "//speech.wav", 'in_place'
    s.tracks[1].mute = True
    path = tmp_path / "panel.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(path))
    bpy.ops.wm.read_factory_settings(use_empty=True)
    assert len(bpy.context.scene.cadence.tracks) == 0
    bpy.ops.wm.open_mainfile(filepath=str(path))
    s = bpy.context.scene.cadence
    assert s.target.name == "Hero"
    assert [t.name for t in s.tracks] == ["Track 1", "Track 2"] and s.tracks[1].mute
    a, b = s.tracks[0].segments[0], s.tracks[1].segments[0]
    assert (a.text, a.frame_start, a.frame_end, set(a.parts)) == ("walk forward", 1, 150, {"legs", "torso"})
    assert b.use_style and b.styles["happy"].value == pytest.approx(0.8)
    assert (s.styles[0].name, round(s.styles[0].value, 3)) == ("old", 0.3)
    assert (s.seed, s.variations, s.text_guidance, s.bake_name, s.bake_nla) == (42, 3, 3.5, "Hero walk", True)
    assert (s.audio_path, s.root_motion) == ("//speech.wav", 'in_place')


def test_timeline_operators(blender):
    bpy = blender
    scene = bpy.context.scene
    scene.render.fps, scene.frame_start, scene.frame_end = 30, 1, 200
    s = scene.cadence
    assert bpy.ops.cadence.segment_add(text="walk") == {'FINISHED'}  # makes a track
    assert len(s.tracks) == 1
    seg = s.tracks[0].segments[0]
    assert (seg.frame_start, seg.frame_end) == (1, 121)  # 4 s at 30 fps
    assert bpy.ops.cadence.segment_add(text="run") == {'FINISHED'}
    run = s.tracks[0].segments[1]
    assert (run.frame_start, run.frame_end) == (121, 200)  # clipped to the scene's end
    assert bpy.ops.cadence.segment_duplicate() == {'FINISHED'}
    dup = s.tracks[0].segments[2]
    assert (dup.text, dup.frame_start, dup.frame_end) == ("run", 200, 279)
    assert bpy.ops.cadence.segment_move(direction='UP') == {'FINISHED'}
    assert [x.text for x in s.tracks[0].segments] == ["walk", "run", "run"]
    assert s.tracks[0].active_segment_index == 1
    scene.use_preview_range, scene.frame_preview_start, scene.frame_preview_end = True, 20, 60
    assert bpy.ops.cadence.segment_from_frame_range() == {'FINISHED'}
    moved = s.tracks[0].segments[1]
    assert (moved.frame_start, moved.frame_end) == (20, 60)
    assert bpy.ops.cadence.segment_remove() == {'FINISHED'}
    assert len(s.tracks[0].segments) == 2
    assert bpy.ops.cadence.track_add() == {'FINISHED'}
    assert len(s.tracks) == 2 and s.active_track_index == 1 and len(s.tracks[1].segments) == 1
    assert bpy.ops.cadence.track_move(direction='UP') == {'FINISHED'}
    assert s.active_track_index == 0 and s.tracks[0].name == "Track 2"
    assert bpy.ops.cadence.track_remove() == {'FINISHED'}
    assert [t.name for t in s.tracks] == ["Track 1"]
    old = s.seed
    assert bpy.ops.cadence.randomize_seed() == {'FINISHED'} and s.seed != old


def test_sliders_come_from_the_model(blender, weights):
    import json

    from cadence.blender.sliders import sliders_in_sync, sync_scene_sliders
    bpy = blender
    names = json.loads((weights / "motion_diffusion.json").read_text())["styles"]
    s = bpy.context.scene.cadence
    assert not sliders_in_sync(bpy.context)
    stale = s.styles.add()
    stale.name, stale.value = names[1], 0.6
    assert sync_scene_sliders(bpy.context)
    assert [x.name for x in s.styles] == names
    assert s.styles[names[1]].value == pytest.approx(0.6)  # values kept by name
    assert sliders_in_sync(bpy.context)
    seg = add_prompt(bpy, "walk", 1, 60)
    seg.use_style = True  # update callback fills the prompt's own sliders
    assert [x.name for x in seg.styles] == names
    s.text_guidance, s.steps = 9.0, 30
    assert bpy.ops.cadence.reset_styles() == {'FINISHED'}
    meta = json.loads((weights / "motion_diffusion.json").read_text())["defaults"]
    assert all(x.value == 0 for x in s.styles)
    assert (s.text_guidance, s.steps) == (pytest.approx(meta["text_guidance"]), 0)


def test_style_names_are_read_without_onnxruntime(weights):
    from cadence.inference.runtime.model_info import motion_model_info
    info = motion_model_info(weights)
    assert info.available and len(info.styles) >= 8 and "happy" in info.styles
    missing = motion_model_info("/nonexistent/weights")
    assert not missing.available and "motion_diffusion.json" in missing.problem


def test_preferences_and_system_check(blender, tmp_path, monkeypatch):
    from cadence import preferences
    bpy = blender
    monkeypatch.delenv("CADENCE_WEIGHTS_DIR", raising=False)
    assert preferences.get_preferences().device == 'AUTO'  # no add-on entry: defaults
    addon = bpy.context.preferences.addons.get("cadence") or bpy.context.preferences.addons.new()
    addon.module = "cadence"
    prefs = bpy.context.preferences.addons["cadence"].preferences
    prefs.weights_dir = str(tmp_path)
    prefs.device = 'CPU'
    prefs.threads = 2
    assert preferences.weights_dir() == str(tmp_path)
    report = preferences.system_report(prefs)
    import onnxruntime
    assert report[0] == ('INFO', f"onnxruntime {onnxruntime.__version__}; providers: "
                                 f"{', '.join(onnxruntime.get_available_providers())}")
    assert any("no motion model" in line for _, line in report)
    assert bpy.ops.cadence.system_check() == {'FINISHED'}
    from cadence.inference.runtime.jobs import DeviceError, providers_for
    assert providers_for("CPU") == ["CPUExecutionProvider"] and providers_for("AUTO") is None
    if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        with pytest.raises(DeviceError, match="CUDA is not available"):
            providers_for("CUDA")
    prefs.weights_dir = ""
    bpy.context.preferences.addons.remove(addon)


def test_speech_hook(blender, tmp_path, monkeypatch):
    """Missing audio gives a report and changes nothing; buttons appear only when the
    generator's operator and model exist."""
    from cadence.blender import speech_input as sp
    bpy = blender
    monkeypatch.setenv("CADENCE_WEIGHTS_DIR", str(tmp_path))
    s = bpy.context.scene.cadence
    assert "no audio" in sp.speech_audio_problem(bpy.context)
    s.audio_path = str(tmp_path / "missing.wav")
    assert "audio file not found" in sp.speech_audio_problem(bpy.context)
    s.audio_source, s.audio_strip = 'STRIP', "Voice"
    assert "no sound strip 'Voice'" in sp.speech_audio_problem(bpy.context)

    class CADENCE_OT_test_speech(sp.SpeechOperatorMixin, bpy.types.Operator):
        """Test speech generator"""
        bl_idname = "cadence.test_speech"
        bl_label = "Test Speech"
        bl_options = {'REGISTER', 'UNDO'}

        filepath: bpy.props.StringProperty(name="Audio", description="Speech", subtype='FILE_PATH')
        emotion_happy: bpy.props.FloatProperty(name="Happy", description="Happy")

        def execute(self, context):
            audio = self.speech_audio_or_report(context)
            if audio is None:
                return {'CANCELLED'}
            bpy.data.actions.new("speech")
            return {'FINISHED'}

    bpy.utils.register_class(CADENCE_OT_test_speech)
    action = sp.SpeechAction("cadence.test_speech", "Test Speech", 'SOUND', "test_speech*.onnx")
    sp.register_speech_action(action)
    try:
        with pytest.raises(RuntimeError, match="no sound strip 'Voice'"):
            bpy.ops.cadence.test_speech()
        assert len(bpy.data.actions) == 0
        assert not [a for a, _ in sp.available_speech_actions(bpy.context) if a.idname == action.idname]
        (tmp_path / "test_speech.onnx").write_bytes(b"")
        shown = dict((a.idname, reason) for a, reason in sp.available_speech_actions(bpy.context))
        assert "no sound strip" in shown[action.idname]
        wav = tmp_path / "voice.wav"
        wav.write_bytes(b"RIFF")
        s.audio_source, s.audio_path = 'FILE', str(wav)
        shown = dict((a.idname, reason) for a, reason in sp.available_speech_actions(bpy.context))
        assert shown[action.idname] is None
        assert bpy.ops.cadence.test_speech() == {'FINISHED'}
        from cadence.blender.sliders import sync_scene_sliders
        sync_scene_sliders(bpy.context)
        s.speech_emotions["happy"].value = 0.7
        values = sp.operator_values(bpy.context, action)
        assert values == {"filepath": str(wav), "emotion_happy": pytest.approx(0.7)}
        rec = Recorder()
        from cadence.panels import sidebar
        sidebar.CADENCE_PT_speech.draw(SimpleNamespace(layout=rec), bpy.context)
        check_layout_calls(bpy, rec.log)
        [call] = [c for c in rec.calls("operator") if c[1].idname == action.idname]
        assert call[1].props == values
    finally:
        sp.SPEECH_ACTIONS.remove(action)
        bpy.utils.unregister_class(CADENCE_OT_test_speech)


def _draw_all(bpy, context) -> Recorder:
    from cadence.panels import sidebar
    rec = Recorder()
    for cls in sidebar.classes:
        if issubclass(cls, bpy.types.Panel):
            cls.draw(SimpleNamespace(layout=rec), context)
    settings = context.scene.cadence
    for track in settings.tracks:
        sidebar.CADENCE_UL_tracks.draw_item(None, context, rec, settings, track, 0, settings,
                                            "active_track_index")
        for seg in track.segments:
            sidebar.CADENCE_UL_segments.draw_item(None, context, rec, track, seg, 0, track,
                                                  "active_segment_index")
    check_layout_calls(bpy, rec.log)
    return rec


def test_panels_draw_headless(blender, weights):
    from cadence.panels import logic
    bpy = blender
    ctx = bpy.context
    rec = _draw_all(bpy, ctx)  # empty scene: no target, no timeline
    assert "cadence.add_rig" in rec.operators()
    state = logic.generate_state(ctx)
    assert not state.enabled and "No target armature" in state.reason
    assert state.reason in rec.labels()
    from cadence.blender.speech_input import available_speech_actions
    shown = [a.idname for a, _ in available_speech_actions(ctx)]
    if shown:  # e.g. the face model and operator are installed
        assert set(shown) <= set(rec.operators())
    else:
        assert "Face and gesture models are not installed" in rec.labels()

    obj = rb.build_object(bpy, rb.mixamo(prefix=""), name="Hero")
    ctx.scene.cadence.target = obj
    assert "The timeline is empty" in logic.generate_state(ctx).reason
    add_prompt(bpy, "walk forward", 1, 90)
    seg = add_prompt(bpy, "wave", 80, 120)
    state = logic.generate_state(ctx)
    assert not state.enabled and "overlaps" in state.reason
    seg.frame_start, seg.frame_end = 130, 120
    assert "is not after its start" in logic.generate_state(ctx).reason
    seg.frame_start, seg.frame_end = 90, 120
    assert logic.generate_state(ctx).enabled
    assert not logic.bake_state(ctx).enabled and "generate first" in logic.bake_state(ctx).reason
    rec = _draw_all(bpy, ctx)
    assert {"cadence.generate", "cadence.bake", "cadence.clear_preview", "cadence.randomize_seed",
            "cadence.detect_bone_map", "cadence.segment_from_frame_range"} <= set(rec.operators())
    enabled = [e for e in rec.log if e[0] == "set" and e[1] == "enabled"]
    assert ("set", "enabled", True) in enabled and ("set", "enabled", False) in enabled  # generate on, bake off
    assert "Mixamo: 52 bones mapped (detected, not stored yet)" in rec.labels()
    assert logic.summary_lines(ctx) == []


def test_panel_draw_schedules_the_slider_sync(blender, weights, monkeypatch):
    """draw may not write data: it registers a timer that syncs the sliders."""
    from cadence.blender.sliders import _SYNC_PENDING, sliders_in_sync
    bpy = blender
    scheduled = []
    _SYNC_PENDING.clear()  # earlier draws scheduled timers that never run headless
    monkeypatch.setattr(bpy.app.timers, "register", lambda fn, first_interval=0.0: scheduled.append(fn))
    _draw_all(bpy, bpy.context)
    _draw_all(bpy, bpy.context)
    assert len(scheduled) == 1 and len(bpy.context.scene.cadence.styles) == 0
    scheduled[0]()
    assert sliders_in_sync(bpy.context) and len(bpy.context.scene.cadence.styles) > 0
    rec = _draw_all(bpy, bpy.context)
    labels = {c[2].get("text") for c in rec.calls("prop") if c[1][1] == "value"}
    assert "Happy" in labels and "Neutral" in labels  # style and speech emotion sliders


def test_check_rig_shows_the_mapping_before_baking(blender):
    """Issue 24: Check Rig on a game rig with IK controls at its root: the panel lists
    every body joint with its bone and how it was found, says what to check, and a joint
    fixed by picking a bone becomes certain; undo takes the fix back."""
    import json

    from cadence.panels import logic
    bpy = blender
    bpy.ops.wm.read_factory_settings(use_empty=True)
    obj = rb.build_object(bpy, rb.game_rig(), name="Hero")
    bpy.context.scene.cadence.target = obj
    assert bpy.ops.cadence.detect_bone_map() == {'FINISHED'}
    stored = json.loads(obj.data["cadence_bone_map"])
    assert stored["bones"]["left_ankle"] == "Ankle.L" and stored["confidence"]["left_ankle"] == 0.6
    rows = {j: (b, icon) for j, b, icon in logic.bone_map_rows(obj)}
    assert rows["left_ankle"] == ("Ankle.L", 'QUESTION') and rows["left_knee"] == ("Shin.L", 'CHECKMARK')
    rec = _draw_all(bpy, bpy.context)
    labels = rec.labels()
    assert "22 of 22 body joints mapped (daz_genesis)" in labels
    assert any(t.startswith("check: ") and "left ankle" in t for t in labels)
    assert "cadence.save_bone_map" in rec.operators()
    bpy.ops.ed.undo_push(message="checked")
    assert bpy.ops.cadence.set_bone_map_entry(joint="left_ankle", bone="Ankle.L") == {'FINISHED'}
    assert dict((j, i) for j, _, i in logic.bone_map_rows(obj))["left_ankle"] == 'CHECKMARK'
    bpy.ops.ed.undo_push(message="fixed")
    bpy.ops.ed.undo()
    obj = bpy.data.objects["Hero"]
    assert json.loads(obj.data["cadence_bone_map"])["confidence"]["left_ankle"] == 0.6
