"""Reading photos the way users have them: any mode, EXIF-rotated, 8 or 16 bit."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps, UnidentifiedImageError

from semlat.errors import SemlatError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}


def list_images(directory: Path) -> list[Path]:
    """Image files directly inside ``directory``, sorted by name."""
    if not directory.is_dir():
        raise SemlatError(f"image folder {directory} does not exist: pass a folder of photos")
    paths = sorted(p for p in directory.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not paths:
        raise SemlatError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {directory}")
    return paths


MAX_PIXELS = 150_000_000
"""Largest image (width × height) read unless the caller raises it (``--max-pixels``).

A few-kilobyte PNG can announce 20000 × 20000 pixels and decode to gigabytes (a decompression
bomb); 150 megapixels is above the largest camera sensors. Pillow's own limit is lifted while
semlat opens a file, so this is the only one.
"""

_PIL_LIMIT = threading.Lock()


@contextmanager
def _opened(path: Path) -> Iterator[Image.Image]:
    """``Image.open`` with Pillow's decompression-bomb check off (its limit is a global, hence the lock)."""
    with _PIL_LIMIT:
        saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
        try:
            image = Image.open(path)
        finally:
            Image.MAX_IMAGE_PIXELS = saved
    with image:
        yield image


def check_pixels(path: Path, width: int, height: int, max_pixels: int = MAX_PIXELS) -> None:
    """Refuse an image larger than ``max_pixels``, naming its size and the limit (`semlat.ingest` checks every image it registers)."""
    if width * height > max_pixels:
        raise SemlatError(
            f"image {path} is {width}x{height} = {width * height} pixels, more than the limit of {max_pixels} "
            f"(a decompression bomb or a huge photo): pass --max-pixels {width * height} if you trust it, or downscale it"
        )


def image_size(path: Path, max_pixels: int | None = None, *, decode: bool = False) -> tuple[int, int]:
    """(width, height) after EXIF rotation; checks the file is an image.

    Args:
        path: the image file.
        max_pixels: an image larger than this is refused first (`check_pixels`), before any pixel is decoded.
        decode: decode every pixel once (a truncated or corrupt file is refused here, not half-way
            through a stage); otherwise only the header is read.
    """
    try:
        with _opened(path) as image:
            if max_pixels is not None:
                check_pixels(path, *image.size, max_pixels)
            image.verify()  # must come first on a freshly opened file
        with _opened(path) as image:
            width, height = image.size
            orientation = image.getexif().get(0x0112, 1)
            if decode:
                image.load()
    except FileNotFoundError as exc:
        raise SemlatError(f"image {path} does not exist") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, RuntimeError) as exc:
        raise SemlatError(f"image {path} cannot be read ({exc}): replace or remove it") from exc
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def load_rgb(path: Path) -> npt.NDArray[np.uint8]:
    """Load an image as (H, W, 3) uint8 RGB, upright per its EXIF orientation.

    Grayscale is repeated to three channels, alpha is dropped, 16-bit is scaled to 8-bit. No
    pixel limit: the images semlat loads were checked (`check_pixels`) when they were registered.
    """
    try:
        with _opened(path) as image:
            image = ImageOps.exif_transpose(image)
            if image.mode in ("I;16", "I;16B", "I;16L", "I"):
                array = np.asarray(image, dtype=np.float64)
                peak = 65535.0 if array.max() > 255 else 255.0
                gray = np.clip(array / peak * 255.0 + 0.5, 0, 255).astype(np.uint8)
                return np.repeat(gray[..., None], 3, axis=2)
            return np.array(image.convert("RGB"), dtype=np.uint8)
    except FileNotFoundError as exc:
        raise SemlatError(f"image {path} does not exist") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise SemlatError(f"image {path} cannot be read ({exc}): replace or remove it") from exc
