"""The toy CLIP's trainer (targets, loss, checkpoints, log) and the shipped weights on held-out scenes."""

from __future__ import annotations

import json

import pytest
import torch

from semlat.encoders import TOY_MODEL, TOY_WEIGHTS, ModelSpec, load_encoder
from semlat_toy.clip_data import (
    COLOUR_NAMES,
    FLOOR,
    OBJECT,
    SCENE,
    TRAIN_SEED_START,
    WALL,
    ToyDataset,
    caption_bank,
    class_bits,
    scene_samples,
)
from semlat_toy.scene import SHAPES
from semlat_toy.train import (
    TrainConfig,
    _augment,
    _ignored,
    _positives,
    contrastive_loss,
    evaluate_zero_shot,
    heldout_views,
    train_toy_clip,
)

SIZE = 32
RED, BLUE = COLOUR_NAMES.index("red"), COLOUR_NAMES.index("blue")
SPHERE, CUBE = SHAPES.index("sphere"), SHAPES.index("cube")


@pytest.fixture(scope="module")
def dataset():
    images, labels = scene_samples(TRAIN_SEED_START, SIZE, n_room_views=1, n_closeups=3, felzenszwalb_rate=1.0)
    return ToyDataset(images, labels[:, 0], labels[:, 1], labels[:, 2], labels[:, 3], labels[:, 4])


def tensors(*columns):
    return [torch.tensor(column) for column in columns]


def test_positives_follow_attributes():
    by_text = {c.text: c for c in caption_bank()}
    chosen = [by_text[t] for t in ("red sphere", "a red object", "a ball", "floor", "wall")]
    captions = tensors(*([getattr(c, field) for c in chosen] for field in ("kind", "colour", "shape")))
    images = tensors([OBJECT, OBJECT, OBJECT, FLOOR, WALL], [RED, RED, BLUE, -1, -1], [SPHERE, CUBE, SPHERE, -1, -1])
    expected = torch.tensor(
        [
            [1, 1, 1, 0, 0],  # red sphere
            [0, 1, 0, 0, 0],  # red cube
            [0, 0, 1, 0, 0],  # blue sphere
            [0, 0, 0, 1, 0],  # floor
            [0, 0, 0, 0, 1],  # wall
        ],
        dtype=torch.bool,
    )
    assert torch.equal(_positives(*images, *captions), expected)


def test_whole_images_match_the_captions_of_what_they_show():
    red_sphere, blue_cube = class_bits(RED, SPHERE), class_bits(BLUE, CUBE)
    # whole images: one shows a red sphere and a blue cube, one only the red sphere; and a red sphere crop
    kind, colour, shape, contents = tensors(
        [SCENE, SCENE, OBJECT], [-1, -1, RED], [-1, -1, SPHERE], [red_sphere | blue_cube, red_sphere, 0]
    )
    # captions: "a red sphere and a blue cube ...", "red sphere", "a blue object", "floor"
    caption = tensors(
        [SCENE, OBJECT, OBJECT, FLOOR], [-1, RED, BLUE, -1], [-1, SPHERE, -1, -1], [red_sphere | blue_cube, 0, 0, 0]
    )
    expected = torch.tensor([[1, 1, 1, 0], [0, 1, 0, 0], [0, 1, 0, 0]], dtype=torch.bool)
    assert torch.equal(_positives(kind, colour, shape, caption[0], caption[1], caption[2], contents, caption[3]), expected)


def test_ignored_pairs_are_whole_images_with_surfaces_and_regions_with_scene_captions():
    images, captions = torch.tensor([SCENE, OBJECT, FLOOR]), torch.tensor([SCENE, OBJECT, FLOOR, WALL])
    expected = torch.tensor([[0, 0, 1, 1], [1, 0, 0, 0], [1, 0, 0, 0]], dtype=torch.bool)
    assert torch.equal(_ignored(images, captions), expected)


def test_contrastive_loss_prefers_matching_features_and_drops_ignored_pairs():
    positives = torch.eye(3, dtype=torch.bool)
    aligned = torch.eye(3)
    assert contrastive_loss(aligned, aligned, positives, 10.0) < contrastive_loss(aligned, aligned.roll(1, 0), positives, 10.0)
    confused = torch.nn.functional.normalize(aligned + torch.tensor([[0, 0.9, 0], [0, 0, 0], [0, 0, 0]]), dim=1)
    ignore = torch.zeros(3, 3, dtype=torch.bool)
    ignore[0, 1] = True  # image 0 looks like caption 1: no penalty once the pair is ignored
    assert contrastive_loss(confused, aligned, positives, 10.0, ignore) < contrastive_loss(confused, aligned, positives, 10.0)


def test_augment_keeps_shape_and_range_and_follows_the_generator(dataset):
    images = dataset.images[:16]
    first = _augment(images, torch.Generator().manual_seed(3))
    assert first.shape == images.shape and first.dtype == torch.float32
    assert 0.0 <= float(first.min()) and float(first.max()) <= 1.0
    assert torch.equal(first, _augment(images, torch.Generator().manual_seed(3)))
    assert not torch.equal(first, _augment(images, torch.Generator().manual_seed(4)))


def test_one_step_training_gives_a_loadable_checkpoint(dataset, tmp_path):
    path = train_toy_clip(
        tmp_path / "toy.pt", minutes_budget=1, max_steps=1, dataset=dataset, config=TrainConfig(batch_size=16), progress=False
    )
    state = torch.load(path, weights_only=True)
    assert all(value.dtype == torch.float16 for value in state.values() if value.is_floating_point())
    clip = load_encoder(ModelSpec(TOY_MODEL, str(path)), device="cpu")
    assert clip.image_size == SIZE
    assert clip.encode_texts(["red sphere"]).shape == (1, 64)


def test_fixed_step_count_and_log(dataset, tmp_path):
    log = tmp_path / "toy.json"
    train_toy_clip(
        tmp_path / "toy.pt", 1, steps=5, dataset=dataset, config=TrainConfig(batch_size=8), log_path=log, progress=False
    )
    record = json.loads(log.read_text())
    assert record["steps"] == 5 and record["batch_size"] == 8 and record["config"]["device"] == "cpu"
    assert record["model"] == TOY_MODEL and record["samples"] == len(dataset) and record["samples_by_view"] == dataset.counts()


def test_held_out_views_refuse_training_seeds():
    with pytest.raises(ValueError, match="training seed"):
        next(heldout_views([TRAIN_SEED_START]))


def test_shipped_weights_are_small():
    assert TOY_WEIGHTS.is_file()
    assert TOY_WEIGHTS.stat().st_size <= 10 * 1024 * 1024


def test_shipped_model_classifies_held_out_regions():
    """Seed 3, one orbit view: every object, the floor and each wall with >= 200 visible pixels, as a
    masked crop, top-1 over the 30 prompts; at most one wrong."""
    result = evaluate_zero_shot(seeds=[3], n_views=1, min_pixels=200)
    scored = [result[name] for name in ("masked-crop", "floor", "wall")]
    total = sum(entry["n"] for entry in scored)
    correct = sum(round(entry["accuracy"] * entry["n"]) for entry in scored if entry["n"])
    assert total >= 5 and correct >= total - 1, result


def test_heldout_views_of_the_hard_world_are_textured_and_crowded():
    from semlat_toy.scene import WORLDS

    default, _ = next(heldout_views([0], n_views=1))
    hard, view = next(heldout_views([0], n_views=1, world=WORLDS["hard"]))
    assert hard.textured and not default.textured and len(hard.objects) > len(default.objects)
    assert view.image.shape[:2] == view.instance.shape
