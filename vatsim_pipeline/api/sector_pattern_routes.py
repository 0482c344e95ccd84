"""The sector patterns over HTTP: a sector's load per bucket, ATC coverage per sector,
and a sector's forecast of the next two hours, each a thin call of the query service."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from starlette.responses import Response

from vatsim_pipeline.api.parameters import (
    SECTOR,
    SECTOR_PATTERN,
    Limit,
    Offset,
    SectorId,
    Since,
    Until,
)
from vatsim_pipeline.api.responses import ERROR_RESPONSES, JsonResponse
from vatsim_pipeline.settings import Settings
from vatsim_pipeline.storage.reads import (
    CoverageReport,
    QueryService,
    SectorForecast,
    SectorTraffic,
)

NOT_FOUND = {404: ERROR_RESPONSES[404]}
WINDOW_RULE = (
    " The window (default: the 24 hours up to the newest update) is at most the positions' "
    "retention (VATSIM_TABLE_RETENTION_DAYS): a longer one starts that long before `until`, "
    "and one that ends before it starts is empty (the `since` answered says so). "
    "Hours never materialized, or without traffic, have no items."
)
Bucket = Annotated[Literal["15m", "1h"], Query(description="Bucket width.")]
CoverageSector = Annotated[
    str | None,
    Query(
        pattern=SECTOR_PATTERN,
        **SECTOR,
        description="Only this sector (unknown: 404).",
        examples=["EDGG"],
    ),
]


def sector_pattern_router(service: QueryService, settings: Settings) -> APIRouter:
    """Routes of the sector patterns and the sector forecast."""
    router = APIRouter(prefix="/api", tags=["traffic patterns"])

    @router.get(
        "/traffic/sectors/{sector_id}",
        response_model=SectorTraffic,
        summary="A sector's load per bucket",
        description="Flights entering the sector, and the peak and mean number inside, per "
        "15 minutes or per hour (an hour sums its quarters' entries, takes their highest "
        "peak and averages their means); its TRACONs and sub-sectors are counted in it."
        + WINDOW_RULE,
        responses=NOT_FOUND,
    )
    def sector_traffic(
        sector_id: SectorId, since: Since = None, until: Until = None, bucket: Bucket = "15m"
    ) -> Response:
        return JsonResponse(
            service.get_sector_traffic(
                sector_id, since=since, until=until, bucket=bucket, narrow=True
            )
        )

    @router.get(
        "/controllers/coverage",
        response_model=CoverageReport,
        summary="ATC coverage per sector",
        description="Per sector over the hours of the window: minutes staffed (by the sector "
        "or a sector above it), minutes flown inside it, the part of those under ATC and "
        "its share; the most flown sectors first." + WINDOW_RULE,
        responses=NOT_FOUND,
    )
    def coverage(
        sector: CoverageSector = None,
        since: Since = None,
        until: Until = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> Response:
        return JsonResponse(
            service.get_coverage(
                since=since, until=until, sector=sector, limit=limit, offset=offset, narrow=True
            )
        )

    @router.get(
        "/forecast/sectors/{sector_id}",
        response_model=SectorForecast,
        summary="Flights entering a sector in the next two hours",
        description="The newest forecast (refreshed every 5 minutes by the `sector_forecast` "
        "asset) per 15 minutes, with an 80% low/high band; no items while nothing is "
        "expected there or before the first forecast.",
        responses=NOT_FOUND,
    )
    def sector_forecast(sector_id: SectorId) -> Response:
        return JsonResponse(service.get_sector_forecast(sector_id))

    return router
