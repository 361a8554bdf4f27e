"""`semlat masks`: options reach the backend, --help shows the settings' defaults, bad input is one line and exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from semlat.workspace import Workspace
from tests.scenes import POINTS_PER_IMAGE, colmap_scene


def _corrupt_png(images_dir: Path) -> Path:
    (images_dir / "view_99.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    return images_dir


def _corrupt_jpeg(images_dir: Path) -> Path:
    (images_dir / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return images_dir


def _scene_matching_no_file(images_dir: Path) -> Path:
    colmap_scene(images_dir, images_dir.parent / "scene")
    for path in (images_dir.parent / "scene" / "images").iterdir():
        path.rename(path.with_name("renamed_" + path.name))
    return images_dir.parent / "scene"


def _truncated_binary_scene(images_dir: Path) -> Path:
    colmap_scene(images_dir, images_dir.parent / "scene", binary=True)
    points = images_dir.parent / "scene" / "sparse" / "0" / "points3D.bin"
    points.write_bytes(points.read_bytes()[:-7])
    return images_dir.parent / "scene"


def _transforms_without_frames(images_dir: Path) -> Path:
    (images_dir.parent / "scene").mkdir()
    (images_dir.parent / "scene" / "transforms.json").write_text('{"fl_x": 100, "frames": []}')
    return images_dir.parent / "scene"


BOTH = (False, True)
# case: (arguments from the photos folder, what the error line names, on a new and/or an existing workspace)
BAD_INPUTS = {
    "missing image folder": (lambda d: ["masks", d.parent / "nowhere"], ("does not exist",), BOTH),
    "unreadable image": (lambda d: ["masks", _corrupt_png(d)], ("cannot be read",), BOTH),
    "unknown backend": (lambda d: ["masks", d, "--backend", "nope"], ("unknown region backend",), BOTH),
    "option of another backend": (
        lambda d: ["masks", d, "--backend", "classical", "--prompt", "points"],
        ("does not apply",),
        BOTH,
    ),
    "option of another mode": (lambda d: ["masks", d, "--mode", "automatic", "--batch-size", "2"], ("does not apply",), BOTH),
    "corrupt JPEG with the SAM backend": (
        lambda d: ["masks", _corrupt_jpeg(d), "--backend", "mobile-sam"],
        ("broken.jpg", "cannot be read"),
        (False,),
    ),
    "COLMAP names matching no file": (lambda d: ["masks", _scene_matching_no_file(d)], ("no image named",), BOTH),
    "truncated binary COLMAP model": (lambda d: ["masks", _truncated_binary_scene(d)], ("cannot be read",), BOTH),
    "transforms.json without frames": (lambda d: ["masks", _transforms_without_frames(d)], ("has no frames",), BOTH),
    "no point prompts": (
        lambda d: ["masks", d, "--backend", "mobile-sam", "--mode", "automatic", "--points-per-side", "0"],
        ("--points-per-side",),
        BOTH,
    ),
    "a threshold outside [0, 1]": (
        lambda d: ["masks", d, "--backend", "mobile-sam", "--mode", "automatic", "--stability-score-thresh", "1.5"],
        ("--stability-score-thresh", "1.5 is not in [0, 1]"),
        BOTH,
    ),
    "an unknown decoder precision": (
        lambda d: ["masks", d, "--backend", "mobile-sam", "--mode", "automatic", "--precision", "fp8"],
        ("--precision 'fp8'", "bfloat16"),
        BOTH,
    ),
    "missing SAM checkpoint": (lambda d: ["masks", d, "--backend", "sam"], ("sam_vit_h_4b8939.pth", "--checkpoint"), (True,)),
}
CASES = [
    pytest.param(case, existing, id=f"{case} ({'existing' if existing else 'new'} workspace)")
    for case, (_, _, workspaces) in BAD_INPUTS.items()
    for existing in workspaces
]


@pytest.mark.parametrize(("case", "existing"), CASES)
def test_bad_input_is_one_line_exit_2_and_leaves_the_workspace(case, existing, assert_refused, images_dir):
    make_args, messages, _ = BAD_INPUTS[case]
    assert_refused(make_args(images_dir), messages, existing)


def test_masks_options_reach_the_backend_and_help_shows_the_settings_defaults(cli, tmp_path, images_dir, monkeypatch):
    from semlat.regions.classical import ClassicalProposer, ClassicalSettings
    from semlat.regions.clustered import ClusteredSettings

    monkeypatch.setenv("COLUMNS", "300")
    code, out, _ = cli("masks", "--help")
    assert code == 0 and "per label, evenly spread over its cells (0: every cell, as the original)." in out
    assert f"[default: {ClusteredSettings().max_points}]" in out and "--keep-latents" in out
    args = ["masks", images_dir, "-w", tmp_path / "ws", "--backend", "classical", "--method", "slic", "--max-regions", "3"]
    code, out, err = cli(*args)
    assert code == 0 and "regions of 3 images" in out, err
    ws = Workspace.open(tmp_path / "ws")
    expected = ClassicalProposer(ClassicalSettings(method="slic", max_regions=3)).config()
    assert ws.manifest.region_sets["classical"] == {"backend": "classical", "params": expected}
    assert {len(ws.regions("classical", record)) for record in ws.images()} == {3}


def test_the_region_set_option_names_the_set(cli, tmp_path, images_dir):
    code, _, err = cli(
        "masks", images_dir, "-w", tmp_path / "ws", "--backend", "classical", "--region-set", "mine", "--max-regions", "2"
    )
    assert code == 0, err
    ws = Workspace.open(tmp_path / "ws")
    assert ws.region_sets() == ["mine"] and ws.manifest.region_sets["mine"]["backend"] == "classical"


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_a_colmap_scene_stores_its_cameras_and_tracks(cli, tmp_path, images_dir, binary):
    model = colmap_scene(images_dir, tmp_path / "scene", binary=binary)
    code, out, err = cli("masks", tmp_path / "scene", "-w", tmp_path / "ws", "--backend", "classical", "--max-regions", "2")
    assert code == 0 and "regions of 3 images" in out, err
    ws = Workspace.open(tmp_path / "ws")
    assert ws.has_tracks() and ws.manifest.scene["kind"] == "colmap"
    cameras = ws.cameras()
    for record in ws.images():
        image = model.find_image_with_name(record.file_name)
        assert cameras[record.image_id].file_name == record.file_name
        assert cameras[record.image_id].tvec == tuple(image.cam_from_world().translation)
        xy, ids = ws.observations(record.image_id)
        assert len(ids) == POINTS_PER_IMAGE and set(ids.tolist()) == set(model.points3D)
        assert xy.shape == (POINTS_PER_IMAGE, 2)


def test_images_subdir_picks_a_downscale(cli, tmp_path, images_dir):
    from PIL import Image

    colmap_scene(images_dir, tmp_path / "scene")
    (tmp_path / "scene" / "images_2").mkdir()
    for path in (tmp_path / "scene" / "images").iterdir():
        Image.open(path).resize((48, 36)).save(tmp_path / "scene" / "images_2" / path.name)
    args = ["masks", tmp_path / "scene", "-w", tmp_path / "ws", "--images-subdir", "images_2", "--backend", "classical"]
    code, _, err = cli(*args)
    assert code == 0, err
    ws = Workspace.open(tmp_path / "ws")
    assert {(r.width, r.height) for r in ws.images()} == {(48, 36)}
    assert {(c.width, c.height) for c in ws.cameras().values()} == {(48, 36)}
