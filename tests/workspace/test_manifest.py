import json

import pytest

from semlat.errors import SemlatError
from semlat.workspace import Workspace
from semlat.workspace.manifest import FORMAT_VERSION, Manifest


def test_round_trip_keeps_every_section(tmp_path):
    manifest = Manifest(embedding_dim=64, index={"index_type": "IVF_PQ"}, scene={"kind": "colmap", "cameras": 3})
    manifest.region_sets["classical"] = {"backend": "classical", "params": {"max_regions": 64}}
    manifest.labels["classical"] = {"descriptor": "clip", "n_labels": 15}
    manifest.write(tmp_path / "semlat.json")
    read = Manifest.read(tmp_path / "semlat.json")
    assert read == manifest and read.format == FORMAT_VERSION
    assert set(json.loads((tmp_path / "semlat.json").read_text())) >= {"labels", "index", "region_sets", "packages"}


@pytest.mark.parametrize(
    "content, problem",
    [
        (b"[1, 2]", "a JSON list"),
        (b'"text"', "a JSON str"),
        (b"\xff\xfe{}", "corrupt"),
        (b"{", "corrupt"),
        (b'{"feature_sets": {"raw": {}}}', "region_set/model/feature_set"),
        (b'{"region_sets": []}', "'region_sets' is not an object"),
        (b'{"embedding_dim": "512"}', "'embedding_dim' is not a number"),
        (b'{"index": 3}', "'index' is not an object"),
        (b'{"scene": [1]}', "'scene' is not an object"),
    ],
)
def test_a_damaged_manifest_is_one_clear_error(tmp_path, content, problem):
    (tmp_path / "semlat.json").write_bytes(content)
    with pytest.raises(SemlatError, match="is corrupt") as info:
        Workspace.open(tmp_path)
    assert problem in str(info.value) and "\n" not in str(info.value)


def test_an_older_manifest_without_labels_or_index_opens(tmp_path):
    (tmp_path / "semlat.json").write_text(json.dumps({"format": 1, "region_sets": {"a": {"backend": "classical"}}}))
    ws = Workspace.open(tmp_path)
    assert ws.manifest.labels == {} and ws.manifest.index is None and ws.region_sets() == ["a"]
    assert ws.manifest.scene is None and ws.cameras() == {}
