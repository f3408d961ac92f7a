"""The synthetic world: scenes of one or two flat-colored shapes on a flat background, rendered at
64x64 with 4x supersampling, and captions from varied templates.

Held out from training (see README.md):
  * three color-shape pairs never appear in any training caption or image (HELD_OUT_PAIRS);
  * one scene in ten (by a hash of its attributes, template excluded) is test-only, so every
    evaluation prompt describes a scene the model never saw.
"""
import hashlib
import random

import numpy as np

SIZE = 64
SUPERSAMPLE = 4

PALETTE = {
    "red": (220, 40, 40),
    "green": (40, 170, 60),
    "blue": (40, 80, 220),
    "yellow": (240, 220, 40),
    "purple": (140, 60, 180),
    "orange": (245, 140, 30),
    "white": (245, 245, 245),
    "black": (20, 20, 20),
}
COLORS = list(PALETTE)
SHAPES = ["circle", "square", "triangle"]
SIZES = {"small": 14.0, "big": 26.0}  # side of the bounding box in pixels
TWO_OBJECT_SIDE = 18.0
# Position name -> (x, y) center of the object, on a 3x3 grid.
GRID = {"left": 16.0, "center": 32.0, "right": 48.0, "top": 16.0, "bottom": 48.0}
POSITIONS = {
    "center": (32, 32), "left": (16, 32), "right": (48, 32), "top": (32, 16), "bottom": (32, 48),
    "top left": (16, 16), "top right": (48, 16), "bottom left": (16, 48), "bottom right": (48, 48),
}
POSITION_PHRASES = {
    "center": ["in the center", "in the middle"],
    "left": ["on the left"], "right": ["on the right"],
    "top": ["at the top"], "bottom": ["at the bottom"],
    "top left": ["in the top left corner"], "top right": ["in the top right corner"],
    "bottom left": ["in the bottom left corner"], "bottom right": ["in the bottom right corner"],
}
RELATIONS = ["left of", "right of", "above", "below"]
HELD_OUT_PAIRS = {("green", "triangle"), ("purple", "square"), ("orange", "circle")}
JITTER = 3.0

SINGLE_TEMPLATES = [
    "a {size} {color} {shape} {where} on a {bg} background",
    "a {size} {color} {shape} {where}, {bg} background",
    "{bg} background with a {size} {color} {shape} {where}",
    "a {color} {shape}, {size}, {where}, on {bg}",
]
RELATION_PHRASES = {"left of": "to the left of", "right of": "to the right of", "above": "above", "below": "below"}
TWO_TEMPLATES = [
    "a {c1} {s1} {rel} a {c2} {s2} on a {bg} background",
    "a {c1} {s1} {rel} a {c2} {s2}, {bg} background",
    "{bg} background, a {c1} {s1} {rel} a {c2} {s2}",
]


def scene_key(scene):
    """The attributes that define a scene (not its template or jitter)."""
    objs = ";".join(f"{o['color']},{o['shape']},{o.get('size', '')},{o.get('position', '')}" for o in scene["objects"])
    return f"{scene['background']}|{scene.get('relation', '')}|{objs}"


def is_test_scene(scene):
    return int(hashlib.sha256(scene_key(scene).encode()).hexdigest(), 16) % 10 == 0


def has_held_out_pair(scene, taught=frozenset()):
    """Whether the scene holds a held-out color-shape pair other than the taught ones."""
    return any((o["color"], o["shape"]) in HELD_OUT_PAIRS - taught for o in scene["objects"])


def split_of(scene, taught=frozenset()):
    """'train', 'test' (unseen scene, seen pairs) or 'novel' (contains a held-out color-shape pair).
    taught: held-out pairs a fine-tune teaches after all (finetune.py --teach-pair); their scenes
    fall in 'train' or 'test' like any other."""
    if has_held_out_pair(scene, taught):
        return "novel"
    return "test" if is_test_scene(scene) else "train"


def random_scene(rng: random.Random, two_object_share=0.4):
    if rng.random() < two_object_share:
        c1, c2 = rng.sample(COLORS, 2)
        bg = rng.choice([c for c in COLORS if c not in (c1, c2)])
        scene = {"background": bg, "relation": rng.choice(RELATIONS),
                 "objects": [{"color": c1, "shape": rng.choice(SHAPES)}, {"color": c2, "shape": rng.choice(SHAPES)}]}
    else:
        color = rng.choice(COLORS)
        bg = rng.choice([c for c in COLORS if c != color])
        scene = {"background": bg, "objects": [{"color": color, "shape": rng.choice(SHAPES),
                                                "size": rng.choice(list(SIZES)),
                                                "position": rng.choice(list(POSITIONS))}]}
    return scene


def sample_scene(rng: random.Random, split="train", two_object_share=0.4, taught=frozenset()):
    while True:
        scene = random_scene(rng, two_object_share)
        if split_of(scene, taught) == split:
            return scene


def caption(scene, rng: random.Random):
    objs = scene["objects"]
    if len(objs) == 1:
        o = objs[0]
        return rng.choice(SINGLE_TEMPLATES).format(size=o["size"], color=o["color"], shape=o["shape"],
                                                   where=rng.choice(POSITION_PHRASES[o["position"]]),
                                                   bg=scene["background"])
    a, b = objs
    return rng.choice(TWO_TEMPLATES).format(c1=a["color"], s1=a["shape"], rel=RELATION_PHRASES[scene["relation"]],
                                            c2=b["color"], s2=b["shape"], bg=scene["background"])


