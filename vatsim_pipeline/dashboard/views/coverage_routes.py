"""Data route of the coverage view: ATC coverage by weekday and hour (the heat map),
from the `sector_coverage` rows (`storage/reads_coverage_week.py`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from vatsim_pipeline.api.parameters import SECTOR, SECTOR_PATTERN, Since, Until
from vatsim_pipeline.api.responses import ERROR_RESPONSES
from vatsim_pipeline.dashboard.responses import json_reply
from vatsim_pipeline.storage.reads import QueryService
from vatsim_pipeline.storage.reads_coverage_week import CoverageWeek, coverage_week

Sector = Annotated[
    str | None,
    Query(
        pattern=SECTOR_PATTERN,
        **SECTOR,
        description="Only this sector (unknown: 404); all sectors summed when absent.",
        examples=["EDGG"],
    ),
]


def coverage_router(service: QueryService) -> APIRouter:
    """The heat map's route over the service's engine."""
    router = APIRouter(
        prefix="/api/dashboard",
        tags=["dashboard"],
        responses={400: ERROR_RESPONSES[400], 404: ERROR_RESPONSES[404]},
    )

    @router.get(
        "/coverage",
        response_model=CoverageWeek,
        summary="ATC coverage by weekday and hour",
        description="`share[weekday][hour]`: flight minutes under ATC over all flight "
        "minutes of the window's hours on that weekday (0: Monday) and UTC hour, null where "
        "nothing was flown; `flight_minutes` likewise. The window follows "
        "`/api/controllers/coverage` (default: the 24 hours up to the newest update).",
    )
    def coverage(
        request: Request, since: Since = None, until: Until = None, sector: Sector = None
    ) -> Response:
        with service.engine.connect() as connection:
            return json_reply(request, coverage_week(connection, since, until, sector))

    return router
