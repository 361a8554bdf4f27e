"""LangSplat's autoencoder: our checkpoint loads into LangSplat's own module, and its codes are what test.py writes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn

from semlat.errors import SemlatError
from semlat.formats.langsplat import LangSplatSettings, export_langsplat
from semlat.formats.langsplat_autoencoder import build_autoencoder, encode_rows
from tests.formats.conftest import build
from tests.formats.test_langsplat import autoencoder_dataset, get_language_feature


class Autoencoder(nn.Module):
    """LangSplat ``autoencoder/model.py::Autoencoder`` as it is (its decoder BatchNorms go to a list no module keeps)."""

    def __init__(self, encoder_hidden_dims, decoder_hidden_dims):
        super().__init__()
        encoder_layers = []
        for i in range(len(encoder_hidden_dims)):
            if i == 0:
                encoder_layers.append(nn.Linear(512, encoder_hidden_dims[i]))
            else:
                encoder_layers.append(torch.nn.BatchNorm1d(encoder_hidden_dims[i - 1]))
                encoder_layers.append(nn.ReLU())
                encoder_layers.append(nn.Linear(encoder_hidden_dims[i - 1], encoder_hidden_dims[i]))
        self.encoder = nn.ModuleList(encoder_layers)
        decoder_layers = []
        for i in range(len(decoder_hidden_dims)):
            if i == 0:
                decoder_layers.append(nn.Linear(encoder_hidden_dims[-1], decoder_hidden_dims[i]))
            else:
                encoder_layers.append(torch.nn.BatchNorm1d(decoder_hidden_dims[i - 1]))
                decoder_layers.append(nn.ReLU())
                decoder_layers.append(nn.Linear(decoder_hidden_dims[i - 1], decoder_hidden_dims[i]))
        self.decoder = nn.ModuleList(decoder_layers)

    def forward(self, x):
        x = self.encode(x)
        return self.decode(x)

    def encode(self, x):
        for m in self.encoder:
            x = m(x)
        x = x / x.norm(dim=-1, keepdim=True)
        return x

    def decode(self, x):
        for m in self.decoder:
            x = m(x)
        x = x / x.norm(dim=-1, keepdim=True)
        return x


def reconstruction(model, rows: np.ndarray) -> float:
    with torch.no_grad():
        out = model(torch.from_numpy(rows)).numpy()
    return float(np.mean(np.sum(out * rows, axis=1)))


def test_langsplat_loads_the_checkpoint_and_reads_the_codes(tmp_path):
    case = build(tmp_path / "ws", dim=512)
    out = tmp_path / "scene"
    export_langsplat(case.ws, out, LangSplatSettings(autoencoder=True, epochs=20))
    model = Autoencoder([256, 128, 64, 32, 3], [16, 32, 64, 128, 256, 256, 512])
    model.load_state_dict(torch.load(out / "ckpt" / "scene" / "best_ckpt.pth"))  # test.py's load, strict
    model.eval()
    data, sizes = autoencoder_dataset(str(out / "language_features"))
    for name in sizes:  # test.py: model.encode of the rows, saved per image; the _s maps copied
        stem = name[: -len("_f")]
        codes = np.load(out / "language_features_dim3" / f"{stem}_f.npy")
        with torch.no_grad():
            expected = model.encode(torch.from_numpy(np.load(out / "language_features" / f"{stem}_f.npy"))).numpy()
        np.testing.assert_allclose(codes, expected, atol=1e-6)
        assert codes.shape[1] == 3
        assert (out / "language_features_dim3" / f"{stem}_s.npy").read_bytes() == (
            out / "language_features" / f"{stem}_s.npy"
        ).read_bytes()
        feature, mask = get_language_feature(
            str(out / "language_features_dim3"), stem, 3, *np.load(out / "language_features" / f"{stem}_s.npy").shape[1:]
        )
        assert feature.shape[0] == 3
    untrained = build_autoencoder()
    untrained.load_state_dict(model.state_dict())
    torch.manual_seed(0)
    fresh = build_autoencoder().eval()
    assert reconstruction(model, data) > reconstruction(fresh, data) + 0.05  # it learned the scene's features
    np.testing.assert_allclose(
        encode_rows(untrained.eval(), data[:4]), model.encode(torch.from_numpy(data[:4])).detach().numpy(), atol=1e-6
    )


def test_features_that_are_not_512_d_are_refused_before_writing(tmp_path):
    case = build(tmp_path / "ws")
    with pytest.raises(SemlatError, match="needs 512-d features"):
        export_langsplat(case.ws, tmp_path / "out", LangSplatSettings(autoencoder=True))
    assert not (tmp_path / "out").exists()
