"""The instance part of `semlat eval`: how well cross-view labels recover the true instances.

`evaluate_instances` renders each world's scenes, builds one workspace per mask source
(ground-truth masks with their ids removed, classical, MobileSAM automatic), reads the scene's
COLMAP model (cameras, SfM tracks) into it, embeds the regions with the toy CLIP, and labels
them with every method of `semlat.stages.label.METHODS` but auto (which is tracks here). Measures,
over all pixels of all views:

Each level of a region set is measured on its own (a pixel's label is that of the last region of
the level holding it):

* ``ari``: adjusted Rand index between predicted labels (-1 where no region) and true instance ids.
* ``kept_whole``: share of true instances (sky excluded) with at least ``share`` of their pixels,
  over all views, in one predicted label.
* ``kept_apart``: share of predicted labels whose pixels are at least ``share`` one true instance.
* ``duplicates_apart``: share of the object instances whose class has several instances that
  have a label of their own: the label holding most of their pixels holds most of no other
  instance of their class.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.metrics import adjusted_rand_score

from semlat.encoders import ModelSpec
from semlat.errors import SemlatError
from semlat.imageio import list_images
from semlat.ingest import scan_images
from semlat.progress import track
from semlat.stages.embed import embed_regions
from semlat.stages.label import label_regions
from semlat.stages.masks import propose_regions
from semlat.types import NO_LABEL, Region, shown_masks, visible_order
from semlat.workspace import Workspace
from semlat_toy.evaluate import GROUND_TRUTH, ground_truth_regions, pixel_labels
from semlat_toy.io import read_ground_truth, write_scene
from semlat_toy.scene import OBJECT_ID_START, SKY_ID, WORLDS

SHARE = 0.8
"""The share of pixels that makes an instance whole, or a label one instance."""

SOURCES: dict[str, dict[str, Any]] = {
    GROUND_TRUTH: {},
    "classical": {},
    "mobile-sam": {"mode": "automatic", "points_per_side": 8, "levels": True, "n_labels": 0, "device": "cpu"},
}
"""Mask sources of the instance evaluation and their proposer settings. MobileSAM's automatic
mode takes about 20 s an image on 2 CPU cores with 8x8 point prompts (minutes with 32x32), so
the evaluation uses 8x8; with LangSplat's levels each level (0 whole, 1 part, 2 sub-part) is
measured on its own; ``n_labels`` 0 leaves the labelling to the methods measured."""
METHODS = ("tracks", "matches", "appearance", "matches+appearance", "kmeans")
ORACLES = ("oracle", "oracle, cannot-link")
"""What the masks allow, for reference: each region labelled with the true instance most of the
pixels it shows (`semlat.types.shown_masks`, as the labels are read out); under cannot-link each
image's regions of a level are matched one to one with the true instances so that the most
pixels agree (scipy's ``linear_sum_assignment``), the unmatched get labels of their own. Not a
bound: a labelling that obeys cannot-link can score a higher ARI than the matching's."""
STRATEGY = "masked-crop"


def instance_scores(
    truth: Sequence[npt.NDArray[np.integer]],
    predicted: Sequence[npt.NDArray[np.integer]],
    classes: dict[int, str],
    share: float = SHARE,
) -> dict[str, float]:
    """The measures of the module docstring for per-view true ids and predicted labels."""
    t = np.concatenate([np.ravel(x) for x in truth]).astype(np.int64)
    p = np.concatenate([np.ravel(x) for x in predicted]).astype(np.int64)
    pairs, overlap = np.unique(np.stack([t, p]), axis=1, return_counts=True)
    true_ids, pred_ids = pairs
    size_true = dict(zip(*np.unique(t, return_counts=True)))
    size_pred = dict(zip(*np.unique(p, return_counts=True)))
    labelled = pred_ids >= 0
    whole, apart, majority = {}, {}, {}
    for tid, pid, count in zip(true_ids[labelled], pred_ids[labelled], overlap[labelled]):
        tid, pid = int(tid), int(pid)
        whole[tid] = max(whole.get(tid, 0.0), count / size_true[tid])
        apart[pid] = max(apart.get(pid, 0.0), count / size_pred[pid])
        if count > majority.get(tid, (None, 0))[1]:
            majority[tid] = (pid, count)
    instances = [int(i) for i in size_true if i != SKY_ID]
    labels = [int(i) for i in size_pred if i >= 0]
    return {
        "ari": float(adjusted_rand_score(t, p)),
        "kept_whole": float(np.mean([whole.get(i, 0.0) >= share for i in instances])) if instances else 1.0,
        "kept_apart": float(np.mean([apart[i] >= share for i in labels])) if labels else 1.0,
        "duplicates_apart": _duplicates_apart(instances, majority, classes),
        "n_instances": len(instances),
        "n_labels": len(labels),
    }


def _duplicates_apart(instances: list[int], majority: dict[int, tuple[int, int]], classes: dict[int, str]) -> float | None:
    by_class: dict[str, list[int]] = {}
    for i in instances:
        if i >= OBJECT_ID_START:
            by_class.setdefault(classes[i], []).append(i)
    duplicates = [members for members in by_class.values() if len(members) > 1]
    if not duplicates:
        return None
    kept = []
    for members in duplicates:
        labels = [majority.get(i, (None, 0))[0] for i in members]
        kept += [label is not None and labels.count(label) == 1 for label in labels]
    return float(np.mean(kept))


def evaluate_instances(
    seeds: Sequence[int],
    spec: ModelSpec,
    out_dir: str | Path | None = None,
    n_views: int = 12,
    worlds: Sequence[str] = ("default", "hard"),
    sources: Sequence[str] | None = None,
    methods: Sequence[str] = METHODS,
    device: str | None = None,
    work_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Every (world, mask source, method) on every seed; writes instances.json and instances.md.

    ``work_dir`` keeps the scenes and workspaces (a later call with it reuses their regions);
    by default they go in a temporary folder.
    """
    if not seeds:
        raise SemlatError("no seeds given: pass --seeds 0..3")
    unknown = [w for w in worlds if w not in WORLDS] + [s for s in sources or () if s not in SOURCES]
    if unknown:
        raise SemlatError(f"unknown worlds or mask sources {unknown}: use {', '.join(WORLDS)} and {', '.join(SOURCES)}")
    sources = list(sources or SOURCES)
    rows = []
    with tempfile.TemporaryDirectory(prefix="semlat-instances-") as temporary:
        work = work_dir or temporary
        for world in worlds:
            for seed in track(seeds, f"instances ({world} world)"):
                scene_dir = Path(work) / f"{world}_{seed}_{n_views}"
                if not (scene_dir / "gt" / "classes.json").is_file():
                    write_scene(scene_dir, seed, n_views=n_views, world=WORLDS[world])
                truth = read_ground_truth(scene_dir)
                for source in sources:
                    ws = _workspace(Path(f"{scene_dir}_{source}"), scene_dir, source, truth)
                    name = ws.region_sets()[0]
                    embed_regions(ws, model=spec, strategy=STRATEGY, region_set=name, feature_set=STRATEGY, device=device)
                    for method in (*methods, *ORACLES):
                        if method in ORACLES:
                            regions = oracle_labels(ws, name, truth.instances, cannot_link=method == ORACLES[1])
                        else:
                            method = label_regions(ws, name, method=method, descriptor="clip", feature_set=STRATEGY).method
                            regions = [ws.regions(name, record) for record in ws.images()]
                        for level in sorted({g.level for image in regions for g in image}):
                            predicted = [
                                pixel_labels([g for g in image if g.level == level], instance.shape)
                                for image, instance in zip(regions, truth.instances)
                            ]
                            scores = instance_scores(truth.instances, predicted, truth.classes)
                            entry = {"world": world, "seed": seed, "masks": source, "level": level, "method": method}
                            rows.append({**entry, **scores})
    summary = {"model": spec.key(), "seeds": list(seeds), "views_per_scene": n_views, "share": SHARE}
    summary["mask_settings"] = {s: SOURCES[s] for s in sources}
    summary["mean"] = _means(rows)
    summary["per_scene"] = rows
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "instances.json").write_text(json.dumps(summary, indent=2) + "\n")
        (out / "instances.md").write_text(instances_markdown(summary))
    return summary


def _workspace(root: Path, scene_dir: Path, source: str, truth) -> Workspace:
    """The scene's images, regions of ``source`` (ground truth without ids) and COLMAP model."""
    ws = Workspace.open_or_create(root)
    if source != GROUND_TRUTH:
        propose_regions(ws, scene_dir / "images", backend=source, **SOURCES[source])  # resumes a kept one
    elif not ws.region_sets():
        ws.claim_config("region_sets", GROUND_TRUTH, {"backend": GROUND_TRUTH}, hint="use a new workspace")
        by_name = {r.file_name: r for r in ws.add_images(scan_images(list_images(scene_dir / "images")))}
        for name, instance in zip(truth.names, truth.instances):
            ws.write_regions(GROUND_TRUTH, by_name[name].image_id, unlabelled_regions(instance))
    from semlat.formats.scenes import read_scene

    scene = read_scene(scene_dir)
    ws.write_scene(scene.cameras, scene.tracks)
    return ws


def oracle_labels(
    ws: Workspace, name: str, instances: Sequence[npt.NDArray[np.integer]], cannot_link: bool
) -> list[list[Region]]:
    """The regions of every image labelled by the oracle (`ORACLES`), nothing written."""
    from scipy.optimize import linear_sum_assignment

    out, spare = [], 1 << 30
    for record, instance in zip(ws.images(), instances):
        regions = ws.regions(name, record)
        n_true = int(instance.max()) + 1
        shown = np.zeros((len(regions), n_true), np.int64)
        for index, mask in zip(visible_order(regions), shown_masks(regions), strict=True):
            shown[index] = np.bincount(instance[mask], minlength=n_true)
        labels = shown.argmax(1)
        if cannot_link:
            for level in {region.level for region in regions}:
                members = np.array([i for i, region in enumerate(regions) if region.level == level])
                rows, cols = linear_sum_assignment(shown[members], maximize=True)
                matched = np.full(len(members), -1)
                matched[rows] = cols
                for i, true_id in zip(members, matched):
                    keeps = true_id >= 0 and shown[i, true_id] > 0
                    labels[i] = true_id if keeps else spare
                    spare += 0 if keeps else 1
        out.append([replace(region, label=int(label)) for region, label in zip(regions, labels)])
    return out


def unlabelled_regions(instance: npt.NDArray[np.integer]) -> list[Region]:
    """One region per visible instance (sky excluded), its id removed."""
    return [replace(region, label=NO_LABEL) for region in ground_truth_regions(instance)]


def _means(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str, int, str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["world"], row["masks"], row["level"], row["method"]), []).append(row)
    means = []
    for (world, masks, level, method), members in groups.items():
        entry: dict[str, Any] = {"world": world, "masks": masks, "level": level, "method": method}
        for key in ("ari", "kept_whole", "kept_apart", "duplicates_apart", "n_labels", "n_instances"):
            values = [m[key] for m in members if m[key] is not None]
            entry[key] = float(np.mean(values)) if values else None
        means.append(entry)
    return means


def instances_markdown(summary: dict[str, Any]) -> str:
    def cell(value: float | None) -> str:
        return "–" if value is None else f"{value:.3f}"

    lines = [
        f"# semlat eval, instances — model {summary['model']}, seeds {summary['seeds']}, {summary['views_per_scene']} views each",
        "",
        f"Kept whole: share of true instances with ≥ {summary['share']:.0%} of their pixels (all views) in one label; "
        f"kept apart: share of labels whose pixels are ≥ {summary['share']:.0%} one instance; duplicates apart: share of "
        "objects of a class with several instances whose main label is no other's of the class.",
        "",
        "Mask settings: " + "; ".join(f"{s} {v or 'defaults'}" for s, v in summary["mask_settings"].items()),
        "",
        "| world | masks | level | method | ARI | kept whole | kept apart | duplicates apart | labels / instances |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for m in summary["mean"]:
        lines.append(
            f"| {m['world']} | {m['masks']} | {m['level']} | {m['method']} | {cell(m['ari'])} | {cell(m['kept_whole'])} | "
            f"{cell(m['kept_apart'])} | {cell(m['duplicates_apart'])} | {m['n_labels']:.0f} / {m['n_instances']:.0f} |"
        )
    return "\n".join(lines) + "\n"
