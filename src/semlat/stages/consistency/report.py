"""The metrics report: metrics.json, PNG plots, hint sheets and one self-contained report.html.

The HTML embeds every picture as a base64 data URI and needs no script or server, so it can be
mailed or opened straight from disk.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

from semlat.files import output_dir, write_json, write_text
from semlat.stages.consistency.hints import write_hint_sheets
from semlat.stages.consistency.metrics import Metrics
from semlat.stages.consistency.plots import embedding_scatters, label_bars, similarity_heatmap

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3}img{max-width:100%;border:1px solid #ddd}.hint{margin:0.6em 0}
.small{font-size:12px;color:#555}.row{display:flex;gap:1em;flex-wrap:wrap}.row img{max-width:560px}
"""


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _img(path: Path, alt: str) -> str:
    return f'<img src="{_data_uri(path)}" alt="{html.escape(alt)}">'


def write_report(metrics: Metrics, out_dir: str | Path, hints: bool = True, seed: int = 0) -> Path:
    """Write metrics.json, the plots, the hint sheets and report.html into ``out_dir``; returns the HTML path.

    Args:
        metrics: from `compute_metrics`.
        out_dir: output folder (created).
        hints: also load images to draw the per-label hint sheets.
        seed: seed of the 2-D embedding.
    """
    with output_dir(out_dir) as out:
        write_json(out / "metrics.json", metrics.to_json(), sort_keys=False)
        bars = label_bars(metrics, out / "labels.png")
        heatmap = similarity_heatmap(metrics, out / "similarity.png")
        by_label, by_position = embedding_scatters(metrics, out / "embedding_labels.png", out / "embedding_position.png", seed)
        sheets, missing = write_hint_sheets(metrics, out) if hints else ({}, [])
        return write_text(out / "report.html", _html(metrics, bars, heatmap, by_label, by_position, sheets, missing))


def _html(
    metrics: Metrics, bars: Path, heatmap: Path, by_label: Path, by_position: Path, sheets: dict, missing: list[str]
) -> str:
    summary_rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{_fmt(v)}</td></tr>" for k, v in metrics.summary.items())
    label_rows = "".join(
        f"<tr><td>{s.label}</td><td>{s.members}</td><td>{s.images}</td><td>{s.intra_variance:.5f}</td>"
        f"<td>{s.mean_cosine:.4f}</td><td>{s.overall_similarity:.3f}</td></tr>"
        for s in metrics.labels
    )
    hint_blocks = "".join(
        f'<div class="hint"><b>label {label}</b> <span class="small">({html.escape(", ".join(names))})</span><br>{_img(path, f"label {label}")}</div>'
        for label, (path, names) in sheets.items()
    )
    warning = (
        f'<p class="small">Images that could not be read (left out of the hints): {html.escape(", ".join(missing))}</p>'
        if missing
        else ""
    )
    title = f"semlat consistency — {metrics.key}"
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>
<h1>{html.escape(title)}</h1>
<p class="small">workspace {html.escape(str(metrics.workspace))}</p>
<h2>Overall</h2><table>{summary_rows}</table>
<p class="small">Intra-label: variance of the members' L2 distances to their mean (the original's number) and mean cosine to
the label's mean direction. Inter-label: cosine of prototypes after subtracting their overall mean; overall similarity =
column sum − 1 (lower is better).</p>
<h2>Per label</h2>
<table><tr><th>label</th><th>regions</th><th>images</th><th>intra variance</th><th>mean cosine</th><th>overall similarity</th></tr>{label_rows}</table>
{_img(bars, "per-label bars")}
<h2>Label similarity</h2>{_img(heatmap, "similarity heatmap")}
<h2>2-D embedding of region features</h2><div class="row">{_img(by_label, "by label")}{_img(by_position, "by position")}</div>
<h2>What each label shows</h2>{warning}{hint_blocks or '<p class="small">(hint sheets not drawn)</p>'}
</body></html>
"""


def _fmt(value: float | int) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)
