"""`semlat eval`: the whole pipeline measured against the toy world's exact ground truth.

For every scene seed: render the views, build one workspace per mask source (classical,
mobile-sam when installed, ground-truth masks as the upper bound), embed regions with each
strategy, answer the scene's class prompts plus "floor" and "wall", and compare the argmax
segmentation with the true classes: IoU per (view, class present), averaged into a mIoU per
configuration. Cross-view labels are measured per level by the instance part
(`semlat_toy.instances`, ``semlat eval --part instances``).
"""

from __future__ import annotations

import json
import tempfile
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from semlat.encoders import Encoder, ModelSpec, load_encoder
from semlat.errors import SemlatError
from semlat.imageio import list_images
from semlat.ingest import scan_images
from semlat.progress import track
from semlat.scoring import CANONICAL_PHRASES, score_maps
from semlat.stages.consistency import smooth_features
from semlat.stages.embed import embed_regions
from semlat.stages.label import label_regions
from semlat.stages.masks import default_backend, propose_regions
from semlat.types import Region, paint_order
from semlat.workspace import Workspace
from semlat_toy.io import read_ground_truth, write_scene
from semlat_toy.scene import FLOOR_ID, SKY_ID, WALL_IDS

GROUND_TRUTH = "ground-truth"
MASK_SETTINGS: dict[str, dict[str, Any]] = {
    "classical": {},
    "mobile-sam": {},
}
"""Proposer settings per mask source: every backend at its defaults, as a user of `semlat masks` gets
it (MobileSAM: automatic masks, 32×32 prompts, LangSplat's levels)."""


@dataclass(frozen=True)
class EvalConfig:
    """One way of answering prompts: which masks, region views, fusion and score."""

    masks: str
    strategy: str | None  # None: the global-only baseline (no regions)
    fusion: str = "sum"
    score: str = "softmax"
    smoothed: bool = False

    @property
    def name(self) -> str:
        if self.strategy is None:
            return "global-only"
        return f"{self.masks} / {self.strategy} / {self.fusion} / {self.score}" + (" / smoothed" if self.smoothed else "")

    @property
    def feature_set(self) -> str | None:
        return None if self.strategy is None else self.strategy + ("-smoothed" if self.smoothed else "")


def mask_sources() -> list[str]:
    """Every installed region backend that needs no user input, plus the ground-truth upper bound."""
    return ["classical", *(["mobile-sam"] if default_backend() == "mobile-sam" else []), GROUND_TRUTH]


def default_configs(sources: list[str]) -> list[EvalConfig]:
    configs = [EvalConfig("none", None)]
    for masks in sources:
        configs.append(EvalConfig(masks, "masked-full"))  # the original
        configs += [EvalConfig(masks, "masked-crop", fusion) for fusion in ("sum", "conceptfusion", "region")]
        configs += [EvalConfig(masks, "masked-crop", "sum", score) for score in ("relevancy", "cosine")]
        configs += [EvalConfig(masks, "masked-crop", fusion, smoothed=True) for fusion in ("sum", "region")]
    return configs


def ground_truth_regions(instance: npt.NDArray[np.integer]) -> list[Region]:
    """One region per visible instance (sky excluded), labelled with its instance id."""
    ids = [int(i) for i in np.unique(instance) if i != SKY_ID]
    return [Region.from_mask(index, instance == i, label=i) for index, i in enumerate(ids)]


def class_of_instance(classes: dict[int, str]) -> dict[int, str]:
    """Instance id → prompt: objects keep their class name, floor and walls become "floor"/"wall"."""
    names = {FLOOR_ID: "floor", **{wall: "wall" for wall in WALL_IDS}}
    return {i: names.get(i, name) for i, name in classes.items() if i != SKY_ID}


def _build_workspace(root: Path, scene_dir: Path, masks: str) -> Workspace:
    images = scene_dir / "images"
    ws = Workspace.open_or_create(root)
    if masks != GROUND_TRUTH:
        propose_regions(ws, images, backend=masks, **MASK_SETTINGS.get(masks, {}))
        return ws
    truth = read_ground_truth(scene_dir)
    ws.claim_config("region_sets", GROUND_TRUTH, {"backend": GROUND_TRUTH}, hint="use a new workspace")
    by_name = {record.file_name: record for record in ws.add_images(scan_images(list_images(images)))}
    for name, instance in zip(truth.names, truth.instances):
        ws.write_regions(GROUND_TRUTH, by_name[name].image_id, ground_truth_regions(instance))
    return ws


def pixel_labels(regions: list[Region], shape: tuple[int, int]) -> npt.NDArray[np.int64]:
    """Each pixel's cross-view label, -1 where no region or unlabelled: that of the smallest region over it.

    Regions are painted largest first (`semlat.types.paint_order`), as the Gaussian
    Grouping and LangSplat exports write them, so the evaluation measures the maps a user gets.
    """
    labels = np.full(shape, -1, dtype=np.int64)
    for index in paint_order(regions, range(len(regions))):
        labels[regions[index].mask()] = regions[index].label
    return labels


