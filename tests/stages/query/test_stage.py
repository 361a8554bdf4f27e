import numpy as np
import pytest

from semlat.encoders.openclip import ModelSpec, load_clip
from semlat.errors import SemlatError
from semlat.scoring.fusion import FUSIONS, SCORES
from semlat.stages.embed import embed_regions
from semlat.stages.masks import propose_regions
from semlat.stages.query.stage import query_images
from semlat.types import FeatureKey
from semlat.workspace import Workspace


@pytest.fixture
def embedded(tmp_path, images_dir, tiny_checkpoint):
    propose_regions(Workspace.open_or_create(tmp_path / "ws"), images_dir, backend="classical", max_regions=8)
    spec = ModelSpec("semlat-tiny", str(tiny_checkpoint))
    key = embed_regions(tmp_path / "ws", spec, device="cpu")
    return tmp_path / "ws", key, spec


def test_a_region_embedded_as_the_prompt_wins_it_over_its_mask(embedded):
    workspace, key, spec = embedded
    from semlat.workspace import Workspace

    ws = Workspace.open(workspace)
    image = ws.images()[1]
    prompts = ["zebra", "teapot", "harbour"]
    zebra = load_clip(spec, "cpu").encode_texts(prompts)[0]
    ids, vectors = ws.embeddings(key, image)
    target = 2
    vectors[ids.tolist().index(target)] = zebra
    planted = FeatureKey(key.region_set, key.model_key, "planted")
    ws.claim_config("feature_sets", str(planted), {"strategy": "test"}, hint="")
    ws.write_embeddings(planted, image.image_id, ids, vectors)

    (result,) = query_images(
        workspace, prompts, images=[image.file_name], key=planted, fusion="region", score="cosine", text_model=spec, device="cpu"
    )
    mask = ws.regions(key.region_set, image)[target].mask()
    winners = result.maps.argmax(axis=0)
    assert (winners[mask] == 0).all()
    np.testing.assert_allclose(result.maps[0][mask], 1.0, atol=1e-5)


@pytest.mark.parametrize("fusion", FUSIONS)
@pytest.mark.parametrize("score", SCORES)
def test_every_fusion_and_score_gives_bounded_full_size_maps(embedded, fusion, score):
    workspace, key, spec = embedded
    results = list(query_images(workspace, ["a", "b"], fusion=fusion, score=score, device="cpu"))
    assert len(results) == 3
    for result in results:
        assert result.maps.shape == (2, result.image.height, result.image.width)
        assert np.isfinite(result.maps).all()
        low = -1.0 if score == "cosine" else 0.0
        assert result.maps.min() >= low - 1e-6 and result.maps.max() <= 1.0 + 1e-6


def test_unknown_fusion_or_score_fails_before_work(embedded):
    workspace, _, _ = embedded
    with pytest.raises(SemlatError, match="unknown fusion"):
        next(query_images(workspace, ["a"], fusion="mean"))
    with pytest.raises(SemlatError, match="unknown score"):
        next(query_images(workspace, ["a"], score="max"))


def test_levels_select_regions(embedded):
    workspace, key, _ = embedded
    from semlat.types import Region
    from semlat.workspace import Workspace

    ws = Workspace.open(workspace)
    image = ws.images()[0]
    regions = ws.regions(key.region_set, image)
    # Mark the first region as a part (level 1) of the image: querying level 0 must ignore it.
    relevelled = [Region(r.region_id, r.rle, r.label, 1 if r.region_id == 0 else 0, r.score, r.bbox, r.area) for r in regions]
    ws.write_regions(key.region_set, image.image_id, relevelled)
    (everything,) = query_images(workspace, ["a", "b"], images=[image.file_name], score="cosine", fusion="region", device="cpu")
    (level0,) = query_images(
        workspace, ["a", "b"], images=[image.file_name], score="cosine", fusion="region", device="cpu", levels=[0]
    )
    part = regions[0].mask()
    assert not np.allclose(everything.maps[:, part], level0.maps[:, part])
    np.testing.assert_allclose(everything.maps[:, ~part], level0.maps[:, ~part], atol=1e-6)
