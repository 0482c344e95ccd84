"""The read-only HTTP API: a Starlette app over the query service, served by uvicorn.

Every route is GET and answers JSON; mistakes answer `{"error": "<param>: <reason>"}`
with 400, unknown flights and paths 404, other methods 405, an unreachable database 503.

More routes (e.g. reports from the Dagster instance) are added without touching this
module: pass `ApiRoute`s to `create_app(service, extra_routes=...)`; they are served
and documented in `/api/openapi.json` like the built-in ones::

    def error_analytics(args):
        return build_error_report(hours=args["hours"])      # any JSON-able value

    create_app(service, extra_routes=[
        ApiRoute(
            "/api/errors/analytics", error_analytics, "Failures by category",
            parameters=(ApiParameter("hours", "Look-back window", type="integer",
                                     default=24, minimum=1, maximum=720),),
            response=ErrorReport,                            # a dataclass or TypedDict
            tag="reports",
        ),
    ])
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from vatsim_pipeline.api.openapi import openapi_document
from vatsim_pipeline.api.routes import ApiParameter, ApiRoute, Reply
from vatsim_pipeline.archive.reader import ArchiveUnavailable
from vatsim_pipeline.storage.reads import (
    ActiveController,
    ActiveFlight,
    DatabaseStats,
    FlightSession,
    FlightStats,
    FlightTrack,
    HealthReport,
    InvalidQuery,
    NotFound,
    Page,
    QueryService,
    SectorSummary,
    SectorVisit,
    SnapshotInfo,
    WindowPage,
    describe_error,
    flight_ref,
    parse_bbox,
)
from vatsim_pipeline.storage.reads_base import MAX_LIMIT
from vatsim_pipeline.storage.reads_sectors import KINDS

log = logging.getLogger(__name__)

OPENAPI_PATH = "/api/openapi.json"


class StatusReport(HealthReport):
    """The health of the recording and the newest stored feed update."""

    snapshot: SnapshotInfo | None


def json_response(body: Any, status: int = 200) -> Response:
    """JSON with datetimes as ISO 8601 and dataclasses as objects."""
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _error(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    response = json_response({"error": message}, status)
    response.headers.update(headers or {})
    return response


def _page_parameters(default_limit: int = 100) -> tuple[ApiParameter, ...]:
    return (
        ApiParameter(
            "limit",
            "Items per page.",
            type="integer",
            default=default_limit,
            minimum=1,
            maximum=MAX_LIMIT,
        ),
        ApiParameter("offset", "Items to skip.", type="integer", default=0, minimum=0),
    )


FLIGHT_PATH_PARAMETER = ApiParameter(
    "callsign",
    "A callsign (the latest connection that used it) or, all digits, a flight id.",
    location="path",
    example="QFA63",
)


WINDOW_PARAMETERS = (
    ApiParameter(
        "since",
        "Start of the window: ISO time (UTC unless zoned) or a duration before the newest "
        "feed update (90m, 24h, 7d). Default: 24 hours before `until`.",
        example="24h",
    ),
    ApiParameter(
        "until",
        "End of the window, the same forms. Default: the newest feed update.",
        example="2024-11-22T12:00:00Z",
    ),
)


def service_routes(service: QueryService) -> list[ApiRoute]:
    """The built-in routes over the query service."""

    def health_reply(report: Mapping[str, Any]) -> Reply:
        return Reply(report, 503 if report["status"] == "unhealthy" else 200)

    def status(_: Mapping[str, Any]) -> Reply:
        health = service.health_check()
        snapshot = service.get_newest_snapshot() if health["database_connected"] else None
        return health_reply({**health, "snapshot": snapshot})

    return [
        ApiRoute(
            "/api/flights",
            lambda a: service.get_active_flights(
                departure=a["departure"],
                arrival=a["arrival"],
                bbox=a["bbox"],
                sector=a["sector"],
                limit=a["limit"],
                offset=a["offset"],
            ),
            "Active flights",
            "Flights seen within the activity window of the newest feed update, by callsign.",
            parameters=(
                ApiParameter("departure", "Planned departure (ICAO).", example="EGLL"),
                ApiParameter("arrival", "Planned arrival (ICAO).", example="KJFK"),
                ApiParameter(
                    "sector",
                    "Sector id: flights whose latest position it covers (unknown: none).",
                    example="EGTT",
                ),
                ApiParameter(
                    "bbox",
                    "min_lat,min_lon,max_lat,max_lon (degrees, minimum before maximum).",
                    example="35,-10,60,30",
                    convert=parse_bbox,
                ),
                *_page_parameters(),
            ),
            response=Page[ActiveFlight],
        ),
        ApiRoute(
            "/api/flights/history",
            lambda a: service.get_flight_history(
                departure=a["departure"],
                arrival=a["arrival"],
                since=a["since"],
                until=a["until"],
                limit=a["limit"],
                offset=a["offset"],
            ),
            "Flights in a time window",
            "Flights seen at some time in the window, by planned departure and/or arrival, "
            "newest first.",
            parameters=(
                ApiParameter("departure", "Planned departure (ICAO).", example="EGLL"),
                ApiParameter("arrival", "Planned arrival (ICAO).", example="KJFK"),
                *WINDOW_PARAMETERS,
                *_page_parameters(),
            ),
            response=WindowPage[FlightSession],
        ),
        ApiRoute(
            "/api/flights/{callsign}/track",
            lambda a: service.get_flight_track(flight_ref(a["callsign"])),
            "Flight track",
            "The flight and every recorded position of it, oldest first.",
            parameters=(FLIGHT_PATH_PARAMETER,),
            response=FlightTrack,
        ),
        ApiRoute(
            "/api/flights/{callsign}/stats",
            lambda a: service.get_flight_stats(flight_ref(a["callsign"])),
            "Flight statistics",
            "Duration, great-circle distance (nm), altitude and ground speed figures.",
            parameters=(FLIGHT_PATH_PARAMETER,),
            response=FlightStats,
        ),
        ApiRoute(
            "/api/controllers",
            lambda a: service.get_active_controllers(limit=a["limit"], offset=a["offset"]),
            "Active controllers",
            "Controller and ATIS connections active at the newest feed update.",
            parameters=_page_parameters(),
            response=Page[ActiveController],
        ),
        ApiRoute(
            "/api/sectors",
            lambda a: service.get_sectors(
                kind=a["kind"], limit=a["limit"], offset=a["offset"], with_geometry=a["geometry"]
            ),
            "Sectors",
            "Stored sectors by id with the active controllers staffing them.",
            parameters=(
                ApiParameter("kind", "Only sectors of this kind.", enum=KINDS),
                ApiParameter(
                    "geometry", "Include the GeoJSON boundary.", type="boolean", default=False
                ),
                *_page_parameters(),
            ),
            response=Page[SectorSummary],
        ),
        ApiRoute(
            "/api/sectors/{sector_id}/occupancy",
            lambda a: service.get_sector_occupancy(
                a["sector_id"],
                since=a["since"],
                until=a["until"],
                limit=a["limit"],
                offset=a["offset"],
            ),
            "Sector occupancy in a time window",
            "The flights' visits of the sector that overlap the window, newest entry first; "
            "a flight still inside has no exit yet.",
            parameters=(
                ApiParameter("sector_id", "Sector id.", location="path", example="EGTT"),
                *WINDOW_PARAMETERS,
                *_page_parameters(),
            ),
            response=WindowPage[SectorVisit],
        ),
        ApiRoute(
            "/api/status",
            status,
            "Recording status",
            "Health of the recording and the newest feed update; 503 when unhealthy.",
            response=StatusReport,
            tag="service",
        ),
        ApiRoute(
            "/api/database/service/stats",
            lambda _: service.get_database_stats(),
            "Database statistics",
            "Table totals, activity and query figures (the old service's fields).",
            response=DatabaseStats,
            tag="service",
        ),
        ApiRoute(
            "/api/database/service/health",
            lambda _: health_reply(service.health_check()),
            "Database health",
            "healthy, degraded (newest snapshot older than 5 min) or unhealthy (503).",
            response=HealthReport,
            tag="service",
        ),
    ]


def _endpoint(route: ApiRoute):
    """The Starlette endpoint of one route: parse, run the handler in a worker thread,
    and turn its result or its mistake into JSON."""

    async def endpoint(request: Request) -> Response:
        try:
            arguments = route.arguments(request.path_params, request.query_params.multi_items())
            result = await run_in_threadpool(route.handler, arguments)
        except InvalidQuery as error:
            return _error(400, str(error))
        except NotFound as error:
            return _error(404, str(error))
        except ArchiveUnavailable as error:
            log.warning("%s: %s", request.url.path, error)
            return _error(503, f"archive: {error}")
        except SQLAlchemyError as error:
            log.warning("%s: database unavailable: %s", request.url.path, describe_error(error))
            return _error(503, f"database unavailable: {describe_error(error)}")
        if isinstance(result, Reply):
            return json_response(result.body, result.status)
        return json_response(result)

    return endpoint


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if error.status_code == 404:
        return _error(404, f"{request.url.path}: no such route", error.headers)
    if error.status_code == 405:
        return _error(405, f"{request.method} {request.url.path}: only GET", error.headers)
    return _error(error.status_code, str(error.detail), error.headers)


async def _server_error(request: Request, error: Exception) -> Response:
    log.exception("%s failed", request.url.path, exc_info=error)
    return _error(500, f"internal error: {type(error).__name__}")


def create_app(source: Engine | QueryService, extra_routes: Sequence[ApiRoute] = ()) -> Starlette:
    """The API over one engine (or a service already made), plus `extra_routes`.

    `/api/openapi.json` documents every route served, the extra ones included.
    """
    service = source if isinstance(source, QueryService) else QueryService(source)
    routes = [*service_routes(service), *extra_routes]
    document_route = ApiRoute(
        OPENAPI_PATH,
        lambda _: document,
        "OpenAPI description",
        "This document: every route of the API and its parameters.",
        response={"type": "object"},
        tag="service",
        uses_database=False,
    )
    routes.append(document_route)
    paths = [route.path for route in routes]
    duplicated = sorted({path for path in paths if paths.count(path) > 1})
    if duplicated:
        raise ValueError(f"routes served twice: {', '.join(duplicated)}")
    document = openapi_document(routes)
    app = Starlette(
        routes=[Route(r.path, _endpoint(r), methods=["GET"], name=r.path) for r in routes],
        exception_handlers={HTTPException: _http_error, Exception: _server_error},
    )
    app.state.service = service
    app.state.api_routes = tuple(routes)
    return app
