"""Reading photos the way users have them: any mode, EXIF-rotated, 8 or 16 bit."""

from __future__ import annotations

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


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) after EXIF rotation, reading only the header; checks the file is an image."""
    try:
        with Image.open(path) as image:
            image.verify()  # must come first on a freshly opened file
        with Image.open(path) as image:
            width, height = image.size
            orientation = image.getexif().get(0x0112, 1)
    except FileNotFoundError as exc:
        raise SemlatError(f"image {path} does not exist") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, RuntimeError) as exc:
        raise SemlatError(f"image {path} cannot be read ({exc}): replace or remove it") from exc
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def load_rgb(path: Path) -> npt.NDArray[np.uint8]:
    """Load an image as (H, W, 3) uint8 RGB, upright per its EXIF orientation.

    Grayscale is repeated to three channels, alpha is dropped, 16-bit is scaled to 8-bit.
    """
    try:
        with Image.open(path) as image:
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
