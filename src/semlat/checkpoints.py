"""Reading a weights file the user names: tensors only, never code.

A ``.pt`` file is a pickle, and unpickling can run anything; ``torch.load(weights_only=True)``
accepts only tensors and plain containers, so a hostile file is refused instead of run. Every
checkpoint semlat loads itself goes through `load_weights` (SAM, MobileSAM, the toy CLIP's
``--init-from``); OpenCLIP checkpoints go through OpenCLIP's loader, which does the same.
Libraries' builders that take a checkpoint path are called without one, so they never unpickle.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from semlat.errors import SemlatError

if TYPE_CHECKING:
    import torch


def why_unloadable(exc: BaseException) -> str:
    """Why ``torch.load(weights_only=True)`` refused a file, in a few words for a one-line message."""
    text = " ".join(str(exc).split())
    if "Weights only load failed" in text:
        return "it holds pickled objects other than tensors, which semlat never unpickles since they can run code"
    return text[:160] or type(exc).__name__


def read_state_dict(path: str | Path, *, what: str, hint: str) -> dict[str, torch.Tensor]:
    """The tensors of checkpoint ``path`` (a state dict, or one under ``state_dict``/``model``).

    Args:
        path: the file the user named.
        what: what it should be, for the message ("MobileSAM weights").
        hint: what to do instead, for the message ("pass mobile_sam.pt with --checkpoint").

    Raises:
        SemlatError: the file is missing, not a checkpoint, holds objects other than tensors, or
            holds no state dict; one line.
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise SemlatError(f"{what} {path} does not exist or is not a file: {hint}")
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle, zip, EOF and unsupported-global errors: all mean "not safe weights"
        raise SemlatError(f"{what} {path} is not a PyTorch weights file ({why_unloadable(exc)}): {hint}") from exc
    if isinstance(loaded, dict):
        for nested in ("state_dict", "model"):
            if isinstance(loaded.get(nested), dict):
                loaded = loaded[nested]
                break
    if not isinstance(loaded, dict) or not loaded or not all(isinstance(v, torch.Tensor) for v in loaded.values()):
        raise SemlatError(f"{what} {path} holds no state dict of tensors: {hint}")
    return loaded


def load_weights(build: Callable[[], torch.nn.Module], path: str | Path, *, what: str, hint: str) -> torch.nn.Module:
    """Read checkpoint ``path`` (`read_state_dict`), then ``build()`` the model and load it (strict).

    The file is checked before the model is built, so a bad file costs no model construction; a
    state dict for another architecture (missing, unexpected or mis-shaped tensors) is one line.
    """
    state = read_state_dict(path, what=what, hint=hint)
    model = build()
    try:
        model.load_state_dict(state)  # copies cast, so fp16 files load into fp32 models
    except RuntimeError as exc:
        detail = " ".join(str(exc).split())[:200]
        raise SemlatError(f"{what} {path} cannot be loaded into this model ({detail}): {hint}") from exc
    return model
