"""The toy CLIP's training data: classes and captions, samples made as the pipeline makes its views."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from semlat.encoders import Pixels, region_view
from semlat.types import Region
from semlat_toy import OBJECT_ID_START, SHAPES, make_scene, render_view
from semlat_toy.clip_data import (
    CLASS_NAMES,
    COLOUR_NAMES,
    COLOUR_TEMPLATES,
    FLOOR,
    FLOOR_CAPTIONS,
    OBJECT,
    PROMPTS,
    SCENE,
    SCENE_CAPTIONS,
    SCENE_MAX_OBJECTS,
    SHAPE_TEMPLATES,
    SHAPE_WORDS,
    TRAIN_SEED_START,
    VIEW_TYPES,
    WALL,
    WALL_CAPTIONS,
    build_dataset,
    caption_bank,
    class_bits,
    class_index,
    sample_caption,
    sample_scene_caption,
    scene_samples,
    view_contents,
)

SIZE = 32
RED, BLUE = COLOUR_NAMES.index("red"), COLOUR_NAMES.index("blue")
SPHERE, CUBE = SHAPES.index("sphere"), SHAPES.index("cube")


@pytest.fixture(scope="module")
def small_scene_samples():
    return scene_samples(TRAIN_SEED_START, SIZE, n_room_views=1, n_closeups=3, felzenszwalb_rate=1.0)


def classes(bits: int) -> set[str]:
    return {name for index, name in enumerate(CLASS_NAMES) if bits >> index & 1}


def test_prompts_are_every_class_then_floor_and_wall():
    assert len(CLASS_NAMES) == len(set(CLASS_NAMES)) == len(SHAPES) * len(COLOUR_NAMES) == 28
    for si, shape in enumerate(SHAPES):
        for ci, colour in enumerate(COLOUR_NAMES):
            assert CLASS_NAMES[class_index(ci, si)] == f"{colour} {shape}"
    assert PROMPTS == (*CLASS_NAMES, "floor", "wall")


@pytest.mark.parametrize(
    "colour, shape, expected",
    [
        (RED, SPHERE, {"red sphere"}),
        (RED, -1, {f"red {shape}" for shape in SHAPES}),
        (-1, CUBE, {f"{colour} cube" for colour in COLOUR_NAMES}),
        (-1, -1, set(CLASS_NAMES)),
    ],
)
def test_class_bits_are_the_classes_a_caption_is_true_of(colour, shape, expected):
    assert classes(class_bits(colour, shape)) == expected


def test_view_contents_counts_objects_inside_the_centre_square():
    scene = make_scene(0, n_objects=3)
    first, second, third = scene.objects
    instance = np.zeros((10, 20), dtype=np.int32)  # the centre square is columns 5..14
    instance[:, :5] = first.instance_id  # 50 pixels, all outside
    instance[:3, 5:15] = second.instance_id  # 30 pixels inside
    instance[3:6, 5:15] = third.instance_id  # 30 pixels inside ...
    instance[5, 5] = 1  # ... less one
    assert classes(view_contents(scene, instance)) == {second.class_name}
    assert classes(view_contents(scene, instance, min_pixels=29)) == {second.class_name, third.class_name}


def test_scene_captions_name_only_classes_in_view():
    rng = np.random.default_rng(0)
    contents = class_bits(RED, SPHERE) | class_bits(BLUE, CUBE) | class_bits(COLOUR_NAMES.index("green"), SHAPES.index("cone"))
    named_counts = set()
    for _ in range(200):
        caption, bits = sample_scene_caption(rng, contents)
        if bits == 0:
            assert caption in SCENE_CAPTIONS
            continue
        assert bits & contents == bits
        named_counts.add(bin(bits).count("1"))
        for name in classes(bits):
            assert name.split()[0] in caption
    assert named_counts == {1, 2, 3}


def test_a_scene_caption_names_at_most_scene_max_objects():
    rng = np.random.default_rng(1)
    assert all(bin(sample_scene_caption(rng, class_bits())[1]).count("1") <= SCENE_MAX_OBJECTS for _ in range(100))
    assert all(sample_scene_caption(rng, 0)[1] == 0 for _ in range(20))  # nothing in view: a generic caption


def test_caption_bank_is_unique():
    bank = caption_bank()
    assert len({c.text for c in bank}) == len(bank)


@pytest.mark.parametrize(
    "kind, colour, shape", [(OBJECT, RED, SPHERE), (OBJECT, BLUE, CUBE), (FLOOR, -1, -1), (WALL, -1, -1), (SCENE, -1, -1)]
)
@pytest.mark.parametrize("attribute_rate", [0.0, 0.1, 1.0])
def test_sampled_captions_are_in_the_bank_and_true_of_the_label(kind, colour, shape, attribute_rate):
    """The trainer looks every sampled caption up in `caption_bank` to know what it is true of."""
    bank = {c.text: c for c in caption_bank()}
    rng = np.random.default_rng(0)
    for _ in range(50):
        caption = bank[sample_caption(rng, kind, colour, shape, attribute_rate)]
        assert caption.kind == kind
        assert caption.colour in (-1, colour) and caption.shape in (-1, shape)
        if kind == OBJECT and attribute_rate == 0.0:  # the full class, in some words
            assert caption.colour == colour and caption.shape == shape
            assert any(word in caption.text for word in SHAPE_WORDS[SHAPES[shape]])
        if kind == OBJECT and attribute_rate == 1.0:  # a colour or a shape alone
            assert (caption.colour == -1) != (caption.shape == -1)
            templates = COLOUR_TEMPLATES if caption.shape == -1 else SHAPE_TEMPLATES
            assert any(
                caption.text == t.format(c=COLOUR_NAMES[colour], s=w) for t in templates for w in SHAPE_WORDS[SHAPES[shape]]
            )
        if kind in (FLOOR, WALL, SCENE):
            assert caption.text in {FLOOR: FLOOR_CAPTIONS, WALL: WALL_CAPTIONS, SCENE: SCENE_CAPTIONS}[kind]


def test_scene_samples_shapes_and_labels(small_scene_samples):
    images, labels = small_scene_samples
    assert images.dtype == torch.uint8 and images.shape[1:] == (3, SIZE, SIZE)
    assert labels.shape == (len(images), 5) and len(images) > 10
    assert set(labels[:, 0].tolist()) == {OBJECT, FLOOR, WALL, SCENE}
    assert {"masked-crop", "crop", "partial", "region", "closeup", "global"} <= {VIEW_TYPES[v] for v in labels[:, 3].tolist()}
    objects = labels[labels[:, 0] == OBJECT]
    assert (objects[:, 1] >= 0).all() and (objects[:, 2] >= 0).all()
    assert (labels[labels[:, 0] != OBJECT][:, 1:3] == -1).all()
    assert (labels[labels[:, 0] != SCENE][:, 4] == 0).all()
    assert (labels[labels[:, 0] == SCENE][:, 4] > 0).any()
    assert (labels[:, 0] == SCENE).tolist() == [VIEW_TYPES[v] == "global" for v in labels[:, 3].tolist()]


def test_scene_samples_are_deterministic(small_scene_samples):
    images, labels = scene_samples(TRAIN_SEED_START, SIZE, n_room_views=1, n_closeups=3, felzenszwalb_rate=1.0)
    assert torch.equal(images, small_scene_samples[0]) and torch.equal(labels, small_scene_samples[1])


def test_object_masked_crop_sample_is_the_pipeline_view(small_scene_samples):
    """Training views are made by the pipeline's own `region_view`, and scenes are deterministic:
    a whole-object masked crop of the same first view, rendered here, is among the scene's samples."""
    images, _ = small_scene_samples
    from semlat_toy.clip_data import _room_camera, _scene

    rng = np.random.default_rng(TRAIN_SEED_START)
    scene = _scene(rng, TRAIN_SEED_START)
    view = render_view(scene, _room_camera(rng, 256, 192))
    ids, counts = np.unique(view.instance, return_counts=True)
    first = next(int(i) for i, c in zip(ids, counts) if i >= OBJECT_ID_START and c >= 30)
    mask = view.instance == first
    expected = region_view(Pixels(view.image), Region.from_mask(0, mask), "masked-crop", SIZE)
    assert any(torch.equal(expected, candidate) for candidate in images)


