"""The original's merge & deletion of noisy cross-view labels, written as a new region set.

Plan (pure, `plan_refinement`), on S = cosines of centred, normalised label prototypes:

1. Delete every label whose overall similarity (column sum of S minus 1) is *strictly* greater
   than μ + k·σ, μ and σ the mean and population std over labels. Such a label looks like many
   others at once: usually a mixture or a background class.
2. Keep the rows/columns of S of the remaining labels (S is *not* recomputed without the deleted
   ones, as in the original), zero the upper triangle and the diagonal, so each unordered pair
   (i, j), i > j, is seen once; every pair with cosine strictly above the threshold is merged.
   Merges are transitive (union-find); each group takes its smallest label id.

Apply (`refine_labels`): per image, deleted labels' regions are dropped; regions of labels that
merged *and* meet in one image become one region whose mask is the union (element-wise max) of
theirs, with the smallest region id; other regions keep id and mask, relabelled. Unlabelled
regions are copied. The old region set stays; the new one records its provenance in the
manifest. Every complete feature set of the old region set is carried to the new one: copied
rows, and for a union region the normalised mean of its members' vectors (an approximation:
`semlat embed --region-set NEW` gives true features of the union masks).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from semlat.errors import SemlatError
from semlat.progress import track
from semlat.stages.consistency.collect import choose_key, collect_regions
from semlat.stages.consistency.metrics import metrics_from_table
from semlat.types import NO_LABEL, WHOLE_IMAGE, FeatureKey, ImageRecord, Region
from semlat.vectors import normalize
from semlat.workspace import Workspace, embeddings_stage, regions_stage


@dataclass
class RefinePlan:
    """What refinement does to the labels of one region set."""

    label_ids: list[int]
    overall: list[float]
    delete_k: float
    merge_threshold: float
    threshold: float
    """Deletion threshold μ + k·σ of the overall similarities."""
    deleted: list[int]
    merged: dict[int, list[int]]
    """Surviving label → labels merged into it (not including itself)."""
    pairs: list[tuple[int, int, float]] = field(default_factory=list)
    """(smaller label, larger label, cosine) of every pair above the merge threshold."""
    members: dict[int, int] = field(default_factory=dict)
    source: FeatureKey | None = None
    out_region_set: str | None = None
    carried: list[str] = field(default_factory=list)
    """Feature keys written for the new region set (filled by `refine_labels` unless dry run)."""

    def new_label(self, label: int) -> int | None:
        """The label a region of ``label`` gets, None if it is deleted (-1 stays -1)."""
        if label == NO_LABEL:
            return NO_LABEL
        if label in self.deleted:
            return None
        for target, sources in self.merged.items():
            if label in sources:
                return target
        return label

    @property
    def changes(self) -> bool:
        return bool(self.deleted or self.merged)

    def describe(self) -> list[str]:
        """Human-readable lines: what is deleted and merged, and why."""
        lines = [f"{len(self.label_ids)} labels; deletion threshold (overall similarity) {self.threshold:.3f}"]
        overall = dict(zip(self.label_ids, self.overall))
        for label in self.deleted:
            lines.append(
                f"delete label {label}: overall similarity {overall[label]:.3f} ({self.members.get(label, 0)} regions dropped)"
            )
        for a, b, cosine in self.pairs:
            lines.append(f"merge pair {a} + {b}: cosine {cosine:.3f}")
        for target, sources in self.merged.items():
            moved = sum(self.members.get(s, 0) for s in sources)
            lines.append(f"label {target} absorbs {', '.join(map(str, sources))} ({moved} regions relabelled)")
        kept = len(self.label_ids) - len(self.deleted) - sum(len(s) for s in self.merged.values())
        lines.append(f"→ {kept} labels" if self.changes else "no change: nothing above the thresholds")
        return lines


def _find(parent: dict[int, int], x: int) -> int:
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


def plan_refinement(
    similarity: npt.NDArray[np.floating],
    label_ids: list[int] | npt.NDArray[np.integer],
    delete_k: float = 1.0,
    merge_threshold: float = 0.6,
) -> RefinePlan:
    """Decide deletions and merges from the centred-prototype cosine matrix (see module doc)."""
    similarity = np.asarray(similarity, dtype=np.float64)
    ids = [int(x) for x in label_ids]
    overall = similarity.sum(axis=0) - 1.0
    threshold = float(overall.mean() + delete_k * overall.std())
    deleted_mask = overall > threshold
    deleted = [ids[i] for i in np.flatnonzero(deleted_mask)]
    keep = np.flatnonzero(~deleted_mask)
    lower = np.tril(similarity[np.ix_(keep, keep)], k=-1)
    parent = {ids[i]: ids[i] for i in keep}
    pairs = []
    for row, col in zip(*np.nonzero(lower > merge_threshold)):
        a, b = ids[keep[col]], ids[keep[row]]
        pairs.append((min(a, b), max(a, b), float(lower[row, col])))
        ra, rb = _find(parent, a), _find(parent, b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    merged: dict[int, list[int]] = {}
    for label in sorted(parent):
        root = _find(parent, label)
        if root != label:
            merged.setdefault(root, []).append(label)
    return RefinePlan(
        ids,
        [float(x) for x in overall],
        float(delete_k),
        float(merge_threshold),
        threshold,
        deleted,
        dict(sorted(merged.items())),
        sorted(pairs),
    )


def refine_regions(regions: list[Region], plan: RefinePlan) -> tuple[list[Region], list[list[int]]]:
    """One image's new regions and, for each, the old region ids it is made of."""
    groups: dict[int, list[Region]] = {}
    out: list[tuple[Region, list[int]]] = []
    for region in regions:
        label = plan.new_label(region.label)
        if label is None:
            continue
        if label == NO_LABEL:
            out.append((region, [region.region_id]))
        else:
            groups.setdefault(label, []).append(region)
    for label, members in groups.items():
        if len({r.label for r in members}) == 1:  # no merge meets in this image: keep regions apart
            out.extend((_relabel(r, label), [r.region_id]) for r in members)
            continue
        union = np.zeros_like(members[0].mask())
        for region in members:
            union |= region.mask()
        level, score = min(r.level for r in members), max(r.score for r in members)
        first = min(r.region_id for r in members)
        out.append((Region.from_mask(first, union, label, level, score), sorted(r.region_id for r in members)))
    out.sort(key=lambda item: item[0].region_id)
    return [region for region, _ in out], [ids for _, ids in out]


