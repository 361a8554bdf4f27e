"""What every image-text encoder offers the stages, and how a model is named.

An `Encoder` is the one thing the embed, query and search stages hold: L2-normalised image and
text embeddings in one space. A model family (OpenCLIP today) is one module that knows its model
names, checks a `ModelSpec` without loading it, and loads it; `semlat.encoders.registry` lists
the families.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import torch

from semlat.files import sha256_file

CHECKPOINT_SUFFIXES = (".bin", ".pt", ".pth", ".safetensors")


@dataclass(frozen=True)
class ModelSpec:
    """Which model to load: an architecture name plus a pretrained tag or a checkpoint path."""

    name: str
    pretrained: str

    def checkpoint(self) -> Path | None:
        """The local checkpoint file, when ``pretrained`` names one rather than a tag."""
        looks_like_path = (
            any(sep in self.pretrained for sep in ("/", "\\")) or Path(self.pretrained).suffix in CHECKPOINT_SUFFIXES
        )
        return Path(self.pretrained).expanduser() if looks_like_path else None

    def record(self) -> dict[str, Any]:
        """What the manifest keeps so that a later stage can reload exactly this model."""
        checkpoint = self.checkpoint()
        if checkpoint is None:
            return {"name": self.name, "pretrained": self.pretrained, "checkpoint_sha256": None}
        return {"name": self.name, "pretrained": str(checkpoint.resolve()), "checkpoint_sha256": sha256_file(checkpoint)}

    def key(self) -> str:
        """Stable id of the weights: tag name, or a checkpoint's content hash."""
        record = self.record()
        weights = self.pretrained if record["checkpoint_sha256"] is None else f"sha256-{record['checkpoint_sha256'][:16]}"
        return f"{self.name}:{weights}"


class Encoder(Protocol):
    """A loaded image-text model on a device."""

    spec: ModelSpec
    device: torch.device
    image_size: int
    """Side of the square views `encode_images` takes."""

    def encode_images(self, batch: torch.Tensor) -> npt.NDArray[np.float32]:
        """(B, 3, S, S) images, uint8 (the views) or float in [0, 1] → L2-normalised (B, D)."""
        ...

    def encode_texts(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """Prompts → L2-normalised (P, D)."""
        ...


class EncoderFamily(Protocol):
    """One module per model family (`semlat.encoders.openclip`)."""

    def knows(self, name: str) -> bool:
        """Whether ``name`` is an architecture of this family."""
        ...

    def check(self, spec: ModelSpec) -> str:
        """Check ``spec`` can be loaded, without loading it (one-line `SemlatError` if not); returns the weights to load."""
        ...

    def load(self, spec: ModelSpec, device: torch.device) -> Encoder:
        """Load ``spec`` on ``device``."""
        ...
