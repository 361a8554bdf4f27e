"""What the web viewer knows about one workspace, read-only, with the caches that make it interactive.

A `Viewer` opens the workspace once and keeps: the text encoder of each model (loaded once, its
prompt embeddings cached), the photos as PNG bytes, each image's region outlines, and the last
query maps. Every answer comes from the stage code (`semlat.stages.query.query_images`,
`semlat.stages.search.search`, `semlat.stages.query.render`, `semlat.stages.search.region_tile`),
so the page shows what `semlat query` and `semlat search` write. Images, regions and feature sets
are addressed by id; no request names a path. Nothing here writes to the workspace.
"""

from __future__ import annotations

import io
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
from PIL import Image

from semlat.encoders import Encoder, ModelSpec, load_encoder, model_of_features
from semlat.errors import SemlatError
from semlat.imageio import load_rgb
from semlat.scoring.fusion import FUSIONS, SCORES
from semlat.scoring.prompts import MAX_PROMPT_CHARS, MAX_PROMPTS, parse_prompts
from semlat.serve.outlines import RegionShape, region_shapes
from semlat.stages.query import check_query, query_images
from semlat.stages.query.render import (
    HEAT_COLORMAP,
    NORMALIZE,
    heat_colours,
    heatmap_overlay,
    map_ranges,
    segmentation_colours,
    segmentation_image,
)
from semlat.stages.search import BY, SEARCH_SCORES, SearchHit, region_tile, search
from semlat.types import WHOLE_IMAGE, FeatureKey, ImageRecord
from semlat.workspace import Workspace

T = TypeVar("T")

MAX_TOP = 100
"""Most search hits one request may ask for."""
THUMBNAIL = 320
"""Long side of gallery thumbnails."""
MAP_CACHE_BYTES = 512 * 2**20
"""Query maps kept for the heatmap and segmentation requests that follow a query."""
TEXT_CACHE = 4096
"""Prompt embeddings kept per model."""
PICTURE_CACHE = 64
"""Photos and thumbnails kept as PNG bytes."""


class UnknownId(LookupError):
    """A request named an image, region or label the workspace does not have (HTTP 404)."""


def png_bytes(pixels: npt.NDArray[np.uint8]) -> bytes:
    """Fast PNG encoding (level 1: a 1000×750 heatmap in a few milliseconds)."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def hex_colour(rgb: npt.ArrayLike) -> str:
    return "#" + "".join(f"{int(c):02x}" for c in np.asarray(rgb)[:3])


class _Lru:
    """A thread-safe least-recently-used cache bounded by entry count and by a size function."""

    def __init__(self, limit: int, size: Callable[[Any], int] = lambda _: 1):
        self.limit, self.size = limit, size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._used = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable, make: Callable[[], T]) -> T:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = make()  # outside the lock: two misses of one key compute twice, nothing waits on a slow one
        with self._lock:
            if key not in self._items:
                self._items[key] = value
                self._used += self.size(value)
            while self._used > self.limit and len(self._items) > 1:
                _, old = self._items.popitem(last=False)
                self._used -= self.size(old)
        return value


class CachedText:
    """An `Encoder` whose text embeddings are cached per prompt (images pass through)."""

    def __init__(self, encoder: Encoder, limit: int = TEXT_CACHE):
        self.encoder = encoder
        self.spec, self.device, self.image_size = encoder.spec, encoder.device, encoder.image_size
        self._cache = _Lru(limit)
        self._lock = threading.Lock()  # one model, one forward pass at a time

    def encode_images(self, batch):
        return self.encoder.encode_images(batch)

    def encode_texts(self, texts: list[str]) -> npt.NDArray[np.float32]:
        def encode(text: str) -> npt.NDArray[np.float32]:
            with self._lock:
                return self.encoder.encode_texts([text])[0]

        return np.stack([self._cache.get(text, lambda text=text: encode(text)) for text in texts])


@dataclass(frozen=True)
class QuerySettings:
    """One query as the page asks it: the prompts and how to score and draw them."""

    prompts: tuple[str, ...]
    features: str
    fusion: str = "sum"
    score: str = "softmax"
    normalize: str = "prompt"
    levels: tuple[int, ...] | None = None


def split_prompts(text: str) -> list[str]:
    """Prompts as typed, separated by commas (or lines), as `parse_prompts` reads them, with a web page's messages."""
    if len(text) > MAX_PROMPTS * (MAX_PROMPT_CHARS + 1):
        raise SemlatError(f"the prompts are {len(text)} characters long: pass at most {MAX_PROMPTS} short phrases")
    if not text.strip(", \n\t"):
        raise SemlatError("no prompts given: type one or more, separated by commas, e.g. 'floor, red cube'")
    return parse_prompts(text)


