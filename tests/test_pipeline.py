"""`run_pipeline`: masks → embed → query on a folder of photos; a model that cannot load stops it before any region."""

import numpy as np
import pytest
from PIL import Image

from semlat.encoders import ModelSpec
from semlat.errors import SemlatError
from semlat.pipeline import run_pipeline
from semlat.stages.query.render import STRIP_MIN_WIDTH
from semlat.types import WHOLE_IMAGE
from semlat.workspace import Workspace, embeddings_stage, regions_stage


def test_every_stage_runs_and_the_query_files_are_written(tmp_path, images_dir, tiny_checkpoint):
    model = ModelSpec("semlat-tiny", str(tiny_checkpoint))
    ws = Workspace.open_or_create(tmp_path / "ws")
    out = run_pipeline(ws, images_dir, ["red box", "ground"], tmp_path / "out", backend="classical", model=model, device="cpu")
    assert out == tmp_path / "out"
    for stem in ("view_00", "view_01", "view_02"):
        assert sorted(p.name for p in (out / stem).iterdir()) == ["ground.png", "red-box.png", "segmentation.png"]
        with Image.open(out / stem / "red-box.png") as heatmap:  # the photo unscaled, a colour bar below
            assert heatmap.size[0] == max(96, STRIP_MIN_WIDTH) and heatmap.size[1] > 72
    ws = Workspace.open(tmp_path / "ws")
    (key,) = ws.feature_keys()
    assert (key.region_set, key.model_key, key.feature_set) == ("classical", model.key(), "raw")
    assert ws.manifest.feature_sets[str(key)] == {"strategy": "masked-crop"}
    assert ws.done_images(regions_stage("classical")) == ws.done_images(embeddings_stage(key)) == {0, 1, 2}
    for record in ws.images():
        ids, vectors = ws.embeddings(key, record)
        regions = ws.regions("classical", record)
        assert len(regions) > 0 and ids.tolist() == [WHOLE_IMAGE, *(r.region_id for r in regions)]
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (ModelSpec("semlat-tiny", "/nowhere/tiny.pt"), "does not exist"),
        (ModelSpec("ViT-Nope", "laion2b_s34b_b88k"), "unknown model"),
        (ModelSpec("semlat-tiny", "laion"), "no pretrained tag"),
    ],
    ids=["missing checkpoint", "unknown name", "unknown tag"],
)
def test_a_model_that_cannot_load_fails_before_any_region_is_written(tmp_path, images_dir, model, message, monkeypatch):
    from semlat import pipeline

    monkeypatch.setattr(pipeline, "propose_regions", lambda *a, **k: pytest.fail("regions proposed before the model check"))
    with pytest.raises(SemlatError, match=message):
        run_pipeline(
            Workspace.open_or_create(tmp_path / "ws"), images_dir, ["a"], tmp_path / "out", backend="classical", model=model
        )
    assert not (tmp_path / "ws").exists() and not (tmp_path / "out").exists()


def test_a_colmap_scene_runs_and_keeps_its_cameras(tmp_path, images_dir, tiny_checkpoint):
    from tests.scenes import colmap_scene

    colmap_scene(images_dir, tmp_path / "scene", binary=True)
    model = ModelSpec("semlat-tiny", str(tiny_checkpoint))
    ws = Workspace.open_or_create(tmp_path / "ws")
    run_pipeline(ws, tmp_path / "scene", ["red box"], tmp_path / "out", backend="classical", model=model, device="cpu")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["query.json", "view_00", "view_01", "view_02"]
    assert len(ws.cameras()) == 3 and ws.has_tracks()
