"""Naming, checking and loading a model through the family registry; the model behind a workspace's features."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from semlat.encoders import registry
from semlat.encoders.base import ModelSpec
from semlat.encoders.openclip import DEFAULT_MODEL, DEFAULT_PRETRAINED
from semlat.encoders.toy import TOY_MODEL, TOY_WEIGHTS
from semlat.errors import SemlatError
from semlat.types import FeatureKey
from semlat.workspace import Workspace


@pytest.mark.parametrize(
    ("args", "spec"),
    [
        ((), ModelSpec("ViT-B-16", "laion2b_s34b_b88k")),  # the original's model
        (("ViT-B-32",), ModelSpec("ViT-B-32", DEFAULT_PRETRAINED)),
        ((DEFAULT_MODEL, "openai"), ModelSpec(DEFAULT_MODEL, "openai")),
        ((TOY_MODEL,), ModelSpec(TOY_MODEL, str(TOY_WEIGHTS))),  # the shipped weights: no download
        ((TOY_MODEL, "other.pt"), ModelSpec(TOY_MODEL, "other.pt")),
    ],
    ids=["defaults", "another architecture", "another tag", "the toy model", "the toy model, other weights"],
)
def test_model_spec_defaults(args, spec):
    assert registry.model_spec(*args) == spec


def test_the_toy_weights_ship_with_the_package_and_their_absence_is_explained(monkeypatch, tmp_path):
    assert TOY_WEIGHTS.is_file() and registry.toy_model_spec().checkpoint() == TOY_WEIGHTS
    monkeypatch.setattr(registry, "TOY_WEIGHTS", tmp_path / "gone.pt")
    with pytest.raises(SemlatError, match="toy CLIP weights are missing from .*gone.pt: reinstall semlat"):
        registry.model_spec(TOY_MODEL)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (ModelSpec("ViT-Nope", "laion2b_s34b_b88k"), "unknown model 'ViT-Nope': use an OpenCLIP architecture name"),
        (ModelSpec("semlat-tiny", "/nowhere/tiny.pt"), "checkpoint /nowhere/tiny.pt does not exist"),
        (ModelSpec("semlat-tiny", "laion"), "model semlat-tiny has no pretrained tag 'laion' (known: none)"),
    ],
    ids=["unknown name", "missing checkpoint", "unknown tag"],
)
def test_check_model_refuses_what_cannot_load_with_one_line(spec, message):
    with pytest.raises(SemlatError) as error:
        registry.check_model(spec)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_check_model_accepts_a_checkpoint_without_loading_it(tiny_checkpoint, monkeypatch):
    import open_clip

    monkeypatch.setattr(open_clip, "create_model", lambda *a, **k: pytest.fail("check_model must not load"))
    assert registry.check_model(ModelSpec("semlat-tiny", str(tiny_checkpoint))) is None


def test_load_encoder_gives_unit_vectors_on_the_device_asked_for(tiny_checkpoint):
    encoder = registry.load_encoder(ModelSpec("semlat-tiny", str(tiny_checkpoint)), "cpu")
    assert encoder.device == torch.device("cpu") and encoder.spec.pretrained == str(tiny_checkpoint)
    images = encoder.encode_images(torch.rand(2, 3, encoder.image_size, encoder.image_size))
    texts = encoder.encode_texts(["ceiling", "ground", "toilet paper"])
    assert images.shape == (2, 32) and texts.shape == (3, 32)
    np.testing.assert_allclose(np.linalg.norm(np.concatenate([images, texts]), axis=1), 1.0, atol=1e-5)


def test_load_encoder_checks_the_name_and_the_device(tiny_checkpoint):
    with pytest.raises(SemlatError, match="unknown model 'ViT-Nope'"):
        registry.load_encoder(ModelSpec("ViT-Nope", str(tiny_checkpoint)), "cpu")
    with pytest.raises(SemlatError, match="unknown device 'tpu'"):
        registry.load_encoder(ModelSpec("semlat-tiny", str(tiny_checkpoint)), "tpu")


@pytest.fixture
def features_ws(tmp_path):
    """A workspace with one image and the claim of one feature key, without any model recorded yet."""
    ws = Workspace.open_or_create(tmp_path / "ws")
    ws.add_images([(tmp_path / "a.png", 4, 3, "0" * 64)])
    return ws


def test_the_model_of_features_is_the_one_recorded_with_them(features_ws, tiny_checkpoint):
    spec = ModelSpec("semlat-tiny", str(tiny_checkpoint))
    key = FeatureKey("classical", spec.key())
    features_ws.claim_config("models", key.model_key, spec.record(), hint="")
    found = registry.model_of_features(features_ws, key)
    assert found.name == "semlat-tiny" and found.checkpoint() == tiny_checkpoint.resolve() and found.key() == key.model_key
    tagged = ModelSpec("ViT-B-16", "openai")
    features_ws.claim_config("models", tagged.key(), tagged.record(), hint="")
    assert registry.model_of_features(features_ws, FeatureKey("classical", "ViT-B-16:openai")) == tagged


def test_imported_features_need_the_model_given(features_ws):
    key = FeatureKey("original", "imported:abc")
    with pytest.raises(SemlatError, match="were imported without a model: pass --model and --pretrained"):
        registry.model_of_features(features_ws, key)
    given = ModelSpec("ViT-B-16", "openai")
    assert registry.model_of_features(features_ws, key, given) is given


def test_a_checkpoint_changed_since_embedding_is_refused(features_ws, tiny_checkpoint, tmp_path):
    copy = tmp_path / "copy.pt"
    copy.write_bytes(tiny_checkpoint.read_bytes())
    spec = ModelSpec("semlat-tiny", str(copy))
    key = FeatureKey("classical", spec.key())
    features_ws.claim_config("models", key.model_key, spec.record(), hint="")
    copy.write_bytes(copy.read_bytes() + b"\0")
    with pytest.raises(SemlatError, match=f"checkpoint {copy} changed since the features were made: re-run `semlat embed`"):
        registry.model_of_features(features_ws, key)


def test_the_encoders_and_the_generator_import_without_lancedb():
    """A GPU machine may have PyTorch but not LanceDB: views, encoders and SAM's generator must still load there."""
    import subprocess
    import sys

    script = (
        "import importlib.abc, sys\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name.split('.')[0] == 'lancedb':\n"
        "            raise ImportError('no lancedb here')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import semlat.encoders, semlat.encoders.views, semlat.regions.generator, semlat.regions.automatic\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
