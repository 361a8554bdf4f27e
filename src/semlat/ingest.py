"""Checking and registering photos before any stage writes a byte."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from semlat.files import sha256_file
from semlat.imageio import image_size
from semlat.progress import track

ScannedImage = tuple[Path, int, int, str]


def scan_images(paths: Sequence[Path]) -> list[ScannedImage]:
    """Check every image can be opened and hash it: (path, width, height, sha256) each.

    Runs before a workspace is created or touched, so a bad file costs nothing to undo.
    """
    return [(path, *image_size(path), sha256_file(path)) for path in track(paths, "checking images")]
