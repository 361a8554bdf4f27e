"""The masks stage: settings routed to the backend, resuming, labels after automatic mode, photos as users have them, bad inputs."""

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from semlat.errors import SemlatError
from semlat.imageio import load_rgb
from semlat.regions.automatic import AutomaticSettings
from semlat.regions.classical import ClassicalProposer, ClassicalSettings
from semlat.regions.clustered import ClusteredSettings
from semlat.stages.masks import MasksResult, propose_regions
from semlat.workspace import Workspace, regions_stage
from tests.conftest import scene_image, snapshot


def test_classical_regions_of_every_image_and_a_rerun_writes_nothing(tmp_path, images_dir):
    ws = Workspace.open_or_create(tmp_path / "ws")
    result = propose_regions(ws, images_dir, backend="classical", max_regions=3)
    assert result == MasksResult("classical", "classical", ClassicalSettings(max_regions=3), 3, 3)
    proposer = ClassicalProposer(ClassicalSettings(max_regions=3))
    for record in ws.images():
        expected = proposer.propose(load_rgb(Path(record.path)))
        assert [r.rle for r in ws.regions("classical", record)] == [r.rle for r in expected]
    assert ws.manifest.region_sets["classical"] == {"backend": "classical", "params": proposer.config()}
    again = propose_regions(Workspace.open(tmp_path / "ws"), images_dir, backend="classical", max_regions=3)
    assert again.n_written == 0 and again.n_images == 3
    assert ws.done_images(regions_stage("classical")) == {0, 1, 2}


def test_the_default_backend_and_region_set_name(tmp_path, images_dir, monkeypatch):
    from semlat.regions import bundled

    monkeypatch.setattr(bundled, "bundled_mobile_sam_checkpoint", lambda: None)  # as without MobileSAM
    result = propose_regions(Workspace.open_or_create(tmp_path / "ws"), images_dir, region_set="mine")
    assert (result.backend, result.region_set, result.settings) == ("classical", "mine", ClassicalSettings())


def test_other_settings_under_one_name_are_refused_before_any_write(tmp_path, images_dir):
    ws = Workspace.open_or_create(tmp_path / "ws")
    propose_regions(ws, images_dir, backend="classical")
    before = snapshot(tmp_path / "ws")
    with pytest.raises(SemlatError, match="pass --region-set with a new name"):
        propose_regions(Workspace.open(tmp_path / "ws"), images_dir, backend="classical", max_regions=2)
    assert snapshot(tmp_path / "ws") == before


@pytest.mark.parametrize(
    "options, message",
    [
        ({"backend": "classical", "prompt": "points"}, "--prompt does not apply to classical"),
        ({"backend": "mobile-sam", "mode": "automatic", "components": True}, "--components does not apply to automatic mode"),
        ({"backend": "classical", "min_area": 2.0}, "--min-area 2.0 is not in [0, 1)"),
        ({"backend": "nope"}, "unknown region backend"),
    ],
)
def test_bad_settings_stop_before_the_workspace_is_created(tmp_path, images_dir, options, message):
    with pytest.raises(SemlatError, match=re.escape(message)):
        propose_regions(Workspace.open_or_create(tmp_path / "ws"), images_dir, **options)
    assert not (tmp_path / "ws").exists()


