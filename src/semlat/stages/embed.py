"""The embed stage: the whole image and every region of every image through CLIP.

Each image's views go through the model in batches of their own and its vectors are written in
one commit, so memory holds one batch and one image's vectors, and a resumed run's vectors are
bit-identical to an uninterrupted run's.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch

from semlat.encoders import (
    STRATEGIES,
    Encoder,
    ModelSpec,
    Pixels,
    load_encoder,
    model_spec,
    region_view,
    resize_center_crop,
)
from semlat.errors import SemlatError
from semlat.imageio import load_rgb
from semlat.progress import track
from semlat.types import WHOLE_IMAGE, FeatureKey, ImageRecord, Region
from semlat.workspace import Workspace, embeddings_stage


def _views(record: ImageRecord, regions: list[Region], strategy: str, size: int) -> Iterator[torch.Tensor]:
    """The whole-image view, then one view per region, in region-id order."""
    path = Path(record.path)
    pixels = load_rgb(path)
    if pixels.shape[:2] != (record.height, record.width):
        raise SemlatError(f"image {path} is not the size it was registered with: re-create the workspace")
    image = Pixels(pixels)
    yield resize_center_crop(image, size)
    for region in regions:
        yield region_view(image, region, strategy, size)


def check_embedding(strategy: str, batch_size: int = 1) -> None:
    """Refuse an unknown region strategy or batch size, before any work."""
    if strategy not in STRATEGIES:
        raise SemlatError(f"unknown region strategy {strategy!r}: choose one of {', '.join(STRATEGIES)}")
    if batch_size < 1:
        raise SemlatError(f"--batch-size must be at least 1 (got {batch_size})")


def embed_regions(
    ws: Workspace,
    *,
    model: ModelSpec | None = None,
    strategy: str = "masked-crop",
    region_set: str | None = None,
    feature_set: str = "raw",
    device: str | None = None,
    batch_size: int = 64,
    encoder: Encoder | None = None,
) -> FeatureKey:
    """Embed the whole image and every region of every image; resumes a killed run.

    Args:
        ws: a workspace with regions.
        model: the CLIP model and weights (default: `semlat.encoders.model_spec()`).
        strategy: how regions are cut out (`semlat.encoders.views`).
        region_set: which regions (default: the only set).
        feature_set: name under which the vectors are stored.
        device: "auto", "cpu", "cuda", ...
        batch_size: views per forward pass.
        encoder: ``model`` already loaded (`semlat.pipeline` loads it before any write).
    Returns:
        The key under which the features are stored.
    """
    check_embedding(strategy, batch_size)
    spec = encoder.spec if encoder is not None else model or model_spec()
    region_set = ws.region_set(region_set)
    encoder = encoder or load_encoder(spec, device)
    key = FeatureKey(region_set, spec.key(), feature_set)
    ws.check_embedding_dim(int(encoder.encode_texts(["a"]).shape[1]))  # before anything is recorded
    ws.claim_config("models", key.model_key, spec.record(), hint="use another workspace")
    ws.claim_config("feature_sets", str(key), {"strategy": strategy}, hint="pass --features with a new name to keep both")
    done = ws.done_images(embeddings_stage(key))
    todo = [record for record in ws.images() if record.image_id not in done]
    _encode_stream(ws, encoder, key, todo, strategy, batch_size)
    ws.compact()
    return key


def _encode_stream(
    ws: Workspace, encoder: Encoder, key: FeatureKey, records: list[ImageRecord], strategy: str, batch_size: int
) -> None:
    """Encode each image's views in batches of its own, then write the image (one commit).

    Batches never mix images, so an image's vectors do not depend on which images a run started
    with: a resumed run gives the bit-identical vectors of an uninterrupted one.
    """
    for record in track(records, f"embedding ({encoder.spec.name})"):
        regions = ws.regions(key.region_set, record)
        vectors: list[npt.NDArray[np.float32]] = []
        batch: list[torch.Tensor] = []
        for view in _views(record, regions, strategy, encoder.image_size):
            batch.append(view)
            if len(batch) == batch_size:
                vectors.append(encoder.encode_images(torch.stack(batch)))
                batch.clear()
        if batch:
            vectors.append(encoder.encode_images(torch.stack(batch)))
        ids = [WHOLE_IMAGE, *(region.region_id for region in regions)]
        ws.write_embeddings(key, record.image_id, ids, np.concatenate(vectors))
