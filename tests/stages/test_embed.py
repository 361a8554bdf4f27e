import numpy as np
import pytest

from semlat.encoders.openclip import ModelSpec
from semlat.errors import SemlatError
from semlat.stages.embed import embed_regions
from semlat.stages.masks import propose_regions
from semlat.types import WHOLE_IMAGE
from semlat.workspace import Workspace


def test_every_image_and_region_is_embedded_normalised(tmp_path, images_dir, tiny_checkpoint):
    ws = Workspace.open_or_create(tmp_path / "ws")
    propose_regions(ws, images_dir, backend="classical", max_regions=6)
    key = embed_regions(tmp_path / "ws", ModelSpec("semlat-tiny", str(tiny_checkpoint)), device="cpu", batch_size=5)
    assert key.region_set == "classical" and key.model_key.startswith("semlat-tiny:sha256-")
    for image in ws.images():
        ids, vectors = ws.embeddings(key, image)
        assert ids.tolist() == [WHOLE_IMAGE, *(r.region_id for r in ws.regions("classical", image))]
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert Workspace.open(tmp_path / "ws").manifest["models"][key.model_key]["checkpoint_sha256"]


def test_batches_do_not_change_features(tmp_path, images_dir, tiny_checkpoint):
    spec = ModelSpec("semlat-tiny", str(tiny_checkpoint))
    ws = Workspace.open_or_create(tmp_path / "ws")
    propose_regions(ws, images_dir, backend="classical", max_regions=6)
    one = embed_regions(tmp_path / "ws", spec, feature_set="one", device="cpu", batch_size=1)
    many = embed_regions(tmp_path / "ws", spec, feature_set="many", device="cpu", batch_size=7)
    for image in ws.images():
        np.testing.assert_allclose(ws.embeddings(one, image)[1], ws.embeddings(many, image)[1], atol=1e-5)


def test_region_set_choice_is_explicit_when_ambiguous(tmp_path, images_dir, tiny_checkpoint):
    ws = Workspace.open_or_create(tmp_path / "ws")
    propose_regions(ws, images_dir, backend="classical", region_set="a")
    propose_regions(ws, images_dir, backend="classical", region_set="b", max_regions=2)
    spec = ModelSpec("semlat-tiny", str(tiny_checkpoint))
    with pytest.raises(SemlatError, match="several region sets"):
        embed_regions(tmp_path / "ws", spec, device="cpu")
    assert embed_regions(tmp_path / "ws", spec, region_set="b", device="cpu").region_set == "b"
