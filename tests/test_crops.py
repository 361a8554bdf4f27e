import pytest

from semlat.crops import crop_box


@pytest.mark.parametrize(
    "bbox, expected",
    [
        ((10.0, 20.0, 30.0, 10.0), (6, 16, 44, 34)),  # margin 0.1 * 30 + 1 = 4 on each side
        ((0.0, 0.0, 5.0, 5.0), (0, 0, 6, 6)),  # clipped at the top-left corner (margin 1.5)
        ((95.0, 45.0, 5.0, 5.0), (93, 43, 100, 50)),  # clipped at the image's far edges
        ((50.0, 20.0, 0.0, 0.0), (49, 19, 51, 21)),  # an empty box still gives pixels
    ],
)
def test_crop_box_grows_and_clips(bbox, expected):
    assert crop_box(bbox, height=50, width=100) == expected
