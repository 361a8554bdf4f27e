import numpy as np
import pytest
from pycocotools import mask as mask_utils

from semlat import rle


@pytest.mark.parametrize("seed", range(20))
def test_runs_expand_to_the_decoded_mask(seed):
    rng = np.random.default_rng(seed)
    height, width = rng.integers(1, 200, 2)
    mask = rng.random((height, width)) < rng.random()
    if seed % 4 == 0:  # long runs need several 5-bit groups and negative deltas
        mask = np.zeros((height, width), bool)
        mask[rng.integers(0, height) :, rng.integers(0, width) :] = True
    counts = rle.runs(rle.encode(mask))
    assert counts.sum() == height * width
    expanded = np.repeat(np.arange(counts.size) % 2 == 1, counts)
    np.testing.assert_array_equal(expanded, mask.T.reshape(-1))


@pytest.mark.parametrize(
    "make",
    [
        lambda m: m,
        lambda m: m[::2, 1:],  # a strided view
        lambda m: np.asfortranarray(m),
        lambda m: m.T,
        lambda m: m.astype(np.uint8),
        lambda m: m[:0],  # no rows
        lambda m: m[:1, :1],
    ],
    ids=["C order", "strided", "Fortran order", "transposed", "uint8", "empty", "one pixel"],
)
def test_encode_is_pycocotools_own_encoding(make):
    mask = make(np.random.default_rng(7).random((37, 53)) < 0.4)
    expected = mask_utils.encode(np.asfortranarray(mask, dtype=np.uint8))
    assert rle.encode(mask) == {"size": list(expected["size"]), "counts": expected["counts"].decode("ascii")}


def test_encode_decode_area_bbox():
    mask = np.zeros((10, 12), bool)
    mask[2:5, 3:9] = True
    encoded = rle.encode(mask)
    assert encoded["size"] == [10, 12] and isinstance(encoded["counts"], str)
    np.testing.assert_array_equal(rle.decode(encoded), mask)
    assert rle.area(encoded) == 18
    assert rle.bbox(encoded) == (3.0, 2.0, 6.0, 3.0)


@pytest.mark.parametrize("seed", range(30))
def test_decode_box_is_the_box_of_the_decoded_mask(seed):
    rng = np.random.default_rng(100 + seed)
    height, width = rng.integers(1, 60, 2)
    mask = rng.random((height, width)) < rng.random()
    if seed % 3 == 0:  # runs that span whole columns
        mask = np.zeros((height, width), bool)
        mask[rng.integers(0, height) :, rng.integers(0, width) :] = True
    x0, y0 = rng.integers(0, width), rng.integers(0, height)
    x1, y1 = rng.integers(x0 + 1, width + 1), rng.integers(y0 + 1, height + 1)
    np.testing.assert_array_equal(rle.decode_box(rle.encode(mask), (x0, y0, x1, y1)), mask[y0:y1, x0:x1])


def test_decode_box_of_an_empty_and_a_full_mask():
    for mask in (np.zeros((7, 5), bool), np.ones((7, 5), bool)):
        np.testing.assert_array_equal(rle.decode_box(rle.encode(mask), (1, 2, 4, 7)), mask[2:7, 1:4])
