"""`semlat serve`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from semlat.cli.app import app, err, out
from semlat.cli.options import Device, TextModel, TextPretrained, Workspace_, bounded

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765

PORT = bounded(1, 65535)


@app.command()
def serve(
    workspace: Workspace_,
    host: Annotated[
        str, typer.Option(help="Address to listen on; anything but loopback lets others read the scene.")
    ] = DEFAULT_HOST,
    port: Annotated[int, typer.Option(help="Port to listen on.", callback=PORT)] = DEFAULT_PORT,
    open_browser: Annotated[bool, typer.Option("--open", help="Open the page in the default browser.")] = False,
    report: Annotated[
        Optional[Path], typer.Option(help="A `semlat metrics` output folder to show (report.html, metrics.json).")
    ] = None,
    model: TextModel = None,
    pretrained: TextPretrained = None,
    device: Device = "auto",
) -> None:
    """A local web viewer: gallery, regions across views, prompts as heatmaps, search, the consistency report."""
    import uvicorn

    from semlat.encoders import model_spec
    from semlat.serve import LOCAL_HOSTS, Viewer, create_app

    viewer = Viewer(workspace, report=report, device=device, text_model=model_spec(model, pretrained) if model else None)
    local = host in LOCAL_HOSTS
    if not local:
        err.print(f"warning: serving on {host}: anyone who can reach this address can see the scene's images", highlight=False)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://{f'[{shown}]' if ':' in shown else shown}:{port}/"  # an IPv6 address goes in brackets
    out.print(f"semlat serve: {url} (Ctrl+C to stop)", highlight=False)
    if open_browser:
        import threading
        import webbrowser

        threading.Timer(1.0, webbrowser.open, (url,)).start()
    hosts = LOCAL_HOSTS if local else ["*"]
    uvicorn.run(create_app(viewer, hosts=hosts), host=host, port=port, log_level="warning")
