"""The old analytics endpoints, served from the reports over the Dagster instance.

`/api/errors/analytics`, `/api/errors/circuit-breakers` and `/api/events/analytics` keep
the JSON fields of the service this project replaces; `since` takes the times of
`vatsim-pipeline report --since` (`24h`, `90m`, `7d`, or an ISO time), counted back from
the wall clock. The circuit breakers answer one object per service at the top level,
as the old service did.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from typing_extensions import TypedDict  # pydantic reads it on Python 3.11

from vatsim_pipeline.api.parameters import TIME
from vatsim_pipeline.api.responses import ERROR_RESPONSES, JsonResponse
from vatsim_pipeline.defs.instance import dagster_instance
from vatsim_pipeline.reports.breakers_report import circuit_breakers_report
from vatsim_pipeline.reports.errors_report import errors_report
from vatsim_pipeline.reports.events_report import events_report
from vatsim_pipeline.settings import Settings
from vatsim_pipeline.storage.reads import QueryService
from vatsim_pipeline.storage.reads_window import TIME_HELP, TIME_PATTERN, parse_moment

ReportSince = Annotated[
    str | None,
    Query(
        pattern=TIME_PATTERN,
        **TIME,
        description=f"Start of the window, up to now: {TIME_HELP}. Default: 24 hours ago. "
        "A time after now is an empty window.",
        examples=["24h"],
    ),
]


class ServiceBreaker(TypedDict):
    """One service's circuit breaker, as the feed sensor last stored it."""

    state: str
    failure_count: int
    last_failure_time: str | None
    last_failure_reason: str | None
    last_success_time: str | None
    next_attempt_time: str | None
    opened_count: int
    summary: str
    sensor_running: bool
    last_tick_time: str | None
    as_of: str


def breakers_by_service(report: dict[str, Any]) -> dict[str, ServiceBreaker]:
    """The breakers report as `{"<service>": {"state", "failure_count",
    "last_failure_time", ...}}`, each with the sensor's liveness beside it."""
    sensor = {key: report[key] for key in ("sensor_running", "last_tick_time", "as_of")}
    return {
        service: ServiceBreaker(**breaker, **sensor)
        for service, breaker in report["services"].items()
    }


def _since(text: str | None) -> datetime | None:
    """The start of a report's window; a future one is the empty window at now."""
    if text is None:
        return None
    now = datetime.now(UTC)
    return min(parse_moment(text, now), now)


def analytics_router(service: QueryService, settings: Settings) -> APIRouter:
    """The three report routes, reading the instance at `$DAGSTER_HOME`."""
    instance = dagster_instance(settings)
    engine = service.engine
    router = APIRouter(prefix="/api", tags=["reports"])

    @router.get(
        "/errors/analytics",
        response_model=dict[str, Any],
        summary="Errors by category, severity and service, recovery rate, most common errors",
    )
    def error_analytics(since: ReportSince = None) -> JsonResponse:
        return JsonResponse(errors_report(instance, _since(since)))

    @router.get(
        "/errors/circuit-breakers",
        response_model=dict[str, ServiceBreaker],
        summary="State of the circuit breaker of each service, from the feed sensor's cursor",
    )
    def circuit_breakers() -> JsonResponse:
        return JsonResponse(breakers_by_service(circuit_breakers_report(instance)))

    @router.get(
        "/events/analytics",
        response_model=dict[str, Any],
        summary="Events by type, runs by status, processing time, dead letters and timeouts",
        responses={503: ERROR_RESPONSES[503]},
    )
    def event_analytics(since: ReportSince = None) -> JsonResponse:
        return JsonResponse(events_report(instance, engine, _since(since)))

    return router