def test_an_unreadable_photo_stops_before_the_workspace_is_created(tmp_path, images_dir):
    (images_dir / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(SemlatError, match="broken.jpg cannot be read"):
        propose_regions(Workspace.open_or_create(tmp_path / "ws"), images_dir, backend="classical")
    assert not (tmp_path / "ws").exists()


@pytest.mark.slow
def test_automatic_mode_is_labelled_across_views_after_the_regions(tmp_path, images_dir):
    ws = Workspace.open_or_create(tmp_path / "ws")
    settings = {"points_per_side": 4, "n_labels": 2, "device": "cpu"}
    result = propose_regions(ws, images_dir, backend="mobile-sam", mode="automatic", region_set="auto", **settings)
    assert result.settings == AutomaticSettings(**settings) and result.n_written == 3
    labels = result.labels
    assert labels is not None and (labels.method, labels.descriptor) == ("matches+appearance", "sam")  # no SfM model
    found = {r.label for record in ws.images() for r in ws.regions("auto", record)}
    assert found == set(range(labels.n_labels)) and labels.n_labels <= labels.n_regions
    for record in ws.images():  # cannot-link: the regions of one image (one level) are different instances
        own = [(r.level, r.label) for r in ws.regions("auto", record)]
        assert len(own) == len(set(own))
    assert ws.manifest.labels["auto"] == {"method": "matches+appearance", "descriptor": "sam", "found": labels.n_labels}
    unlabelled = propose_regions(
        ws, images_dir, backend="mobile-sam", mode="automatic", region_set="raw", **{**settings, "n_labels": 0}
    )
    assert unlabelled.labels is None
    assert {r.label for record in ws.images() for r in ws.regions("raw", record)} == {-1}
    for record in ws.images():  # the same masks, with and without labels
        assert [r.rle for r in ws.regions("raw", record)] == [r.rle for r in ws.regions("auto", record)]


@pytest.mark.slow
@pytest.mark.parametrize(
    "mode, settings",
    [
        ("clustered", ClusteredSettings(batch_size=3, max_regions=8, device="cpu")),
        ("automatic", AutomaticSettings(points_per_side=4, max_regions=8, n_labels=0, device="cpu")),
    ],
)
def test_odd_photos_give_full_size_masks(tmp_path, mode, settings):
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

    ws = Workspace.open_or_create(tmp_path / "ws")
    given = {key: value for key, value in vars(settings).items() if value != getattr(type(settings)(), key)}
    result = propose_regions(ws, folder, backend="mobile-sam", mode=mode, **given)
    assert result.settings == settings
    sizes = {r.file_name: (r.height, r.width) for r in ws.images()}
    assert sizes == {"a_tiny16.png": (30, 40), "b_rgba.png": (120, 160), "c_large_exif.jpg": (2800, 2100)}
    counts = {}
    for record in ws.images():
        regions = ws.regions("mobile-sam", record)
        counts[record.file_name] = len(regions)
        assert len(regions) <= 8, record.file_name
        for region in regions:
            mask = region.mask()
            assert mask.shape == (record.height, record.width)
            assert mask.sum() == region.area > 0
    assert counts["b_rgba.png"] >= 1 and counts["c_large_exif.jpg"] >= 1  # the rectangles are found
    assert not (tmp_path / "ws" / "cache" / "latents").exists() or not any((tmp_path / "ws" / "cache" / "latents").rglob("*.npy"))


@pytest.mark.slow
def test_a_missing_or_corrupt_checkpoint_stops_before_anything_is_written(tmp_path, images_dir):
    ws = tmp_path / "ws"
    propose_regions(Workspace.open_or_create(ws), images_dir, backend="classical")
    before = snapshot(ws)
    with pytest.raises(SemlatError, match="sam_vit_h_4b8939.pth"):
        propose_regions(Workspace.open(ws), images_dir, backend="sam")
    assert snapshot(ws) == before
    with pytest.raises(SemlatError, match="does not exist"):
        propose_regions(Workspace.open(ws), images_dir, backend="mobile-sam", checkpoint=tmp_path / "missing.pt")
    assert snapshot(ws) == before
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"not a checkpoint")
    with pytest.raises(SemlatError, match="corrupt.pt"):
        propose_regions(Workspace.open(ws), images_dir, backend="mobile-sam", checkpoint=corrupt, device="cpu")
    assert snapshot(ws) == before
    assert Workspace.open(ws).region_sets() == ["classical"]


@pytest.mark.slow
def test_a_killed_automatic_run_resumes_to_the_uninterrupted_result(tmp_path, images_dir, monkeypatch):
    settings = {"points_per_side": 4, "n_labels": 2, "device": "cpu"}
    clean = Workspace.open_or_create(tmp_path / "clean")
    propose_regions(clean, images_dir, backend="mobile-sam", mode="automatic", **settings)

    written = []
    real_write = Workspace.write_regions

    def dies_on_the_second_image(self, region_set, image_id, regions):
        if len(written) == 1:
            raise KeyboardInterrupt  # as a user's Ctrl-C or a kill between two images
        written.append(image_id)
        real_write(self, region_set, image_id, regions)

    monkeypatch.setattr(Workspace, "write_regions", dies_on_the_second_image)
    with pytest.raises(KeyboardInterrupt):
        propose_regions(Workspace.open_or_create(tmp_path / "ws"), images_dir, backend="mobile-sam", mode="automatic", **settings)
    monkeypatch.setattr(Workspace, "write_regions", real_write)
    resumed = propose_regions(Workspace.open(tmp_path / "ws"), images_dir, backend="mobile-sam", mode="automatic", **settings)
    assert resumed.n_written == 2  # the first image was kept
    ws = Workspace.open(tmp_path / "ws")
    for record, reference in zip(ws.images(), clean.images(), strict=True):
        ours, theirs = ws.regions("mobile-sam", record), clean.regions("mobile-sam", reference)
        assert [(r.rle, r.label, r.level) for r in ours] == [(r.rle, r.label, r.level) for r in theirs]


def test_a_run_with_precision_auto_resumes_a_region_set_in_the_precision_it_was_begun_with(tmp_path, images_dir, monkeypatch):
    settings = {"points_per_side": 2, "n_labels": 0, "device": "cpu"}
    ws = Workspace.open_or_create(tmp_path / "ws")
    propose_regions(ws, images_dir, backend="mobile-sam", mode="automatic", precision="float32", **settings)
    monkeypatch.setattr("semlat.device.native_bfloat16", lambda device: True)  # auto would now mean bfloat16
    resumed = propose_regions(Workspace.open(tmp_path / "ws"), images_dir, backend="mobile-sam", mode="automatic", **settings)
    assert resumed.n_written == 0
    assert Workspace.open(tmp_path / "ws").manifest.section("region_sets")["mobile-sam"]["params"]["precision"] == "float32"
    other = propose_regions(ws, images_dir, backend="mobile-sam", mode="automatic", region_set="new", **settings)
    assert other.n_written == other.n_images and ws.manifest.section("region_sets")["new"]["params"]["precision"] == "bfloat16"
