"""LangSplat's scene autoencoder (512 -> 3 -> 512), trained on an exported scene's features (``--autoencoder``).

LangSplat trains its Gaussians on 3-d codes of the 512-d features: ``autoencoder/train.py`` fits
an MLP on every row of ``language_features/*_f.npy`` and ``autoencoder/test.py`` writes the codes
to ``language_features_dim3/`` (and copies the ``_s.npy`` maps); its eval decodes rendered codes
with the same checkpoint. This module builds the same architecture with the same parameter
names (``autoencoder/model.py``: encoder 512-256-128-64-32-3 with BatchNorm and ReLU between the
linear layers, decoder 3-16-32-64-128-256-256-512 with ReLU; each side's output L2-normalised),
trains it with LangSplat's loss and optimiser (Adam, lr 1e-4, batches of 64, MSE + 0.001 × its
cosine term) and writes:

- ``language_features_dim3/<stem>_f.npy`` (N, 3) float32 and a copy of ``<stem>_s.npy``;
- ``ckpt/<scene name>/best_ckpt.pth``: the ``state_dict`` its ``test.py`` and eval load (pass
  ``--ae_ckpt_dir OUT/ckpt``, or copy it to ``autoencoder/ckpt/``).

The training rows are the scene's region features (memory grows with regions, never pixels).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from semlat.errors import SemlatError

if TYPE_CHECKING:
    from semlat.formats.export import ExportWriter

ENCODER_DIMS = (256, 128, 64, 32, 3)
DECODER_DIMS = (16, 32, 64, 128, 256, 256, 512)
INPUT_DIM = 512
FOLDER = "language_features_dim3"
EPOCHS = 100
LEARNING_RATE = 1e-4
BATCH_SIZE = 64


def build_autoencoder() -> Any:
    """An untrained module whose ``state_dict`` keys and shapes are those of LangSplat's ``Autoencoder``."""
    import torch
    from torch import nn

    class LanguageAutoencoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            encoder: list[nn.Module] = [nn.Linear(INPUT_DIM, ENCODER_DIMS[0])]
            for before, after in zip(ENCODER_DIMS[:-1], ENCODER_DIMS[1:]):
                encoder += [nn.BatchNorm1d(before), nn.ReLU(), nn.Linear(before, after)]
            decoder: list[nn.Module] = [nn.Linear(ENCODER_DIMS[-1], DECODER_DIMS[0])]
            for before, after in zip(DECODER_DIMS[:-1], DECODER_DIMS[1:]):
                decoder += [nn.ReLU(), nn.Linear(before, after)]  # LangSplat's decoder has no BatchNorm
            self.encoder = nn.ModuleList(encoder)
            self.decoder = nn.ModuleList(decoder)

        @staticmethod
        def _through(layers: nn.ModuleList, x: torch.Tensor) -> torch.Tensor:
            for layer in layers:
                x = layer(x)
            return x / x.norm(dim=-1, keepdim=True)

        def encode(self, x: torch.Tensor) -> torch.Tensor:
            return self._through(self.encoder, x)

        def decode(self, x: torch.Tensor) -> torch.Tensor:
            return self._through(self.decoder, x)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.decode(self.encode(x))

    return LanguageAutoencoder()


def train_autoencoder(rows: npt.NDArray[np.float32], *, epochs: int = EPOCHS, seed: int = 0) -> Any:
    """LangSplat's training loop on ``rows`` (M, 512); returns the module in eval mode (CPU)."""
    import torch

    if rows.ndim != 2 or rows.shape[1] != INPUT_DIM:
        raise SemlatError(
            f"--autoencoder needs {INPUT_DIM}-d features (LangSplat's autoencoder takes {INPUT_DIM}), these are {rows.shape[-1]}-d: "
            "export without --autoencoder"
        )
    if len(rows) < 2:
        raise SemlatError("--autoencoder needs at least two region features to train on: export more images or regions")
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = build_autoencoder()
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    data = torch.from_numpy(np.ascontiguousarray(rows, dtype=np.float32))
    model.train()
    for _ in range(epochs):
        for batch in torch.randperm(len(data), generator=generator).split(BATCH_SIZE):
            if len(batch) < 2:  # BatchNorm cannot train on one row
                continue
            target = data[batch]
            output = model.decode(model.encode(target))
            l2 = ((output - target) ** 2).mean()
            cosine = 1 - torch.nn.functional.cosine_similarity(output, target, dim=0).mean()  # LangSplat's dim=0
            loss = l2 + 0.001 * cosine
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model.eval()


def encode_rows(model: Any, rows: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """(N, 3) codes of (N, 512) rows, as ``autoencoder/test.py`` computes them."""
    import torch

    if len(rows) == 0:
        return np.zeros((0, ENCODER_DIMS[-1]), np.float32)
    with torch.no_grad():
        return model.encode(torch.from_numpy(np.ascontiguousarray(rows, dtype=np.float32))).numpy().astype(np.float32)


def write_autoencoder(writer: ExportWriter, stems: Sequence[str], *, epochs: int = EPOCHS) -> None:
    """Train on the ``_f.npy`` files ``writer`` wrote for ``stems``, then write the codes, the maps' copies and the checkpoint."""
    import torch

    features = writer.folder
    rows = np.concatenate([np.load(features / f"{stem}_f.npy") for stem in stems])
    model = train_autoencoder(rows, epochs=epochs)
    del rows
    for stem in stems:
        code = encode_rows(model, np.load(features / f"{stem}_f.npy"))
        writer.write(f"{FOLDER}/{stem}_f.npy", lambda handle, a=code: np.save(handle, a, allow_pickle=False), beside=True)
        data = (features / f"{stem}_s.npy").read_bytes()
        writer.write(f"{FOLDER}/{stem}_s.npy", lambda handle, b=data: handle.write(b), beside=True)
    checkpoint = f"ckpt/{writer.out_dir.resolve().name}/best_ckpt.pth"
    writer.write(checkpoint, lambda handle: torch.save(model.state_dict(), handle), beside=True)
