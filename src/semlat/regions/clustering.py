"""PCA and KMeans for the clustered mask step: scikit-learn on CPU, torch on a GPU (no cuML).

Both paths are seeded, so a resumed run refits to the same clusters. torch is imported by the
GPU path only.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import torch


def pca(
    features: npt.NDArray[np.float32], dim: int, device: torch.device | None = None, seed: int = 0
) -> npt.NDArray[np.float32]:
    """Project (n, d) features on their first ``dim`` principal components."""
    dim = max(1, min(dim, features.shape[0], features.shape[1]))
    if device is not None and device.type == "cuda":
        import torch

        x = torch.as_tensor(features, device=device, dtype=torch.float32)
        x = x - x.mean(0, keepdim=True)
        _, vectors = torch.linalg.eigh(x.T @ x)
        return (x @ vectors[:, -dim:].flip(1)).cpu().numpy()
    from sklearn.decomposition import PCA

    if features.shape[0] < 2:
        return np.zeros((features.shape[0], dim), np.float32)
    return PCA(n_components=dim, svd_solver="full", random_state=seed).fit_transform(features).astype(np.float32)


def kmeans(
    features: npt.NDArray[np.float32], k: int, seed: int = 0, n_init: int = 4, device: torch.device | None = None
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """Cluster (n, d) features into at most ``k`` clusters: (labels, centers)."""
    n = features.shape[0]
    k = max(1, min(k, n))
    if device is not None and device.type == "cuda":
        import torch

        return _kmeans_torch(torch.as_tensor(features, device=device, dtype=torch.float32), k, seed, n_init)
    from sklearn.cluster import KMeans

    with warnings.catch_warnings():  # fewer distinct points than clusters is fine here
        warnings.simplefilter("ignore")
        model = KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(features)
    return model.labels_.astype(np.int64), model.cluster_centers_.astype(np.float32)


def _kmeans_torch(x: torch.Tensor, k: int, seed: int, n_init: int, iterations: int = 100):
    import torch

    generator = torch.Generator(device=x.device).manual_seed(seed)
    best = None
    for _ in range(n_init):
        centers = _plus_plus(x, k, generator)
        for _ in range(iterations):
            labels = torch.cdist(x, centers).argmin(1)
            sums = torch.zeros_like(centers).index_add_(0, labels, x)
            counts = torch.bincount(labels, minlength=k).clamp(min=1).unsqueeze(1).to(x.dtype)
            moved = torch.where(torch.bincount(labels, minlength=k).unsqueeze(1) > 0, sums / counts, centers)
            if torch.allclose(moved, centers):
                break
            centers = moved
        labels = torch.cdist(x, centers).argmin(1)
        inertia = float(((x - centers[labels]) ** 2).sum())
        if best is None or inertia < best[0]:
            best = (inertia, labels, centers)
    return best[1].cpu().numpy().astype(np.int64), best[2].cpu().numpy().astype(np.float32)


def _plus_plus(x: torch.Tensor, k: int, generator: torch.Generator) -> torch.Tensor:
    import torch

    first = torch.randint(x.shape[0], (1,), generator=generator, device=x.device)
    centers = [x[first[0]]]
    distance = ((x - centers[0]) ** 2).sum(1)
    for _ in range(1, k):
        if float(distance.sum()) <= 0:
            index = torch.randint(x.shape[0], (1,), generator=generator, device=x.device)[0]
        else:
            index = torch.multinomial(distance / distance.sum(), 1, generator=generator)[0]
        centers.append(x[index])
        distance = torch.minimum(distance, ((x - x[index]) ** 2).sum(1))
    return torch.stack(centers)
