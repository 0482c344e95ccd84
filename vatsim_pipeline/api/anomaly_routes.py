"""`GET /api/anomalies`: the anomaly intervals of a window, as `vatsim-pipeline anomalies
list --json` prints them (see `storage.anomaly_reads.anomaly_page`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from typing_extensions import TypedDict  # pydantic reads it on Python 3.11

from vatsim_pipeline.analytics.anomalies import KINDS
from vatsim_pipeline.api.parameters import MISMATCH, Limit, Offset, Since, Until
from vatsim_pipeline.api.responses import ERROR_RESPONSES, JsonResponse
from vatsim_pipeline.settings import Settings
from vatsim_pipeline.storage.anomaly_reads import anomaly_page
from vatsim_pipeline.storage.reads import QueryService

_KIND = f"(?:{'|'.join(KINDS)})"
KINDS_PATTERN = rf"^{_KIND}(?:,{_KIND})*$"

Kinds = Annotated[
    str | None,
    Query(
        pattern=KINDS_PATTERN,
        json_schema_extra={MISMATCH: f"is not a comma-separated list of {', '.join(KINDS)}"},
        description=f"Only these kinds, comma-separated: {', '.join(KINDS)}.",
        examples=["emergency_squawk,radio_failure_squawk,hijack_squawk"],
    ),
]
Active = Annotated[
    bool | None,
    Query(
        description="true: only anomalies still seen in the newest snapshot (`ended_at` "
        "null); false: only ended ones. Default: both."
    ),
]


class Anomaly(TypedDict):
    """One anomaly interval of one connection (all null for `stale_feed`)."""

    id: int
    kind: str
    flight_id: int | None
    callsign: str | None
    cid: int | None
    started_at: str
    last_seen_at: str
    ended_at: str | None
    first_snapshot: str
    trigger: dict[str, Any]
    active: bool
    alert_status: str | None
    alerted_at: str | None
    alert_error: str | None


class AnomalyPage(TypedDict):
    """Anomalies overlapping [since, until], newest start first."""

    since: str
    until: str
    total: int
    limit: int
    offset: int
    items: list[Anomaly]


def anomalies_router(service: QueryService, settings: Settings) -> APIRouter:
    """The route over the `anomalies` table of the service's database."""
    router = APIRouter(prefix="/api", tags=["anomalies"], responses={503: ERROR_RESPONSES[503]})

    @router.get(
        "/anomalies",
        response_model=AnomalyPage,
        summary="Anomalies: emergency squawks, teleports, frozen connections, duplicate "
        "callsigns, altitude jumps, stale feed",
        description="Intervals overlapping the window (default: the 24 hours up to the "
        "newest feed update), newest start first; `trigger` holds the values that raised "
        "each. See docs/anomalies.md for the rules.",
    )
    def list_anomalies(
        since: Since = None,
        until: Until = None,
        kind: Kinds = None,
        active: Active = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> JsonResponse:
        kinds = tuple(kind.split(",")) if kind else ()
        with service.engine.connect() as connection:
            page = anomaly_page(
                connection,
                since=since,
                until=until,
                kinds=kinds,
                active=active,
                limit=limit,
                offset=offset,
            )
        return JsonResponse(page)

    return router
