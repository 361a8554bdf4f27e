"""The toy CLIP: its training data, its trainer, and the shipped weights."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from semlat.encoders import TOY_MODEL, TOY_WEIGHTS, ModelSpec, load_encoder
from semlat.encoders.views import region_view
from semlat.types import Region
from semlat_toy import make_scene, orbit_cameras, render_view
from semlat_toy.clip_data import (
    CLASS_NAMES,
    COLOUR_NAMES,
    FLOOR,
    OBJECT,
    PROMPTS,
    SCENE,
    SHAPE_WORDS,
    TRAIN_SEED_START,
    VIEW_TYPES,
    WALL,
    ToyDataset,
    build_dataset,
    caption_bank,
    iter_samples,
    scene_samples,
)
from semlat_toy.train import TrainConfig, _positives, contrastive_loss, train_toy_clip

SIZE = 32


@pytest.fixture(scope="module")
def small_scene_samples():
    return scene_samples(TRAIN_SEED_START, SIZE, n_room_views=1, n_closeups=3, felzenszwalb_rate=1.0)


def test_prompts_cover_every_class():
    assert len(CLASS_NAMES) == 28 and len(set(CLASS_NAMES)) == 28
    assert PROMPTS[-2:] == ("floor", "wall")


def test_scene_samples_shapes_and_labels(small_scene_samples):
    images, labels = small_scene_samples
    assert images.dtype == torch.uint8 and images.shape[1:] == (3, SIZE, SIZE)
    assert labels.shape == (len(images), 5) and len(images) > 10
    kinds = set(labels[:, 0].tolist())
    assert {OBJECT, FLOOR, SCENE} <= kinds
    assert set(labels[:, 3].tolist()) <= set(range(len(VIEW_TYPES)))
    objects = labels[labels[:, 0] == OBJECT]
    assert (objects[:, 1] >= 0).all() and (objects[:, 2] >= 0).all()
    assert (labels[labels[:, 0] != OBJECT][:, 1:3] == -1).all()
    assert (labels[labels[:, 0] != SCENE][:, 4] == 0).all()
    assert (labels[labels[:, 0] == SCENE][:, 4] > 0).any()


def test_iter_samples_captions_name_the_class():
    samples = list(
        iter_samples([TRAIN_SEED_START + 1], SIZE, attribute_rate=0.0, n_room_views=1, n_closeups=0, felzenszwalb_rate=0.0)
    )
    assert samples
    for sample in samples:
        assert sample.image.shape == (3, SIZE, SIZE) and sample.image.dtype == torch.float32
        assert 0.0 <= float(sample.image.min()) and float(sample.image.max()) <= 1.0
        if sample.kind == OBJECT:
            shape = list(SHAPE_WORDS)[sample.shape]
            assert COLOUR_NAMES[sample.colour] in sample.caption
            assert any(word in sample.caption for word in SHAPE_WORDS[shape])
        elif sample.kind == FLOOR:
            assert "floor" in sample.caption or "ground" in sample.caption
        elif sample.kind == WALL:
            assert "wall" in sample.caption


def test_object_masked_crop_sample_is_the_pipeline_view(small_scene_samples):
    """Training views are made by the pipeline's own `region_view`, and scenes are deterministic:
    a whole-object masked crop of the same first view, rendered here, is among the scene's samples."""
    images, _ = small_scene_samples
    from semlat_toy.clip_data import _room_camera, _scene

    rng = np.random.default_rng(TRAIN_SEED_START)
    scene = _scene(rng, TRAIN_SEED_START)
    view = render_view(scene, _room_camera(rng, 256, 192))
    image = torch.from_numpy(view.image).permute(2, 0, 1).float() / 255.0
    ids, counts = np.unique(view.instance, return_counts=True)
    first = next(int(i) for i, c in zip(ids, counts) if i >= 10 and c >= 30)
    mask = view.instance == first
    expected = region_view(image, torch.from_numpy(mask), Region.from_mask(0, mask), "masked-crop", SIZE)
    expected = expected.mul(255).round().clamp(0, 255).to(torch.uint8)
    assert any(torch.equal(expected, candidate) for candidate in images)


