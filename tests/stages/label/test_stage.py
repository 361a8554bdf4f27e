"""`semlat label`: instances from tracks, matches and appearance on small hand-made and toy scenes;
KMeans on the two views of scikit-image's stereo motorcycle (SAM and CLIP descriptors, any backend)."""

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


@pytest.mark.slow
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


@pytest.mark.slow
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


# -- the association methods --------------------------------------------------------------
ORDERS = [[0, 1, 2], [1, 2, 0], [2, 0, 1], [0, 2, 1]]
"""The instance each stripe of each image shows (stripe j of image i shows instance ORDERS[i][j])."""


def stripe_observations(n_points: int = 12, wrong: int = 0, seed: int = 0) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Observations of every instance's points inside its stripe (images 24x32, 3 stripes), per image id."""
    rng = np.random.default_rng(seed)
    observations = {}
    for image_id, order in enumerate(ORDERS):
        xy, ids = [], []
        for stripe, instance in enumerate(order):
            x = rng.uniform(stripe * 32 / 3 + 0.5, (stripe + 1) * 32 / 3 - 0.5, n_points)
            xy.append(np.stack([x, rng.uniform(0, 24, n_points)], axis=1))
            ids.append(instance * 1000 + np.arange(n_points))
        xy, ids = np.concatenate(xy).astype(np.float32), np.concatenate(ids)
        xy[:wrong] = rng.uniform(0, 24, (wrong, 2))  # wrong observations
        observations[image_id] = (xy, ids)
    return observations


def with_tracks(ws: Workspace, observations: dict[int, tuple[np.ndarray, np.ndarray]]) -> Workspace:
    """Store these SfM observations (per image id) in ``ws``."""
    from semlat.workspace import Observations, SceneTracks

    names = {record.image_id: record.file_name for record in ws.images()}
    ws.write_scene(None, SceneTracks({names[i]: Observations(xy, ids) for i, (xy, ids) in observations.items()}))
    return ws


def stripe_workspace(tmp_path, vectors=None) -> Workspace:
    from tests.stages.consistency.conftest import build_workspace

    return build_workspace(tmp_path, [[-1, -1, -1]] * len(ORDERS), vectors)


def labels_of(ws: Workspace) -> list[list[int]]:
    return [[r.label for r in ws.regions("test", record)] for record in ws.images()]


def assert_instances(labels: list[list[int]]) -> None:
    """Each true instance has one label, different instances different ones."""
    of_instance = {}
    for image_labels, order in zip(labels, ORDERS):
        for label, instance in zip(image_labels, order):
            of_instance.setdefault(instance, set()).add(label)
    assert all(len(v) == 1 for v in of_instance.values()), of_instance
    assert len({next(iter(v)) for v in of_instance.values()}) == 3


def test_tracks_give_the_true_instances_despite_wrong_observations(tmp_path):
    ws = with_tracks(stripe_workspace(tmp_path), stripe_observations(wrong=4))
    result = label_regions(ws, "test")  # auto: tracks, as the workspace has them
    assert (result.method, result.descriptor, result.n_labels, result.n_regions) == ("tracks", "none", 3, 12)
    assert_instances(labels_of(Workspace.open(ws.root)))
    assert ws.manifest.labels["test"] == {"method": "tracks", "descriptor": "none", "found": 3}


def test_regions_without_links_keep_their_own_instance_and_cannot_link_holds(tmp_path):
    observations = stripe_observations()
    xy, ids = observations[3]
    observations[3] = (xy, ids + 10**6)  # the last image shares no point: its regions stay alone
    ws = with_tracks(stripe_workspace(tmp_path), observations)
    result = label_regions(ws, "test", method="tracks")
    labels = labels_of(ws)
    assert result.n_labels == 6 and len(set(labels[3])) == 3 and not set(labels[3]) & set(sum(labels[:3], []))
    assert all(len(set(row)) == 3 for row in labels)  # never two regions of one image in one label


def test_appearance_links_mutual_neighbours_and_kmeans_stays_available(tmp_path):
    from tests.stages.consistency.conftest import basis, unit

    look = [unit(basis(i) + 0.05 * basis(5)) for i in range(3)]
    ws = stripe_workspace(tmp_path, [[look[i] for i in order] for order in ORDERS])
    result = label_regions(ws, "test", method="appearance")
    assert (result.method, result.descriptor, result.n_labels) == ("appearance", "clip", 3)
    assert_instances(labels_of(ws))
    result = label_regions(ws, "test", method="kmeans", n_labels=2)
    assert result.n_labels == 2 and ws.manifest.labels["test"]["n_labels"] == 2


def test_tracks_are_refused_without_a_model_and_bad_methods_are_named(tmp_path):
    from semlat.errors import SemlatError

    ws = stripe_workspace(tmp_path)
    with pytest.raises(SemlatError, match="no SfM tracks"):
        label_regions(ws, "test", method="tracks")
    with pytest.raises(SemlatError, match="unknown method 'graph'"):
        label_regions(ws, "test", method="graph")
    assert set(sum(labels_of(Workspace.open(ws.root)), [])) == {-1}  # nothing written


def test_a_scene_without_a_model_falls_back_to_matches(tmp_path):
    from semlat.imageio import list_images
    from semlat.ingest import scan_images
    from semlat_toy import read_ground_truth, write_scene
    from semlat_toy.instances import unlabelled_regions
    from semlat_toy.scene import WORLDS

    scene = write_scene(tmp_path / "scene", 0, n_views=4, width=192, height=144, world=WORLDS["hard"])
    truth = read_ground_truth(scene)
    ws = Workspace.open_or_create(tmp_path / "ws")
    ws.claim_config("region_sets", "test", {"backend": "test"}, hint="")
    records = ws.add_images(scan_images(list_images(scene / "images")))
    key = FeatureKey("test", "fake-clip")
    rng = np.random.default_rng(0)
    for record, instance in zip(records, truth.instances):
        regions = unlabelled_regions(instance)
        ws.write_regions("test", record.image_id, regions)
        ids = [-1] + [r.region_id for r in regions]
        ws.write_embeddings(key, record.image_id, ids, rng.normal(size=(len(ids), 32)).astype(np.float32))
    ws.manifest.feature_sets[str(key)] = {"model": "fake"}  # random descriptors: appearance links nothing
    assert not ws.has_tracks()
    result = label_regions(ws, "test")
    assert result.method == "matches+appearance" and result.n_labels < result.n_regions  # matches joined views
    true_of = {}
    for record, instance in zip(ws.images(), truth.instances):
        for region in ws.regions("test", record):
            true_of.setdefault(region.label, set()).add(int(np.bincount(instance[region.mask()]).argmax()))
    pure = [len(ids) == 1 for ids in true_of.values()]
    assert np.mean(pure) > 0.9  # what matches join is one instance
