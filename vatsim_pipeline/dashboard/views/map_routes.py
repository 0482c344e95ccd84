"""Data routes of the map view: the flights at one moment, who staffs which sector then
(with the stored span for the playback slider), and the simplified sector boundaries.

The boundaries change about once a day and are about 1 MB of JSON, so they are fetched
once and again only when the `sectors_tag` of the status reply changes; each refresh
costs the flights and the status only.
"""

from __future__ import annotations

import gzip
import threading
from datetime import datetime
from functools import cache
from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import PlainTextResponse
from typing_extensions import TypedDict  # pydantic reads it on Python 3.11

from vatsim_pipeline.api.parameters import TIME
from vatsim_pipeline.api.responses import ERROR_RESPONSES
from vatsim_pipeline.dashboard.basemap import land_path
from vatsim_pipeline.dashboard.projection import WORLD, flat_rings_path
from vatsim_pipeline.dashboard.responses import GZIP_LEVEL, bytes_reply, json_reply
from vatsim_pipeline.storage.reads import QueryService
from vatsim_pipeline.storage.reads_map import MapReads
from vatsim_pipeline.storage.reads_window import TIME_HELP, TIME_PATTERN

At = Annotated[
    str | None,
    Query(
        pattern=TIME_PATTERN,
        **TIME,
        description=f"The moment to show: {TIME_HELP} (back from the newest stored update). "
        "Absent, or at or after the newest update: now; earlier: the newest update at or "
        "before it.",
        examples=["2024-11-22T12:48:40Z", "1h"],
    ),
]


class MapFlightsReply(TypedDict):
    """The flights at one moment, in compact rows."""

    at: datetime | None
    live: bool
    columns: list[str]
    rows: list[list[str | float | int | None]]


class MapStatusReply(TypedDict):
    """Staffing at one moment and the stored span."""

    at: datetime | None
    staffed: dict[str, list[str]]
    oldest: datetime | None
    newest: datetime | None
    snapshots: int
    sectors_tag: str


@cache
def base_map() -> tuple[bytes, bytes]:
    """The land path, plain and gzipped, once per process."""
    body = land_path().encode()
    return body, gzip.compress(body, GZIP_LEVEL)


def map_router(service: QueryService) -> APIRouter:
    """The routes of the map view over the service's engine and activity window."""
    reads = MapReads(service.engine, service.activity_window)
    router = APIRouter(
        prefix="/api/dashboard/map", tags=["dashboard"], responses={400: ERROR_RESPONSES[400]}
    )
    drawn: dict = {}  # the boundaries as paths, JSON and gzipped, once per sector set
    lock = threading.Lock()

    @router.get(
        "/flights",
        response_model=MapFlightsReply,
        summary="Flights at a moment, compact",
        description="Every flight active at the moment (seen within the activity window "
        "before it) at its latest position, by callsign: `rows` of values in `columns` "
        "order; `sector` is the most specific sector of the position (null when unknown).",
    )
    def flights(request: Request, at: At = None) -> Response:
        return json_reply(request, reads.flights(at))

    @router.get(
        "/status",
        response_model=MapStatusReply,
        summary="Staffed sectors at a moment, and the stored span",
        description="`staffed`: sector id -> controller callsigns online at the moment; "
        "`oldest`/`newest`/`snapshots`: the stored feed updates (the playback range); "
        "`sectors_tag` changes whenever the stored sector set does.",
    )
    def status(request: Request, at: At = None) -> Response:
        staffing, span, tag = reads.status(at)
        return json_reply(
            request,
            {
                "at": staffing.at,
                "staffed": staffing.staffed,
                "oldest": span.oldest,
                "newest": span.newest,
                "snapshots": span.snapshots,
                "sectors_tag": tag,
            },
        )

    @router.get(
        "/sectors",
        response_model=list[tuple[str, str, str | None, str]],
        summary="Sector boundaries for drawing",
        description="`[id, kind, name, path]` per stored sector: the exterior rings, "
        "simplified (0.02 degrees), as SVG path data in Web Mercator world units (the "
        f"square is {WORLD} units wide; relative moves).",
    )
    def sectors(request: Request) -> Response:
        tag, shapes = reads.sector_shapes()
        with lock:
            if drawn.get("tag") != tag:
                paths = [[i, kind, name, flat_rings_path(rings)] for i, kind, name, rings in shapes]
                body = orjson.dumps(paths)
                drawn.update(tag=tag, body=body, gzipped=gzip.compress(body, GZIP_LEVEL))
            body, gzipped = drawn["body"], drawn["gzipped"]
        return bytes_reply(
            request, body, "application/json", etag=f"sectors-{tag}", gzipped=gzipped
        )

    @router.get(
        "/land",
        response_class=PlainTextResponse,
        summary="The base map",
        description="Land (Natural Earth 1:50m via world-atlas) as SVG path data in "
        "Web Mercator world units (see `/api/dashboard/map/sectors`).",
    )
    def land(request: Request) -> Response:
        body, gzipped = base_map()
        return bytes_reply(request, body, "text/plain; charset=utf-8", gzipped=gzipped)

    return router
