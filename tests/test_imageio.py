import numpy as np
import pytest
from PIL import Image

from semlat.errors import SemlatError
from semlat.imageio import MAX_PIXELS, image_size, list_images, load_rgb


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


def test_an_image_over_the_pixel_limit_is_refused_with_its_size_and_the_limit(tmp_path):
    from tests.cli.test_bad_input import bomb_png

    path = bomb_png(tmp_path, 30000, 20000)
    pil_limit = Image.MAX_IMAGE_PIXELS
    with pytest.raises(SemlatError, match="30000x20000 = 600000000 pixels, more than the limit of 150000000") as info:
        image_size(path, MAX_PIXELS)
    assert "--max-pixels 600000000" in str(info.value) and Image.MAX_IMAGE_PIXELS == pil_limit
    small = tmp_path / "small.png"
    Image.new("RGB", (40, 30)).save(small)
    assert image_size(small, 1200) == (40, 30)
    with pytest.raises(SemlatError, match="limit of 1199"):
        image_size(small, 1199)
