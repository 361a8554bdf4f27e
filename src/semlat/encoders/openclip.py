"""The OpenCLIP family: any OpenCLIP architecture with a pretrained tag or a local checkpoint.

The shipped configs (`semlat.encoders.toy`) are registered with OpenCLIP on first use, so the toy
CLIP and the tiny test architecture load through the same path as ``ViT-B-16``.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlparse

import numpy as np
import numpy.typing as npt
import open_clip
import torch

from semlat.checkpoints import why_unloadable
from semlat.encoders.base import ModelSpec
from semlat.encoders.toy import CONFIG_DIR
from semlat.errors import SemlatError

DEFAULT_MODEL = "ViT-B-16"
DEFAULT_PRETRAINED = "laion2b_s34b_b88k"
_configs_registered = False


def register_configs() -> None:
    """Make the shipped architecture configs known to OpenCLIP (once per process)."""
    global _configs_registered
    if not _configs_registered:
        open_clip.add_model_config(CONFIG_DIR)
        _configs_registered = True


def image_normalization(model: torch.nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean, std) as (1, 3, 1, 1) tensors: what the model's images are normalised with."""
    cfg = open_clip.get_model_preprocess_cfg(model)
    mean = torch.tensor(cfg.get("mean", open_clip.OPENAI_DATASET_MEAN)).view(1, 3, 1, 1)
    std = torch.tensor(cfg.get("std", open_clip.OPENAI_DATASET_STD)).view(1, 3, 1, 1)
    return mean, std


class OpenClipEncoder:
    """An OpenCLIP model on a device (the `semlat.encoders.base.Encoder` protocol)."""

    def __init__(self, spec: ModelSpec, model: torch.nn.Module, tokenizer, device: torch.device):
        self.spec = spec
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.device = device
        size = open_clip.get_model_preprocess_cfg(model).get("size", 224)
        self.image_size = int(size if isinstance(size, int) else size[0])
        mean, std = image_normalization(model)
        self.mean, self.std = mean.to(device), std.to(device)

    @property
    def autocast(self):
        """Mixed precision on GPU, plain fp32 on CPU."""
        return torch.autocast(self.device.type, enabled=self.device.type == "cuda")

    @torch.no_grad()
    def encode_images(self, batch: torch.Tensor) -> npt.NDArray[np.float32]:
        """Encode (B, 3, S, S) images, uint8 (0–255) or float in [0, 1]; returns L2-normalised (B, D)."""
        if batch.dtype == torch.uint8:  # scaled on the device: a quarter of the bytes to move
            pinned = batch.pin_memory() if self.device.type == "cuda" and batch.device.type == "cpu" else batch
            batch = pinned.to(self.device, non_blocking=True).float().div_(255.0)
        batch = (batch.to(self.device, non_blocking=True) - self.mean) / self.std
        with self.autocast:
            features = self.model.encode_image(batch)
        return torch.nn.functional.normalize(features.float(), dim=-1).cpu().numpy()

    @torch.no_grad()
    def encode_texts(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """Encode text prompts; returns L2-normalised (P, D)."""
        tokens = self.tokenizer(texts).to(self.device)
        with self.autocast:
            features = self.model.encode_text(tokens)
        return torch.nn.functional.normalize(features.float(), dim=-1).cpu().numpy()


def knows(name: str) -> bool:
    register_configs()
    return name in open_clip.list_models()


def _cached_or_reachable(spec: ModelSpec) -> str:
    """Resolve a pretrained tag to a cached weights file, or check the hub answers before downloading.

    Offline, huggingface_hub retries for most of a minute before failing; we fail at once instead.
    """
    repo = open_clip.get_pretrained_cfg(spec.name, spec.pretrained).get("hf_hub", "").strip("/")
    if repo:
        from huggingface_hub import try_to_load_from_cache

        for file_name in ("open_clip_model.safetensors", "open_clip_pytorch_model.bin"):
            cached = try_to_load_from_cache(repo, file_name)
            if isinstance(cached, str):
                return cached
    host = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname or "huggingface.co"
    try:
        socket.create_connection((host, 443), timeout=3).close()
    except OSError as exc:
        where = f"https://huggingface.co/{repo}" if repo else "the OpenCLIP release page"
        raise SemlatError(
            f"weights {spec.name}/{spec.pretrained} are not downloaded and {host} cannot be reached: "
            f"get open_clip_pytorch_model.bin from {where} and pass it with --pretrained PATH"
        ) from exc
    return spec.pretrained


def check(spec: ModelSpec) -> str:
    """Check ``spec`` can be loaded without loading it; returns what to pass as OpenCLIP's ``pretrained``."""
    checkpoint = spec.checkpoint()
    if checkpoint is not None:
        if not checkpoint.is_file():
            raise SemlatError(
                f"checkpoint {checkpoint} does not exist: pass an existing OpenCLIP checkpoint file with --pretrained PATH"
            )
        return str(checkpoint)
    tags = open_clip.list_pretrained_tags_by_model(spec.name)
    if spec.pretrained not in tags:
        raise SemlatError(
            f"model {spec.name} has no pretrained tag {spec.pretrained!r} (known: {', '.join(tags) or 'none'}): "
            "pass a known tag or a checkpoint file with --pretrained PATH"
        )
    return _cached_or_reachable(spec)


def load(spec: ModelSpec, device: torch.device) -> OpenClipEncoder:
    """Load ``spec`` on ``device``, with a one-line error for every way it can fail."""
    weights = check(spec)
    try:
        model = open_clip.create_model(spec.name, pretrained=weights, device=device)
    except Exception as exc:  # a wrong or damaged file fails in many ways (pickle, zip, key and shape errors)
        raise SemlatError(
            f"could not load weights {weights} into {spec.name} ({why_unloadable(exc)}): pass a checkpoint made for this architecture"
        ) from exc
    return OpenClipEncoder(spec, model, open_clip.get_tokenizer(spec.name), device)
