"""Photos as users have them, through MobileSAM: odd modes, EXIF, tiny and very large; bad inputs."""

import numpy as np
import pytest
from PIL import Image

from semlat.errors import SemlatError
from semlat.stages.masks import propose_regions
from semlat.workspace import Workspace
from tests.conftest import scene_image, snapshot

pytestmark = pytest.mark.slow


def test_odd_photos_give_full_size_masks(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    # tiny (< 64 px) 16-bit grayscale
    gray16 = (np.linspace(0, 60000, 40 * 30).reshape(30, 40)).astype(np.uint16)
    gray16[8:20, 10:25] = 65000
    Image.fromarray(gray16).save(folder / "a_tiny16.png")
    # RGBA
    rgba = np.dstack([scene_image(1, 120, 160), np.full((120, 160), 128, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(folder / "b_rgba.png")
    # very large (the encoder sees a 1024 copy), stored sideways with an EXIF rotation
    large = np.asarray(Image.fromarray(scene_image(2, 72, 96)).resize((2800, 2100), Image.NEAREST))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    Image.fromarray(large).save(folder / "c_large_exif.jpg", exif=exif, quality=90)

    ws = propose_regions(tmp_path / "ws", folder, "mobile-sam", batch_size=3, max_regions=8, device="cpu")
    sizes = {r.file_name: (r.height, r.width) for r in ws.images()}
    assert sizes == {"a_tiny16.png": (30, 40), "b_rgba.png": (120, 160), "c_large_exif.jpg": (2800, 2100)}
    for record in ws.images():
        regions = ws.regions("mobile-sam", record)
        assert 1 <= len(regions) <= 8, record.file_name
        for region in regions:
            mask = region.mask()
            assert mask.shape == (record.height, record.width)
            assert mask.sum() == region.area > 0
    assert not (tmp_path / "ws" / "cache" / "latents").exists() or not any((tmp_path / "ws" / "cache" / "latents").rglob("*.npy"))


def test_a_corrupt_image_stops_before_anything_is_written(cli, tmp_path, images_dir):
    (images_dir / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    code, _, err = cli("masks", images_dir, "-w", tmp_path / "ws", "--backend", "mobile-sam")
    assert code == 2 and "broken.jpg" in err and "Traceback" not in err
    assert not (tmp_path / "ws").exists()


def test_a_missing_checkpoint_stops_before_anything_is_written(cli, tmp_path, images_dir):
    ws = tmp_path / "ws"
    propose_regions(ws, images_dir, "classical")
    before = snapshot(ws)
    code, _, err = cli("masks", images_dir, "-w", ws, "--backend", "sam")
    assert code == 2 and "sam_vit_h_4b8939.pth" in err and "--checkpoint" in err
    assert snapshot(ws) == before
    with pytest.raises(SemlatError, match="does not exist"):
        propose_regions(ws, images_dir, "mobile-sam", checkpoint=tmp_path / "missing.pt")
    assert snapshot(ws) == before
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"not a checkpoint")
    with pytest.raises(SemlatError, match="corrupt.pt"):
        propose_regions(ws, images_dir, "mobile-sam", checkpoint=corrupt, device="cpu")
    assert snapshot(ws) == before
    assert Workspace.open(ws).region_sets() == ["classical"]
