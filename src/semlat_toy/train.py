"""Train and evaluate the toy CLIP (`TOY_MODEL`): an ordinary OpenCLIP model, trained on the toy world.

The architecture is its JSON config in `semlat.encoders.CONFIG_DIR` (a tiny ViT image tower, a
small text transformer, the standard OpenCLIP tokenizer), so the result loads through the same
code path as any OpenCLIP checkpoint::

    load_encoder(ModelSpec(TOY_MODEL, "path/to/weights.pt"))

Training is CLIP's symmetric InfoNCE with a learnable logit scale, except that a batch often
holds several images of one class and captions that are true of several images ("a red object"):
the targets are spread uniformly over every image a caption is true of, and every caption true
of an image, instead of the diagonal. Only the distinct captions of a batch are encoded.

Whole images (kind SCENE) carry a bit mask of the object classes in view and are captioned with
(some of) them; a scene caption is true of every whole image showing all the classes it names, an
object caption ("red sphere", "a red object") is true of every whole image showing a class it
covers, and floor/wall captions are left out of the loss for whole images (neither pulled nor
pushed), so the global feature is close to the prompts of what the image shows; region images and scene
captions are left out too.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import open_clip
import torch
import torch.nn.functional as F

from semlat.checkpoints import load_weights
from semlat.device import resolve_device
from semlat.encoders import (
    TOY_MODEL,
    TOY_WEIGHTS,
    ModelSpec,
    Pixels,
    image_normalization,
    load_encoder,
    region_view,
    register_configs,
)
from semlat.types import Region
from semlat_toy import clip_data
from semlat_toy.camera import orbit_cameras
from semlat_toy.clip_data import CLASS_NAMES, FLOOR, OBJECT, PROMPTS, WALL, ToyDataset
from semlat_toy.render import View, render_view
from semlat_toy.scene import Scene, World, make_scene


@dataclass
class TrainConfig:
    """Hyper-parameters of `train_toy_clip` (the defaults made the shipped weights).

    The defaults come from ``benchmarks/toy_clip_recipes.py`` (results in
    ``benchmarks/results/toy_clip_recipes.json``): at the compute of one 20-minute CPU run the
    model is limited by optimiser steps, not by data, so a small set of scenes and a small batch
    (more updates for the same compute) beat more scenes or larger batches.

    Args:
        minutes_budget: wall-clock budget for data + training; the step count is fitted to it.
        n_scenes: training scenes to render (2 workers render 150 in about 85 s on 2 cores).
        steps: optimiser steps; None fits them to what is left of the budget after rendering.
        max_steps: upper bound on the steps (e.g. 1 for a smoke test).
        batch_size: images per step.
        lr: peak learning rate (linear warm-up, cosine decay).
        weight_decay: AdamW decay on weight matrices (not on norms, biases, embeddings).
        warmup_steps: linear warm-up length (capped at 10% of the steps).
        attribute_rate: share of object captions naming only a colour or only a shape.
        workers: rendering processes.
        scene_seed_start: seed of the first training scene (>= `clip_data.TRAIN_SEED_START`).
        threads: torch threads while training on CPU.
        device: where the model trains ("auto": cuda when available); rendering stays on CPU.
        hard_share: share of training scenes from the hard world (textures, duplicates,
            clutter); the default world alone costs the model 9 points of accuracy on the hard
            world's objects and 36 on its textured walls (``benchmarks/results/toy_clip.json``, why_retrained).
    """

    minutes_budget: float = 20.0
    n_scenes: int = 150
    steps: int | None = None
    max_steps: int | None = None
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.1
    warmup_steps: int = 60
    attribute_rate: float = 0.1
    workers: int = 2
    threads: int = 2
    device: str | None = "cpu"
    scene_seed_start: int = clip_data.TRAIN_SEED_START
    hard_share: float = 0.5


def create_toy_model() -> torch.nn.Module:
    """A randomly initialised toy CLIP (`TOY_MODEL`)."""
    register_configs()
    return open_clip.create_model(TOY_MODEL)


def _augment(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """uint8 (B, 3, S, S) -> float in [0, 1]: random flips, brightness, and a slight zoom."""
    batch, _, size, _ = images.shape
    x = images.float().div_(255.0)
    flip = torch.rand(batch, generator=generator) < 0.5
    x[flip] = x[flip].flip(-1)
    gain = torch.empty(batch, 1, 1, 1).uniform_(0.8, 1.2, generator=generator)
    x = (x * gain).clamp_(0.0, 1.0)
    zoom = torch.rand(batch, generator=generator) < 0.3
    if zoom.any():
        idx = zoom.nonzero().squeeze(1)
        scale = torch.empty(len(idx)).uniform_(0.8, 1.0, generator=generator)
        shift = (torch.rand(len(idx), 2, generator=generator) * 2 - 1) * (1 - scale).unsqueeze(1)
        theta = torch.zeros(len(idx), 2, 3)
        theta[:, 0, 0] = scale
        theta[:, 1, 1] = scale
        theta[:, :, 2] = shift
        grid = F.affine_grid(theta, (len(idx), 3, size, size), align_corners=False)
        x[idx] = F.grid_sample(x[idx], grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return x


def _param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        if param.ndim < 2 or "token_embedding" in name or "positional_embedding" in name or "class_embedding" in name:
            no_decay.append(param)
        else:
            decay.append(param)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def _positives(
    img_kind, img_colour, img_shape, cap_kind, cap_colour, cap_shape, img_contents=None, cap_contents=None
) -> torch.Tensor:
    """(B, U) bool: caption u is true of image b.

    With ``img_contents`` (whole images: bit mask of the classes in view) and ``cap_contents``
    (scene captions: the classes they name), a scene caption is true of a whole image only if the
    image shows every class it names, and an object caption is also true of every whole image
    showing a class it covers.
    """
    kind = img_kind[:, None] == cap_kind[None, :]
    colour = (cap_colour[None, :] < 0) | (img_colour[:, None] == cap_colour[None, :])
    shape = (cap_shape[None, :] < 0) | (img_shape[:, None] == cap_shape[None, :])
    positives = kind & colour & shape
    if img_contents is None or cap_contents is None:
        return positives
    scene_image = (img_kind == clip_data.SCENE)[:, None]
    scene_caption = (cap_kind == clip_data.SCENE)[None, :]
    named = cap_contents[None, :]
    shows_all = (img_contents[:, None] & named) == named
    positives = positives & ~(scene_image & scene_caption & ~shows_all)
    covered = torch.tensor(
        [
            clip_data.class_bits(int(c), int(s)) if k == OBJECT else 0
            for k, c, s in zip(cap_kind.tolist(), cap_colour.tolist(), cap_shape.tolist())
        ],
        dtype=torch.int64,
    )
    shows_one = (img_contents[:, None] & covered[None, :]) != 0
    return positives | (scene_image & (cap_kind == OBJECT)[None, :] & shows_one)


def _ignored(img_kind, cap_kind) -> torch.Tensor:
    """(B, U) bool: pairs left out of the loss: whole images with floor/wall captions, and region
    images with scene captions (a crop of a red sphere is neither "a red sphere and a blue cube on
    a floor" nor unlike it)."""
    surface = (cap_kind == FLOOR) | (cap_kind == WALL)
    scene_image = (img_kind == clip_data.SCENE)[:, None]
    return (scene_image & surface[None, :]) | (~scene_image & (cap_kind == clip_data.SCENE)[None, :])


def contrastive_loss(image_features, text_features, positives, logit_scale, ignore=None) -> torch.Tensor:
    """Symmetric InfoNCE with targets spread over every true (image, caption) pair; ``ignore``d pairs
    take no part (neither positive nor negative)."""
    logits = logit_scale * image_features @ text_features.T
    if ignore is not None:
        logits = logits.masked_fill(ignore & ~positives, -1e4)
    targets = positives.float()
    loss_images = -(F.log_softmax(logits, dim=1) * targets / targets.sum(1, keepdim=True)).sum(1).mean()
    targets_t = targets.T
    loss_texts = -(F.log_softmax(logits.T, dim=1) * targets_t / targets_t.sum(1, keepdim=True)).sum(1).mean()
    return (loss_images + loss_texts) / 2


def save_weights(model: torch.nn.Module, path: Path) -> Path:
    """Save an fp16 state_dict that ``open_clip.create_model(TOY_MODEL, pretrained=path)`` loads."""
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        key: (value.half() if value.is_floating_point() else value).contiguous() for key, value in model.state_dict().items()
    }
    torch.save(state, path)
    return path