class Viewer:
    """The read-only state behind `semlat serve`: one open workspace and its caches.

    Args:
        workspace: the workspace folder.
        report: a `semlat metrics` output folder to show (its ``report.html`` and ``metrics.json``).
        device: where text models run.
        text_model: the CLIP for text, only for imported features without a recorded model.
    """

    def __init__(
        self,
        workspace: str | Path,
        *,
        report: str | Path | None = None,
        device: str | None = None,
        text_model: ModelSpec | None = None,
    ):
        self.ws = Workspace.open(workspace)
        self.device, self.text_model = device, text_model
        self.report = Path(report).resolve() if report is not None else None
        if self.report is not None and not (self.report / "report.html").is_file():
            raise SemlatError(f"{report} holds no report.html: pass the -o folder of `semlat metrics`")
        self._records = {record.image_id: record for record in self.ws.images()}
        self._encoders: dict[str, CachedText] = {}
        self._encoder_lock = threading.Lock()
        self._pictures = _Lru(PICTURE_CACHE)
        self._shapes = _Lru(PICTURE_CACHE)
        self._maps = _Lru(MAP_CACHE_BYTES, size=lambda maps: maps.nbytes)
        self._counts = _Lru(16)

    # -- what there is -------------------------------------------------------------------
    def feature_names(self) -> list[str]:
        return [str(key) for key in self.ws.feature_keys()]

    def default_features(self) -> str | None:
        try:
            return str(self.ws.feature_key())
        except SemlatError:
            names = self.feature_names()
            return names[0] if names else None

    def hint(self) -> str | None:
        """What to run when the workspace cannot answer prompts yet."""
        root = self.ws.root
        if not self._records:
            return f"this workspace has no images: run `semlat masks SCENE -w {root}`"
        if not self.ws.region_sets():
            return f"this workspace has no regions: run `semlat masks SCENE -w {root}`"
        if not self.feature_names():
            return f"this workspace has no embeddings, so prompts and search are off: run `semlat embed -w {root}`"
        return None

    def info(self) -> dict[str, Any]:
        return {
            "workspace": self.ws.root.name,
            "images": len(self._records),
            "region_sets": self.ws.region_sets(),
            "features": self.feature_names(),
            "default_features": self.default_features(),
            "fusions": list(FUSIONS),
            "scores": list(SCORES),
            "search_scores": list(SEARCH_SCORES),
            "search_by": list(BY),
            "normalize": list(NORMALIZE),
            "max_prompts": MAX_PROMPTS,
            "max_prompt_chars": MAX_PROMPT_CHARS,
            "max_top": MAX_TOP,
            "colormap": [hex_colour(c) for c in heat_colours(np.linspace(0, 1, 11), 0.0, 1.0)],
            "colormap_name": HEAT_COLORMAP,
            "report": self.report is not None,
            "hint": self.hint(),
        }

    def record(self, image_id: int) -> ImageRecord:
        record = self._records.get(image_id)
        if record is None:
            raise UnknownId(f"no image {image_id} in this workspace (ids 0..{max(self._records, default=-1)})")
        return record

    def key(self, features: str | None) -> FeatureKey:
        """The feature set named ``features`` (its ``region_set/model/feature_set`` string), or the default."""
        name = features or self.default_features()
        if name is None:
            raise SemlatError(self.hint() or "this workspace has no embeddings: run `semlat embed`")
        for key in self.ws.feature_keys():
            if str(key) == name:
                return key
        raise SemlatError(f"no feature set {name!r}: choose one of {', '.join(self.feature_names())}")

    def region_set(self, name: str | None) -> str | None:
        """``name`` checked, else the default features' region set, else the only one (None: no regions)."""
        if name:
            return self.ws.region_set(name)
        default = self.default_features()
        if default is not None:
            return self.key(default).region_set
        sets = self.ws.region_sets()
        return sets[0] if sets else None

    def _region_labels(self, region_set: str) -> tuple[npt.NDArray[np.integer], npt.NDArray[np.integer]]:
        """(image id, label) of every region of ``region_set``, read once (counts and label clicks share it)."""

        def load() -> tuple[npt.NDArray[np.integer], npt.NDArray[np.integer]]:
            rows = self.ws.region_columns(region_set)
            if rows.num_rows == 0:
                return np.zeros(0, np.int64), np.zeros(0, np.int64)
            return rows.column("image_id").to_numpy(), rows.column("label").to_numpy()

        return self._counts.get(("labels", region_set), load)

    def _region_counts(self, region_set: str | None) -> dict[int, tuple[int, int]]:
        """(regions, distinct labels) per image id of ``region_set``."""

        def load() -> dict[int, tuple[int, int]]:
            if region_set is None:
                return {}
            images, labels = self._region_labels(region_set)
            if images.size == 0:
                return {}
            ids, regions = np.unique(images, return_counts=True)
            labelled = np.unique(np.stack([images[labels >= 0], labels[labels >= 0]]), axis=1)[0]
            distinct = dict(zip(*np.unique(labelled, return_counts=True)))
            return {int(i): (int(n), int(distinct.get(i, 0))) for i, n in zip(ids, regions)}

        return self._counts.get(("counts", region_set), load)

    def images(self, region_set: str | None = None) -> list[dict[str, Any]]:
        chosen = self.region_set(region_set)
        counts = self._region_counts(chosen)
        return [
            {
                "id": r.image_id,
                "name": r.file_name,
                "width": r.width,
                "height": r.height,
                "regions": counts.get(r.image_id, (0, 0))[0],
                "labels": counts.get(r.image_id, (0, 0))[1],
            }
            for r in self._records.values()
        ]

    # -- pictures ------------------------------------------------------------------------
    def pixels(self, image_id: int) -> npt.NDArray[np.uint8]:
        record = self.record(image_id)
        return self._pictures.get(("pixels", image_id), lambda: load_rgb(Path(record.path)))

    def photo(self, image_id: int, size: int | None = None) -> bytes:
        """The photo as PNG, at its own resolution or fitted in ``size`` × ``size``."""
        if size is not None and not 16 <= size <= 4096:
            raise SemlatError(f"size {size} is not in [16, 4096]")

        def make() -> bytes:
            pixels = self.pixels(image_id)
            if size is None or max(pixels.shape[:2]) <= size:
                return png_bytes(pixels)
            image = Image.fromarray(pixels)
            image.thumbnail((size, size), Image.Resampling.LANCZOS)
            return png_bytes(np.asarray(image))

        return self._pictures.get(("photo", image_id, size), make)

    # -- regions -------------------------------------------------------------------------
    def shapes(self, image_id: int, region_set: str | None) -> list[RegionShape]:
        record = self.record(image_id)
        chosen = self.region_set(region_set)
        if chosen is None:
            return []

        def load() -> list[RegionShape]:
            regions = self.ws.regions(chosen, record)
            return region_shapes(regions)

        return self._shapes.get((image_id, chosen), load)

    def regions(self, image_id: int, region_set: str | None = None) -> dict[str, Any]:
        shapes = self.shapes(image_id, region_set)
        return {
            "image_id": image_id,
            "region_set": self.region_set(region_set),
            "levels": sorted({s.level for s in shapes}),
            "regions": [s.to_json() for s in shapes],
        }

    def label_views(self, label: int, region_set: str | None = None) -> dict[str, Any]:
        """Every image's regions carrying cross-view ``label``, outlines included (the cross-view check)."""
        chosen = self.region_set(region_set)
        if chosen is None or label < 0:
            raise UnknownId(f"no label {label} in this workspace")
        images, labels = self._region_labels(chosen)
        views = []
        for image_id in sorted({int(i) for i in images[labels == label]}):
            record = self.record(image_id)
            shapes = [s.to_json() for s in self.shapes(image_id, chosen) if s.label == label]
            views.append(
                {
                    "image_id": image_id,
                    "name": record.file_name,
                    "width": record.width,
                    "height": record.height,
                    "regions": shapes,
                }
            )
        if not views:
            raise UnknownId(f"no region of region set {chosen!r} has label {label}")
        return {"label": label, "region_set": chosen, "views": views}

    def crop(self, image_id: int, region_id: int, region_set: str | None = None, size: int = 160) -> bytes:
        """A region's crop as the search contact sheet draws it (`region_tile`)."""
        record = self.record(image_id)
        chosen = self.region_set(region_set)
        if not 16 <= size <= 512:
            raise SemlatError(f"size {size} is not in [16, 512]")
        if region_id == WHOLE_IMAGE:
            shape_bbox, area, label, level = (
                (0.0, 0.0, float(record.width), float(record.height)),
                record.width * record.height,
                -1,
                0,
            )
        else:
            shape = next((s for s in self.shapes(image_id, chosen) if s.region_id == region_id), None)
            if shape is None:
                raise UnknownId(f"image {image_id} has no region {region_id} in region set {chosen!r}")
            shape_bbox, area, label, level = shape.bbox, shape.area, shape.label, shape.level
        hit = SearchHit(record.file_name, image_id, region_id, label, 0.0, shape_bbox, area, level)

        def make() -> bytes:
            return png_bytes(region_tile(self.ws, chosen or "", hit, size, record))

        return self._pictures.get(("crop", image_id, region_id, chosen, size), make)

    # -- prompts -------------------------------------------------------------------------
    def encoder(self, key: FeatureKey) -> CachedText:
        with self._encoder_lock:
            if key.model_key not in self._encoders:
                spec = model_of_features(self.ws, key, self.text_model)
                self._encoders[key.model_key] = CachedText(load_encoder(spec, self.device))
            return self._encoders[key.model_key]

    def settings(
        self,
        prompts: str,
        features: str | None = None,
        fusion: str = "sum",
        score: str = "softmax",
        normalize: str = "prompt",
        levels: list[int] | None = None,
    ) -> QuerySettings:
        """The query's settings, every one checked (`check_query`) before any work."""
        prompt_list = split_prompts(prompts)
        check_query(prompt_list, fusion, score, normalize)
        key = self.key(features)
        return QuerySettings(
            tuple(prompt_list), str(key), fusion, score, normalize, tuple(sorted(set(levels))) if levels else None
        )

    def maps(self, image_id: int, settings: QuerySettings) -> npt.NDArray[np.float32]:
        """(P, H, W) maps of the query on one image, from `query_images` (cached)."""
        record = self.record(image_id)
        key = self.key(settings.features)

        def compute() -> npt.NDArray[np.float32]:
            clip = self.encoder(key)
            (result,) = query_images(
                self.ws,
                list(settings.prompts),
                images=[record],
                key=key,
                fusion=settings.fusion,
                score=settings.score,
                levels=list(settings.levels) if settings.levels else None,
                clip=clip,
            )
            return result.maps

        cache_key = (image_id, settings.prompts, settings.features, settings.fusion, settings.score, settings.levels)
        return self._maps.get(cache_key, compute)

    def query(self, image_id: int, settings: QuerySettings) -> dict[str, Any]:
        """The query's colours, colour-bar ranges and each region's best prompt (the pictures are separate requests)."""
        maps = self.maps(image_id, settings)
        ranges = map_ranges(maps, settings.normalize)
        shapes = self.shapes(image_id, self.key(settings.features).region_set)
        flat = maps.reshape(len(maps), -1)
        best = {}
        for shape in shapes:
            if shape.samples.size:
                means = flat[:, shape.samples].mean(axis=1)
                winner = int(means.argmax())
                best[shape.region_id] = {"prompt": winner, "score": float(means[winner])}
        return {
            "image_id": image_id,
            **{k: v for k, v in asdict(settings).items() if k != "prompts"},
            "prompts": list(settings.prompts),
            "colours": [hex_colour(c) for c in segmentation_colours(len(maps))],
            "ranges": ranges.tolist(),
            "regions": best,
        }

    def heatmap(self, image_id: int, settings: QuerySettings, index: int) -> bytes:
        maps = self.maps(image_id, settings)
        if not 0 <= index < len(maps):
            raise UnknownId(f"no prompt {index}: the query has prompts 0..{len(maps) - 1}")
        low, high = map_ranges(maps, settings.normalize)[index]
        return png_bytes(heatmap_overlay(self.pixels(image_id), maps[index], low, high))

    def segmentation(self, image_id: int, settings: QuerySettings) -> bytes:
        return png_bytes(segmentation_image(self.pixels(image_id), self.maps(image_id, settings)))

    # -- the consistency report ----------------------------------------------------------
    def report_summary(self) -> dict[str, Any]:
        """The `semlat metrics` summary and per-label rows when a report was given, else what to run."""
        if self.report is None:
            root = self.ws.root
            return {
                "available": False,
                "hint": f"no consistency report: run `semlat metrics -w {root} -o METRICS` and serve with --report METRICS",
            }
        try:
            metrics = json.loads((self.report / "metrics.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            metrics = {}
        return {"available": True, "summary": metrics.get("summary", {}), "labels": metrics.get("labels", [])[:500], "hint": None}

    # -- search --------------------------------------------------------------------------
    def search(
        self,
        text: str | None = None,
        like: str | None = None,
        *,
        features: str | None = None,
        top: int = 12,
        by: str = "region",
        score: str = "cosine",
        levels: list[int] | None = None,
    ) -> dict[str, Any]:
        """`semlat search` by text or by an example region (``like="IMAGE_ID:REGION_ID"``, ids only)."""
        if not 1 <= top <= MAX_TOP:
            raise SemlatError(f"top {top} is not in [1, {MAX_TOP}]")
        if text is not None and len(text) > MAX_PROMPT_CHARS:
            raise SemlatError(
                f"the search text is {len(text)} characters long, more than {MAX_PROMPT_CHARS}: pass a short phrase"
            )
        key = self.key(features)
        example = None
        if like is not None:
            image, _, region = like.partition(":")
            try:
                image_id, region_id = int(image), int(region)
            except ValueError:
                raise SemlatError(f"like {like!r} is not IMAGE_ID:REGION_ID: pass e.g. 0:3") from None
            example = (self.record(image_id).file_name, region_id)
            if region_id != WHOLE_IMAGE and not any(s.region_id == region_id for s in self.shapes(image_id, key.region_set)):
                raise UnknownId(f"image {image_id} has no region {region_id}")
        clip = self.encoder(key) if example is None or score == "relevancy" else None
        hits = search(
            self.ws,
            text if example is None else None,
            like=example,
            top=top,
            by=by,
            key=key,
            score=score,
            levels=levels,
            clip=clip,
            build_index=False,
        )
        return {
            "features": str(key),
            "hits": [{**asdict(hit), "bbox": list(hit.bbox)} for hit in hits],
        }
