"""The query stage: text prompts against every region of the chosen images, written as pictures."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from semlat.encoders import ModelSpec, load_encoder, model_of_features
from semlat.errors import SemlatError
from semlat.files import output_dir, save_npy, save_png, write_json
from semlat.imageio import load_rgb
from semlat.progress import track
from semlat.scoring.fusion import FUSIONS, SCORES, score_maps
from semlat.scoring.prompts import CANONICAL_PHRASES
from semlat.stages.query.render import heatmap_overlays, segmentation_figure, slugify
from semlat.types import FeatureKey, ImageRecord
from semlat.workspace import Workspace


@dataclass(frozen=True)
class QueryResult:
    """One image's maps: (P, H, W) float32, one per prompt."""

    image: ImageRecord
    prompts: list[str]
    maps: npt.NDArray[np.float32]


def query_images(
    ws: Workspace,
    prompts: list[str],
    *,
    images: list[str] | None = None,
    key: FeatureKey | None = None,
    fusion: str = "sum",
    score: str = "softmax",
    levels: list[int] | None = None,
    text_model: ModelSpec | None = None,
    device: str | None = None,
) -> Iterator[QueryResult]:
    """Yield a `QueryResult` per image, streaming one at a time.

    Args:
        ws: a workspace with features.
        prompts: the text prompts.
        images: file names (or stems) of the images to answer (default: all).
        key: the features to use (default: `Workspace.feature_key()`).
        fusion: one of `semlat.scoring.FUSIONS`.
        score: one of `semlat.scoring.SCORES`.
        levels: only regions of these levels (SAM's 0 whole, 1 part, 2 sub-part; default: all).
        text_model: the CLIP for text, only for imported features without a recorded model.
        device: where the text model runs.
    """
    if fusion not in FUSIONS:
        raise SemlatError(f"unknown fusion {fusion!r}: choose one of {', '.join(FUSIONS)}")
    if score not in SCORES:
        raise SemlatError(f"unknown score {score!r}: choose one of {', '.join(SCORES)}")
    if not prompts:
        raise SemlatError("no prompts given: pass --prompts 'ceiling,ground' or --prompts-file FILE")
    key = ws.checked_key(key)
    records = [ws.image(name) for name in images] if images else ws.images()
    clip = load_encoder(model_of_features(ws, key, text_model), device)
    texts = clip.encode_texts(prompts)
    canonical = clip.encode_texts(list(CANONICAL_PHRASES)) if score == "relevancy" else None
    for record in records:
        regions, vectors = ws.regions_and_features(key, record)
        if vectors.shape[1] != texts.shape[1]:
            raise SemlatError(
                f"features are {vectors.shape[1]}-d but the text model gives {texts.shape[1]}-d: pass the model that made them"
            )
        if levels is not None:  # nested whole/part/sub-part masks would otherwise be summed together
            keep = [index for index, region in enumerate(regions) if region.level in levels]
            regions, vectors = [regions[i] for i in keep], np.concatenate([vectors[:1], vectors[1:][keep]])
        maps = score_maps(
            [r.rle for r in regions],
            vectors[0],
            vectors[1:],
            texts,
            fusion=fusion,
            score=score,
            canonical_features=canonical,
            shape=(record.height, record.width),
        )
        yield QueryResult(record, prompts, maps)


def query_to_files(
    ws: Workspace,
    prompts: list[str],
    out_dir: str | Path,
    *,
    images: list[str] | None = None,
    key: FeatureKey | None = None,
    fusion: str = "sum",
    score: str = "softmax",
    levels: list[int] | None = None,
    save_maps: bool = False,
    text_model: ModelSpec | None = None,
    device: str | None = None,
) -> Path:
    """Run `query_images` and write, per image, a heatmap per prompt, a segmentation and optionally the maps.

    Layout: ``OUT/<image stem>/<prompt>.png``, ``segmentation.png``, ``maps.npy`` (P, H, W), and
    ``OUT/query.json`` with the prompts and settings. Options as `query_images`.
    """
    key = ws.checked_key(key)
    total = len(images) if images else len(ws.images())
    results = query_images(
        ws, prompts, images=images, key=key, fusion=fusion, score=score, levels=levels, text_model=text_model, device=device
    )
    with output_dir(out_dir) as out:
        for result in track(results, "querying", total=total):
            image_dir = out / Path(result.image.file_name).stem
            pixels = load_rgb(Path(result.image.path))
            for prompt, overlay in zip(prompts, heatmap_overlays(pixels, result.maps)):
                save_png(image_dir / f"{slugify(prompt)}.png", overlay)
            segmentation_figure(pixels, result.maps, prompts, image_dir / "segmentation.png")
            if save_maps:
                save_npy(image_dir / "maps.npy", result.maps, make_parents=True)
        summary = {"prompts": prompts, "features": str(key), "fusion": fusion, "score": score, "levels": levels}
        write_json(out / "query.json", summary, sort_keys=False)
    return out