def train_toy_clip(
    out_path: str | Path,
    minutes_budget: float = 20.0,
    seed: int = 0,
    max_steps: int | None = None,
    n_scenes: int | None = None,
    steps: int | None = None,
    dataset: ToyDataset | None = None,
    config: TrainConfig | None = None,
    log_path: str | Path | None = None,
    progress: bool = True,
    init_from: str | Path | None = None,
) -> Path:
    """Render training data, train the toy CLIP contrastively and save fp16 weights to ``out_path``.

    Args:
        out_path: where the checkpoint goes (``.pt``).
        minutes_budget: wall-clock budget for everything: the steps are fitted to what is left
            after rendering, unless ``steps`` is given.
        seed: torch seed (initialisation, batches, augmentation).
        max_steps: cap on the optimiser steps (1 makes a smoke test).
        n_scenes: number of training scenes to render.
        steps: number of optimiser steps.
        dataset: use this dataset instead of rendering one.
        config: other hyper-parameters.
        log_path: optional JSON file for the training record (time, samples, losses).
        progress: show progress bars and a loss line every 25 steps.
        init_from: a toy CLIP checkpoint to continue training from (default: random init).

    Returns:
        ``out_path``.
    """
    cfg = config or TrainConfig(minutes_budget=minutes_budget)
    cfg.minutes_budget = minutes_budget
    n_scenes = n_scenes if n_scenes is not None else cfg.n_scenes
    steps = steps if steps is not None else cfg.steps
    max_steps = max_steps if max_steps is not None else cfg.max_steps
    out_path = Path(out_path)
    start = time.perf_counter()
    cpu_start = _cpu_seconds()
    budget_s = minutes_budget * 60.0
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(seed)
    device = resolve_device(cfg.device)
    model = create_toy_model()
    if init_from is not None:
        load_weights(lambda: model, init_from, what="toy CLIP weights", hint="pass a .pt written by semlat toyworld train")
    # Captions use ~150 of the tokenizer's 49408 tokens: their embeddings stay at their random
    # initialisation (the transformer learns to read them), which keeps the optimiser off 3M rows.
    model.token_embedding.requires_grad_(False)
    size = int(open_clip.get_model_preprocess_cfg(model)["size"][0])
    model.to(device)

    data_start = time.perf_counter()
    if dataset is None:
        dataset = clip_data.build_dataset(
            n_scenes, size, seed_start=cfg.scene_seed_start, workers=cfg.workers, progress=progress, hard_share=cfg.hard_share
        )
    data_s = time.perf_counter() - data_start

    tokenizer = open_clip.get_tokenizer(TOY_MODEL)
    tokens: dict[str, torch.Tensor] = {}  # caption -> token ids: the tokenizer is slow next to this small model

    def tokenize(texts: list[str]) -> torch.Tensor:
        new = [text for text in texts if text not in tokens]
        if new:
            tokens.update(zip(new, tokenizer(new)))
        return torch.stack([tokens[text] for text in texts])

    bank = {caption.text: caption for caption in clip_data.caption_bank()}
    mean, std = (stat.to(device) for stat in image_normalization(model))

    optimizer = torch.optim.AdamW(_param_groups(model, cfg.weight_decay), lr=cfg.lr, betas=(0.9, 0.98), eps=1e-6)
    generator = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    n = len(dataset)
    batch_size = min(cfg.batch_size, n)
    order = torch.randperm(n, generator=generator)
    cursor = 0
    model.train()

    def one_step(step: int, total: int) -> float:
        nonlocal order, cursor
        if cursor + batch_size > n:
            order, cursor = torch.randperm(n, generator=generator), 0
        idx = order[cursor : cursor + batch_size]
        cursor += batch_size
        kinds, colours, shapes = dataset.kind[idx], dataset.colour[idx], dataset.shape[idx]
        contents = dataset.contents[idx]
        captions: dict[str, tuple[int, int, int, int]] = {}  # text -> (kind, colour, shape, named classes)
        for k, c, s, bits in zip(kinds.tolist(), colours.tolist(), shapes.tolist(), contents.tolist()):
            if k == clip_data.SCENE:
                text, named = clip_data.sample_scene_caption(rng, bits)
                if text in bank:  # "a red sphere" names one class: the object caption means the same
                    caption = bank[text]
                    captions.setdefault(text, (caption.kind, caption.colour, caption.shape, 0))
                else:
                    captions.setdefault(text, (k, -1, -1, named))
            else:
                caption = bank[clip_data.sample_caption(rng, k, c, s, cfg.attribute_rate)]
                captions.setdefault(caption.text, (caption.kind, caption.colour, caption.shape, 0))
        texts = sorted(captions)
        meta = torch.tensor([captions[text] for text in texts], dtype=torch.int64)
        positives = _positives(kinds, colours, shapes, meta[:, 0], meta[:, 1], meta[:, 2], contents, meta[:, 3]).to(device)
        ignore = _ignored(kinds, meta[:, 0]).to(device)
        warmup = min(cfg.warmup_steps, max(1, total // 10))
        lr = (
            cfg.lr * (step + 1) / warmup
            if step < warmup
            else 0.5 * cfg.lr * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))
        )
        for group in optimizer.param_groups:
            group["lr"] = lr
        images = (_augment(dataset.images[idx], generator).to(device) - mean) / std
        image_features = F.normalize(model.encode_image(images), dim=-1)
        text_features = F.normalize(model.encode_text(tokenize(texts).to(device)), dim=-1)
        loss = contrastive_loss(image_features, text_features, positives, model.logit_scale.exp(), ignore)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        return float(loss.detach())

    losses: list[float] = []
    train_start = time.perf_counter()
    # Without a step count, fit it to the budget: from the rate of steps 2-3, then again at the end
    # of the warm-up (whose learning rates do not depend on the count) from the rate since then,
    # so one-off costs of the first steps do not leave the budget unused.
    fit_at = (3, max(4, cfg.warmup_steps)) if steps is None else ()
    total = steps if steps is not None else 10_000
    mark_step, mark_time = 0, train_start
    step = 0
    while step < (total if max_steps is None else min(total, max_steps)):
        losses.append(one_step(step, total))
        step += 1
        if step == 1 or step in fit_at:
            now = time.perf_counter()
            if step in fit_at:
                per_step = (now - mark_time) / (step - mark_step)
                total = step + max(1, int((budget_s - (now - start) - 20.0) / per_step))
            mark_step, mark_time = step, now
        if progress and step % 25 == 0:
            elapsed = time.perf_counter() - train_start
            print(
                f"step {step}/{total} loss {np.mean(losses[-25:]):.3f} scale {model.logit_scale.exp().item():.1f} {elapsed:.0f}s",
                flush=True,
            )
    steps = step
    train_s = time.perf_counter() - train_start
    model.eval()
    save_weights(model.cpu(), out_path)
    if log_path is not None:
        record = {
            "model": TOY_MODEL,
            "seed": seed,
            "weights": str(out_path),
            "weights_bytes": out_path.stat().st_size,
            "n_scenes": n_scenes,
            "scene_seed_start": cfg.scene_seed_start,
            "hard_share": cfg.hard_share,
            "init_from": str(init_from) if init_from is not None else None,
            "samples": n,
            "samples_by_view": dataset.counts(),
            "steps": steps,
            "batch_size": batch_size,
            "data_seconds": round(data_s, 1),
            "train_seconds": round(train_s, 1),
            "total_seconds": round(time.perf_counter() - start, 1),
            "cpu_seconds": round(_cpu_seconds() - cpu_start, 1),
            "final_loss": float(np.mean(losses[-25:])) if losses else None,
            "config": {key: value for key, value in vars(cfg).items()},
        }
        Path(log_path).write_text(json.dumps(record, indent=2))
    return out_path


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (the rendering workers)."""
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


# ----------------------------------------------------------------------------- evaluation


def heldout_views(seeds: Sequence[int] | range, n_views: int = 8, world: World | None = None) -> Iterator[tuple[Scene, View]]:
    """Yield (scene, view) for held-out scenes (of ``world``, default the default one) from the
    default orbit (what `semlat eval` renders)."""
    for seed in seeds:
        if seed >= clip_data.TRAIN_SEED_START:
            raise ValueError(f"seed {seed} is a training seed; held-out seeds are < {clip_data.TRAIN_SEED_START}")
        scene = make_scene(int(seed), world=world)
        for camera in orbit_cameras(n_views):
            yield scene, render_view(scene, camera)


def evaluate_zero_shot(
    model_path: str | Path | None = None,
    seeds: Sequence[int] | range = range(20),
    n_views: int = 8,
    min_pixels: int = 100,
    device: str | None = "cpu",
    world: World | None = None,
) -> dict[str, Any]:
    """Zero-shot accuracy of a toy CLIP checkpoint on held-out scenes (of ``world``, default the default one).

    Every object with at least ``min_pixels`` visible pixels in a default-orbit view of a
    held-out scene is classified among `PROMPTS` (28 classes + floor + wall) under each view
    strategy; masked-full only counts objects with >= 60% of their pixels inside its centre crop.
    The floor and each visible wall (whole surfaces, masked crop) are scored too.

    Args:
        model_path: checkpoint; default the shipped weights.
        seeds: held-out scene seeds (< `TRAIN_SEED_START`).
        n_views: orbit views per scene.
        min_pixels: smallest visible object counted.
        device: where to run the model.
        world: the world of the held-out scenes (e.g. `WORLDS["hard"]`: textures, duplicates, clutter).
    """
    model_path = Path(model_path) if model_path is not None else TOY_WEIGHTS
    clip = load_encoder(ModelSpec(TOY_MODEL, str(model_path)), device=device)
    text = torch.from_numpy(clip.encode_texts(list(PROMPTS)))
    size = clip.image_size
    strategies = ("masked-crop", "crop", "masked-full")
    hits = {name: [] for name in (*strategies, "floor", "wall")}
    colour_hits = {name: [] for name in strategies}
    for scene, view in heldout_views(seeds, n_views, world):
        image = Pixels(view.image)
        height, width = view.instance.shape
        side = min(height, width)
        top, left = (height - side) // 2, (width - side) // 2
        batch, targets, kinds = [], [], []
        for instance_id, name in scene.class_names().items():
            mask = view.instance == instance_id
            count = int(mask.sum())
            if count < min_pixels:
                continue
            region = Region.from_mask(0, mask)
            if name in ("floor", "wall"):
                batch.append(region_view(image, region, "masked-crop", size, mask))
                targets.append(PROMPTS.index(name))
                kinds.append(name)
                continue
            if name not in CLASS_NAMES:
                continue
            for strategy in strategies:
                if strategy == "masked-full" and mask[top : top + side, left : left + side].sum() < 0.6 * count:
                    continue
                batch.append(region_view(image, region, strategy, size, mask))
                targets.append(PROMPTS.index(name))
                kinds.append(strategy)
        if not batch:
            continue
        features = torch.from_numpy(clip.encode_images(torch.stack(batch)))
        predicted = (features @ text.T).argmax(1).tolist()
        for guess, target, kind in zip(predicted, targets, kinds):
            hits[kind].append(guess == target)
            if kind in colour_hits:
                colour_hits[kind].append(guess < len(CLASS_NAMES) and PROMPTS[guess].split()[0] == PROMPTS[target].split()[0])
    result: dict[str, Any] = {
        "seeds": [int(seeds[0]), int(seeds[-1])] if len(seeds) else [],
        "n_views": n_views,
        "min_pixels": min_pixels,
        "prompts": len(PROMPTS),
    }
    for name, values in hits.items():
        result[name] = {"accuracy": round(float(np.mean(values)), 4) if values else None, "n": len(values)}
    for name, values in colour_hits.items():
        result[name]["colour_accuracy"] = round(float(np.mean(values)), 4) if values else None
    objects = [v for name in strategies for v in hits[name]]
    result["objects_all_views"] = {"accuracy": round(float(np.mean(objects)), 4) if objects else None, "n": len(objects)}
    return result
