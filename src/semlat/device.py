"""Device choice in one place (cuda when available, else cpu; an explicit request wins), and what a CPU offers or needs."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import platform

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


KEPT_BLOCK_BYTES = 1 << 30
"""Freed blocks up to this size stay in the process once `keep_freed_memory` ran."""


@functools.cache
def keep_freed_memory() -> bool:
    """Keep freed memory in the process for the next tensor, instead of handing it back to the kernel (glibc; once per process).

    The automatic generator's decoder allocates and frees tensors of 1 to 16 MiB for every few
    prompts. glibc maps blocks above a moving threshold afresh and returns the top of its heaps to
    the kernel past another, so each new tensor is paged in again, one fault per 4 KiB: over a
    million faults per image in our runs. Raising both thresholds (what
    the environment variables ``MALLOC_MMAP_THRESHOLD_`` and ``MALLOC_TRIM_THRESHOLD_`` do)
    reuses freed memory; the resident size then stays at its peak between images. Why by hand:
    PyTorch takes CPU memory from the C library's ``malloc``, with no setting of its own for this.
    Returns whether the thresholds are set (False off glibc, where nothing is changed).
    """
    if platform.libc_ver()[0] != "glibc":
        return False
    mallopt = ctypes.CDLL(ctypes.util.find_library("c")).mallopt
    trim_threshold, mmap_threshold = -1, -3  # M_TRIM_THRESHOLD, M_MMAP_THRESHOLD in <malloc.h>
    return bool(mallopt(mmap_threshold, KEPT_BLOCK_BYTES)) and bool(mallopt(trim_threshold, 2 * KEPT_BLOCK_BYTES - 1))
