"""Device choice in one place: cuda when available, else cpu; an explicit request wins."""

from __future__ import annotations

import torch

from semlat.errors import SemlatError


def resolve_device(requested: str | None = None) -> torch.device:
    """Return the torch device to run on.

    Args:
        requested: "auto"/None for cuda-if-available, or any torch device string.
    """
    if requested in (None, "", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(requested)
    except (RuntimeError, ValueError) as exc:
        raise SemlatError(f"unknown device {requested!r}: use auto, cpu, cuda or cuda:N") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SemlatError(f"device {requested!r} asked for but no CUDA GPU is available: use --device cpu")
    return device
