"""The FastAPI app of `semlat serve`: a JSON and PNG API over a `Viewer`, and the static page.

Every request names images, regions, labels and feature sets by id; bad input is a 4xx with a
JSON ``{"error": ...}`` (a `SemlatError` 400, an unknown id 404, a malformed parameter 422), never
a 500. Only the hosts the server was bound for are answered (a page elsewhere cannot rebind its
name to this server and read the scene).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from importlib.resources import files
from typing import Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from semlat.errors import SemlatError
from semlat.serve.viewer import QuerySettings, UnknownId, Viewer

T = TypeVar("T")
STATIC = files("semlat.serve") / "static"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
"""Host names a loopback server answers to."""
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'self'"
    ),
}
PICTURE_HEADERS = {"Cache-Control": "private, max-age=600"}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("query", "path"))
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "bad request: " + "; ".join(parts)


def _host(request: Request) -> str:
    """The Host header without its port (``[::1]:8765`` → ``::1``)."""
    host = request.headers.get("host", "")
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _viewer(request: Request) -> Viewer:
    return request.app.state.viewer


def query_settings(
    request: Request,
    prompts: Annotated[str, Query(max_length=40_000)],
    features: Annotated[str | None, Query(max_length=1000)] = None,
    fusion: Annotated[str, Query(max_length=40)] = "sum",
    score: Annotated[str, Query(max_length=40)] = "softmax",
    normalize: Annotated[str, Query(max_length=40)] = "prompt",
    level: Annotated[list[int] | None, Query()] = None,
) -> QuerySettings:
    """A query's parameters, checked by the viewer before any work."""
    return _viewer(request).settings(prompts, features, fusion, score, normalize, level)


Settings = Annotated[QuerySettings, Depends(query_settings)]
RegionSet = Annotated[str | None, Query(max_length=1000)]


def create_app(viewer: Viewer, *, hosts: Sequence[str] = LOCAL_HOSTS, workers: int | None = None) -> FastAPI:
    """The app over ``viewer``, answering requests for ``hosts`` only (``"*"``: any).

    At most ``workers`` requests (default: one per CPU core) compute at a time; the others wait
    their turn, so a burst of clients queues instead of slowing every request down together.
    """
    app = FastAPI(title="semlat", docs_url=None, redoc_url=None, openapi_url=None)
    slots = threading.Semaphore(workers or os.cpu_count() or 1)
    app.state.viewer = viewer
    allowed = None if "*" in hosts else set(hosts)

    @app.middleware("http")
    async def guard_and_time(request: Request, call_next):
        if allowed is not None and _host(request) not in allowed:
            return _error(400, f"host {_host(request)!r} is not served here: open http://127.0.0.1:PORT/")
        start = time.perf_counter()
        response = await call_next(request)
        timing = f"app;dur={(time.perf_counter() - start) * 1000:.2f}"
        work = request.scope.get("state", {}).get("work_ms")
        response.headers["Server-Timing"] = timing if work is None else f"{timing}, work;dur={work:.2f}"
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.exception_handler(SemlatError)
    async def bad_input(request: Request, exc: SemlatError):
        return _error(400, str(exc))

    @app.exception_handler(UnknownId)
    async def unknown(request: Request, exc: UnknownId):
        return _error(404, str(exc.args[0]) if exc.args else "not found")

    @app.exception_handler(RequestValidationError)
    async def malformed(request: Request, exc: RequestValidationError):
        return _error(422, _validation_message(exc))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        return _error(exc.status_code, str(exc.detail))

    def png(data: bytes) -> Response:
        return Response(data, media_type="image/png", headers=PICTURE_HEADERS)

    def timed(request: Request, work: Callable[[], T]) -> T:
        """``work()`` in one of the worker slots, its own time kept for the Server-Timing header (``app`` counts the wait too)."""
        with slots:
            start = time.perf_counter()
            try:
                return work()
            finally:
                request.state.work_ms = (time.perf_counter() - start) * 1000

    @app.get("/", include_in_schema=False)
    def index() -> Response:
        return Response((STATIC / "index.html").read_bytes(), media_type="text/html; charset=utf-8")

    @app.get("/api/info")
    def info() -> dict[str, Any]:
        return viewer.info()

    @app.get("/api/images")
    def images(region_set: RegionSet = None) -> list[dict[str, Any]]:
        return viewer.images(region_set)

    @app.get("/api/images/{image_id}/photo.png")
    def photo(image_id: int, size: Annotated[int | None, Query()] = None) -> Response:
        return png(viewer.photo(image_id, size))

    @app.get("/api/images/{image_id}/regions")
    def regions(image_id: int, region_set: RegionSet = None) -> dict[str, Any]:
        return viewer.regions(image_id, region_set)

    @app.get("/api/images/{image_id}/regions/{region_id}/crop.png")
    def crop(image_id: int, region_id: int, region_set: RegionSet = None, size: int = 160) -> Response:
        return png(viewer.crop(image_id, region_id, region_set, size))

    @app.get("/api/labels/{label}")
    def label(label: int, region_set: RegionSet = None) -> dict[str, Any]:
        return viewer.label_views(label, region_set)

    @app.get("/api/images/{image_id}/query")
    def query(request: Request, image_id: int, settings: Settings) -> dict[str, Any]:
        return timed(request, lambda: viewer.query(image_id, settings))

    @app.get("/api/images/{image_id}/heatmap/{index}.png")
    def heatmap(request: Request, image_id: int, index: int, settings: Settings) -> Response:
        return png(timed(request, lambda: viewer.heatmap(image_id, settings, index)))

    @app.get("/api/images/{image_id}/segmentation.png")
    def segmentation(request: Request, image_id: int, settings: Settings) -> Response:
        return png(timed(request, lambda: viewer.segmentation(image_id, settings)))

    @app.get("/api/search")
    def search_(
        q: Annotated[str | None, Query(max_length=1000)] = None,
        like: Annotated[str | None, Query(max_length=40)] = None,
        features: Annotated[str | None, Query(max_length=1000)] = None,
        top: int = 12,
        by: Annotated[str, Query(max_length=20)] = "region",
        score: Annotated[str, Query(max_length=20)] = "cosine",
        level: Annotated[list[int] | None, Query()] = None,
    ) -> dict[str, Any]:
        return viewer.search(q, like, features=features, top=top, by=by, score=score, levels=level)

    @app.get("/api/report")
    def report() -> dict[str, Any]:
        return viewer.report_summary()

    @app.get("/report", include_in_schema=False)
    def report_page() -> Response:
        if viewer.report is None:
            raise UnknownId(viewer.report_summary()["hint"])
        return FileResponse(viewer.report / "report.html", media_type="text/html; charset=utf-8")

    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")  # Starlette refuses paths outside it
    return app
