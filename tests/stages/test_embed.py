import dataclasses
from pathlib import Path

import numpy as np
import pytest

from semlat.encoders import ModelSpec
from semlat.errors import SemlatError
from semlat.stages.embed import embed_regions
from semlat.stages.masks import propose_regions
from semlat.types import WHOLE_IMAGE
from semlat.workspace import Workspace, embeddings_stage


def test_every_image_and_region_is_embedded_normalised(tmp_path, images_dir, tiny_checkpoint):
    ws = Workspace.open_or_create(tmp_path / "ws")
    propose_regions(ws, images_dir, backend="classical", max_regions=6)
    key = embed_regions(ws, model=ModelSpec("semlat-tiny", str(tiny_checkpoint)), device="cpu", batch_size=5)
    assert key.region_set == "classical" and key.model_key.startswith("semlat-tiny:sha256-")
    for image in ws.images():
        ids, vectors = ws.embeddings(key, image)
        assert ids.tolist() == [WHOLE_IMAGE, *(r.region_id for r in ws.regions("classical", image))]
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert Workspace.open(tmp_path / "ws").manifest.models[key.model_key]["checkpoint_sha256"]


def test_batches_do_not_change_features(tmp_path, images_dir, tiny_checkpoint):
    spec = ModelSpec("semlat-tiny", str(tiny_checkpoint))
    ws = Workspace.open_or_create(tmp_path / "ws")
    propose_regions(ws, images_dir, backend="classical", max_regions=6)
    one = embed_regions(ws, model=spec, feature_set="one", device="cpu", batch_size=1)
    many = embed_regions(ws, model=spec, feature_set="many", device="cpu", batch_size=7)
    for image in ws.images():
        np.testing.assert_allclose(ws.embeddings(one, image)[1], ws.embeddings(many, image)[1], atol=1e-5)


def test_region_set_choice_is_explicit_when_ambiguous(tmp_path, images_dir, tiny_checkpoint):
    ws = Workspace.open_or_create(tmp_path / "ws")
    propose_regions(ws, images_dir, backend="classical", region_set="a")
    propose_regions(ws, images_dir, backend="classical", region_set="b", max_regions=2)
    spec = ModelSpec("semlat-tiny", str(tiny_checkpoint))
    with pytest.raises(SemlatError, match="several region sets"):
        embed_regions(ws, model=spec, device="cpu")
    assert embed_regions(ws, model=spec, region_set="b", device="cpu").region_set == "b"


class Killed(BaseException):
    """What a kill looks like to the stage: it stops between two commits."""


def test_a_resumed_run_gives_bit_identical_vectors(tmp_path, images_dir, tiny_checkpoint, monkeypatch):
    spec = ModelSpec("semlat-tiny", str(tiny_checkpoint))
    ws = Workspace.open_or_create(tmp_path / "ws")
    propose_regions(ws, images_dir, backend="classical", max_regions=6)
    clean = embed_regions(ws, model=spec, feature_set="clean", device="cpu", batch_size=4)
    write = Workspace.write_embeddings

    def write_then_die(self, key, image_id, region_ids, vectors):
        write(self, key, image_id, region_ids, vectors)
        if image_id == 0:
            raise Killed

    monkeypatch.setattr(Workspace, "write_embeddings", write_then_die)
    with pytest.raises(Killed):
        embed_regions(ws, model=spec, feature_set="resumed", device="cpu", batch_size=4)
    monkeypatch.undo()
    resumed_ws = Workspace.open(tmp_path / "ws")
    resumed = embed_regions(resumed_ws, model=spec, feature_set="resumed", device="cpu", batch_size=4)
    for image in resumed_ws.images():
        ids, vectors = resumed_ws.embeddings(resumed, image)
        clean_ids, clean_vectors = resumed_ws.embeddings(clean, image)
        assert ids.tolist() == clean_ids.tolist() and np.array_equal(vectors, clean_vectors)  # bit for bit


def test_another_dimension_is_refused_before_a_feature_set_is_recorded(tmp_path, images_dir, tiny_checkpoint):
    ws = Workspace.open_or_create(tmp_path / "ws")
    propose_regions(ws, images_dir, backend="classical", max_regions=3)
    ws.manifest.embedding_dim = 7
    ws.save_manifest()
    before = (tmp_path / "ws" / "semlat.json").read_bytes()
    with pytest.raises(SemlatError, match="holds 7-d features and this model gives"):
        embed_regions(Workspace.open(tmp_path / "ws"), model=ModelSpec("semlat-tiny", str(tiny_checkpoint)), device="cpu")
    assert (tmp_path / "ws" / "semlat.json").read_bytes() == before


def test_an_image_corrupted_mid_run_stops_it_with_one_line_after_the_images_before_it(tmp_path, images_dir, tiny_checkpoint):
    spec = ModelSpec("semlat-tiny", str(tiny_checkpoint))
    ws = Workspace.open_or_create(tmp_path / "ws")
    propose_regions(ws, images_dir, backend="classical", max_regions=4)
    clean = embed_regions(ws, model=spec, feature_set="clean", device="cpu")
    first, victim, _ = ws.images()
    good = Path(victim.path).read_bytes()
    Path(victim.path).write_bytes(good[: len(good) // 3])  # truncated after the scan
    with pytest.raises(SemlatError, match=r"view_01\.png cannot be read"):
        embed_regions(ws, model=spec, feature_set="resumed", device="cpu")
    key = dataclasses.replace(clean, feature_set="resumed")
    assert Workspace.open(tmp_path / "ws").done_images(embeddings_stage(key)) == {first.image_id}
    Path(victim.path).write_bytes(good)
    resumed_ws = Workspace.open(tmp_path / "ws")
    embed_regions(resumed_ws, model=spec, feature_set="resumed", device="cpu")
    for image in resumed_ws.images():
        assert np.array_equal(resumed_ws.embeddings(key, image)[1], resumed_ws.embeddings(clean, image)[1])
