"""Image-caption data for training the toy CLIP (`semlat.encoders.TOY_MODEL`) on rendered toy scenes.

Every training image is made the way the pipeline makes its views at query time, with
`semlat.encoders.region_view` (masked crop, plain crop, masked full image) and
`semlat.encoders.resize_center_crop` (whole image), from regions of rendered views:

- whole objects, as seen (partly occluded by others or cut by the frame) from random cameras
  at random distances, plus close-up renders of single objects (cheap, small images);
- partial objects: a random half of an object, its lit or its shadowed part, or the object
  merged with a ring of its surroundings, as a classical segmenter produces them;
- floor and wall regions: whole surfaces, random boxes of them, the light or dark checker
  cells, shadowed floor;
- regions of the weight-free Felzenszwalb proposer, labelled by their majority instance;
- whole images, captioned with what they show ("a red sphere, a blue cube and a yellow cone on a
  floor"): a subset of the object classes visible in the image's centre crop, in random order, so
  the global feature is similar to the prompts of the things in view (as a real CLIP's is) and not
  to one fixed "scene" direction.

Training scenes use seeds from `TRAIN_SEED_START` upwards; evaluation and demo scenes use
small seeds (0-999), so they are never seen in training.

Images carry a label (kind, colour, shape) rather than one fixed caption: the trainer draws a
caption from `caption_bank` each time and knows which images every caption is true of (a colour
word alone is true of every object of that colour).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch

from semlat.encoders import Pixels, region_view, resize_center_crop
from semlat.progress import track
from semlat.types import Region
from semlat_toy.camera import Camera, look_at
from semlat_toy.render import View, render_view
from semlat_toy.scene import COLOURS, FLOOR_ID, OBJECT_ID_START, SHAPES, WALL_IDS, WORLDS, Scene, make_scene

TRAIN_SEED_START = 1000
"""Training scenes use seeds ``>= TRAIN_SEED_START``; held-out scenes use seeds below it."""

COLOUR_NAMES: tuple[str, ...] = tuple(COLOURS)
CLASS_NAMES: tuple[str, ...] = tuple(f"{colour} {shape}" for shape in SHAPES for colour in COLOUR_NAMES)
"""The 28 object classes, in (shape, colour) order."""
PROMPTS: tuple[str, ...] = (*CLASS_NAMES, "floor", "wall")
"""The zero-shot prompt set: every object class plus floor and wall."""

# Label kinds.
OBJECT, FLOOR, WALL, SCENE = 0, 1, 2, 3
VIEW_TYPES = ("masked-crop", "crop", "masked-full", "partial", "region", "closeup", "global")

SHAPE_WORDS: dict[str, tuple[str, ...]] = {
    "sphere": ("sphere", "ball", "sphere", "round ball"),
    "cube": ("cube", "box", "block", "cube"),
    "cylinder": ("cylinder", "can", "tube", "cylinder"),
    "cone": ("cone", "cone", "pointed cone", "traffic cone shape"),
}
OBJECT_TEMPLATES = (
    "{c} {s}",
    "{c} {s}",
    "{c} {s}",
    "a {c} {s}",
    "a photo of a {c} {s}",
    "the {c} {s}",
    "a {c} {s} object",
    "a rendering of a {c} {s}",
    "a {s} that is {c}",
    "a {c} {s} in a room",
    "a small {c} {s}",
    "a {c} {s} on the floor",
)
COLOUR_TEMPLATES = ("{c}", "a {c} object", "something {c}", "a {c} thing")
SHAPE_TEMPLATES = ("a {s}", "{s}", "a {s} shape", "a coloured {s}")
FLOOR_CAPTIONS = ("floor", "floor", "the floor", "a checkered floor", "a grey checkered floor", "floor tiles", "the ground")
WALL_CAPTIONS = ("wall", "wall", "a wall", "the wall", "a grey wall", "a plain wall", "the wall of a room")
SCENE_CAPTIONS = (
    "a room with several objects",
    "a scene",
    "a photo of a room",
    "coloured objects in a room",
    "a room",
    "a scene with many objects",
)
"""Generic whole-image captions (true of every whole image); drawn only now and then, or when no object is in view."""
SCENE_TEMPLATES = (
    "{objects} on a floor in front of a wall",
    "a scene with {objects}",
    "a room with {objects}",
    "{objects}",
    "a photo of {objects}",
    "{objects} in a room",
    "a rendering of {objects}",
    "{objects} on the floor",
)
"""Whole-image captions listing (some of) the objects in view."""
SCENE_MAX_OBJECTS = 4  # keeps captions within the 32-token context
GENERIC_SCENE_RATE = 0.1
MIN_GLOBAL_PIXELS = 30
N_CLASSES = len(CLASS_NAMES)


def class_index(colour: int, shape: int) -> int:
    """Index into `CLASS_NAMES` of a (colour, shape) pair."""
    return shape * len(COLOUR_NAMES) + colour


def class_bits(colour: int = -1, shape: int = -1) -> int:
    """Bit mask over `CLASS_NAMES` of the classes an object caption with this colour/shape (-1: any) is true of."""
    bits = 0
    for si in range(len(SHAPES)):
        for ci in range(len(COLOUR_NAMES)):
            if (colour < 0 or ci == colour) and (shape < 0 or si == shape):
                bits |= 1 << class_index(ci, si)
    return bits


def sample_scene_caption(rng: np.random.Generator, contents: int) -> tuple[str, int]:
    """A caption of a whole image showing the classes in bit mask ``contents``, and the classes it names.

    Mostly a random non-empty subset (half the time all, up to `SCENE_MAX_OBJECTS`) of the classes in
    view, in random order, in a random template; a generic scene caption (naming nothing) otherwise.
    """
    visible = [index for index in range(N_CLASSES) if contents >> index & 1]
    if not visible or rng.uniform() < GENERIC_SCENE_RATE:
        return str(rng.choice(SCENE_CAPTIONS)), 0
    count = min(len(visible), SCENE_MAX_OBJECTS)
    if rng.uniform() >= 0.5:
        count = int(rng.integers(1, count + 1))
    chosen = [visible[i] for i in rng.permutation(len(visible))[:count]]
    phrases = []
    for index in chosen:
        shape, colour = SHAPES[index // len(COLOUR_NAMES)], COLOUR_NAMES[index % len(COLOUR_NAMES)]
        word = shape if rng.uniform() < 0.7 else str(rng.choice(SHAPE_WORDS[shape]))
        phrases.append(f"a {colour} {word}")
    listed = phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]
    bits = 0
    for index in chosen:
        bits |= 1 << index
    return str(rng.choice(SCENE_TEMPLATES)).format(objects=listed), bits


def view_contents(scene: Scene, instance: npt.NDArray[np.int32], min_pixels: int = MIN_GLOBAL_PIXELS) -> int:
    """Bit mask of the object classes with >= ``min_pixels`` pixels inside the image's centre square
    (what `resize_center_crop` keeps)."""
    height, width = instance.shape
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    ids, counts = np.unique(instance[top : top + side, left : left + side], return_counts=True)
    bits = 0
    for instance_id, count in zip(ids.tolist(), counts.tolist()):
        if instance_id >= OBJECT_ID_START and count >= min_pixels:
            _, colour, shape = _object_label(scene, instance_id)
            bits |= 1 << class_index(colour, shape)
    return bits


@dataclass(frozen=True)
class Caption:
    """A caption and what it is true of: ``kind``, and ``colour``/``shape`` indices (-1: any)."""

    text: str
    kind: int
    colour: int = -1
    shape: int = -1


def caption_bank() -> list[Caption]:
    """Every caption the trainer may draw, deduplicated, in a fixed order."""
    captions: dict[str, Caption] = {}

    def add(caption: Caption) -> None:
        captions.setdefault(caption.text, caption)

    for si, shape in enumerate(SHAPES):
        for ci, colour in enumerate(COLOUR_NAMES):
            for template in OBJECT_TEMPLATES:
                for word in SHAPE_WORDS[shape]:
                    add(Caption(template.format(c=colour, s=word), OBJECT, ci, si))
    for ci, colour in enumerate(COLOUR_NAMES):
        for template in COLOUR_TEMPLATES:
            add(Caption(template.format(c=colour), OBJECT, ci, -1))
    for si, shape in enumerate(SHAPES):
        for template in SHAPE_TEMPLATES:
            for word in SHAPE_WORDS[shape]:
                add(Caption(template.format(s=word), OBJECT, -1, si))
    for text in FLOOR_CAPTIONS:
        add(Caption(text, FLOOR))
    for text in WALL_CAPTIONS:
        add(Caption(text, WALL))
    for text in SCENE_CAPTIONS:
        add(Caption(text, SCENE))
    return list(captions.values())


def sample_caption(rng: np.random.Generator, kind: int, colour: int = -1, shape: int = -1, attribute_rate: float = 0.1) -> str:
    """A random caption true of an image with this label (mostly the full class, sometimes an attribute)."""
    if kind == FLOOR:
        return str(rng.choice(FLOOR_CAPTIONS))
    if kind == WALL:
        return str(rng.choice(WALL_CAPTIONS))
    if kind == SCENE:
        return str(rng.choice(SCENE_CAPTIONS))
    colour_name, shape_name = COLOUR_NAMES[colour], SHAPES[shape]
    word = str(rng.choice(SHAPE_WORDS[shape_name]))
    draw = rng.uniform()
    if draw < attribute_rate / 2:
        return str(rng.choice(COLOUR_TEMPLATES)).format(c=colour_name)
    if draw < attribute_rate:
        return str(rng.choice(SHAPE_TEMPLATES)).format(s=word)
    return str(rng.choice(OBJECT_TEMPLATES)).format(c=colour_name, s=word)


@dataclass
class ToyDataset:
    """Packed training data: uint8 images (N, 3, S, S) and label arrays (N,)."""

    images: torch.Tensor
    kind: torch.Tensor
    colour: torch.Tensor
    shape: torch.Tensor
    view: torch.Tensor  # index into VIEW_TYPES
    contents: torch.Tensor  # whole images: bit mask of the classes in view (0 otherwise)

    def __len__(self) -> int:
        return len(self.images)

    def counts(self) -> dict[str, int]:
        return {name: int((self.view == index).sum()) for index, name in enumerate(VIEW_TYPES)}


def _region(mask: npt.NDArray[np.bool_]) -> Region:
    return Region.from_mask(0, mask)


def _box_mask(rng: np.random.Generator, mask: npt.NDArray[np.bool_], min_frac: float = 0.2) -> npt.NDArray[np.bool_]:
    """``mask`` cut by a random box around one of its pixels."""
    rows, cols = np.nonzero(mask)
    pick = int(rng.integers(len(rows)))
    height, width = mask.shape
    half_h = max(4, int(rng.uniform(min_frac, 0.6) * height / 2))
    half_w = max(4, int(rng.uniform(min_frac, 0.6) * width / 2))
    box = np.zeros_like(mask)
    r, c = rows[pick], cols[pick]
    box[max(0, r - half_h) : r + half_h, max(0, c - half_w) : c + half_w] = True
    return mask & box


def _partial_mask(
    rng: np.random.Generator, mask: npt.NDArray[np.bool_], image: npt.NDArray[np.uint8]
) -> npt.NDArray[np.bool_] | None:
    """A part of an object's mask (a half, its lit or dark part) or the object plus some surroundings."""
    rows, cols = np.nonzero(mask)
    choice = rng.uniform()
    if choice < 0.45:  # one side of a random line through a point of the object
        angle = rng.uniform(0, 2 * np.pi)
        pick = int(rng.integers(len(rows)))
        side = (rows - rows[pick]) * np.cos(angle) + (cols - cols[pick]) * np.sin(angle) > 0
        part = np.zeros_like(mask)
        part[rows[side], cols[side]] = True
    elif choice < 0.7:  # lit or shadowed part
        brightness = image[rows, cols].astype(np.float32).sum(axis=1)
        threshold = np.median(brightness) if np.ptp(brightness) < 30 else (brightness.min() + brightness.max()) / 2
        keep = brightness > threshold if rng.uniform() < 0.5 else brightness <= threshold
        part = np.zeros_like(mask)
        part[rows[keep], cols[keep]] = True
    else:  # the object plus a ring of whatever surrounds it (mostly floor)
        grow = int(rng.integers(2, 6))
        padded = np.pad(mask, grow)
        grown = np.zeros_like(padded)
        for dr in range(-grow, grow + 1, max(1, grow // 2)):
            for dc in range(-grow, grow + 1, max(1, grow // 2)):
                grown |= np.roll(np.roll(padded, dr, axis=0), dc, axis=1)
        grown = grown[grow:-grow, grow:-grow]
        if rng.uniform() < 0.6:  # only one side of the ring
            angle = rng.uniform(0, 2 * np.pi)
            rr, cc = np.mgrid[: mask.shape[0], : mask.shape[1]]
            centre_r, centre_c = rows.mean(), cols.mean()
            grown &= ((rr - centre_r) * np.cos(angle) + (cc - centre_c) * np.sin(angle)) > 0
        part = mask | grown
        if part.sum() > 2.0 * mask.sum():
            return None
    if part.sum() < max(12, 0.25 * mask.sum()):
        return None
    return part


class _Maker:
    """Collects the views of one rendered image into packed samples."""

    def __init__(self, size: int, rng: np.random.Generator):
        self.size = size
        self.rng = rng
        self.images: list[torch.Tensor] = []
        self.labels: list[tuple[int, int, int, int, int]] = []

    def add(self, view: torch.Tensor, kind: int, colour: int, shape: int, view_type: str, contents: int = 0) -> None:
        self.images.append(view)
        self.labels.append((kind, colour, shape, VIEW_TYPES.index(view_type), contents))

    def region(self, image: torch.Tensor, mask: npt.NDArray[np.bool_], strategy: str) -> torch.Tensor:
        return region_view(image, _region(mask), strategy, self.size, mask)


def _object_label(scene: Scene, instance_id: int) -> tuple[int, int, int]:
    obj = scene.object(instance_id)
    return OBJECT, COLOUR_NAMES.index(obj.colour), SHAPES.index(obj.shape)


def _instance_label(scene: Scene, instance_id: int) -> tuple[int, int, int] | None:
    if instance_id == FLOOR_ID:
        return FLOOR, -1, -1
    if instance_id in WALL_IDS:
        return WALL, -1, -1
    if instance_id >= OBJECT_ID_START:
        return _object_label(scene, instance_id)
    return None


def _room_camera(rng: np.random.Generator, width: int, height: int) -> Camera:
    azimuth = rng.uniform(0, 2 * np.pi)
    elevation = np.radians(rng.uniform(8.0, 65.0))
    radius = rng.uniform(2.8, 8.0)
    target = np.array([rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0), rng.uniform(0.1, 0.8)])
    offset = radius * np.array([np.cos(elevation) * np.cos(azimuth), np.cos(elevation) * np.sin(azimuth), np.sin(elevation)])
    return look_at(target + offset, target, width, height, fov_deg=rng.uniform(45.0, 65.0))


def room_view_samples(maker: _Maker, scene: Scene, view: View, felzenszwalb: bool) -> None:
    """Samples from one full view of a room: objects, parts, floor, walls, regions, whole image."""
    rng, instance, size = maker.rng, view.instance, maker.size
    image = Pixels(view.image)
    height, width = instance.shape
    whole = resize_center_crop(image, size)
    contents = view_contents(scene, instance)
    for _ in range(2):  # twice: each copy draws its own caption (and augmentation) every step
        maker.add(whole, SCENE, -1, -1, "global", contents)
    # the part of the image the masked-full view keeps after its centre crop
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    ids, counts = np.unique(instance, return_counts=True)
    for instance_id, count in zip(ids.tolist(), counts.tolist()):
        if instance_id < OBJECT_ID_START or count < 30:
            continue
        label = _object_label(scene, instance_id)
        mask = instance == instance_id
        maker.add(maker.region(image, mask, "masked-crop"), *label, "masked-crop")
        if rng.uniform() < 0.5:
            maker.add(maker.region(image, mask, "crop"), *label, "crop")
        inside = mask[top : top + side, left : left + side].sum()
        if rng.uniform() < 0.4 and inside >= 0.6 * count and inside >= 20:
            maker.add(maker.region(image, mask, "masked-full"), *label, "masked-full")
        for _ in range(int(rng.integers(0, 3))):
            part = _partial_mask(rng, mask, view.image)
            if part is not None:
                strategy = "masked-crop" if rng.uniform() < 0.8 else "crop"
                maker.add(maker.region(image, part, strategy), *label, "partial")
    surfaces = [(FLOOR_ID, FLOOR)] + [(wall, WALL) for wall in WALL_IDS]
    for instance_id, kind in surfaces:
        mask = instance == instance_id
        count = int(mask.sum())
        if count < 150:
            continue
        draws = 2 if kind == FLOOR else 1
        for _ in range(draws):
            choice = rng.uniform()
            if choice < 0.25:
                part = mask
            elif choice < 0.6 or kind == WALL:
                part = _box_mask(rng, mask)
            else:  # the light or the dark cells (or shadow) of the floor, within a box
                box = _box_mask(rng, mask, 0.3)
                values = view.image[box].astype(np.int32).sum(axis=1)
                if len(values) < 20:
                    continue
                threshold = np.median(values)
                part = np.zeros_like(mask)
                keep = values > threshold if rng.uniform() < 0.5 else values <= threshold
                rows, cols = np.nonzero(box)
                part[rows[keep], cols[keep]] = True
            if part.sum() < 40:
                continue
            draw = rng.uniform()
            strategy = "masked-crop" if draw < 0.7 else ("crop" if draw < 0.85 else "masked-full")
            if kind == WALL and rng.uniform() < 0.5 and instance_id != WALL_IDS[0]:
                part = part | _box_mask(rng, np.isin(instance, WALL_IDS))  # walls meeting at a corner
            maker.add(maker.region(image, part, strategy), kind, -1, -1, "masked-crop" if strategy != "crop" else "crop")
    if felzenszwalb:
        _felzenszwalb_samples(maker, scene, view, image)


def _felzenszwalb_samples(maker: _Maker, scene: Scene, view: View, image: torch.Tensor, limit: int = 6) -> None:
    """Regions of the classical proposer labelled by their majority instance (if it holds >= 70%)."""
    from skimage.segmentation import felzenszwalb

    rng = maker.rng
    scale = float(rng.choice([200.0, 400.0, 800.0]))
    labels = felzenszwalb(view.image, scale=scale, sigma=0.8, min_size=max(1, int(0.002 * view.instance.size)))
    segments = np.unique(labels)
    rng.shuffle(segments)
    used = 0
    for segment in segments:
        mask = labels == segment
        area = int(mask.sum())
        if area < 30:
            continue
        ids, counts = np.unique(view.instance[mask], return_counts=True)
        best = int(np.argmax(counts))
        if counts[best] < 0.7 * area:
            continue
        label = _instance_label(scene, int(ids[best]))
        if label is None:
            continue
        if label[0] != OBJECT and rng.uniform() < 0.6:  # floor and wall segments are plentiful
            continue
        strategy = "masked-crop" if rng.uniform() < 0.85 else "crop"
        maker.add(maker.region(image, mask, strategy), *label, "region")
        used += 1
        if used >= limit:
            break


def closeup_samples(maker: _Maker, scene: Scene, render_size: int = 64) -> None:
    """A small render framing one object from a random direction and distance (others may occlude it)."""
    rng = maker.rng
    obj = scene.objects[int(rng.integers(len(scene.objects)))]
    centre = np.asarray(obj.centre) + rng.normal(0.0, 0.15 * obj.size, 3)
    azimuth, elevation = rng.uniform(0, 2 * np.pi), np.radians(rng.uniform(0.0, 65.0))
    distance = rng.uniform(1.5, 6.0)
    eye = centre + distance * np.array(
        [np.cos(elevation) * np.cos(azimuth), np.cos(elevation) * np.sin(azimuth), np.sin(elevation)]
    )
    eye[2] = max(eye[2], 0.05)
    extent = 0.5 * max(obj.height, 2 * obj.size)
    fill = rng.uniform(0.35, 1.0)
    fov = float(np.clip(np.degrees(2 * np.arctan(extent / (fill * distance))), 5.0, 90.0))
    view = render_view(scene, look_at(eye, centre, render_size, render_size, fov))
    image = Pixels(view.image)
    ids, counts = np.unique(view.instance, return_counts=True)
    for instance_id, count in zip(ids.tolist(), counts.tolist()):
        if instance_id < OBJECT_ID_START or count < 40:
            continue
        if instance_id != obj.instance_id and rng.uniform() < 0.5:
            continue
        label = _object_label(scene, instance_id)
        mask = view.instance == instance_id
        draw = rng.uniform()
        if draw < 0.55:
            maker.add(maker.region(image, mask, "masked-crop"), *label, "closeup")
        elif draw < 0.8:
            maker.add(maker.region(image, mask, "crop"), *label, "closeup")
        else:
            part = _partial_mask(rng, mask, view.image)
            if part is not None:
                maker.add(maker.region(image, part, "masked-crop"), *label, "partial")


def _scene(rng: np.random.Generator, seed: int, hard_share: float = 0.0) -> Scene:
    n_objects = None if rng.uniform() < 0.8 else int(rng.integers(1, 11))
    hard = hard_share > 0 and rng.uniform() < hard_share  # no draw at 0: the default world's stream stays
    return make_scene(seed, n_objects=n_objects, world=WORLDS["hard"] if hard else None)


def scene_samples(
    seed: int,
    size: int,
    n_room_views: int = 4,
    n_closeups: int = 12,
    felzenszwalb_rate: float = 0.5,
    hard_share: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """All samples of one training scene: (N, 3, S, S) uint8 images and (N, 5) int labels
    (kind, colour, shape, view type, contents bit mask of whole images). Deterministic in ``seed``;
    the scene is of the hard world (`WORLDS`) with probability ``hard_share``."""
    rng = np.random.default_rng(seed)
    scene = _scene(rng, seed, hard_share)
    maker = _Maker(size, rng)
    for _ in range(n_room_views):
        view = render_view(scene, _room_camera(rng, 256, 192))
        room_view_samples(maker, scene, view, felzenszwalb=rng.uniform() < felzenszwalb_rate)
    for _ in range(n_closeups):
        closeup_samples(maker, scene)
    if not maker.images:
        return torch.zeros((0, 3, size, size), dtype=torch.uint8), torch.zeros((0, 5), dtype=torch.int64)
    return torch.stack(maker.images), torch.tensor(maker.labels, dtype=torch.int64)


def _scene_job(args: tuple[int, int, int, int, float, float]) -> tuple[torch.Tensor, torch.Tensor]:
    torch.set_num_threads(1)
    return scene_samples(*args)


def build_dataset(
    n_scenes: int,
    size: int,
    seed_start: int = TRAIN_SEED_START,
    n_room_views: int = 4,
    n_closeups: int = 12,
    felzenszwalb_rate: float = 0.5,
    workers: int = 2,
    progress: bool = True,
    hard_share: float = 0.0,
) -> ToyDataset:
    """Render ``n_scenes`` training scenes (seeds ``seed_start..``) into a packed dataset.

    Args:
        n_scenes: number of scenes; each gives roughly 15 samples per room view plus one or two per close-up.
        size: the model's input side.
        seed_start: first scene seed (keep it >= `TRAIN_SEED_START` so evaluation scenes stay unseen).
        n_room_views: full 256x192 views per scene.
        n_closeups: small single-object renders per scene.
        felzenszwalb_rate: fraction of room views whose classical regions are also used.
        workers: processes rendering in parallel (1: in this process).
        progress: show a progress bar.
        hard_share: expected share of scenes from the hard world (textures, duplicates, clutter).
    """
    if seed_start < TRAIN_SEED_START:
        raise ValueError(f"training seeds must be >= {TRAIN_SEED_START} (smaller seeds are held out)")
    jobs = [(seed_start + index, size, n_room_views, n_closeups, felzenszwalb_rate, hard_share) for index in range(n_scenes)]

    def shown(items, total):
        return track(items, description="rendering training data", total=total) if progress else items

    if workers > 1:
        import multiprocessing

        with multiprocessing.get_context("fork").Pool(workers) as pool:
            parts = list(shown(pool.imap(_scene_job, jobs, chunksize=2), len(jobs)))
    else:
        parts = [_scene_job(job) for job in shown(jobs, len(jobs))]
    images = torch.cat([images for images, _ in parts])
    labels = torch.cat([labels for _, labels in parts])
    return ToyDataset(
        images, labels[:, 0].clone(), labels[:, 1].clone(), labels[:, 2].clone(), labels[:, 3].clone(), labels[:, 4].clone()
    )