def _relabel(region: Region, label: int) -> Region:
    return region if region.label == label else replace(region, label=label)


def refine_labels(
    ws: Workspace,
    *,
    key: FeatureKey | None = None,
    delete_k: float = 1.0,
    merge_threshold: float = 0.6,
    dry_run: bool = False,
    out_region_set: str | None = None,
) -> RefinePlan:
    """Plan merge & deletion from ``key``'s features and, unless ``dry_run``, write the new region set.

    Args:
        ws: the workspace.
        key: features whose prototypes decide (default: `Workspace.feature_key()`).
        delete_k: k in the deletion threshold μ + k·σ.
        merge_threshold: cosine above which two labels merge.
        dry_run: only plan; write nothing.
        out_region_set: name of the new region set (default: "<old>-refined").
    Returns:
        The plan, with ``out_region_set`` set.
    """
    key = choose_key(ws, key)
    table = collect_regions(ws, key)
    metrics = metrics_from_table(table, ws.root)
    plan = plan_refinement(metrics.similarity, metrics.label_ids, delete_k, merge_threshold)
    plan.members = {s.label: s.members for s in metrics.labels}
    plan.source = key
    plan.out_region_set = out_region_set or f"{key.region_set}-refined"
    if plan.out_region_set == key.region_set:
        raise SemlatError(f"refined regions need a new region set name, not {key.region_set!r}: pass --out-region-set")
    if not dry_run:
        plan.carried = [str(k) for k in _write(ws, plan, key)]
    return plan


def _write(ws: Workspace, plan: RefinePlan, key: FeatureKey) -> list[FeatureKey]:
    """Write the new region set and every complete feature set of the old one; returns the new feature keys."""
    old, new = key.region_set, plan.out_region_set
    assert new is not None
    ws.claim_config(
        "region_sets",
        new,
        {
            "backend": "refine",
            "from": old,
            "features": str(key),
            "delete_k": plan.delete_k,
            "merge_threshold": plan.merge_threshold,
            "deleted": plan.deleted,
            "merged": {str(k): v for k, v in plan.merged.items()},
        },
        hint="pass --out-region-set with a new name to keep both",
    )
    images = ws.images()
    all_ids = {r.image_id for r in images}
    carried = [fk for fk in ws.feature_keys() if fk.region_set == old and all_ids <= ws.done_images(embeddings_stage(fk))]
    targets = {fk: FeatureKey(new, fk.model_key, fk.feature_set) for fk in carried}
    for fk, target in targets.items():
        ws.claim_config(
            "feature_sets",
            str(target),
            {"strategy": "refine", "from": str(fk), "note": "union regions: mean of member vectors"},
            hint="pass --out-region-set with a new name",
        )
    regions_done = ws.done_images(regions_stage(new))
    features_done = {fk: ws.done_images(embeddings_stage(t)) for fk, t in targets.items()}
    todo = [r for r in images if r.image_id not in regions_done or any(r.image_id not in d for d in features_done.values())]
    for record in track(todo, f"refining {old} → {new}"):
        new_regions, sources = refine_regions(ws.regions(old, record), plan)
        for fk, target in targets.items():
            if record.image_id not in features_done[fk]:
                _write_features(ws, fk, target, record, new_regions, sources)
        if record.image_id not in regions_done:
            ws.write_regions(new, record.image_id, new_regions)
    ws.compact()
    return list(targets.values())


def _write_features(
    ws: Workspace, fk: FeatureKey, target: FeatureKey, record: ImageRecord, regions: list[Region], sources: list[list[int]]
) -> None:
    ids, vectors = ws.embeddings(fk, record)
    row = {int(i): v for i, v in zip(ids, vectors)}
    out = [row[WHOLE_IMAGE]]
    for members in sources:
        out.append(row[members[0]] if len(members) == 1 else normalize(np.mean([row[m] for m in members], axis=0)))
    ws.write_embeddings(target, record.image_id, [WHOLE_IMAGE, *(r.region_id for r in regions)], np.stack(out).astype(np.float32))
