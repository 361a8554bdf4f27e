"""The embed stage: the whole image and every region of every image through CLIP.

Each image's views go through the model in batches of their own and its vectors are written in
one commit, so memory holds a few images' uint8 views (made ahead on worker threads) and one
image's vectors, and a resumed run's vectors are bit-identical to an uninterrupted run's.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
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
from semlat.runners import Runner
from semlat.types import WHOLE_IMAGE, FeatureKey, ImageRecord, Region
from semlat.workspace import Workspace, embeddings_stage


def image_views(record: ImageRecord, regions: list[Region], strategy: str, size: int, device: torch.device) -> torch.Tensor:
    """(1 + R, 3, size, size) uint8 on ``device``: the whole-image view, then one view per region, in region-id order.

    The image goes to the model's device once and its views are cut there (`semlat.encoders.views`).
    """
    path = Path(record.path)
    pixels = load_rgb(path)
    if pixels.shape[:2] != (record.height, record.width):
        raise SemlatError(f"image {path} is not the size it was registered with: re-create the workspace")
    image = Pixels(pixels, device)
    return torch.stack([resize_center_crop(image, size), *(region_view(image, region, strategy, size) for region in regions)])


def image_vectors(encoder: Encoder, views: torch.Tensor, batch_size: int) -> npt.NDArray[np.float32]:
    """The views' vectors, in batches of one image's views only (so they never depend on other images)."""
    return np.concatenate(
        [encoder.encode_images(views[first : first + batch_size]) for first in range(0, len(views), batch_size)]
    )


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
    runner: Runner | None = None,
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
        runner: where the images are encoded (`semlat.runners.RayRunner`: each actor loads the
            model and reads the regions from the workspace, which every node must reach); None:
            here. Every image is committed here either way.
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
    if runner is None:
        _encode_stream(ws, encoder, key, todo, strategy, batch_size)
    else:
        args = (str(ws.root), key.region_set, spec, strategy, device, batch_size)
        with closing(runner.map(_EmbedWorker, args, todo)) as found:  # a stop between commits lets the actors go
            for record, (ids, vectors) in track(found, f"embedding ({spec.name})", total=len(todo)):
                ws.write_embeddings(key, record.image_id, ids, vectors)
    ws.compact()
    return key


PREFETCH = 4
"""Images whose views are made ahead, each on a worker thread, while the model encodes."""


def _encode_stream(
    ws: Workspace, encoder: Encoder, key: FeatureKey, records: list[ImageRecord], strategy: str, batch_size: int
) -> None:
    """Encode each image's views in batches of its own, then write the image (one commit).

    Batches never mix images, so an image's vectors do not depend on which images a run started
    with: a resumed run gives the bit-identical vectors of an uninterrupted one. The next
    `PREFETCH` images are read and cut into views on worker threads (the resizes and numpy work
    release the GIL) while this thread encodes and commits, so a fast model is not left waiting.
    """
    with ThreadPoolExecutor(PREFETCH, thread_name_prefix="semlat-views") as pool:
        pending: deque[tuple[ImageRecord, list[Region], Future[torch.Tensor]]] = deque()
        upcoming = iter(records)
        for _ in track(records, f"embedding ({encoder.spec.name})"):
            while len(pending) <= PREFETCH and (record := next(upcoming, None)) is not None:
                regions = ws.regions(key.region_set, record)
                pending.append(
                    (record, regions, pool.submit(image_views, record, regions, strategy, encoder.image_size, encoder.device))
                )
            record, regions, views = pending.popleft()
            vectors = image_vectors(encoder, views.result(), batch_size)
            ids = [WHOLE_IMAGE, *(region.region_id for region in regions)]
            ws.write_embeddings(key, record.image_id, ids, vectors)


class _EmbedWorker:
    """One image's ids and vectors in a Ray actor: the model is loaded once per actor."""

    def __init__(self, root: str, region_set: str, spec: ModelSpec, strategy: str, device: str | None, batch_size: int) -> None:
        self.ws = Workspace.open(root)
        self.region_set, self.strategy, self.batch_size = region_set, strategy, batch_size
        self.encoder = load_encoder(spec, device)

    def __call__(self, record: ImageRecord) -> tuple[list[int], npt.NDArray[np.float32]]:
        regions = self.ws.regions(self.region_set, record)
        views = image_views(record, regions, self.strategy, self.encoder.image_size, self.encoder.device)
        return [WHOLE_IMAGE, *(region.region_id for region in regions)], image_vectors(self.encoder, views, self.batch_size)
