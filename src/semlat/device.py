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


def native_bfloat16(device: torch.device) -> bool:
    """Whether ``device`` is a CPU with bfloat16 arithmetic in hardware (AVX-512 BF16 or AMX).

    Without it PyTorch emulates bfloat16 on a CPU, several times slower than float32. GPUs answer
    False: there SAM's decoder stays float32, its bfloat16 path untested on one.
    """
    if device.type != "cpu":
        return False
    checks = (getattr(torch.cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"))
    return any(bool(check()) for check in checks if check is not None)
