"""What the 3D-pipeline exports share: image names their consumers cannot tell apart or store are refused in one line."""

from __future__ import annotations

import pytest

from tests.cli.conftest import expect_refusal
from tests.formats import conftest

FORMATS = ["langsplat", "feature-3dgs", "gaussian-grouping"]
NAMES = {
    "a stem shared by two images": (["a.png", "a.bmp", "b.png"], ("a.png and a.bmp share the name 'a'",)),
    "no name before the first dot": (["view.png", "...png", "b.png"], ("image ...png gives the name ''", "rename")),
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("names", list(NAMES))
def test_unusable_image_names_are_refused_before_any_write(names, fmt, cli, tmp_path, monkeypatch):
    files, messages = NAMES[names]
    monkeypatch.setattr(conftest, "IMAGES", [(name, *rest) for name, (_, *rest) in zip(files, conftest.IMAGES)])
    case = conftest.build(tmp_path / "ws")
    scene = tmp_path / "scene"
    scene.mkdir()
    (scene / "keep.txt").write_text("the user's scene")
    expect_refusal(cli, ["export", fmt, "-w", case.ws.root, "-o", scene], messages, tmp_path)
