"""Consistency benchmark: metrics and retrieval quality before/after smoothing and refine.

Workspaces with known cross-view truth, built from one photo each (scikit-image samples):
every scene is one source photo, downscaled to a 320-pixel long side and segmented once with
Felzenszwalb; its 12 largest segments are the ground-truth (GT) objects. 8 views per scene are
random crops (65–90 % of each side) with a random horizontal flip; each GT segment is carried
into each view through the known crop/flip, so the region of segment g in every view is
exactly the same surface: its GT cross-view label is g.

The labels the pipeline sees are corrupted like a real labeller's (seeded):
- over-split: the 2 largest GT segments get a second label (100 + g) in odd-numbered views;
- noise: 10 % of the regions get a random wrong label;
- junk: one random rectangle per view (20–40 % of each side, cutting across segments) with label 50.

Features (no CLIP weights offline, so neither is a real CLIP):
- ``colorhist``: Hellinger-normalised 6×6×6 RGB histogram of the masked pixels (216-d);
- ``tiny-clip``: the random-weight OpenCLIP ``semlat-tiny`` (32-d) through the real embed stage
  (masked-crop views), seeded exactly as tests/conftest.py does.

Stages measured per scene and feature: raw; smoothed (prototype, α=0.5); the same without
keeping outliers; smoothed (knn, α=0.5, k=5); refined (merge & deletion from raw, the original's
k=1.0, threshold 0.6) and a stricter refine (k=2.0, threshold 0.9), each also prototype-smoothed.
Refined sets hold fewer, merged regions, so their quality numbers are over another population.
Quality against GT (a region's GT = the GT segment covering most of its mask; regions mostly on
unsegmented background are left out of quality):
- ``proto_acc``: leave-one-out nearest GT-prototype accuracy (each region's own vector removed
  from its class mean), the "query by concept" proxy;
- ``xview_p1``: precision@1 of cross-view retrieval (nearest region in another view is the same GT);
- ``purity``: share of labelled regions whose label's majority GT is their GT;
- ``labels_per_gt``: distinct labels whose majority GT is a given GT segment, mean (ideal 1).

Run: python benchmarks/bench_consistency.py [--scenes astronaut coffee] (writes
benchmarks/results/consistency.json and consistency.md; about 1–2 minutes on 2 CPU cores).
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from semlat.ingest import scan_images
from semlat.stages.consistency import compute_metrics, refine_labels, smooth_features
from semlat.types import WHOLE_IMAGE, FeatureKey, Region
from semlat.workspace import Workspace

RESULTS = Path(__file__).parent / "results"
SCENES = ("astronaut", "coffee", "rocket", "chelsea")
VIEWS, GT_SEGMENTS, SPLIT, NOISE, JUNK_LABEL = 8, 12, 2, 0.10, 50
REGION_SET = "views"
SUMMARY_KEYS = ("labels", "labelled_regions", "mean_cosine_to_prototype", "mean_intra_variance", "mean_overall_similarity")


# -- the scene --------------------------------------------------------------------------------
def source(name: str) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int32]]:
    """The downscaled photo and its GT map (0..11 the largest Felzenszwalb segments, -1 the rest)."""
    import skimage.data
    from skimage.segmentation import felzenszwalb

    photo = getattr(skimage.data, name)()
    scale = 320 / max(photo.shape[:2])
    size = (round(photo.shape[1] * scale), round(photo.shape[0] * scale))
    photo = np.asarray(Image.fromarray(photo).resize(size, Image.Resampling.LANCZOS))
    segments = felzenszwalb(photo, scale=300, sigma=0.8, min_size=300)
    largest = np.argsort(-np.bincount(segments.ravel()), kind="stable")[:GT_SEGMENTS]
    gt = np.full(segments.shape, -1, np.int32)
    for g, s in enumerate(largest):
        gt[segments == s] = g
    return photo, gt


def make_views(photo, gt, rng) -> list[tuple[npt.NDArray[np.uint8], npt.NDArray[np.int32]]]:
    views = []
    h, w = gt.shape
    for _ in range(VIEWS):
        ch, cw = int(h * rng.uniform(0.65, 0.9)), int(w * rng.uniform(0.65, 0.9))
        y, x = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
        image, labels = photo[y : y + ch, x : x + cw], gt[y : y + ch, x : x + cw]
        if rng.random() < 0.5:
            image, labels = image[:, ::-1], labels[:, ::-1]
        views.append((np.ascontiguousarray(image), np.ascontiguousarray(labels)))
    return views


def view_regions(index: int, gt_map, rng) -> list[Region]:
    """GT segments visible on ≥ 0.4 % of the view, labels corrupted as the module doc says, plus one junk box."""
    h, w = gt_map.shape
    masks, labels = [], []
    for g in range(GT_SEGMENTS):
        mask = gt_map == g
        if mask.sum() >= 0.004 * h * w:
            masks.append(mask)
            labels.append(100 + g if g < SPLIT and index % 2 else g)
    for i in range(len(labels)):
        if rng.random() < NOISE:
            labels[i] = int(rng.choice([g for g in range(GT_SEGMENTS) if g != labels[i] % 100]))
    bh, bw = int(h * rng.uniform(0.2, 0.4)), int(w * rng.uniform(0.2, 0.4))
    y, x = rng.integers(0, h - bh), rng.integers(0, w - bw)
    junk = np.zeros((h, w), bool)
    junk[y : y + bh, x : x + bw] = True
    masks.append(junk)
    labels.append(JUNK_LABEL)
    return [Region.from_mask(i, m, label=int(lab)) for i, (m, lab) in enumerate(zip(masks, labels))]


def colour_histogram(
    pixels: npt.NDArray[np.uint8], mask: npt.NDArray[np.bool_] | None = None, bins: int = 6
) -> npt.NDArray[np.float32]:
    chosen = pixels.reshape(-1, 3) if mask is None else pixels[mask]
    index = (chosen.astype(np.int64) * bins // 256) @ np.array([bins * bins, bins, 1])
    hist = np.sqrt(np.bincount(index, minlength=bins**3).astype(np.float64))
    return (hist / max(np.linalg.norm(hist), 1e-12)).astype(np.float32)


def build_scene(name: str, root: Path, checkpoint: Path, seed: int) -> dict[str, Any]:
    """Write the views, then one workspace per feature type; returns {feature: workspace, "gt": {file: map}}."""
    photo, gt = source(name)
    rng = np.random.default_rng(seed)
    folder = root / name / "images"
    folder.mkdir(parents=True)
    views = make_views(photo, gt, rng)
    regions, gt_maps = [], {}
    for index, (image, gt_map) in enumerate(views):
        path = folder / f"{name}_{index:02d}.png"
        Image.fromarray(image).save(path)
        gt_maps[path.name] = gt_map
        regions.append(view_regions(index, gt_map, rng))
    scanned = scan_images(sorted(folder.iterdir()))
    spaces = {}
    for feature in ("colorhist", "tiny-clip"):
        ws = Workspace.open_or_create(root / name / feature)
        ws.claim_config("region_sets", REGION_SET, {"backend": "bench-crops-flips", "scene": name, "seed": seed}, hint="")
        records = ws.add_images(scanned)
        for record, image_regions in zip(records, regions):
            ws.write_regions(REGION_SET, record.image_id, image_regions)
        if feature == "colorhist":
            key = FeatureKey(REGION_SET, "colorhist:6x6x6-hellinger", "raw")
            ws.claim_config("feature_sets", str(key), {"strategy": "bench-colour-histogram"}, hint="")
            for record, (image, _), image_regions in zip(records, views, regions):
                vectors = [colour_histogram(image)] + [colour_histogram(image, r.mask()) for r in image_regions]
                ws.write_embeddings(key, record.image_id, [WHOLE_IMAGE, *(r.region_id for r in image_regions)], np.stack(vectors))
        else:
            from semlat.encoders import ModelSpec
            from semlat.stages.embed import embed_regions

            embed_regions(ws, model=ModelSpec("semlat-tiny", str(checkpoint)), region_set=REGION_SET, device="cpu", batch_size=32)
        spaces[feature] = Workspace.open(ws.root)  # embed_regions updated the manifest through its own handle
    spaces["gt"] = gt_maps
    return spaces


def tiny_checkpoint(folder: Path) -> Path:
    import open_clip
    import torch

    from semlat.encoders import CONFIG_DIR

    open_clip.add_model_config(CONFIG_DIR)
    torch.manual_seed(0)
    path = folder / "semlat-tiny.pt"
    torch.save(open_clip.create_model("semlat-tiny").state_dict(), path)
    return path


# -- quality against ground truth ------------------------------------------------------------
def region_truth(ws: Workspace, region_set: str, gt_maps: dict[str, npt.NDArray[np.int32]]) -> dict[tuple[int, int], int]:
    """(image id, region id) → GT segment covering most of the region (-1: mostly background)."""
    truth = {}
    for record in ws.images():
        gt_map = gt_maps[record.file_name]
        for region in ws.regions(region_set, record):
            counts = np.bincount(gt_map[region.mask()] + 1, minlength=GT_SEGMENTS + 1)
            truth[(record.image_id, region.region_id)] = int(np.argmax(counts)) - 1
    return truth


def quality(metrics, truth: dict[tuple[int, int], int]) -> dict[str, float]:
    table = metrics.table
    gt = np.array([truth[(int(i), int(r))] for i, r in zip(table.image_ids, table.region_ids)])
    keep = gt >= 0
    vectors = table.vectors[keep] / np.linalg.norm(table.vectors[keep], axis=1, keepdims=True)
    gt_kept, images = gt[keep], table.image_ids[keep]
    classes = np.unique(gt_kept)
    index = np.searchsorted(classes, gt_kept)
    sums = np.zeros((len(classes), vectors.shape[1]))
    np.add.at(sums, index, vectors)
    counts = np.bincount(index, minlength=len(classes))
    correct, tried = 0, 0
    for row in range(len(vectors)):
        if counts[index[row]] < 2:
            continue
        protos = sums.copy()
        protos[index[row]] -= vectors[row]
        protos /= np.maximum(np.linalg.norm(protos, axis=1, keepdims=True), 1e-12)
        correct += int(np.argmax(protos @ vectors[row]) == index[row])
        tried += 1
    sim = vectors @ vectors.T
    sim[images[:, None] == images[None, :]] = -np.inf
    p1 = float(np.mean(gt_kept[np.argmax(sim, axis=1)] == gt_kept))
    labelled = table.labelled & (gt >= 0)
    labels, members_gt = table.labels[labelled], gt[labelled]
    majority = {int(lab): int(np.bincount(members_gt[labels == lab]).argmax()) for lab in np.unique(labels)}
    purity = float(np.mean([majority[int(lab)] == g for lab, g in zip(labels, members_gt)]))
    per_gt = [sum(1 for m in majority.values() if m == g) for g in np.unique(members_gt)]
    return {"proto_acc": correct / max(tried, 1), "xview_p1": p1, "purity": purity, "labels_per_gt": float(np.mean(per_gt))}


def stage_row(ws: Workspace, key: FeatureKey, gt_maps, truth_cache: dict) -> dict[str, Any]:
    metrics = compute_metrics(ws, key=key)
    if key.region_set not in truth_cache:
        truth_cache[key.region_set] = region_truth(ws, key.region_set, gt_maps)
    return {**{k: metrics.summary[k] for k in SUMMARY_KEYS}, **quality(metrics, truth_cache[key.region_set])}


def run_scene(spaces: dict[str, Any], feature: str) -> dict[str, Any]:
    ws: Workspace = spaces[feature]
    gt_maps = spaces["gt"]
    (raw,) = ws.feature_keys()
    truth: dict = {}
    rows = {"raw": stage_row(ws, raw, gt_maps, truth)}
    proto = smooth_features(ws, key=raw, method="prototype", alpha=0.5, out_feature_set="smoothed")
    rows["smoothed-prototype"] = stage_row(ws, proto, gt_maps, truth)
    pulled = smooth_features(ws, key=raw, method="prototype", alpha=0.5, keep_outliers=False, out_feature_set="smoothed-all")
    rows["smoothed-prototype-all"] = stage_row(ws, pulled, gt_maps, truth)
    knn = smooth_features(ws, key=raw, method="knn", alpha=0.5, k=5, out_feature_set="smoothed-knn")
    rows["smoothed-knn"] = stage_row(ws, knn, gt_maps, truth)
    plans = {}
    for name, delete_k, threshold in (("refined", 1.0, 0.6), ("refined-strict", 2.0, 0.9)):
        plan = refine_labels(ws, key=raw, delete_k=delete_k, merge_threshold=threshold, out_region_set=f"views-{name}")
        refined = FeatureKey(plan.out_region_set, raw.model_key, "raw")
        rows[name] = stage_row(ws, refined, gt_maps, truth)
        both = smooth_features(ws, key=refined, method="prototype", alpha=0.5, out_feature_set="resmoothed")
        rows[f"{name}+smoothed"] = stage_row(ws, both, gt_maps, truth)
        plans[name] = {
            "delete_k": delete_k,
            "merge_threshold": threshold,
            "deleted": plan.deleted,
            "merged": {str(k): v for k, v in plan.merged.items()},
            "junk_label_deleted": JUNK_LABEL in plan.deleted,
            "split_labels_merged_back": sum(plan.new_label(100 + g) == g for g in range(SPLIT)),
            "true_labels_deleted": sum(0 <= label < GT_SEGMENTS for label in plan.deleted),
        }
    rows["refine_plans"] = plans
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", nargs="+", default=list(SCENES))
    parser.add_argument("--keep", type=Path, help="Keep the workspaces here (default: a temporary folder).")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        checkpoint = tiny_checkpoint(root)
        scenes: dict[str, Any] = {}
        for offset, name in enumerate(args.scenes):
            spaces = build_scene(name, root, checkpoint, args.seed + offset)
            scenes[name] = {feature: run_scene(spaces, feature) for feature in ("colorhist", "tiny-clip")}
    stages = [s for s in next(iter(scenes.values()))["colorhist"] if s != "refine_plans"]
    aggregate = {
        feature: {
            stage: {
                k: float(np.mean([scenes[s][feature][stage][k] for s in scenes])) for k in scenes[args.scenes[0]][feature][stage]
            }
            for stage in stages
        }
        for feature in ("colorhist", "tiny-clip")
    }
    result = {
        "setup": {
            "scenes": args.scenes,
            "views_per_scene": VIEWS,
            "gt_segments": GT_SEGMENTS,
            "split_labels": SPLIT,
            "label_noise": NOISE,
            "junk_label": JUNK_LABEL,
            "seed": args.seed,
            "smoothing": {"prototype": {"alpha": 0.5, "trim": 0.2}, "knn": {"alpha": 0.5, "k": 5}},
            "refine": [{"delete_k": 1.0, "merge_threshold": 0.6}, {"delete_k": 2.0, "merge_threshold": 0.9}],
            "features": {
                "colorhist": "6x6x6 RGB histogram of masked pixels, sqrt, L2 (216-d)",
                "tiny-clip": "random-weight OpenCLIP semlat-tiny (32-d), masked-crop, torch seed 0",
            },
            "machine": platform.platform(),
            "seconds": round(time.perf_counter() - started, 1),
        },
        "aggregate": aggregate,
        "scenes": scenes,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "consistency.json").write_text(json.dumps(result, indent=2))
    (RESULTS / "consistency.md").write_text(markdown(result))
    print(json.dumps(result["aggregate"], indent=2))


def markdown(result: dict[str, Any]) -> str:
    columns = (
        "labels",
        "mean_cosine_to_prototype",
        "mean_intra_variance",
        "mean_overall_similarity",
        "proto_acc",
        "xview_p1",
        "purity",
        "labels_per_gt",
    )
    lines = ["# Consistency benchmark (generated by benchmarks/bench_consistency.py)", ""]
    setup = result["setup"]
    lines.append(f"Scenes: {', '.join(setup['scenes'])}; {setup['views_per_scene']} crop/flip views each; means over scenes.")
    lines.append("")
    lines += [
        "Views are crops/flips of one photo (no viewpoint, lighting or occlusion change), labels are GT",
        "corrupted on purpose (2 split labels 100/101, 10 % label noise, junk label 50), and neither feature",
        "is a trained CLIP: treat the numbers as a check of the mechanics, not of CLIP quality.",
        "Coherence = mean cosine of members to their label's mean; intra variance = the original's number",
        "(variance of member distances to the mean). Quality: proto_acc (leave-one-out nearest GT prototype),",
        "xview_p1 (nearest region in another view has the same GT). Refined rows hold fewer, merged regions.",
        "",
    ]
    for feature, stages_rows in result["aggregate"].items():
        stages = list(stages_rows)
        lines += [
            f"## {feature}: {setup['features'][feature]}",
            "",
            "| stage | " + " | ".join(columns) + " |",
            "|---" * (len(columns) + 1) + "|",
        ]
        for stage, row in stages_rows.items():
            lines.append(
                f"| {stage} | " + " | ".join(f"{row[c]:.4f}" if c != "labels" else f"{row[c]:.1f}" for c in columns) + " |"
            )
        lines.append("")
        for stage in [name for name in stages if name != "raw" and not name.startswith("refined")]:
            drops = [
                f"{scene} {measure} {data[feature]['raw'][measure]:.3f}→{data[feature][stage][measure]:.3f}"
                for scene, data in result["scenes"].items()
                for measure in ("proto_acc", "xview_p1")
                if data[feature][stage][measure] < data[feature]["raw"][measure]
            ]
            up = sum(
                data[feature][stage]["mean_cosine_to_prototype"] > data[feature]["raw"]["mean_cosine_to_prototype"]
                for data in result["scenes"].values()
            )
            lines.append(
                f"- {stage} vs raw: coherence (mean cosine) up in {up}/{len(result['scenes'])} scenes; "
                f"quality drops: {', '.join(drops) or 'none'}"
            )
        for name in next(iter(result["scenes"].values()))[feature]["refine_plans"]:
            plans = [data[feature]["refine_plans"][name] for data in result["scenes"].values()]
            lines.append(
                f"- {name} (k={plans[0]['delete_k']}, threshold {plans[0]['merge_threshold']}): junk label deleted in "
                f"{sum(p['junk_label_deleted'] for p in plans)}/{len(plans)} scenes, split labels merged back "
                f"{sum(p['split_labels_merged_back'] for p in plans)}/{SPLIT * len(plans)}, true labels deleted "
                f"{sum(p['true_labels_deleted'] for p in plans)}/{GT_SEGMENTS * len(plans)}; per scene: "
                + "; ".join(
                    f"{scene}: deleted {data[feature]['refine_plans'][name]['deleted']}, merged {data[feature]['refine_plans'][name]['merged']}"
                    for scene, data in result["scenes"].items()
                )
            )
        lines.append("")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
