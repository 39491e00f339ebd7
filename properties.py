"""Per-scene settings of Cadence, stored in the .blend as ``scene.cadence``.

Settings live on the scene (not in add-on preferences) because they describe this
file's work: which motion to bake and onto which rig.
"""
import bpy

from . import timeline_properties
from .timeline_properties import CadenceResult, CadenceSlider, CadenceTarget, CadenceTrack


def _is_armature(_settings: "CadenceSettings", obj: bpy.types.Object) -> bool:
    return obj.type == 'ARMATURE'


def _is_mesh(_settings: "CadenceSettings", obj: bpy.types.Object) -> bool:
    return obj.type == 'MESH'


# Root motion choices of the retarget (the same as the Retarget operator's).
ROOT_MOTION_ITEMS = (
    ('hips', "Hips", "The hips bone carries the travel"),
    ('root', "Root Bone", "A ground-level root bone carries the travel on the floor; the hips "
                          "carry the height"),
    ('in_place', "In Place", "The character stays in place (sway kept)"),
)
# Blender 4.5+ warns about "//" paths unless a path property says it takes them.
_RELATIVE_PATH = {'PATH_SUPPORTS_BLEND_RELATIVE'} if bpy.app.version >= (4, 5, 0) else set()
AUDIO_SOURCE_ITEMS = (
    ('FILE', "File", "An audio file on disk"),
    ('STRIP', "Sound Strip", "A sound strip in the scene's Video Sequencer"),
)
# Generate Gestures' mode, stored per character (``Object.cadence_gesture_mode``, registered
# in registration.py): one armature speaks the audio, the other of the dialogue listens to it.
GESTURE_MODE_ITEMS = (
    ('SPEAKING', "Speaking", "This character says the speech: gestures in time with it"),
    ('LISTENING', "Listening", "This character listens to the speech: a calm idle, nods at the speaker's "
                               "phrase ends and small posture shifts (inference/gesture/listening.py)"),
)
# Lip-sync methods of Generate Face (inference/face/generate.py METHODS; docs/face.md has the figures).
FACE_METHOD_ITEMS = (
    ('BLEND', "Blend", "The learned model and English phoneme recognition together (best measured)"),
    ('LEARNED', "Learned", "The model trained on captured speech: any language, fastest"),
    ('PHONEME', "Phonemes", "English phoneme recognition and visemes: exact p/b/m closures"),
)


