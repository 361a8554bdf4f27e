"""Loading any OpenCLIP model (name + pretrained tag or local checkpoint) behind one small type."""

from __future__ import annotations

import hashlib
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
import numpy.typing as npt
import open_clip
import torch

from semlat.device import resolve_device
from semlat.errors import SemlatError
from semlat.models import CONFIG_DIR, TOY_WEIGHTS

DEFAULT_MODEL = "ViT-B-16"
DEFAULT_PRETRAINED = "laion2b_s34b_b88k"
_configs_registered = False


def _register_configs() -> None:
    global _configs_registered
    if not _configs_registered:
        open_clip.add_model_config(CONFIG_DIR)
        _configs_registered = True


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class ModelSpec:
    """Which CLIP to load: an OpenCLIP architecture name plus a pretrained tag or checkpoint path."""

    name: str = DEFAULT_MODEL
    pretrained: str = DEFAULT_PRETRAINED

    def checkpoint(self) -> Path | None:
        """The local checkpoint file, when ``pretrained`` names one rather than a tag."""
        looks_like_path = any(sep in self.pretrained for sep in ("/", "\\")) or Path(self.pretrained).suffix in (
            ".bin",
            ".pt",
            ".pth",
            ".safetensors",
        )
        return Path(self.pretrained).expanduser() if looks_like_path else None

    def record(self) -> dict[str, Any]:
        """What the manifest keeps so that a later stage can reload exactly this model."""
        checkpoint = self.checkpoint()
        if checkpoint is None:
            return {"name": self.name, "pretrained": self.pretrained, "checkpoint_sha256": None}
        return {"name": self.name, "pretrained": str(checkpoint.resolve()), "checkpoint_sha256": _file_sha256(checkpoint)}

    def key(self) -> str:
        """Stable id of the weights: tag name, or a checkpoint's content hash."""
        record = self.record()
        weights = self.pretrained if record["checkpoint_sha256"] is None else f"sha256-{record['checkpoint_sha256'][:16]}"
        return f"{self.name}:{weights}"


TOY_MODEL = "semlat-toy"


def toy_model_spec() -> ModelSpec:
    """The small CLIP trained on the toy world, shipped with the package (no download needed)."""
    if not TOY_WEIGHTS.is_file():
        raise SemlatError(f"the toy CLIP weights are missing from {TOY_WEIGHTS}: reinstall semlat or run `semlat toyworld train`")
    return ModelSpec(TOY_MODEL, str(TOY_WEIGHTS))


def model_spec(name: str = DEFAULT_MODEL, pretrained: str | None = None) -> ModelSpec:
    """``name`` with ``pretrained`` weights, or its default ones: the shipped file for the toy CLIP."""
    if pretrained is None:
        return toy_model_spec() if name == TOY_MODEL else ModelSpec(name, DEFAULT_PRETRAINED)
    return ModelSpec(name, pretrained)


class ClipModel:
    """An OpenCLIP model on a device, with the two calls the pipeline needs."""

    def __init__(self, spec: ModelSpec, model: torch.nn.Module, tokenizer, device: torch.device):
        self.spec = spec
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.device = device
        cfg = open_clip.get_model_preprocess_cfg(model)
        size = cfg.get("size", 224)
        self.image_size = int(size if isinstance(size, int) else size[0])
        self.mean = torch.tensor(cfg.get("mean", open_clip.OPENAI_DATASET_MEAN), device=device).view(1, 3, 1, 1)
        self.std = torch.tensor(cfg.get("std", open_clip.OPENAI_DATASET_STD), device=device).view(1, 3, 1, 1)

    @property
    def autocast(self):
        """Mixed precision on GPU, plain fp32 on CPU."""
        return torch.autocast(self.device.type, enabled=self.device.type == "cuda")

    @torch.no_grad()
    def encode_images(self, batch: torch.Tensor) -> npt.NDArray[np.float32]:
        """Encode (B, 3, S, S) images with values in [0, 1]; returns L2-normalised (B, D)."""
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


def resolve_weights(spec: ModelSpec) -> str:
    """Check ``spec`` can be loaded without loading it; returns what to pass as OpenCLIP's ``pretrained``.

    Cheap, so a pipeline can fail on a bad model before it writes anything.
    """
    _register_configs()
    if spec.name not in open_clip.list_models():
        raise SemlatError(
            f"unknown model {spec.name!r}: use an OpenCLIP architecture name (`python -c 'import open_clip; print(open_clip.list_models())'`)"
        )
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
            f"model {spec.name} has no pretrained tag {spec.pretrained!r} (known: {', '.join(tags) or 'none'}): pass a known tag or a checkpoint file with --pretrained PATH"
        )
    return _cached_or_reachable(spec)


def load_clip(spec: ModelSpec, device: str | None = None) -> ClipModel:
    """Load ``spec`` on ``device`` (auto by default), with a one-line error for every way it can fail."""
    weights = resolve_weights(spec)
    torch_device = resolve_device(device)
    try:
        model = open_clip.create_model(spec.name, pretrained=weights, device=torch_device)
    except Exception as exc:  # a wrong or damaged file fails in many ways (pickle, zip, key and shape errors)
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SemlatError(
            f"could not load weights {weights} into {spec.name} ({first_line}): pass a checkpoint made for this architecture"
        ) from exc
    return ClipModel(spec, model, open_clip.get_tokenizer(spec.name), torch_device)
