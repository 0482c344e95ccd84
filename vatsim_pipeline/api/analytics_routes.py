"""The old analytics endpoints, served from the reports over the Dagster instance.

`/api/errors/analytics`, `/api/errors/circuit-breakers` and `/api/events/analytics` keep
the JSON fields of the service this project replaces; `since` takes the same window as
`vatsim-pipeline report --since` (`24h`, `90m`, `7d`, or an ISO time).
"""

from __future__ import annotations

from vatsim_pipeline.api.routes import ApiParameter, ApiRoute
from vatsim_pipeline.defs.instance import dagster_instance
from vatsim_pipeline.reports.breakers_report import circuit_breakers_report
from vatsim_pipeline.reports.errors_report import errors_report
from vatsim_pipeline.reports.events_report import events_report
from vatsim_pipeline.reports.window import parse_since
from vatsim_pipeline.settings import Settings
from vatsim_pipeline.storage.reads import QueryService

SINCE = ApiParameter(
    "since",
    "Start of the window (default 24 h ago): a duration back from now (30s, 90m, 24h, 7d,"
    " 2w) or an ISO time.",
    example="24h",
    convert=parse_since,
)
REPORT_SCHEMA = {"type": "object", "additionalProperties": True}


def analytics_routes(service: QueryService, settings: Settings) -> list[ApiRoute]:
    """The three report routes, reading the instance at `$DAGSTER_HOME`."""
    instance = dagster_instance(settings)
    engine = service.engine
    return [
        ApiRoute(
            "/api/errors/analytics",
            lambda args: errors_report(instance, args["since"]),
            "Errors by category, severity and service, recovery rate, most common errors",
            parameters=(SINCE,),
            response=REPORT_SCHEMA,
            tag="reports",
            uses_database=False,
        ),
        ApiRoute(
            "/api/errors/circuit-breakers",
            lambda args: circuit_breakers_report(instance),
            "State of the circuit breaker of each service, from the feed sensor's cursor",
            response=REPORT_SCHEMA,
            tag="reports",
            uses_database=False,
        ),
        ApiRoute(
            "/api/events/analytics",
            lambda args: events_report(instance, engine, args["since"]),
            "Events by type, runs by status, processing time, dead letters and timeouts",
            parameters=(SINCE,),
            response=REPORT_SCHEMA,
            tag="reports",
        ),
    ]
