"""PropertyGroups of the panel's timeline, sliders and last result (stored in the .blend).

``scene.cadence.tracks`` holds :class:`CadenceTrack` s of :class:`CadenceSegment` s
(prompt, frame range, body parts, optional own style sliders, optional path curve);
``scene.cadence.targets`` holds :class:`CadenceTarget` s (look at / reach an object); sliders are
:class:`CadenceSlider` (name, value) collections whose names come from the model's
metadata (kept in step by :func:`sync_sliders`, called from ``blender/sliders.py``;
never hard-coded here). The conversion to
the bpy-free ``inference.motion.timeline.Timeline`` lives in ``blender/timeline_build.py``.

Update callbacks here do property-level work only (a prompt's own sliders follow the
model's style names); the generation workflow imports these classes, never the reverse.
"""
import bpy

from .inference.runtime.model_info import motion_model_info
from .motion.skeleton import MODEL_PARTS
from .preferences import weights_dir

# Body parts of a segment: the motion model's parts (motion/skeleton.py MODEL_PARTS; hands
# follow their arm in the body model), with the panel's labels. All set = the full body.
_PART_LABELS = {
    'legs': ("Legs", "Legs, hips and the travel of the body"),
    'torso': ("Torso", "Spine and chest"),
    'left_arm': ("Left Arm", "Left shoulder, arm and hand"),
    'right_arm': ("Right Arm", "Right shoulder, arm and hand"),
    'head': ("Head", "Neck and head"),
}
PART_ITEMS = tuple((part, *_PART_LABELS[part], 'NONE', 1 << i) for i, part in enumerate(MODEL_PARTS))
ALL_PARTS = frozenset(item[0] for item in PART_ITEMS)


def sync_sliders(collection, names) -> bool:
    """Make ``collection`` hold one slider per name, in order, keeping the values of
    names it already had. Returns True when it changed anything."""
    names = list(names)
    if [s.name for s in collection] == names:
        return False
    values = {s.name: s.value for s in collection}
    collection.clear()
    for name in names:
        item = collection.add()
        item.name = name
        item.value = values.get(name, 0.0)
    return True



def _sync_segment_styles(segment: "CadenceSegment", context: bpy.types.Context) -> None:
    """Own Style ticked: one slider per style the installed model knows (names from its
    metadata), keeping the values the prompt had."""
    if not segment.use_style:
        return
    info = motion_model_info(weights_dir(context))
    if info.available:
        sync_sliders(segment.styles, info.styles)


def _is_curve(segment: "CadenceSegment", obj: bpy.types.Object) -> bool:
    return obj.type == 'CURVE'


class CadenceSlider(bpy.types.PropertyGroup):
    """One emotion/style slider; ``name`` is the model's style name."""

    value: bpy.props.FloatProperty(
        name="Weight", min=0.0, max=1.0, default=0.0, subtype='FACTOR',
        description="How strongly this style or emotion shows (0: not at all, 1: fully)")


class CadenceSegment(bpy.types.PropertyGroup):
    """A prompt on a timeline track: what, when (frames) and on which body parts."""

    text: bpy.props.StringProperty(
        name="Prompt", default="",
        description="What the character does, e.g. 'walks forward' or 'waves with the right hand'")
    frame_start: bpy.props.IntProperty(
        name="Start", default=1,
        description="First frame of this prompt (scene frames at the scene's frame rate)")
    frame_end: bpy.props.IntProperty(
        name="End", default=121,
        description="Frame where this prompt ends, after its start; the next prompt on the "
                    "track may start on this frame")
    parts: bpy.props.EnumProperty(
        name="Body Parts", items=PART_ITEMS, options={'ENUM_FLAG'}, default=set(ALL_PARTS),
        description="Body parts this prompt drives; all of them is the full body. Parts no "
                    "segment names follow the track with the legs")
    mute: bpy.props.BoolProperty(
        name="Mute", default=False, description="Leave this prompt out when generating")
    use_style: bpy.props.BoolProperty(
        name="Own Style", default=False, update=_sync_segment_styles,
        description="Give this prompt its own emotion/style sliders instead of the scene's")
    styles: bpy.props.CollectionProperty(
        type=CadenceSlider, name="Styles", description="This prompt's own emotion/style sliders")
    path: bpy.props.PointerProperty(
        type=bpy.types.Object, name="Path", poll=_is_curve,
        description="A Curve object for the character to walk along during this prompt: it "
                    "leaves the curve's first point on the Start frame and reaches its end on the "
                    "frame before End, following the curve on the ground and facing along it "
                    "(the first spline, projected onto the floor; the prompt must drive the legs; "
                    "one prompt with a path per generation)")
    path_facing: bpy.props.PointerProperty(
        type=bpy.types.Object, name="Arrive Facing",
        description="Optional: an object (a door, another character, the Camera) the character faces "
                    "when it reaches the path's end: the last stretch of the walk curves round to head "
                    "at it (a walker cannot turn on the spot)")


