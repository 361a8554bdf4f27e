"""Search results on disk: search.json, and the contact sheet of region crops."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from semlat.errors import SemlatError
from semlat.stages.search import SearchHit, search, write_results
from semlat.stages.search.sheet import CAPTION, TILE, contact_sheet, region_tile
from tests.stages.search.conftest import DIM, KEY

# the photos of `make_workspace` are flat grey: view_01 is 40, view_02 is 80; region 0 is rows 0..7, columns 4..27
WHOLE_01 = SearchHit("view_01.png", 1, -1, -1, 1.0, (0.0, 0.0, 32.0, 24.0), 24 * 32)
WHOLE_02 = SearchHit("view_02.png", 2, -1, -1, 0.9, (0.0, 0.0, 32.0, 24.0), 24 * 32)
REGION_01 = SearchHit("view_01.png", 1, 0, 7, 0.8, (4.0, 0.0, 24.0, 8.0), 8 * 24)


def test_results_files_hold_the_hits_and_a_contact_sheet(known, tmp_path):
    ws, order = known
    hits = search(ws, vector=np.eye(DIM)[0], top=7)
    json_path, png_path = write_results(ws, KEY, hits, tmp_path / "out", {"query": None, "top": 7})
    saved = json.loads(json_path.read_text())
    assert [(h["image_id"], h["region_id"]) for h in saved["hits"]] == order[:7]
    assert saved["features"] == str(KEY) and saved["top"] == 7 and saved["query"] is None
    assert saved["hits"][0]["bbox"] == list(hits[0].bbox) and saved["hits"][0]["score"] == pytest.approx(hits[0].score)
    sheet = Image.open(png_path)
    assert sheet.size[0] == 5 * 160 and sheet.size[1] == 2 * (160 + 28)


def test_no_hits_write_the_json_and_no_sheet(known, tmp_path):
    ws, _ = known
    json_path, png_path = write_results(ws, KEY, [], tmp_path / "out", {"query": "nothing"})
    assert json.loads(json_path.read_text())["hits"] == [] and not png_path.exists()
    with pytest.raises(SemlatError, match="no hits"):
        contact_sheet(ws, KEY.region_set, [], tmp_path / "sheet.png")


def test_a_region_tile_dims_what_lies_outside_the_region(known):
    ws, _ = known
    whole = region_tile(ws, KEY.region_set, WHOLE_01)
    assert whole.shape == (TILE, TILE, 3) and set(np.unique(whole)) == {24, 40}  # the photo, letterboxed on dark grey
    region = region_tile(ws, KEY.region_set, REGION_01)
    assert set(np.unique(region)) == {12, 24, 40}  # the region as is, the margin around it at 30 %
    assert region[TILE // 2 - 5, TILE // 2, 0] == 40


def test_a_photo_that_moved_is_a_grey_tile(known, tmp_path):
    ws, _ = known
    (tmp_path / "ws-images" / "view_01.png").unlink()
    np.testing.assert_array_equal(region_tile(ws, KEY.region_set, WHOLE_01), np.full((TILE, TILE, 3), 96, np.uint8))


def test_the_sheet_puts_the_hits_in_order_in_at_most_five_columns(known, tmp_path):
    ws, _ = known
    path = contact_sheet(ws, KEY.region_set, [WHOLE_02, WHOLE_01], tmp_path / "sheet.png")
    sheet = np.asarray(Image.open(path))
    assert sheet.shape == (TILE + CAPTION, 2 * TILE, 3)
    assert sheet[TILE // 2, TILE // 2, 0] == 80 and sheet[TILE // 2, TILE + TILE // 2, 0] == 40
    assert not (sheet[TILE:, :TILE] == 255).all()  # a caption is written under the first tile
    six = np.asarray(Image.open(contact_sheet(ws, KEY.region_set, [WHOLE_01] * 6, tmp_path / "six.png")))
    assert six.shape == (2 * (TILE + CAPTION), 5 * TILE, 3)
