"""The OpenCLIP family: shipped configs, checking a spec without loading it (offline too), loading a checkpoint."""

from __future__ import annotations

import socket

import numpy as np
import open_clip
import pytest
import torch

from semlat.encoders import openclip
from semlat.encoders.base import ModelSpec
from semlat.errors import SemlatError


@pytest.fixture(scope="module")
def tiny(tiny_checkpoint) -> openclip.OpenClipEncoder:
    return openclip.load(ModelSpec("semlat-tiny", str(tiny_checkpoint)), torch.device("cpu"))


@pytest.mark.parametrize(
    ("name", "known"), [("semlat-tiny", True), ("semlat-toy", True), ("ViT-B-16", True), ("ViT-Nope", False)]
)
def test_the_shipped_architectures_are_known_beside_openclips(name, known):
    assert openclip.knows(name) is known


def test_a_checkpoint_file_is_checked_and_returned(tiny_checkpoint, tmp_path):
    assert openclip.check(ModelSpec("semlat-tiny", str(tiny_checkpoint))) == str(tiny_checkpoint)
    with pytest.raises(SemlatError, match=r"checkpoint .*none\.pt does not exist: pass an existing OpenCLIP checkpoint"):
        openclip.check(ModelSpec("semlat-tiny", str(tmp_path / "none.pt")))


@pytest.mark.parametrize(
    ("spec", "known"),
    [(ModelSpec("semlat-tiny", "laion"), "none"), (ModelSpec("ViT-B-16", "laion"), "openai, laion400m_e31")],
)
def test_an_unknown_tag_is_refused_without_the_network(spec, known, monkeypatch):
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: pytest.fail("no connection may be tried"))
    with pytest.raises(SemlatError, match=f"model {spec.name} has no pretrained tag 'laion' \\(known: {known}") as error:
        openclip.check(spec)
    assert "--pretrained PATH" in str(error.value) and "\n" not in str(error.value)


@pytest.fixture
def hub(monkeypatch):
    """The Hugging Face cache and network as a test sets them: which files are cached, whether the host answers."""
    import huggingface_hub

    state = {"cached": {}, "reachable": False, "hosts": []}

    def connect(address, timeout=None):
        state["hosts"].append(address[0])
        if not state["reachable"]:
            raise OSError("network is unreachable")
        return socket.socket()

    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", lambda repo, name: state["cached"].get((repo, name)))
    monkeypatch.setattr(socket, "create_connection", connect)
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    return state


TAGGED = ModelSpec("ViT-B-16", "laion2b_s34b_b88k")
REPO = "laion/CLIP-ViT-B-16-laion2B-s34B-b88K"


def test_a_cached_tag_loads_from_the_cache_without_the_network(hub):
    hub["cached"][(REPO, "open_clip_pytorch_model.bin")] = "/cache/model.bin"
    assert openclip.check(TAGGED) == "/cache/model.bin"
    hub["cached"][(REPO, "open_clip_model.safetensors")] = "/cache/model.safetensors"
    assert openclip.check(TAGGED) == "/cache/model.safetensors"  # safetensors first
    assert hub["hosts"] == []


def test_an_uncached_tag_offline_fails_at_once_saying_where_to_get_it(hub):
    with pytest.raises(SemlatError) as error:
        openclip.check(TAGGED)
    assert str(error.value) == (
        "weights ViT-B-16/laion2b_s34b_b88k are not downloaded and huggingface.co cannot be reached: "
        f"get open_clip_pytorch_model.bin from https://huggingface.co/{REPO} and pass it with --pretrained PATH"
    )


def test_an_uncached_tag_online_is_left_to_openclip_to_download(hub, monkeypatch):
    hub["reachable"] = True
    monkeypatch.setenv("HF_ENDPOINT", "https://mirror.example:8443")
    assert openclip.check(TAGGED) == "laion2b_s34b_b88k"
    assert hub["hosts"] == ["mirror.example"]


def test_a_loaded_checkpoint_gives_unit_image_and_text_vectors(tiny):
    assert (tiny.spec.name, tiny.device, tiny.image_size) == ("semlat-tiny", torch.device("cpu"), 224)
    images = tiny.encode_images(torch.rand(3, 3, 224, 224, generator=torch.Generator().manual_seed(0)))
    texts = tiny.encode_texts(["a chair", "a red box"])
    assert images.shape == (3, 32) and texts.shape == (2, 32)
    assert images.dtype == texts.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(images, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(texts, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(images[0], images[1]) and not np.allclose(texts[0], texts[1])


def test_images_are_normalised_with_the_models_mean_and_std(tiny):
    batch = torch.rand(2, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in (open_clip.OPENAI_DATASET_MEAN, open_clip.OPENAI_DATASET_STD))
    with torch.no_grad():
        expected = torch.nn.functional.normalize(tiny.model.encode_image((batch - mean) / std), dim=-1).numpy()
    np.testing.assert_allclose(tiny.encode_images(batch), expected, atol=1e-5)


def test_image_normalization_reads_the_models_preprocessing():
    model = torch.nn.Module()
    model.visual = torch.nn.Module()
    model.visual.preprocess_cfg = {"mean": (0.5, 0.4, 0.3), "std": (0.2, 0.25, 0.3)}
    mean, std = openclip.image_normalization(model)
    assert mean.shape == std.shape == (1, 3, 1, 1)
    assert mean.flatten().tolist() == pytest.approx([0.5, 0.4, 0.3]) and std.flatten().tolist() == pytest.approx([0.2, 0.25, 0.3])


def test_weights_of_another_architecture_are_one_clear_error(tiny_checkpoint, tmp_path):
    damaged = tmp_path / "damaged.pt"
    damaged.write_bytes(b"not a checkpoint")
    for spec in (ModelSpec("semlat-toy", str(tiny_checkpoint)), ModelSpec("semlat-tiny", str(damaged))):
        with pytest.raises(SemlatError, match=f"could not load weights {spec.pretrained} into {spec.name}") as error:
            openclip.load(spec, torch.device("cpu"))
        assert "pass a checkpoint made for this architecture" in str(error.value) and "\n" not in str(error.value)