class CadenceTrack(bpy.types.PropertyGroup):
    """A timeline track: prompts that follow each other (they must not overlap)."""

    segments: bpy.props.CollectionProperty(
        type=CadenceSegment, name="Prompts", description="Prompts on this track, in time")
    active_segment_index: bpy.props.IntProperty(
        name="Active Prompt", default=0, min=0, description="The prompt being edited")
    mute: bpy.props.BoolProperty(
        name="Mute", default=False, description="Leave this track out when generating")


# Kinds of a scene target (blender/object_targets.py turns them into motion/targets.py's).
TARGET_KIND_ITEMS = (
    ('LOOK_AT', "Look At", "The head and neck turn towards the object from Start to End "
                           "(following it if it moves)"),
    ('REACH_RIGHT', "Reach Right Hand", "The right wrist is on the object at the frame"),
    ('REACH_LEFT', "Reach Left Hand", "The left wrist is on the object at the frame"),
)


class CadenceTarget(bpy.types.PropertyGroup):
    """An object the character looks at or reaches for (its world location, evaluated at
    the target's frames, so an animated Empty works)."""

    kind: bpy.props.EnumProperty(
        name="Kind", items=TARGET_KIND_ITEMS, default='LOOK_AT',
        description="Look at the object, or reach it with a hand")
    target: bpy.props.PointerProperty(
        type=bpy.types.Object, name="Object",
        description="Any object (an Empty, the Camera, a mesh): its world location is the point")
    frame_start: bpy.props.IntProperty(
        name="Frame", default=1,
        description="Reach: the frame the hand is on the object. Look At: the first frame of the look")
    frame_end: bpy.props.IntProperty(
        name="End", default=61, description="Look At: the last frame of the look")
    mute: bpy.props.BoolProperty(
        name="Mute", default=False, description="Leave this target out when generating")


class CadenceResult(bpy.types.PropertyGroup):
    """Summary of the last generation (shown in the panel, kept in the file)."""

    frames: bpy.props.IntProperty(name="Frames", description="Frames in the generated motion")
    seconds: bpy.props.FloatProperty(name="Duration", unit='TIME_ABSOLUTE',
                                     description="Length of the generated motion")
    seconds_taken: bpy.props.FloatProperty(name="Time Taken", unit='TIME_ABSOLUTE',
                                           description="How long the generation took")
    device: bpy.props.StringProperty(name="Device", description="Where the model ran (CPU or CUDA)")
    fast: bpy.props.BoolProperty(name="Fast Preview", description="Sampled with the fast (distilled) model")
    variations: bpy.props.IntProperty(name="Variations", description="Variations generated")
    seed: bpy.props.IntProperty(name="Seed", description="Seed of the first variation")
    readings: bpy.props.StringProperty(
        name="Read As", description="The known action each prompt was read as, with its probability "
                                    "(one prompt a line)")
    token: bpy.props.StringProperty(
        name="Run", options={'HIDDEN'},
        description="Identifies the run whose variations are held in memory")


classes = (CadenceSlider, CadenceSegment, CadenceTrack, CadenceTarget, CadenceResult)