def test_build_dataset_packs_the_scenes_samples():
    options = {"n_room_views": 1, "n_closeups": 1, "felzenszwalb_rate": 0.0}
    dataset = build_dataset(2, SIZE, seed_start=TRAIN_SEED_START + 5, workers=1, progress=False, **options)
    parts = [scene_samples(TRAIN_SEED_START + 5 + i, SIZE, **options) for i in range(2)]
    assert torch.equal(dataset.images, torch.cat([images for images, _ in parts]))
    labels = torch.cat([labels for _, labels in parts])
    for column, field in enumerate(("kind", "colour", "shape", "view", "contents")):
        assert torch.equal(getattr(dataset, field), labels[:, column])
    assert len(dataset) == len(labels) and sum(dataset.counts().values()) == len(labels)
    assert dataset.counts()["global"] == 2 * 2  # two copies of every room view


def test_build_dataset_rejects_held_out_seeds():
    with pytest.raises(ValueError, match="held out"):
        build_dataset(1, SIZE, seed_start=3, workers=1, progress=False)


def test_a_hard_share_of_training_scenes_comes_from_the_hard_world():
    from semlat_toy.clip_data import _scene

    seeds = range(TRAIN_SEED_START, TRAIN_SEED_START + 40)

    def objects(seed: int, share: float) -> int:
        return len(_scene(np.random.default_rng(seed), seed, share).objects)

    for seed in seeds[:3]:  # no share, the default world's scenes as they were
        assert repr(_scene(np.random.default_rng(seed), seed, 0.0)) == repr(_scene(np.random.default_rng(seed), seed))
    assert all(objects(seed, 1.0) > objects(seed, 0.0) for seed in seeds)  # duplicates and clutter
    assert 10 <= sum(objects(seed, 0.5) > objects(seed, 0.0) for seed in seeds) <= 30
