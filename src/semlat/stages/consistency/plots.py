"""Figures of the consistency report, drawn with ``matplotlib.figure.Figure`` (no pyplot, no GUI)."""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib
import numpy as np
import numpy.typing as npt
from matplotlib.figure import Figure

from semlat.files import save_figure
from semlat.stages.consistency.metrics import Metrics

TSNE_MAX_POINTS = 3000
"""Above this many regions the 2-D embedding uses a fixed-seed random subset (t-SNE is O(n log n) but slow on 2 cores)."""


def label_colours(count: int) -> npt.NDArray[np.float64]:
    """Distinct RGBA colours for ``count`` labels (tab20, then hues spread around the wheel)."""
    if count <= 20:
        return matplotlib.colormaps["tab20"](np.arange(count) % 20)
    return matplotlib.colormaps["hsv"](np.linspace(0, 1, count, endpoint=False))


def embed_2d(
    vectors: npt.NDArray[np.floating], seed: int = 0, max_points: int = TSNE_MAX_POINTS
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """(row indices used, (n, 2) coordinates): scikit-learn t-SNE with a fixed seed, PCA for tiny sets."""
    n = len(vectors)
    rows = np.arange(n)
    if n > max_points:
        rows = np.sort(np.random.default_rng(seed).choice(n, max_points, replace=False))
    data = np.asarray(vectors, np.float64)[rows]
    if len(rows) < 8:  # t-SNE needs perplexity < n; with a handful of points PCA says as much
        centred = data - data.mean(axis=0)
        if len(rows) < 2 or not np.any(centred):
            return rows, np.zeros((len(rows), 2))
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        coords = centred @ vt[:2].T
        return rows, np.pad(coords, ((0, 0), (0, 2 - coords.shape[1])))
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    perplexity = float(min(30.0, (len(rows) - 1) / 3.0))
    # one OpenMP thread: the same picture on every machine, and no spin-waiting threads on a busy
    # one (15 points took 8 s with all threads on a loaded 2-core box, 0.15 s with one)
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore")
        tsne = TSNE(2, perplexity=perplexity, init="pca", metric="cosine", random_state=seed)
        return rows, tsne.fit_transform(data)


def yuv_colours(coords: npt.NDArray[np.floating], luminance: float = 0.5) -> npt.NDArray[np.float64]:
    """The original's continuous colouring: fixed Y, U and V from the min-max scaled 2-D position, BT.601 YUV→RGB."""
    coords = np.asarray(coords, np.float64)
    span = np.ptp(coords, axis=0)
    unit = (coords - coords.min(axis=0)) / np.where(span > 0, span, 1.0)
    u, v = 0.436 * (2 * unit[:, 0] - 1), 0.615 * (2 * unit[:, 1] - 1)
    rgb = np.stack([luminance + 1.13983 * v, luminance - 0.39465 * u - 0.58060 * v, luminance + 2.03211 * u], axis=1)
    return np.clip(rgb, 0.0, 1.0)


def label_bars(metrics: Metrics, path: Path) -> Path:
    """Per-label bars: intra-label variance, mean cosine, overall similarity, members, images."""
    ids = [str(x) for x in metrics.label_ids]
    panels = [
        ("intra-label variance (lower: tighter)", [s.intra_variance for s in metrics.labels]),
        ("mean cosine to prototype (higher: views agree)", [s.mean_cosine for s in metrics.labels]),
        ("overall similarity (lower: more distinct)", [s.overall_similarity for s in metrics.labels]),
        ("member regions", [s.members for s in metrics.labels]),
        ("images", [s.images for s in metrics.labels]),
    ]
    width = max(6.0, 0.28 * len(ids) + 2)
    fig = Figure(figsize=(width, 2.0 * len(panels)), layout="constrained")
    colours = label_colours(len(ids))
    for index, (title, values) in enumerate(panels):
        ax = fig.add_subplot(len(panels), 1, index + 1)
        ax.bar(ids, values, color=colours)
        ax.set_title(title, fontsize=9)
        ax.tick_params(labelsize=7)
        if index == len(panels) - 1:
            ax.set_xlabel("label")
    save_figure(path, fig, dpi=100)
    return path


def similarity_heatmap(metrics: Metrics, path: Path) -> Path:
    """Annotated heatmap of the centred-prototype cosines (annotations up to 30 labels)."""
    count = len(metrics.label_ids)
    size = max(4.0, 0.45 * count + 2)
    fig = Figure(figsize=(size, size * 0.85), layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(metrics.similarity, cmap="coolwarm", vmin=-1, vmax=1)
    ticks = np.arange(count)
    ax.set_xticks(ticks, [str(x) for x in metrics.label_ids], fontsize=7, rotation=90)
    ax.set_yticks(ticks, [str(x) for x in metrics.label_ids], fontsize=7)
    if count <= 30:
        for i in range(count):
            for j in range(count):
                ax.text(j, i, f"{metrics.similarity[i, j]:.2f}", ha="center", va="center", fontsize=6 if count > 12 else 8)
    ax.set_title("cosine of centred label prototypes")
    fig.colorbar(image, ax=ax, shrink=0.8)
    save_figure(path, fig, dpi=100)
    return path


def embedding_scatters(metrics: Metrics, by_label: Path, by_position: Path, seed: int = 0) -> tuple[Path, Path]:
    """2-D embedding of all labelled region features, coloured by label and by position (YUV)."""
    table = metrics.table
    mask = table.labelled
    rows, coords = embed_2d(table.vectors[mask], seed)
    labels = table.labels[mask][rows]
    index = np.searchsorted(np.asarray(metrics.label_ids), labels)
    colours = label_colours(len(metrics.label_ids))
    subset = f" (random {len(rows)} of {int(mask.sum())})" if len(rows) < mask.sum() else ""
    for path, colour, title in (
        (by_label, colours[index], f"region features by label{subset}"),
        (by_position, yuv_colours(coords), f"region features, colour = 2-D position{subset}"),
    ):
        fig = Figure(figsize=(6.5, 6), layout="constrained")
        ax = fig.add_subplot()
        ax.scatter(coords[:, 0], coords[:, 1], c=colour, s=12, linewidths=0)
        if path == by_label and len(metrics.label_ids) <= 20:
            for i, label in enumerate(metrics.label_ids):
                ax.scatter([], [], color=colours[i], label=str(label), s=20)
            ax.legend(title="label", fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
        save_figure(path, fig, dpi=100)
    return by_label, by_position
