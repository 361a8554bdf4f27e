"""Checking and registering photos before any stage writes a byte."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from semlat.files import sha256_file
from semlat.imageio import MAX_PIXELS, image_size
from semlat.progress import track

ScannedImage = tuple[Path, int, int, str]


def scan_images(paths: Sequence[Path], max_pixels: int = MAX_PIXELS) -> list[ScannedImage]:
    """Check every image is at most ``max_pixels`` and decodes in full, and hash it: (path, width, height, sha256) each.

    Runs before a workspace is created or touched, so a bad file (a truncated JPEG included) costs
    nothing to undo.
    """
    scanned = []
    for path in track(paths, "checking images"):
        width, height = image_size(path, max_pixels, decode=True)
        scanned.append((path, width, height, sha256_file(path)))
    return scanned
