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
        (b'{"feature_sets": {"a//raw": {}}}', "region_set/model/feature_set"),
        (b'{"format": "1"}', "'format' is '1'"),
        (b'{"format": 0}', "not a format version"),
        (b'{"packages": {"numpy": 2}}', "'packages' is not an object of texts"),
        (b'{"created": 5}', "'created' is not a text"),
        (b'{"embedding_dim": -4}', "'embedding_dim' is not a number"),
    ],
)
def test_a_damaged_manifest_is_one_clear_error(tmp_path, content, problem):
    (tmp_path / "semlat.json").write_bytes(content)
    with pytest.raises(SemlatError, match="is corrupt") as info:
        Workspace.open(tmp_path)
    assert problem in str(info.value) and "\n" not in str(info.value)


def test_an_older_manifest_without_labels_or_index_opens(tmp_path):
    (tmp_path / "semlat.json").write_text(json.dumps({"format": 1, "region_sets": {"a": {"backend": "classical"}}}))
    (tmp_path / "db").mkdir()
    ws = Workspace.open(tmp_path)
    assert ws.manifest.labels == {} and ws.manifest.index is None and ws.region_sets() == ["a"]
    assert ws.manifest.scene is None and ws.cameras() == {}


def test_a_newer_format_is_refused_with_its_number_and_never_written(tmp_path):
    content = json.dumps({"format": FORMAT_VERSION + 98, "region_sets": {}}).encode()
    (tmp_path / "semlat.json").write_bytes(content)
    (tmp_path / "db").mkdir()
    with pytest.raises(SemlatError, match=f"has format {FORMAT_VERSION + 98}, newer than the {FORMAT_VERSION}"):
        Workspace.open(tmp_path)
    with pytest.raises(SemlatError, match="newer"):
        Workspace.open_or_create(tmp_path)
    assert (tmp_path / "semlat.json").read_bytes() == content
    with pytest.raises(SemlatError, match="writes only format"):
        Manifest(format=FORMAT_VERSION + 1).write(tmp_path / "other.json")
    assert not (tmp_path / "other.json").exists()
