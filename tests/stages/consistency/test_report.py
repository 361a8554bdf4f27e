"""The metrics report: metrics.json, the plots and one self-contained report.html."""

import json

import numpy as np
from PIL import Image

from semlat.stages.consistency import compute_metrics, write_report
from tests.stages.consistency.conftest import basis, unit

E1, E2, E3 = basis(0), basis(1), basis(2)


def test_report_is_self_contained(make_ws, tmp_path):
    rng = np.random.default_rng(1)
    labels = [[0, 1, 2, -1]] * 5
    vectors = [
        [unit(E1 + 0.1 * rng.normal(size=6)), unit(E2 + 0.1 * rng.normal(size=6)), unit(E3 + 0.1 * rng.normal(size=6)), basis(4)]
        for _ in range(5)
    ]
    ws = make_ws(labels, vectors)
    html_path = write_report(compute_metrics(ws), tmp_path / "out")
    out = html_path.parent
    for name in (
        "metrics.json",
        "labels.png",
        "similarity.png",
        "embedding_labels.png",
        "embedding_position.png",
        "hints/label_0.png",
    ):
        assert (out / name).is_file(), name
    text = html_path.read_text()
    assert text.count("data:image/png;base64,") == 4 + 3  # bars, heatmap, 2 scatters, 3 hint sheets
    assert 'src="http' not in text and "<script" not in text
    data = json.loads((out / "metrics.json").read_text())
    assert data["label_ids"] == [0, 1, 2] and len(data["labels"]) == 3 and data["summary"]["regions"] == 20
    sheet = np.asarray(Image.open(out / "hints/label_0.png"))
    assert sheet.shape[1] == 5 * 128 + 4 * 4  # one crop from each of the 5 images


def test_report_of_a_single_label_and_a_missing_photo(make_ws, tmp_path):
    ws = make_ws([[0, -1], [0]], [[E1, E2], [E1]])
    (tmp_path / "images" / "view_01.png").unlink()
    text = write_report(compute_metrics(ws), tmp_path / "one").read_text()
    assert "label 0" in text and "could not be read" in text and "view_01.png" in text
    assert (tmp_path / "one" / "similarity.png").is_file()


def test_without_hints_no_image_is_read(make_ws, tmp_path):
    ws = make_ws([[0, 1], [0, 1]], [[E1, E2], [E1, unit(E2 + 0.1 * E3)]])
    for photo in (tmp_path / "images").iterdir():
        photo.unlink()
    metrics = compute_metrics(ws)
    text = write_report(metrics, tmp_path / "out", hints=False).read_text()
    assert "hint sheets not drawn" in text and "could not be read" not in text
    assert not (tmp_path / "out" / "hints").exists()
    assert text.count("data:image/png;base64,") == 4
    assert json.loads((tmp_path / "out" / "metrics.json").read_text()) == json.loads(json.dumps(metrics.to_json()))
