"""The query stage: text prompts against every region of the chosen images, written as pictures."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from semlat.encoders import Encoder, ModelSpec, load_encoder, model_of_features
from semlat.errors import SemlatError
from semlat.files import output_dir, save_npy, save_png, write_json
from semlat.imageio import load_rgb
from semlat.names import unique_names
from semlat.progress import track
from semlat.scoring.fusion import FUSIONS, SCORES, score_maps
from semlat.scoring.prompts import CANONICAL_PHRASES, check_prompts
from semlat.stages.query.render import NORMALIZE, heatmap_picture, map_ranges, segmentation_figure
from semlat.types import FeatureKey, ImageRecord
from semlat.workspace import Workspace


@dataclass(frozen=True)
class QueryResult:
    """One image's maps: (P, H, W) float32, one per prompt."""

    image: ImageRecord
    prompts: list[str]
    maps: npt.NDArray[np.float32]


def check_query(prompts: list[str], fusion: str, score: str, normalize: str = "prompt") -> None:
    """Refuse unknown fusions, scores and heatmap scalings and unbounded prompts (`check_prompts`), before any work."""
    if normalize not in NORMALIZE:
        raise SemlatError(f"unknown normalize {normalize!r}: choose one of {', '.join(NORMALIZE)}")
    if fusion not in FUSIONS:
        raise SemlatError(f"unknown fusion {fusion!r}: choose one of {', '.join(FUSIONS)}")
    if score not in SCORES:
        raise SemlatError(f"unknown score {score!r}: choose one of {', '.join(SCORES)}")
    check_prompts(prompts)


def query_images(
    ws: Workspace,
    prompts: list[str],
    *,
    images: list[str | ImageRecord] | None = None,
    key: FeatureKey | None = None,
    fusion: str = "sum",
    score: str = "softmax",
    levels: list[int] | None = None,
    text_model: ModelSpec | None = None,
    device: str | None = None,
    clip: Encoder | None = None,
) -> Iterator[QueryResult]:
    """Yield a `QueryResult` per image, streaming one at a time.

    Args:
        ws: a workspace with features.
        prompts: the text prompts.
        images: file names (or stems) or records of the images to answer (default: all).
        key: the features to use (default: `Workspace.feature_key()`).
        fusion: one of `semlat.scoring.FUSIONS`.
        score: one of `semlat.scoring.SCORES`.
        levels: only regions of these levels (SAM's 0 whole, 1 part, 2 sub-part; default: all).
        text_model: the CLIP for text, only for imported features without a recorded model.
        device: where the text model runs.
        clip: the loaded text model to use instead of loading it (a server keeps one).
    """
    check_query(prompts, fusion, score)
    key = ws.checked_key(key)
    records = [name if isinstance(name, ImageRecord) else ws.image(name) for name in images] if images else ws.images()
    if clip is None:
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


SEGMENTATION_FILE = "segmentation.png"
MAPS_FILE = "maps.npy"
SUMMARY_FILE = "query.json"


def output_names(records: list[ImageRecord], prompts: list[str]) -> tuple[dict[int, str], dict[str, str]]:
    """The folder of every image (by image id) and the heatmap file of every prompt (`semlat.names`).

    Folders are named over all the workspace's images in id order, so an image keeps its folder
    whichever images a query picks; images sharing a stem (a.png, a.bmp) get ``a`` and ``a-2``.
    """
    folders = unique_names([Path(r.file_name).stem for r in records], fallback="image", reserved=[SUMMARY_FILE])
    reserved = [Path(SEGMENTATION_FILE).stem, Path(MAPS_FILE).stem]
    slugs = unique_names(prompts, fallback="prompt", lower=True, reserved=reserved)
    return dict(zip((r.image_id for r in records), folders)), {p: f"{slug}.png" for p, slug in zip(prompts, slugs)}


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
    normalize: str = "prompt",
    save_maps: bool = False,
    text_model: ModelSpec | None = None,
    device: str | None = None,
) -> Path:
    """Run `query_images` and write, per image, a heatmap per prompt, a segmentation and optionally the maps.

    Layout: ``OUT/<image>/<prompt>.png``, ``segmentation.png``, ``maps.npy`` (P, H, W), and
    ``OUT/query.json`` with the prompts, the settings and which image and prompt each folder and
    file is. Folder and file names come from `output_names`, so they stay inside ``OUT`` and never
    collide. ``normalize``: each heatmap scaled to its prompt's own range ("prompt") or all to one
    ("joint", the original's; `semlat.stages.query.render`). Other options as `query_images`.
    """
    check_query(prompts, fusion, score, normalize)
    key = ws.checked_key(key)
    total = len(images) if images else len(ws.images())
    folders, files = output_names(ws.images(), prompts)
    results = query_images(
        ws, prompts, images=images, key=key, fusion=fusion, score=score, levels=levels, text_model=text_model, device=device
    )
    written: dict[str, str] = {}
    with output_dir(out_dir) as out:
        for result in track(results, "querying", total=total):
            folder = folders[result.image.image_id]
            image_dir = out / folder
            pixels = load_rgb(Path(result.image.path))
            for prompt, heat, (low, high) in zip(prompts, result.maps, map_ranges(result.maps, normalize)):
                save_png(image_dir / files[prompt], heatmap_picture(pixels, heat, low, high, prompt))
            segmentation_figure(pixels, result.maps, prompts, image_dir / SEGMENTATION_FILE)
            if save_maps:
                save_npy(image_dir / MAPS_FILE, result.maps, make_parents=True)
            written[folder] = result.image.file_name
        summary = {
            "prompts": prompts,
            "features": str(key),
            "fusion": fusion,
            "score": score,
            "levels": levels,
            "normalize": normalize,
            "images": written,
            "prompt_files": files,
        }
        write_json(out / SUMMARY_FILE, summary, sort_keys=False)
    return out
