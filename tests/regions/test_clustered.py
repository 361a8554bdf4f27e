"""Clustered mode (the original's mask step) on the two views of scikit-image's stereo motorcycle.

One MobileSAM run encodes both views (its latent cache is kept), and the other region sets of the
module reuse those latents, so only the decoder runs again.
"""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

from semlat.regions import cache as cache_files
from semlat.regions.clustered import ClusteredProposer
from semlat.stages.label import label_regions
from semlat.stages.masks import propose_regions
from semlat.types import FeatureKey
from semlat.workspace import Workspace, regions_stage

pytestmark = pytest.mark.slow
FAST = {"keep_latents": True, "device": "cpu"}


@pytest.fixture(scope="module")
def stereo(tmp_path_factory):
    left, right, disparity = data.stereo_motorcycle()
    folder = tmp_path_factory.mktemp("stereo")
    Image.fromarray(left).save(folder / "left.png")
    Image.fromarray(right).save(folder / "right.png")
    workspace = folder / "ws"
    propose_regions(workspace, folder, "mobile-sam", **FAST)
    return folder, workspace, disparity


def label_map(ws: Workspace, region_set: str, name: str) -> np.ndarray:
    """Each pixel's label: that of the smallest region holding it (-1 where none)."""
    record = ws.image(name)
    out = np.full((record.height, record.width), -1)
    for region in sorted(ws.regions(region_set, record), key=lambda r: -r.area):
        out[region.mask()] = region.label
    return out


def agreement(ws: Workspace, region_set: str, disparity: np.ndarray) -> tuple[float, float]:
    """Fraction of left pixels whose label equals the label at their ground-truth match, and chance."""
    left, right = label_map(ws, region_set, "left.png"), label_map(ws, region_set, "right.png")
    height, width = left.shape
    ys, xs = np.mgrid[:height, :width]
    finite = np.isfinite(disparity)
    matched = np.where(finite, np.round(xs - np.where(finite, disparity, 0)), -1).astype(int)
    valid = finite & (matched >= 0) & (matched < width)
    a, b = left[valid], right[ys[valid], matched[valid]]
    both = (a >= 0) & (b >= 0)
    a, b = a[both], b[both]
    chance = sum((a == k).mean() * (b == k).mean() for k in np.union1d(a, b))
    return float((a == b).mean()), float(chance)


def test_labels_agree_across_the_two_views(stereo):
    _, workspace, disparity = stereo
    ws = Workspace.open(workspace)
    agree, chance = agreement(ws, "mobile-sam", disparity)
    print(f"stereo_motorcycle label agreement: {agree:.3f} (chance {chance:.3f})")
    assert agree > max(0.6, chance + 0.25)
    for record in ws.images():
        regions = ws.regions("mobile-sam", record)
        assert [r.region_id for r in regions] == list(range(len(regions)))
        assert all(r.rle["size"] == [record.height, record.width] for r in regions)
        assert all(0 <= r.label < 15 and r.level == 0 and 0 < r.score < 1.5 for r in regions)
        assert len({r.label for r in regions}) == len(regions)  # one merged mask per label
    cache = cache_files.region_cache_dir(workspace, "mobile-sam")
    assert (cache / "clustering.npz").is_file() and (cache / "descriptors" / "0.npy").is_file()


def test_levels_keep_whole_part_and_subpart(stereo):
    folder, workspace, _ = stereo
    ws = propose_regions(workspace, folder, "mobile-sam", region_set="levels", levels=True, **FAST)
    regions = ws.regions("levels", ws.image("left.png"))
    by_label = {}
    for region in regions:
        by_label.setdefault(region.label, {})[region.level] = region.area
    assert {level for levels in by_label.values() for level in levels} == {0, 1, 2}
    for levels in by_label.values():
        if len(levels) == 3:
            assert levels[0] >= levels[1] >= levels[2]


def test_box_and_mask_prompts_also_agree(stereo):
    folder, workspace, disparity = stereo
    ws = propose_regions(workspace, folder, "mobile-sam", region_set="boxes", prompt="box-mask", **FAST)
    agree, chance = agreement(ws, "boxes", disparity)
    print(f"box+mask prompts: agreement {agree:.3f} (chance {chance:.3f})")
    assert agree > chance + 0.2


