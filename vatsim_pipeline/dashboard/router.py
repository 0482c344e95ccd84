"""`dashboard_router`: the page at `/`, its files under `/dashboard/`, and the data
routes of every registered view (documented in the API's OpenAPI document under the
`dashboard` tag)."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request, Response

from vatsim_pipeline.dashboard.assets import asset, load_assets
from vatsim_pipeline.dashboard.registry import VIEWS, View
from vatsim_pipeline.dashboard.responses import bytes_reply
from vatsim_pipeline.settings import Settings
from vatsim_pipeline.storage.reads import QueryService

INDEX = "index.html"
VIEWS_MARK = b"__VIEWS__"


def _index(template: bytes, views: tuple[View, ...]) -> bytes:
    """The page with the list of views written into it (one request fewer at start)."""
    listing = orjson.dumps([view.listing() for view in views]).replace(b"</", b"<\\/")
    return template.replace(VIEWS_MARK, listing)


def dashboard_router(
    service: QueryService, settings: Settings | None = None, views: tuple[View, ...] = VIEWS
) -> APIRouter:
    """The page and its views' routes over one query service (a router provider of
    `vatsim_pipeline.api.providers`; no setting changes the page)."""
    files = load_assets()
    page = asset(_index(files.pop(INDEX).body, views), ".html")
    router = APIRouter()

    @router.get("/", include_in_schema=False)
    def index(request: Request) -> Response:
        return bytes_reply(
            request, page.body, page.media_type, etag=page.etag, gzipped=page.gzipped
        )

    @router.get("/dashboard/{path:path}", include_in_schema=False)
    def static(path: str, request: Request) -> Response:
        found = files.get(path)
        if found is None:
            return Response(
                orjson.dumps({"error": f"/dashboard/{path}: no such file"}),
                status_code=404,
                media_type="application/json",
            )
        return bytes_reply(
            request, found.body, found.media_type, etag=found.etag, gzipped=found.gzipped
        )

    for view in views:
        if view.router is not None:
            router.include_router(view.router(service))
    return router