def layout(scene, rng: random.Random):
    """(shape, color, cx, cy, side) per object, with jitter; the first object is the caption's subject."""
    objs = scene["objects"]
    j = lambda: rng.uniform(-JITTER, JITTER)
    if len(objs) == 1:
        o = objs[0]
        x, y = POSITIONS[o["position"]]
        return [(o["shape"], o["color"], x + j(), y + j(), SIZES[o["size"]])]
    rel = scene["relation"]
    near, far = 18.0, 46.0
    other = 32.0 + rng.uniform(-6, 6)
    if rel in ("left of", "right of"):
        xa, xb = (near, far) if rel == "left of" else (far, near)
        ya, yb = other + j(), other + j()
        pos = [(xa + j(), ya), (xb + j(), yb)]
    else:
        ya, yb = (near, far) if rel == "above" else (far, near)
        xa, xb = other + j(), other + j()
        pos = [(xa, ya + j()), (xb, yb + j())]
    return [(o["shape"], o["color"], px, py, TWO_OBJECT_SIDE) for o, (px, py) in zip(objs, pos)]


_S = SIZE * SUPERSAMPLE
_YY, _XX = np.mgrid[0:_S, 0:_S].astype(np.float32)
_Y_FULL = (_YY + 0.5) / SUPERSAMPLE
_X_FULL = (_XX + 0.5) / SUPERSAMPLE


def shape_mask(shape, cx, cy, side, yy=None, xx=None):
    h = side / 2.0
    _YY = _Y_FULL if yy is None else yy
    _XX = _X_FULL if xx is None else xx
    if shape == "circle":
        return (_XX - cx) ** 2 + (_YY - cy) ** 2 <= h * h
    if shape == "square":
        return (np.abs(_XX - cx) <= h) & (np.abs(_YY - cy) <= h)
    if shape == "triangle":  # upright, apex at top, base at bottom, bounding box side x side
        top, bottom = cy - h, cy + h
        t = (_YY - top) / side  # 0 at apex, 1 at base
        return (_YY >= top) & (_YY <= bottom) & (np.abs(_XX - cx) <= t * h)
    raise ValueError(shape)


def render(scene, rng: random.Random, palette=None):
    """uint8 [64, 64, 3]. palette: color name -> RGB (default PALETTE; lora.py adds a ninth color)."""
    palette = PALETTE if palette is None else palette
    img = np.empty((_S, _S, 3), np.float32)
    img[:] = palette[scene["background"]]
    for shape, color, cx, cy, side in layout(scene, rng):
        # Only the object's bounding box (plus a margin) is tested, for speed.
        r0 = max(0, int((cy - side / 2 - 1) * SUPERSAMPLE)); r1 = min(_S, int((cy + side / 2 + 1) * SUPERSAMPLE) + 1)
        c0 = max(0, int((cx - side / 2 - 1) * SUPERSAMPLE)); c1 = min(_S, int((cx + side / 2 + 1) * SUPERSAMPLE) + 1)
        window = img[r0:r1, c0:c1]
        window[shape_mask(shape, cx, cy, side, _Y_FULL[r0:r1, c0:c1], _X_FULL[r0:r1, c0:c1])] = palette[color]
    img = img.reshape(SIZE, SUPERSAMPLE, SIZE, SUPERSAMPLE, 3).mean(axis=(1, 3))
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def dataset(n, seed, split="train", taught=frozenset()):
    """n (image uint8 [n,64,64,3], captions, scenes) drawn from a split, deterministically (taught:
    as in split_of)."""
    rng = random.Random(seed)
    images = np.empty((n, SIZE, SIZE, 3), np.uint8)
    captions, scenes = [], []
    for i in range(n):
        scene = sample_scene(rng, split, taught=taught)
        images[i] = render(scene, rng)
        captions.append(caption(scene, rng))
        scenes.append(scene)
    return images, captions, scenes


def partial_caption(scene, rng: random.Random):
    """A caption that leaves out some of what the picture shows: a one-object scene's size, position
    and background, each kept or not (all left out: "a green triangle"); a two-object scene's
    background. The color and shape of every object are always named."""
    objs = scene["objects"]
    if len(objs) == 2:
        a, b = objs
        return f"a {a['color']} {a['shape']} {RELATION_PHRASES[scene['relation']]} a {b['color']} {b['shape']}"
    o = objs[0]
    size = f"{o['size']} " if rng.random() < 0.5 else ""
    where = f" {rng.choice(POSITION_PHRASES[o['position']])}" if rng.random() < 0.5 else ""
    bg = scene["background"] if rng.random() < 0.5 else None
    return _on_background(f"a {size}{o['color']} {o['shape']}{where}", bg, rng)


def unplaced_caption(scene, rng: random.Random):
    """A one-object scene's partial caption that names its size but not its place, the background
    kept or not ("a small blue square"): the prompts the demo model drew worst (model card)."""
    o = scene["objects"][0]
    bg = scene["background"] if rng.random() < 0.5 else None
    return _on_background(f"a {o['size']} {o['color']} {o['shape']}", bg, rng)


def _on_background(thing, bg, rng: random.Random):
    if bg is None:
        return thing
    return rng.choice([f"{thing} on a {bg} background", f"{thing}, {bg} background", f"{bg} background with {thing}"])


def training_caption(scene, rng: random.Random, partial_share):
    """The full caption (caption()), or with probability partial_share a partial one."""
    return partial_caption(scene, rng) if rng.random() < partial_share else caption(scene, rng)
