"""The airport patterns over HTTP: an airport's departures and arrivals per bucket, the
detected movements, the most flown city pairs and the forecast of the next two hours,
each a thin call of `storage.reads_airports`."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from starlette.responses import Response

from vatsim_pipeline.api.parameters import AIRPORT, AIRPORT_PATTERN, Limit, Offset, Since, Until
from vatsim_pipeline.api.responses import ERROR_RESPONSES, JsonResponse
from vatsim_pipeline.settings import Settings
from vatsim_pipeline.storage.reads import QueryService
from vatsim_pipeline.storage.reads_airports import (
    MAX_ROUTES,
    AirportForecast,
    AirportQueries,
    AirportTraffic,
    Movement,
    TopRoutes,
    retention_limit,
)
from vatsim_pipeline.storage.reads_history import WindowPage

NOT_FOUND = {404: ERROR_RESPONSES[404]}
WINDOW_RULE = (
    " The window (default: the 24 hours up to the newest update) is at most the positions' "
    "retention (VATSIM_TABLE_RETENTION_DAYS): a longer one starts that long before `until`, "
    "and one that ends before it starts is empty (the `since` answered says so)."
)

Icao = Annotated[
    str,
    Path(pattern=AIRPORT_PATTERN, **AIRPORT, description="Airport ICAO code.", examples=["EGLL"]),
]
AirportFilter = Annotated[
    str | None,
    Query(
        pattern=AIRPORT_PATTERN,
        **AIRPORT,
        description="Only movements at this airport (ICAO; unknown: 404).",
        examples=["EGLL"],
    ),
]
Bucket = Annotated[Literal["15m", "1h"], Query(description="Bucket width.")]
MovementKind = Annotated[
    Literal["departure", "arrival"] | None,
    Query(description="departure (takeoff) or arrival (landing); both when omitted."),
]
RouteLimit = Annotated[int, Query(ge=1, le=MAX_ROUTES, description="City pairs to list.")]


def airport_router(service: QueryService, settings: Settings) -> APIRouter:
    """Routes of the airport patterns, windows limited by the retention of the environment."""
    queries = AirportQueries(service.engine, retention_limit(), narrow=True)
    router = APIRouter(prefix="/api", tags=["traffic patterns"])

    @router.get(
        "/traffic/airports/{icao}",
        response_model=AirportTraffic,
        summary="An airport's departures and arrivals per bucket",
        description="Takeoffs and landings detected from the tracks, per 15 minutes or per "
        "hour, every bucket of the window listed (zeros included)." + WINDOW_RULE,
        responses=NOT_FOUND,
    )
    def airport_traffic(
        icao: Icao, since: Since = None, until: Until = None, bucket: Bucket = "15m"
    ) -> Response:
        return JsonResponse(queries.traffic(icao, since=since, until=until, bucket=bucket))

    @router.get(
        "/movements",
        response_model=WindowPage[Movement],
        summary="Detected takeoffs and landings",
        description="Movements in the window, newest first, optionally at one airport and "
        "of one kind." + WINDOW_RULE,
        responses=NOT_FOUND,
    )
    def movements(
        airport: AirportFilter = None,
        kind: MovementKind = None,
        since: Since = None,
        until: Until = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> Response:
        page = queries.movements(
            airport=airport, since=since, until=until, kind=kind, limit=limit, offset=offset
        )
        return JsonResponse(page)

    @router.get(
        "/routes/top",
        response_model=TopRoutes,
        summary="The most flown city pairs",
        description="Flights per filed departure and arrival, counted in the hour of their "
        "detected takeoff, over the hours that overlap the window; most flown first." + WINDOW_RULE,
    )
    def routes_top(since: Since = None, until: Until = None, limit: RouteLimit = 10) -> Response:
        return JsonResponse(queries.routes(since=since, until=until, limit=limit))

    @router.get(
        "/forecast/airports/{icao}",
        response_model=AirportForecast,
        summary="An airport's departures and arrivals in the next two hours",
        description="The newest stored forecast (refreshed every 5 minutes), per 15 minutes, "
        "with a low/high band; every bucket of the two hours listed. No buckets before "
        "the first forecast.",
        responses=NOT_FOUND,
    )
    def airport_forecast(icao: Icao) -> Response:
        return JsonResponse(queries.forecast(icao))

    return router