class CadenceSettings(bpy.types.PropertyGroup):
    """Settings shared by Cadence's panels and operators."""

    motion_path: bpy.props.StringProperty(
        name="Motion File",
        description="Motion file to bake onto the target armature: BVH, or SMPL-X .npz "
                    "(AMASS, BEAT2/EMAGE, smplx outputs)",
        subtype='FILE_PATH',
    )
    target: bpy.props.PointerProperty(
        name="Target",
        description="Armature that receives the motion; empty builds the canonical rig",
        type=bpy.types.Object,
        poll=_is_armature,
    )

    # --- Generate panel (panels/, operators/generate.py) ------------------------------
    face_mesh: bpy.props.PointerProperty(
        name="Face", type=bpy.types.Object, poll=_is_mesh,
        description="Mesh with ARKit-style shape keys that receives the face animation (optional)")
    tracks: bpy.props.CollectionProperty(
        type=CadenceTrack, name="Tracks",
        description="Timeline tracks; prompts on different tracks may overlap in time")
    active_track_index: bpy.props.IntProperty(
        name="Active Track", default=0, min=0, description="The track being edited")
    targets: bpy.props.CollectionProperty(
        type=CadenceTarget, name="Targets",
        description="Objects the character looks at or reaches for, applied to every Generate")
    active_target_index: bpy.props.IntProperty(
        name="Active Target", default=0, min=0, description="The target being edited")
    styles: bpy.props.CollectionProperty(
        type=CadenceSlider, name="Styles",
        description="Emotion and style sliders, one per style the motion model knows")
    text_guidance: bpy.props.FloatProperty(
        name="Prompt Strength", default=2.5, min=0.0, soft_max=6.0, max=20.0,
        description="How closely the motion follows the prompts (classifier-free guidance); "
                    "higher is more literal, lower more natural")
    style_guidance: bpy.props.FloatProperty(
        name="Style Strength", default=2.0, min=0.0, soft_max=6.0, max=20.0,
        description="How strongly the emotion/style sliders are applied")
    fast_preview: bpy.props.BoolProperty(
        name="Fast Preview", default=False,
        description="Sample with the 2-step distilled model: several times faster, slightly less "
                    "faithful; one prompt at default strengths (docs/motion_model.md)")
    steps: bpy.props.IntProperty(
        name="Steps", default=0, min=0, max=100,
        description="Denoising steps; 0 uses the model's default (more is slower, rarely better)")
    seed: bpy.props.IntProperty(
        name="Seed", default=0, min=0,
        description="Random seed: the same settings and seed give the same motion")
    variations: bpy.props.IntProperty(
        name="Variations", default=1, min=1, max=16,
        description="How many versions to generate (seeds Seed, Seed+1, ...); step through "
                    "them in the preview")
    variation_index: bpy.props.IntProperty(
        name="Variation", default=0, min=0, description="The variation shown in the preview")
    result: bpy.props.PointerProperty(
        type=CadenceResult, name="Last Result", description="Summary of the last generation")
    preview_object: bpy.props.PointerProperty(
        name="Preview Armature", type=bpy.types.Object, poll=_is_armature,
        description="Armature showing the preview")
    preview_action: bpy.props.PointerProperty(
        name="Preview Action", type=bpy.types.Action,
        description="Temporary action of the preview (replaced by the next Generate)")
    preview_previous_action: bpy.props.PointerProperty(
        name="Previous Action", type=bpy.types.Action,
        description="The armature's own action before the preview, restored by Clear Preview")
    play_preview: bpy.props.BoolProperty(
        name="Play Preview", default=True,
        description="Start playback when a preview is ready")
    bake_name: bpy.props.StringProperty(
        name="Action Name", default="Cadence",
        description="Name of the action Bake writes (a number is added if it is taken)")
    bake_nla: bpy.props.BoolProperty(
        name="NLA Strips", default=False,
        description="Also lay the baked action out as NLA strips, one per prompt, on one NLA "
                    "track per timeline track")
    root_motion: bpy.props.EnumProperty(
        name="Root Motion", items=ROOT_MOTION_ITEMS, default='hips',
        description="Which bone carries the character's travel")
    foot_cleanup: bpy.props.BoolProperty(
        name="Clean Foot Contacts", default=True,
        description="Keep planted feet from sliding, floating or sinking")
    allow_driven: bpy.props.BoolProperty(
        name="Allow Driven Bones", default=False,
        description="Bake even when constraints or drivers act on the bones the motion drives")

    # --- Speech (face and gesture models hook in via panels/speech.py) ---------------
    audio_source: bpy.props.EnumProperty(
        name="Audio Source", items=AUDIO_SOURCE_ITEMS, default='FILE',
        description="Where the speech comes from")
    audio_path: bpy.props.StringProperty(
        name="Audio File", subtype='FILE_PATH', default="", options=_RELATIVE_PATH,
        description="Speech recording (wav, flac, ogg, mp3) driving gestures and the face")
    audio_strip: bpy.props.StringProperty(
        name="Sound Strip", default="",
        description="Sound strip in the Video Sequencer whose audio drives gestures and the face")
    face_method: bpy.props.EnumProperty(
        name="Lip Sync", items=FACE_METHOD_ITEMS, default='BLEND',
        description="How Generate Face moves the lips")
    speech_transcript: bpy.props.StringProperty(
        name="Transcript", default="",
        description="What is said, in English (optional): aligned to the audio for the lip "
                    "sync's phonemes and the gestures' words instead of recognising them")
    gesture_semantic: bpy.props.FloatProperty(
        name="Semantic Gestures", default=0.5, min=0.0, max=1.0, subtype='FACTOR',
        description="How many gestures that mean something (wave, point, bow, nod...) "
                    "Generate Gestures places at their words: 0 beats only")
    speech_emotions: bpy.props.CollectionProperty(
        type=CadenceSlider, name="Speech Emotions",
        description="Emotion sliders for the speech-driven face and gestures")


# Properties on every Object (registration.py adds and removes them): per character.
OBJECT_PROPERTIES = {
    "cadence_gesture_mode": bpy.props.EnumProperty(
        name="Gesture Mode", items=GESTURE_MODE_ITEMS, default='SPEAKING',
        description="Whether Generate Gestures makes this armature speak the audio or listen to it "
                    "(the other character of a dialogue)"),
}

classes = timeline_properties.classes + (CadenceSettings,)
