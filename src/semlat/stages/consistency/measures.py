"""The original's consistency numbers as pure numpy functions on (members, D) arrays.

Kept free of workspaces so every number can be checked on hand-built vectors.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from semlat.vectors import normalize

TRIM_FRACTION = 0.2
"""Share of a label's members (those least like the plain mean) left out of its robust prototype."""


def intra_label_variance(members: npt.NDArray[np.floating]) -> float:
    """The original's intra-label number: variance of the members' L2 distances to their (plain) mean.

    Low means the members sit at a similar distance from the centre; it is 0 for one member.
    """
    members = np.asarray(members, dtype=np.float64)
    distances = np.linalg.norm(members - members.mean(axis=0), axis=1)
    return float(distances.var())


def mean_cosine_to_prototype(members: npt.NDArray[np.floating], prototype: npt.NDArray[np.floating] | None = None) -> float:
    """Mean cosine of the members to the prototype (default: their mean); 1 means all agree."""
    members = np.asarray(members, dtype=np.float64)
    prototype = members.mean(axis=0) if prototype is None else np.asarray(prototype, dtype=np.float64)
    return float(np.mean(normalize(members).astype(np.float64) @ normalize(prototype).astype(np.float64)))


def label_means(
    vectors: npt.NDArray[np.floating], labels: npt.NDArray[np.integer], label_ids: npt.NDArray[np.integer]
) -> npt.NDArray[np.float64]:
    """(L, D) plain mean of each label's members, in ``label_ids`` order (the original's prototypes)."""
    vectors = np.asarray(vectors, dtype=np.float64)
    index = np.searchsorted(label_ids, labels)
    sums = np.zeros((len(label_ids), vectors.shape[1]))
    np.add.at(sums, index, vectors)
    counts = np.bincount(index, minlength=len(label_ids)).astype(np.float64)
    return sums / np.maximum(counts, 1.0)[:, None]


def similarity_matrix(prototypes: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    """Cosine matrix of the prototypes after subtracting their overall mean (the original's S).

    Centring removes what all labels share (CLIP features of one scene sit in a narrow cone), so
    S measures how labels differ. A prototype equal to the overall mean (e.g. the only label, or
    two identical labels) has no direction: its off-diagonal cosines are 0 and its diagonal 1.
    """
    prototypes = np.asarray(prototypes, dtype=np.float64)
    centred = normalize(prototypes - prototypes.mean(axis=0)).astype(np.float64)
    similarity = centred @ centred.T
    np.fill_diagonal(similarity, 1.0)
    return similarity


def overall_similarity(similarity: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    """Per label: column sum of S minus its own 1 (the original's "overall similarity"; lower is better)."""
    return np.asarray(similarity, dtype=np.float64).sum(axis=0) - 1.0


def trimmed_members(members: npt.NDArray[np.floating], trim: float = TRIM_FRACTION) -> npt.NDArray[np.bool_]:
    """Which members a robust prototype trusts: all but the ``floor(trim · n)`` least like the plain mean.

    So 1–4 members with trim 0.2 are all trusted; the ones left out are the likeliest mislabelled.
    """
    members = normalize(members).astype(np.float64)
    keep = np.ones(len(members), bool)
    drop = int(np.floor(trim * len(members)))
    if drop > 0:
        cosines = members @ normalize(members.mean(axis=0)).astype(np.float64)
        keep[np.argsort(cosines, kind="stable")[:drop]] = False
    return keep


def robust_prototype(members: npt.NDArray[np.floating], trim: float = TRIM_FRACTION) -> npt.NDArray[np.float32]:
    """Trimmed-mean prototype, unit length: why not the plain mean? One mislabelled region pulls it.

    The mean of the members `trimmed_members` trusts, normalised.
    """
    members = normalize(members)
    return normalize(members[trimmed_members(members, trim)].mean(axis=0))
