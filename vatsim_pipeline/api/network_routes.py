"""The built-in routes: the recorded network (flights, controllers, sectors) and the
health of the recording, each a thin call of the query service.

Endpoints return `JsonResponse`s of the service's dataclasses, encoded by orjson; the
`response_model` of each route only documents the shape in `/api/openapi.json`.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from vatsim_pipeline.api.parameters import (
    Arrival,
    Bbox,
    Callsign,
    Departure,
    Geometry,
    Kind,
    Limit,
    Offset,
    SectorFilter,
    SectorId,
    Since,
    Until,
)
from vatsim_pipeline.api.responses import ERROR_RESPONSES, JsonResponse
from vatsim_pipeline.storage.reads import (
    ActiveController,
    ActiveFlight,
    DatabaseStats,
    FlightSession,
    FlightStats,
    FlightTrack,
    HealthReport,
    Page,
    QueryService,
    SectorSummary,
    SectorVisit,
    SnapshotInfo,
    WindowPage,
    flight_ref,
    parse_bbox,
)


class StatusReport(HealthReport):
    """The health of the recording and the newest stored feed update."""

    snapshot: SnapshotInfo | None


NOT_FOUND = {404: ERROR_RESPONSES[404]}


def _health(report: HealthReport | StatusReport) -> Response:
    return JsonResponse(report, status_code=503 if report["status"] == "unhealthy" else 200)


def network_router(service: QueryService) -> APIRouter:
    """The routes over the query service."""
    router = APIRouter(prefix="/api", tags=["network"], responses={503: ERROR_RESPONSES[503]})

    @router.get(
        "/flights",
        response_model=Page[ActiveFlight],
        summary="Active flights",
        description="Flights seen within the activity window of the newest feed update, "
        "by callsign.",
        responses=NOT_FOUND,
    )
    def active_flights(
        departure: Departure = None,
        arrival: Arrival = None,
        sector: SectorFilter = None,
        bbox: Bbox = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> Response:
        page = service.get_active_flights(
            departure=departure,
            arrival=arrival,
            bbox=parse_bbox(bbox) if bbox is not None else None,
            sector=sector,
            limit=limit,
            offset=offset,
        )
        return JsonResponse(page)

    @router.get(
        "/flights/history",
        response_model=WindowPage[FlightSession],
        summary="Flights in a time window",
        description="Flights seen at some time in the window, by planned departure and/or "
        "arrival, newest first.",
    )
    def flight_history(
        departure: Departure = None,
        arrival: Arrival = None,
        since: Since = None,
        until: Until = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> Response:
        page = service.get_flight_history(
            departure=departure,
            arrival=arrival,
            since=since,
            until=until,
            limit=limit,
            offset=offset,
        )
        return JsonResponse(page)

    @router.get(
        "/flights/{callsign}/track",
        response_model=FlightTrack,
        summary="Flight track",
        description="The flight and every recorded position of it, oldest first.",
        responses=NOT_FOUND,
    )
    def flight_track(callsign: Callsign) -> Response:
        return JsonResponse(service.get_flight_track(flight_ref(callsign)))

    @router.get(
        "/flights/{callsign}/stats",
        response_model=FlightStats,
        summary="Flight statistics",
        description="Duration, great-circle distance (nm), altitude and ground speed figures.",
        responses=NOT_FOUND,
    )
    def flight_stats(callsign: Callsign) -> Response:
        return JsonResponse(service.get_flight_stats(flight_ref(callsign)))

    @router.get(
        "/controllers",
        response_model=Page[ActiveController],
        summary="Active controllers",
        description="Controller and ATIS connections active at the newest feed update.",
    )
    def active_controllers(limit: Limit = 100, offset: Offset = 0) -> Response:
        return JsonResponse(service.get_active_controllers(limit=limit, offset=offset))

    @router.get(
        "/sectors",
        response_model=Page[SectorSummary],
        summary="Sectors",
        description="Stored sectors by id with the active controllers staffing them.",
    )
    def sectors(
        kind: Kind = None, geometry: Geometry = False, limit: Limit = 100, offset: Offset = 0
    ) -> Response:
        page = service.get_sectors(kind=kind, limit=limit, offset=offset, with_geometry=geometry)
        return JsonResponse(page)

    @router.get(
        "/sectors/{sector_id:path}/occupancy",
        response_model=WindowPage[SectorVisit],
        summary="Sector occupancy in a time window",
        description="The flights' visits of the sector that overlap the window, newest entry "
        "first; a flight still inside has no exit yet.",
        responses=NOT_FOUND,
    )
    def sector_occupancy(
        sector_id: SectorId,
        since: Since = None,
        until: Until = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> Response:
        page = service.get_sector_occupancy(
            sector_id, since=since, until=until, limit=limit, offset=offset
        )
        return JsonResponse(page)

    @router.get(
        "/status",
        response_model=StatusReport,
        summary="Recording status",
        description="Health of the recording and the newest feed update; 503 when unhealthy.",
        tags=["service"],
        responses={503: {"model": StatusReport, "description": "The database is unusable."}},
    )
    def status() -> Response:
        health = service.health_check()
        snapshot = service.get_newest_snapshot() if health["database_connected"] else None
        return _health(StatusReport(**health, snapshot=snapshot))

    @router.get(
        "/database/service/stats",
        response_model=DatabaseStats,
        summary="Database statistics",
        description="Table totals, activity and query figures (the old service's fields).",
        tags=["service"],
    )
    def database_stats() -> Response:
        return JsonResponse(service.get_database_stats())

    @router.get(
        "/database/service/health",
        response_model=HealthReport,
        summary="Database health",
        description="healthy, degraded (newest snapshot older than 5 min) or unhealthy (503).",
        tags=["service"],
        responses={503: {"model": HealthReport, "description": "The database is unusable."}},
    )
    def database_health() -> Response:
        return _health(service.health_check())

    return router
