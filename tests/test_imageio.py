import numpy as np
import pytest
from PIL import Image

from semlat.errors import SemlatError
from semlat.imageio import image_size, list_images, load_rgb


def test_modes_become_uint8_rgb(tmp_path):
    gray = np.arange(12 * 16, dtype=np.uint8).reshape(12, 16)
    Image.fromarray(gray).save(tmp_path / "gray.png")
    Image.fromarray(np.dstack([gray] * 3 + [np.zeros_like(gray)]), "RGBA").save(tmp_path / "rgba.png")
    Image.fromarray(gray.astype(np.uint16) * 257).save(tmp_path / "deep.png")
    for name in ("gray.png", "rgba.png", "deep.png"):
        pixels = load_rgb(tmp_path / name)
        assert pixels.shape == (12, 16, 3) and pixels.dtype == np.uint8
        np.testing.assert_array_equal(pixels[..., 0], gray)


def test_exif_rotation_is_applied_to_pixels_and_size(tmp_path):
    image = Image.fromarray(np.zeros((10, 30, 3), np.uint8))
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    image.save(tmp_path / "rotated.jpg", exif=exif)
    assert image_size(tmp_path / "rotated.jpg") == (10, 30)
    assert load_rgb(tmp_path / "rotated.jpg").shape == (30, 10, 3)


def test_bad_files_are_user_errors(tmp_path):
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(SemlatError, match="cannot be read"):
        image_size(tmp_path / "broken.png")
    with pytest.raises(SemlatError, match="cannot be read"):
        load_rgb(tmp_path / "broken.png")
    with pytest.raises(SemlatError, match="does not exist"):
        load_rgb(tmp_path / "missing.png")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SemlatError, match="no images"):
        list_images(tmp_path / "empty")
    with pytest.raises(SemlatError, match="does not exist"):
        list_images(tmp_path / "nowhere")
