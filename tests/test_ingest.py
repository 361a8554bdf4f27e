"""Scanning photos before any stage writes: upright sizes, content hashes, a broken file is one clear error."""

import hashlib

import numpy as np
import pytest
from PIL import Image

from semlat.errors import SemlatError
from semlat.ingest import scan_images


def _photo(path, height: int, width: int, orientation: int | None = None):
    image = Image.fromarray(np.random.default_rng(height).integers(0, 256, (height, width, 3), dtype=np.uint8))
    if orientation is None:
        image.save(path)
    else:
        exif = image.getexif()
        exif[0x0112] = orientation
        image.save(path, exif=exif)
    return path


@pytest.mark.parametrize(
    ("orientation", "size"),
    [(None, (30, 10)), (1, (30, 10)), (3, (30, 10)), (6, (10, 30)), (8, (10, 30)), (5, (10, 30))],
    ids=["no EXIF", "upright", "upside down", "rotated 90", "rotated 270", "transposed"],
)
def test_sizes_are_after_exif_rotation(tmp_path, orientation, size):
    path = _photo(tmp_path / "a.jpg", 10, 30, orientation)
    assert scan_images([path]) == [(path, *size, hashlib.sha256(path.read_bytes()).hexdigest())]


def test_every_photo_in_order_with_its_content_hash(tmp_path):
    paths = [_photo(tmp_path / "b.png", 8, 12), _photo(tmp_path / "a.png", 6, 4)]
    copy = tmp_path / "copy.png"
    copy.write_bytes(paths[0].read_bytes())
    scanned = scan_images([*paths, copy])
    assert [(p, w, h) for p, w, h, _ in scanned] == [(paths[0], 12, 8), (paths[1], 4, 6), (copy, 12, 8)]
    assert scanned[0][3] == scanned[2][3] != scanned[1][3]  # the hash is of the bytes, not the name
    assert scan_images([]) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"\x89PNG\r\n\x1a\n truncated", "cannot be read"), (b"", "cannot be read"), (None, "does not exist")],
    ids=["truncated", "empty", "missing"],
)
def test_a_broken_file_is_one_error_naming_it(tmp_path, content, message):
    good = _photo(tmp_path / "good.png", 4, 4)
    bad = tmp_path / "bad.png"
    if content is not None:
        bad.write_bytes(content)
    with pytest.raises(SemlatError, match=message) as error:
        scan_images([good, bad])
    assert str(bad) in str(error.value) and "\n" not in str(error.value)
