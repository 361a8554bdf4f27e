"""`semlat label` on the two views of scikit-image's stereo motorcycle: SAM and CLIP descriptors, any backend."""

import shutil
from pathlib import Path

import numpy as np
import pytest

from semlat.regions import cache as cache_files
from semlat.stages.label import label_regions
from semlat.stages.masks import propose_regions
from semlat.types import FeatureKey
from semlat.workspace import Workspace
from tests.stereo import CLUSTERED, agreement

pytestmark = pytest.mark.slow


def test_label_relabels_any_region_set(stereo):
    folder, workspace, disparity = stereo
    ws = Workspace.open(workspace)
    propose_regions(ws, folder, backend="mobile-sam", region_set="levels", levels=True, **CLUSTERED)
    # SAM descriptors stored while proposing: no model needed
    result = label_regions(ws, "levels", method="kmeans", n_labels=6, descriptor="sam")
    assert result.descriptor == "sam" and result.n_labels == 6 and result.n_images == 2
    assert {r.label for record in ws.images() for r in ws.regions("levels", record)} == set(range(6))  # every region rewritten
    agree, chance = agreement(ws, "levels", disparity)
    print(f"semlat label (sam descriptors) agreement: {agree:.3f} (chance {chance:.3f})")
    assert agree > chance + 0.2
    # CLIP features win under "auto"
    key = FeatureKey("levels", "fake-clip")
    rng = np.random.default_rng(0)
    for record in ws.images():
        ids = [-1] + [r.region_id for r in ws.regions("levels", record)]
        ws.write_embeddings(key, record.image_id, ids, rng.normal(size=(len(ids), 8)).astype(np.float32))
    ws.manifest.feature_sets[str(key)] = {"model": "fake"}
    ws.save_manifest()
    result = label_regions(ws, "levels", method="kmeans", n_labels=3)
    assert result.descriptor == "clip" and result.n_labels == 3


def test_label_describes_regions_of_other_backends_with_sam(stereo, tmp_path):
    folder, workspace, disparity = stereo
    own = tmp_path / "ws"  # a workspace of its own, with a copy of the kept latents
    shutil.copytree(Path(workspace) / "cache" / "latents", own / "cache" / "latents")
    ws = Workspace.open_or_create(own)
    propose_regions(ws, folder, backend="classical", max_regions=12)
    latents = next((own / "cache" / "latents").iterdir())
    (latents / f"{ws.image('right.png').sha256}.npy").unlink()  # one view is encoded again, one reused
    result = label_regions(ws, "classical", method="kmeans", n_labels=4, descriptor="auto", device="cpu")
    assert result.descriptor == "sam" and result.n_labels == 4 and result.n_regions == 24
    labels = {r.label for record in ws.images() for r in Workspace.open(own).regions("classical", record)}
    assert labels == set(range(4))
    agree, chance = agreement(Workspace.open(own), "classical", disparity)
    print(f"semlat label on classical regions: agreement {agree:.3f} (chance {chance:.3f})")
    assert agree > chance
    assert cache_files.descriptors_path(cache_files.region_cache_dir(own, "classical"), 1).is_file()
