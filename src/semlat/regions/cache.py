"""Files a region set keeps next to the database, under ``WS/cache/regions/<region set>/``.

* ``WS/cache/latents/<model>/<sha256>.npy`` (shared by the region sets of one model): fp16 SAM
  latents of a clustered run in progress (2 MB per image), so a resumed run skips encoding;
  removed when the run completes.
* ``clustering.npz``: the fitted cross-view clustering of a clustered run (per-image 64×64
  label grids, batch prototypes and their global labels), so a resumed run reproduces it.
* ``descriptors/<image_id>.npy``: fp16 mean SAM latent of every region of an image (row i =
  region i), written just before the image's regions; `semlat label` clusters these.

Every file is written to a temporary name and renamed, so a killed run never leaves half a file.
"""

from __future__ import annotations

import os
import re
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import numpy.typing as npt


def region_cache_dir(workspace_root: Path, region_set: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", region_set)
    return Path(workspace_root) / "cache" / "regions" / safe


def _atomic(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            write(out)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_npy(path: Path, array: npt.NDArray) -> None:
    _atomic(path, lambda out: np.save(out, array, allow_pickle=False))


def save_npz(path: Path, **arrays: npt.NDArray) -> None:
    _atomic(path, lambda out: np.savez(out, **arrays))


def load_npy(path: Path) -> npt.NDArray | dict[str, npt.NDArray] | None:
    """The array (or dict of arrays, for an npz) at ``path``, or None if it is missing or unreadable (it is then recomputed)."""
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.lib.npyio.NpzFile):  # read it all now, so a damaged file is caught here
            with loaded:
                return {key: loaded[key] for key in loaded.files}
        return loaded
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError):
        return None


def descriptors_path(cache_dir: Path, image_id: int) -> Path:
    return cache_dir / "descriptors" / f"{image_id}.npy"


def latents_dir(region_dir: Path, model_tag: str) -> Path:
    """Where the latents of one model live, next to the region sets' directories."""
    return Path(region_dir).parent.parent / "latents" / re.sub(r"[^A-Za-z0-9._-]+", "_", model_tag)