def test_caption_bank_is_unique_and_positives_follow_attributes():
    bank = caption_bank()
    assert len({c.text for c in bank}) == len(bank)
    by_text = {c.text: c for c in bank}
    chosen = [by_text[t] for t in ("red sphere", "a red object", "a ball", "floor", "wall")]
    cap = [torch.tensor([getattr(c, field) for c in chosen]) for field in ("kind", "colour", "shape")]
    red, blue = COLOUR_NAMES.index("red"), COLOUR_NAMES.index("blue")
    img_kind = torch.tensor([OBJECT, OBJECT, OBJECT, FLOOR, WALL])
    img_colour = torch.tensor([red, red, blue, -1, -1])
    img_shape = torch.tensor([0, 1, 0, -1, -1])  # sphere, cube, sphere
    positives = _positives(img_kind, img_colour, img_shape, *cap)
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
    assert torch.equal(positives, expected)


def test_contrastive_loss_prefers_matching_features():
    positives = torch.eye(3, dtype=torch.bool)
    aligned = torch.eye(3)
    assert contrastive_loss(aligned, aligned, positives, 10.0) < contrastive_loss(aligned, aligned.roll(1, 0), positives, 10.0)


def test_one_step_training_gives_a_loadable_checkpoint(small_scene_samples, tmp_path):
    images, labels = small_scene_samples
    dataset = ToyDataset(images, labels[:, 0], labels[:, 1], labels[:, 2], labels[:, 3], labels[:, 4])
    path = train_toy_clip(
        tmp_path / "toy.pt", minutes_budget=1, max_steps=1, dataset=dataset, config=TrainConfig(batch_size=16), progress=False
    )
    clip = load_encoder(ModelSpec(TOY_MODEL, str(path)), device="cpu")
    assert clip.image_size == SIZE
    assert clip.encode_texts(["red sphere"]).shape == (1, 64)


def test_fixed_step_count_and_log(small_scene_samples, tmp_path):
    images, labels = small_scene_samples
    dataset = ToyDataset(images, labels[:, 0], labels[:, 1], labels[:, 2], labels[:, 3], labels[:, 4])
    log = tmp_path / "toy.json"
    train_toy_clip(
        tmp_path / "toy.pt", 1, steps=5, dataset=dataset, config=TrainConfig(batch_size=8), log_path=log, progress=False
    )
    record = json.loads(log.read_text())
    assert record["steps"] == 5 and record["batch_size"] == 8 and record["config"]["device"] == "cpu"


def test_train_cli_rejects_an_unknown_device_before_rendering(cli, tmp_path):
    code, out, err = cli("toyworld", "train", "-o", tmp_path / "toy.pt", "--device", "tpu")
    assert code == 2 and "unknown device 'tpu'" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "toy.pt").exists()


def test_build_dataset_rejects_held_out_seeds():
    with pytest.raises(ValueError):
        build_dataset(1, SIZE, seed_start=3, workers=1, progress=False)


def test_shipped_weights_are_small():
    assert TOY_WEIGHTS.is_file()
    assert TOY_WEIGHTS.stat().st_size <= 10 * 1024 * 1024


def test_shipped_model_classifies_held_out_objects():
    """Objects of a held-out scene (seed 3), masked crops from one orbit view, top-1 over the 30 prompts."""
    clip = load_encoder(ModelSpec(TOY_MODEL, str(TOY_WEIGHTS)), device="cpu")
    scene = make_scene(3)
    view = render_view(scene, orbit_cameras(8)[0])
    image = torch.from_numpy(view.image).permute(2, 0, 1).float() / 255.0
    names = scene.class_names()
    crops, truth = [], []
    for instance_id, count in zip(*np.unique(view.instance, return_counts=True)):
        if count < 200 or names.get(int(instance_id), "sky") == "sky":
            continue
        mask = view.instance == instance_id
        crops.append(region_view(image, torch.from_numpy(mask), Region.from_mask(0, mask), "masked-crop", clip.image_size))
        truth.append(PROMPTS.index(names[int(instance_id)]))
    texts = clip.encode_texts(list(PROMPTS))
    predicted = (clip.encode_images(torch.stack(crops)) @ texts.T).argmax(1)
    correct = int((predicted == np.array(truth)).sum())
    assert len(truth) >= 5
    assert correct >= len(truth) - 1, [(PROMPTS[p], PROMPTS[t]) for p, t in zip(predicted, truth)]
