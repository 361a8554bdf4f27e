import json

import numpy as np
import pytest

from semlat.encoders import ModelSpec, load_encoder
from semlat.errors import SemlatError
from semlat.scoring import CANONICAL_PHRASES, FUSIONS, SCORES, score_maps
from semlat.stages.embed import embed_regions
from semlat.stages.masks import propose_regions
from semlat.stages.query.stage import query_images, query_to_files
from semlat.types import FeatureKey
from semlat.workspace import Workspace


@pytest.fixture
def embedded(tmp_path, images_dir, tiny_checkpoint):
    ws = Workspace.open_or_create(tmp_path / "ws")
    propose_regions(ws, images_dir, backend="classical", max_regions=8)
    spec = ModelSpec("semlat-tiny", str(tiny_checkpoint))
    key = embed_regions(ws, model=spec, device="cpu")
    return ws, key, spec


def test_a_region_embedded_as_the_prompt_wins_it_over_its_mask(embedded):
    ws, key, spec = embedded
    image = ws.images()[1]
    prompts = ["zebra", "teapot", "harbour"]
    zebra = load_encoder(spec, "cpu").encode_texts(prompts)[0]
    ids, vectors = ws.embeddings(key, image)
    target = 2
    vectors[ids.tolist().index(target)] = zebra
    planted = FeatureKey(key.region_set, key.model_key, "planted")
    ws.claim_config("feature_sets", str(planted), {"strategy": "test"}, hint="")
    ws.write_embeddings(planted, image.image_id, ids, vectors)

    (result,) = query_images(
        ws, prompts, images=[image.file_name], key=planted, fusion="region", score="cosine", text_model=spec, device="cpu"
    )
    mask = ws.regions(key.region_set, image)[target].mask()
    winners = result.maps.argmax(axis=0)
    assert (winners[mask] == 0).all()
    np.testing.assert_allclose(result.maps[0][mask], 1.0, atol=1e-5)


@pytest.mark.parametrize("fusion", FUSIONS)
@pytest.mark.parametrize("score", SCORES)
def test_every_fusion_and_score_answers_each_image_from_its_own_regions(embedded, fusion, score):
    ws, key, spec = embedded
    encoder = load_encoder(spec, "cpu")
    texts, canonical = encoder.encode_texts(["a", "b"]), encoder.encode_texts(list(CANONICAL_PHRASES))
    results = list(query_images(ws, ["a", "b"], fusion=fusion, score=score, device="cpu"))
    assert [result.image for result in results] == ws.images()
    for result in results:
        regions, vectors = ws.regions_and_features(key, result.image)
        expected = score_maps(
            [r.rle for r in regions], vectors[0], vectors[1:], texts,
            fusion=fusion, score=score, canonical_features=canonical, shape=(result.image.height, result.image.width),
        )  # fmt: skip
        np.testing.assert_allclose(result.maps, expected, atol=1e-6)
        if score == "softmax":
            np.testing.assert_allclose(result.maps.sum(axis=0), 1.0, atol=1e-5)


def test_unknown_fusion_or_score_fails_before_work(embedded):
    ws, _, _ = embedded
    with pytest.raises(SemlatError, match="unknown fusion"):
        next(query_images(ws, ["a"], fusion="mean"))
    with pytest.raises(SemlatError, match="unknown score"):
        next(query_images(ws, ["a"], score="max"))


def test_levels_select_regions(embedded):
    ws, key, _ = embedded
    from dataclasses import replace

    image = ws.images()[0]
    regions = ws.regions(key.region_set, image)
    # Mark the first region as a part (level 1) of the image: querying level 0 must ignore it.
    relevelled = [replace(r, level=1 if r.region_id == 0 else 0) for r in regions]
    ws.write_regions(key.region_set, image.image_id, relevelled)
    (everything,) = query_images(ws, ["a", "b"], images=[image.file_name], score="cosine", fusion="region", device="cpu")
    (level0,) = query_images(ws, ["a", "b"], images=[image.file_name], score="cosine", fusion="region", device="cpu", levels=[0])
    part = regions[0].mask()
    assert not np.allclose(everything.maps[:, part], level0.maps[:, part])
    np.testing.assert_allclose(everything.maps[:, ~part], level0.maps[:, ~part], atol=1e-6)


PROMPTS = ["red cube", "red-cube", "RED CUBE!", "segmentation", "日本", "ñ", "x" * 300]


def test_outputs_stay_inside_out_and_never_collide(tmp_path, tiny_checkpoint):
    from PIL import Image

    from tests.conftest import scene_image

    photos = tmp_path / "photos"
    photos.mkdir()
    for index, name in enumerate(["...png", "a.png", "a.bmp"]):
        Image.fromarray(scene_image(index)).save(photos / name, format="PNG" if name.endswith("png") else "BMP")
    ws = Workspace.open_or_create(tmp_path / "ws")
    propose_regions(ws, photos, backend="classical", max_regions=4)
    key = embed_regions(ws, model=ModelSpec("semlat-tiny", str(tiny_checkpoint)), device="cpu")
    out = tmp_path / "C" / "deep" / "out"
    query_to_files(ws, PROMPTS, out, key=key, save_maps=True, device="cpu")

    assert [p.name for p in out.parent.iterdir()] == ["out"] and [p.name for p in tmp_path.joinpath("C").iterdir()] == ["deep"]
    summary = json.loads((out / "query.json").read_text())
    assert sorted(summary["images"].values()) == ["...png", "a.bmp", "a.png"]  # three images, three folders
    files = summary["prompt_files"]
    assert list(files) == PROMPTS and len({name.casefold() for name in files.values()}) == len(PROMPTS)
    assert not {"segmentation.png", "maps.png"} & set(files.values())
    assert files["日本"] != files["ñ"] and all(len(name.encode()) <= 120 for name in files.values())
    for folder in summary["images"]:
        assert (out / folder).parent == out
        names = sorted(p.name for p in (out / folder).iterdir())
        assert names == sorted([*files.values(), "segmentation.png", "maps.npy"])
