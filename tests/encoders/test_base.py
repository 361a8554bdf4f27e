"""`ModelSpec`: a tag or a checkpoint file, what the manifest records, the stable key of the weights."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from semlat.encoders.base import ModelSpec


@pytest.mark.parametrize(
    ("pretrained", "checkpoint"),
    [
        ("laion2b_s34b_b88k", None),
        ("openai", None),
        ("weights.pt", Path("weights.pt")),
        ("model.safetensors", Path("model.safetensors")),
        ("open_clip_pytorch_model.bin", Path("open_clip_pytorch_model.bin")),
        ("epoch_5.pth", Path("epoch_5.pth")),
        ("runs/latest", Path("runs/latest")),  # a separator makes it a path whatever its suffix
        ("C:\\models\\clip", Path("C:\\models\\clip")),
        ("~/clip.pt", Path.home() / "clip.pt"),
    ],
)
def test_a_path_or_a_checkpoint_suffix_names_a_file_anything_else_a_tag(pretrained, checkpoint):
    assert ModelSpec("ViT-B-16", pretrained).checkpoint() == checkpoint


def test_a_tag_is_recorded_and_keyed_by_name():
    spec = ModelSpec("ViT-B-16", "laion2b_s34b_b88k")
    assert spec.record() == {"name": "ViT-B-16", "pretrained": "laion2b_s34b_b88k", "checkpoint_sha256": None}
    assert spec.key() == "ViT-B-16:laion2b_s34b_b88k"


def test_a_checkpoint_is_recorded_by_absolute_path_and_keyed_by_content(tmp_path, monkeypatch):
    (tmp_path / "a.pt").write_bytes(b"weights")
    (tmp_path / "b.pt").write_bytes(b"weights")
    digest = hashlib.sha256(b"weights").hexdigest()
    monkeypatch.chdir(tmp_path)
    spec = ModelSpec("semlat-tiny", "a.pt")
    assert spec.record() == {"name": "semlat-tiny", "pretrained": str(tmp_path / "a.pt"), "checkpoint_sha256": digest}
    assert spec.key() == f"semlat-tiny:sha256-{digest[:16]}"
    assert ModelSpec("semlat-tiny", str(tmp_path / "b.pt")).key() == spec.key()  # a copy elsewhere is the same model
    (tmp_path / "a.pt").write_bytes(b"retrained")
    assert spec.key() != ModelSpec("semlat-tiny", "b.pt").key()