def test_components_prompt_each_connected_group_of_a_label():
    proposer = ClusteredProposer(components=True, min_component_cells=4)
    grid = np.full((64, 64), -1, np.int16)
    grid[2:6, 2:6] = 3  # two separate blobs of label 3
    grid[40:50, 40:50] = 3
    grid[20:21, 20:22] = 3  # a 2-cell speck: dropped
    grid[10:20, 30:40] = 7
    prompts = proposer._prompt_cells(grid)
    assert [label for label, _ in prompts] == [3, 3, 7]
    assert [int(cells.sum()) for _, cells in prompts] == [16, 100, 100]
    assert not prompts[0][1][40:50, 40:50].any()
    original = ClusteredProposer()._prompt_cells(grid)
    assert [(label, int(cells.sum())) for label, cells in original] == [(3, 118), (7, 100)]


def test_components_keep_labels_and_add_masks(stereo):
    folder, workspace, disparity = stereo
    ws = propose_regions(workspace, folder, "mobile-sam", region_set="components", components=True, **FAST)
    plain = Workspace.open(workspace)
    for record in ws.images():
        split, merged = ws.regions("components", record), plain.regions("mobile-sam", record)
        assert {r.label for r in split} == {r.label for r in merged}
        assert len(split) >= len(merged)
    agree, chance = agreement(ws, "components", disparity)
    print(f"components: agreement {agree:.3f} (chance {chance:.3f})")
    assert agree > chance + 0.2


class SimulatedKill(BaseException):
    pass


def test_a_killed_run_resumes_to_the_uninterrupted_result(stereo, monkeypatch):
    folder, workspace, _ = stereo
    original = Workspace.write_regions

    def killed_on_second(self, region_set, image_id, regions):
        if image_id == 1:
            raise SimulatedKill
        original(self, region_set, image_id, regions)

    monkeypatch.setattr(Workspace, "write_regions", killed_on_second)
    with pytest.raises(SimulatedKill):
        propose_regions(workspace, folder, "mobile-sam", region_set="resumed", **FAST)
    monkeypatch.setattr(Workspace, "write_regions", original)
    ws = Workspace.open(workspace)
    assert ws.done_images(regions_stage("resumed")) == {0}
    ws = propose_regions(workspace, folder, "mobile-sam", region_set="resumed", **FAST)
    for record in ws.images():
        clean, resumed = ws.regions("mobile-sam", record), ws.regions("resumed", record)
        assert [(r.rle, r.label, r.level) for r in clean] == [(r.rle, r.label, r.level) for r in resumed]


def test_label_relabels_any_region_set(stereo):
    folder, workspace, disparity = stereo
    ws = Workspace.open(workspace)
    # SAM descriptors stored while proposing: no model needed
    result = label_regions(ws, "levels", n_labels=6, descriptor="sam")
    assert result.descriptor == "sam" and result.n_labels == 6 and result.n_images == 2
    assert {r.label for r in ws.regions("levels", ws.image("left.png"))} <= set(range(6))
    agree, chance = agreement(ws, "levels", disparity)
    print(f"semlat label (sam descriptors) agreement: {agree:.3f} (chance {chance:.3f})")
    assert agree > chance + 0.2
    # CLIP features win under "auto"
    key = FeatureKey("boxes", "fake-clip")
    rng = np.random.default_rng(0)
    for record in ws.images():
        ids = [-1] + [r.region_id for r in ws.regions("boxes", record)]
        ws.write_embeddings(key, record.image_id, ids, rng.normal(size=(len(ids), 8)).astype(np.float32))
    ws.manifest.setdefault("feature_sets", {})[str(key)] = {"model": "fake"}
    ws.save_manifest()
    result = label_regions(ws, "boxes", n_labels=3)
    assert result.descriptor == "clip" and result.n_labels == 3


def test_label_describes_regions_of_other_backends_with_sam(stereo):
    folder, workspace, disparity = stereo
    ws = propose_regions(workspace, folder, "classical", max_regions=12)
    latents = next((Path(workspace) / "cache" / "latents").iterdir())
    (latents / f"{ws.image('right.png').sha256}.npy").unlink()  # one view is encoded again, one reused
    result = label_regions(workspace, "classical", n_labels=4, descriptor="auto", device="cpu")
    assert result.descriptor == "sam" and result.n_labels == 4 and result.n_regions == 24
    labels = {r.label for record in ws.images() for r in Workspace.open(workspace).regions("classical", record)}
    assert labels == set(range(4))
    agree, chance = agreement(Workspace.open(workspace), "classical", disparity)
    print(f"semlat label on classical regions: agreement {agree:.3f} (chance {chance:.3f})")
    assert agree > chance
    assert cache_files.descriptors_path(cache_files.region_cache_dir(workspace, "classical"), 1).is_file()
