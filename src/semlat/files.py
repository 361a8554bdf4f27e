"""Writing files so that a crash leaves the old file or the new one, never a mix; and file hashes.

Every write goes to a temporary file in the target's folder, is flushed and fsynced, then renamed
over the target with `os.replace` (atomic on POSIX and Windows); any exception, ``KeyboardInterrupt``
included, removes the temporary file and leaves the target as it was. Files get the permissions a
plain ``open(path, "w")`` would give them (not `tempfile`'s owner-only 0600).

This module is the one home for atomic writes and for sha256 of files: stages, the workspace
and the formats all write through it.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from semlat.errors import SemlatError


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()
"""What ``open(path, "w")`` gives a new file under the process umask (read once, at import)."""


_TEMP_PREFIX, _TEMP_SUFFIX = ".{}.", ".tmp"
"""The temporary file of target NAME is ``.NAME.<random>.tmp``, in the target's folder."""


@contextmanager
def atomic_open(path: str | Path, mode: str = "wb", *, make_parents: bool = False) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path`` for writing; it replaces ``path`` when the block ends.

    Args:
        path: The file to (re)place.
        mode: ``"wb"`` (binary) or ``"w"`` (text, UTF-8).
        make_parents: Create missing parent folders first (otherwise a missing folder is an error).

    Yields:
        The open temporary file. If the block raises, it is removed and ``path`` is untouched; one
        left by a killed process is removed by the next write of ``path``.
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_open writes new files: mode must be 'wb' or 'w', got {mode!r}")
    path = Path(path)
    if make_parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f"{glob.escape(_TEMP_PREFIX.format(path.name))}*{_TEMP_SUFFIX}"):
        stale.unlink(missing_ok=True)  # left by a writer that was killed (SIGKILL runs no cleanup)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=_TEMP_PREFIX.format(path.name), suffix=_TEMP_SUFFIX)
    try:
        with os.fdopen(fd, mode, **({"encoding": "utf-8"} if mode == "w" else {})) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], Any], *, make_parents: bool = False) -> Path:
    """Call ``write(handle)`` on a binary temporary file, then move it to ``path``; returns ``path``."""
    with atomic_open(path, "wb", make_parents=make_parents) as handle:
        write(handle)
    return Path(path)


def write_bytes(path: str | Path, data: bytes, *, make_parents: bool = False) -> Path:
    return atomic_write(path, lambda handle: handle.write(data), make_parents=make_parents)


def write_text(path: str | Path, text: str, *, make_parents: bool = False) -> Path:
    """Write ``text`` as UTF-8."""
    return write_bytes(path, text.encode("utf-8"), make_parents=make_parents)


def write_json(
    path: str | Path, data: Any, *, indent: int | None = 2, sort_keys: bool = True, make_parents: bool = False
) -> Path:
    """Write ``data`` as JSON (``json.dumps`` with these options; no trailing newline)."""
    return write_text(path, json.dumps(data, indent=indent, sort_keys=sort_keys), make_parents=make_parents)


def save_npy(path: str | Path, array: npt.ArrayLike, *, make_parents: bool = False) -> Path:
    """``np.save`` without pickles."""
    return atomic_write(path, lambda handle: np.save(handle, array, allow_pickle=False), make_parents=make_parents)


def save_npz(path: str | Path, *, make_parents: bool = False, **arrays: npt.ArrayLike) -> Path:
    """``np.savez`` (uncompressed), keys as given."""
    return atomic_write(path, lambda handle: np.savez(handle, **arrays), make_parents=make_parents)


class NpzWriter:
    """Adds arrays one at a time to an open npz, so no earlier array waits in memory.

    Writes what ``np.savez`` writes (stored, zip64 members ``NAME.npy``). Get one from `atomic_npz`.
    """

    def __init__(self, handle: IO[bytes]):
        self._zip = zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_STORED, allowZip64=True)

    def add(self, name: str, array: npt.ArrayLike) -> None:
        with self._zip.open(f"{name}.npy", "w", force_zip64=True) as member:
            np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)

    def close(self) -> None:
        self._zip.close()


@contextmanager
def atomic_npz(path: str | Path, *, make_parents: bool = False) -> Iterator[NpzWriter]:
    """Stream arrays into the npz at ``path``; it appears, complete, only when the block ends."""
    with atomic_open(path, "wb", make_parents=make_parents) as handle:
        writer = NpzWriter(handle)
        try:
            yield writer
        finally:
            writer.close()


def save_png(path: str | Path, image: npt.ArrayLike, *, make_parents: bool = True) -> Path:
    """Write an (H, W, 3) or (H, W) uint8 array as a PNG."""
    from PIL import Image

    picture = Image.fromarray(np.asarray(image, dtype=np.uint8))
    return atomic_write(path, lambda handle: picture.save(handle, format="PNG"), make_parents=make_parents)


def save_figure(path: str | Path, figure: Any, *, make_parents: bool = True, **savefig: Any) -> Path:
    """Write a matplotlib ``Figure`` as a PNG (``savefig`` options passed through)."""
    return atomic_write(path, lambda handle: figure.savefig(handle, format="png", **savefig), make_parents=make_parents)


def check_output_dir(path: str | Path) -> Path:
    """Check ``path`` can be an output folder without creating it: a folder, or creatable in a writable one.

    Commands that write an output after other work (``semlat run``) call it first, so an ``-o``
    that is a file, lies under a file or in a read-only folder fails before any work.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise SemlatError(f"output folder {path} is a file: pass a folder")
    existing = next(parent for parent in [path, *path.parents] if parent.exists() or parent == parent.parent)
    if existing.exists() and not existing.is_dir():
        raise SemlatError(f"output folder {path} is under {existing}, which is a file: pass a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise SemlatError(f"cannot create output folder {path} ({existing} is not writable): pass a folder you can write to")
    return path


@contextmanager
def output_dir(path: str | Path) -> Iterator[Path]:
    """Create the folder ``path`` (and missing parents) for a block that writes into it.

    If the block raises, the folders it created are removed again when they are still empty, so
    a failed export leaves the file system as it was. A ``path`` that is a file is a `SemlatError`.
    """
    path = check_output_dir(path)
    created = [parent for parent in [path, *path.parents] if not parent.exists()]
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SemlatError(f"cannot create output folder {path} ({exc.strerror}): pass a folder you can write to") from exc
    try:
        yield path
    except BaseException:
        for folder in created:  # deepest first
            try:
                folder.rmdir()
            except OSError:
                break
        raise


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
