"""Hint sheets: one example region per image, most typical first, crops masked and fitted into tiles."""

import numpy as np
from PIL import Image

from semlat.stages.consistency import compute_metrics
from semlat.stages.consistency.hints import GAP, TILE, pick_examples, region_crop, write_hint_sheets
from semlat.types import Region
from tests.stages.consistency.conftest import basis, unit

E1, E2, E3 = basis(0), basis(1), basis(2)
# label 0: image 0 has two members, images 1 and 2 one each; ordered by cosine to the label's mean direction
# (about 15° from e1 towards e2): image 2's (17°), image 1's (6°), image 0's second (0°), image 0's first (39°)
LABELS = [[0, 0, 1], [0, 1], [0, 1]]
VECTORS = [
    [unit(E1 + 0.8 * E2), E1, E3],
    [unit(E1 + 0.1 * E2), E3],
    [unit(E1 + 0.3 * E2), unit(E3 + 0.1 * E2)],
]


def test_examples_come_from_different_images_most_typical_first(make_ws):
    metrics = compute_metrics(make_ws(LABELS, VECTORS))
    picks = pick_examples(metrics)
    assert picks[0] == [(2, 0), (1, 0), (0, 1)]  # image 0's first member is never shown: its image already is
    assert sorted(picks) == [0, 1] and picks[1] == [(0, 2), (1, 1), (2, 1)]  # two exact e3 first, in image order
    assert pick_examples(metrics, per_label=2)[0] == [(2, 0), (1, 0)]


def test_a_crop_is_the_masked_box_fitted_into_a_square_tile():
    pixels = np.full((24, 32, 3), 200, np.uint8)
    mask = np.zeros((24, 32), bool)
    mask[10:14, 2:8] = mask[10:14, 22:28] = True  # two blobs: their box spans 2..27
    crop = region_crop(pixels, Region.from_mask(0, mask))
    assert crop.shape == (TILE, TILE, 3)
    middle = crop[TILE // 2, :, 0]
    assert middle[TILE // 2] == 0  # between the blobs, inside the box: blacked out
    assert (middle[20:30] == 200).all() and (middle[-30:-20] == 200).all()  # the blobs, scaled to the tile's width
    assert (crop[:10] == 0).all() and (crop[-10:] == 0).all()  # a wide box is letterboxed
    assert not region_crop(pixels, Region.from_mask(1, np.zeros((24, 32), bool))).any()


def test_sheets_name_their_sources_and_a_missing_photo_is_left_out(make_ws, tmp_path):
    metrics = compute_metrics(make_ws(LABELS, VECTORS))
    (tmp_path / "images" / "view_01.png").unlink()
    sheets, missing = write_hint_sheets(metrics, tmp_path / "out")
    assert missing == ["view_01.png"]
    path, names = sheets[0]
    assert path == tmp_path / "out" / "hints" / "label_0.png" and names == ["view_02.png", "view_00.png"]
    sheet = np.asarray(Image.open(path))
    assert sheet.shape == (TILE, 2 * TILE + GAP, 3)
    assert (sheet[:, TILE : TILE + GAP] == 255).all()  # white gap between the tiles
    assert sheets[1][1] == ["view_00.png", "view_02.png"]