def _iou_per_class(predicted: npt.NDArray[np.integer], truth: npt.NDArray[np.integer]) -> dict[int, float]:
    ious = {}
    for cls in np.unique(truth[truth >= 0]):
        p, t = predicted == cls, truth == cls
        ious[int(cls)] = float((p & t).sum() / (p | t).sum())
    return ious


def evaluate_scene(
    seed: int, model: Encoder, spec: ModelSpec, work_dir: Path, n_views: int, configs: list[EvalConfig]
) -> dict[str, Any]:
    """Render scene ``seed`` and score every configuration on it."""
    scene_dir = write_scene(work_dir / f"scene_{seed}", seed, n_views=n_views)
    truth = read_ground_truth(scene_dir)
    prompt_of = class_of_instance(truth.classes)
    prompts = sorted(set(prompt_of.values()) - {"floor", "wall"}) + ["floor", "wall"]
    texts = model.encode_texts(prompts)
    canonical = model.encode_texts(list(CANONICAL_PHRASES))
    prompt_index = np.full(max(truth.classes) + 1, -1, dtype=np.int64)  # instance id → prompt, -1 for sky
    for instance_id, prompt in prompt_of.items():
        prompt_index[instance_id] = prompts.index(prompt)
    truth_classes = [prompt_index[instance] for instance in truth.instances]
    ious: dict[str, list[float]] = defaultdict(list)
    sources = sorted({c.masks for c in configs if c.strategy is not None})
    for masks in sources:
        root = work_dir / f"ws_{seed}_{masks}"
        ws = _build_workspace(root, scene_dir, masks)
        region_set = ws.region_sets()[0]
        keys = {
            strategy: embed_regions(
                ws, model=spec, strategy=strategy, region_set=region_set, feature_set=strategy, device=str(model.device)
            )
            for strategy in sorted({c.strategy for c in configs if c.masks == masks and c.strategy})
        }
        if not ws.has_labels(region_set):  # smoothing needs labels; SAM's automatic mode gave its own
            label_regions(ws, region_set, method="kmeans", descriptor="clip", feature_set="masked-crop")
        if any(c.smoothed for c in configs if c.masks == masks):
            smoothed = smooth_features(ws, key=keys["masked-crop"], out_feature_set="masked-crop-smoothed")
            keys[smoothed.feature_set] = smoothed
        for record, gt_class, instance in zip(ws.images(), truth_classes, truth.instances):
            regions = ws.regions(region_set, record)
            for config in (c for c in configs if c.masks == masks or (c.strategy is None and masks == sources[0])):
                key = keys.get(config.feature_set) or next(iter(keys.values()))
                _, vectors = ws.embeddings(key, record)
                rles, features = ([r.rle for r in regions], vectors[1:]) if config.strategy else ([], vectors[:0])
                maps = score_maps(
                    rles,
                    vectors[0],
                    features,
                    texts,
                    fusion=config.fusion,
                    score=config.score,
                    canonical_features=canonical,
                    shape=instance.shape,
                )
                ious[config.name] += _iou_per_class(maps.argmax(axis=0), gt_class).values()
    return {"seed": seed, "prompts": prompts, "ious": dict(ious)}


def evaluate(
    seeds: list[int],
    spec: ModelSpec,
    out_dir: str | Path | None = None,
    n_views: int = 12,
    sources: list[str] | None = None,
    device: str | None = None,
) -> dict[str, Any]:
    """Evaluate every configuration on every seed; writes eval.json and eval.md into ``out_dir``."""
    if not seeds:
        raise SemlatError("no seeds given: pass --seeds 0..3")
    sources = sources or mask_sources()
    configs = default_configs(sources)
    model = load_encoder(spec, device)
    per_scene = []
    with tempfile.TemporaryDirectory(prefix="semlat-eval-") as work:
        for seed in track(seeds, "evaluating scenes"):
            per_scene.append(evaluate_scene(seed, model, spec, Path(work), n_views, configs))
    summary = {
        "model": spec.key(),
        "seeds": seeds,
        "views_per_scene": n_views,
        "mask_settings": {source: MASK_SETTINGS.get(source, {}) for source in sources if source != GROUND_TRUTH},
        "configs": [
            {**asdict(c), "name": c.name, "miou": float(np.mean([v for s in per_scene for v in s["ious"].get(c.name, [])]))}
            for c in configs
        ],
        "per_scene": [
            {
                "seed": s["seed"],
                "prompts": s["prompts"],
                "miou": {k: float(np.mean(v)) for k, v in s["ious"].items()},
            }
            for s in per_scene
        ],
    }
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "eval.json").write_text(json.dumps(summary, indent=2))
        (out / "eval.md").write_text(markdown_table(summary))
    return summary


def markdown_table(summary: dict[str, Any]) -> str:
    lines = [
        f"# semlat eval — model {summary['model']}, seeds {summary['seeds']}, {summary['views_per_scene']} views each",
        "",
        "Mask settings: "
        + "; ".join(f"{source} {settings or 'defaults'}" for source, settings in summary.get("mask_settings", {}).items()),
        "",
        "| configuration | mIoU |",
        "|---|---|",
        *(f"| {c['name']} | {c['miou']:.3f} |" for c in summary["configs"]),
        "",
        "Cross-view labels, per level: `semlat eval --part instances`.",
        "",
    ]
    return "\n".join(lines)
