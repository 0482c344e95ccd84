"""The pipeline's health as an asset, so the Dagster UI plots it over time.

Every five minutes `pipeline_health` computes the same reports the command line and the
HTTP API serve (errors, events, circuit breakers) over a rolling window and records their
figures as numeric metadata: one point per materialization on each plot. The full reports
ride along as JSON metadata.
"""

from datetime import UTC, datetime

from dagster import (
    AssetExecutionContext,
    AssetSelection,
    Config,
    DefaultScheduleStatus,
    Failure,
    MaterializeResult,
    MetadataValue,
    ScheduleDefinition,
    asset,
    define_asset_job,
    in_process_executor,
)
from pydantic import Field

from vatsim_pipeline.defs.resources import DatabaseResource
from vatsim_pipeline.defs.run_logging import RUN_LOGGING
from vatsim_pipeline.reports import (
    circuit_breakers_report,
    errors_report,
    events_report,
    parse_since,
)

HEALTH_GROUP = "health"
MAX_RUNTIME_S = 240


class HealthConfig(Config):
    """How far back the figures look."""

    window: str = Field(
        default="24h", description="Rolling window: a duration such as 1h, 24h or 7d."
    )


@asset(
    group_name=HEALTH_GROUP,
    description="Errors, recovery, events, dead letters and circuit breakers over a rolling "
    "window, as plottable metadata; computed from the Dagster instance and the database.",
)
def pipeline_health(
    context: AssetExecutionContext, config: HealthConfig, database: DatabaseResource
) -> MaterializeResult:
    now = datetime.now(UTC)
    try:
        since = parse_since(config.window, now)
    except ValueError as error:
        raise Failure(description=f"window: {error}", allow_retries=False) from error
    instance = context.instance
    errors = errors_report(instance, since, now)
    events = events_report(instance, database.engine(), since, now)
    breakers = circuit_breakers_report(instance, now)
    context.log.info(
        f"{errors['total_errors']} error(s), {events['failed_events']} failed event(s), "
        f"{events['dead_letters']['size']} dead letter(s) since {since.isoformat()}"
    )
    return MaterializeResult(metadata=health_metadata(errors, events, breakers))


def health_metadata(errors: dict, events: dict, breakers: dict) -> dict[str, MetadataValue]:
    """The reports' figures, one plottable value each, and the reports themselves."""
    figures: dict[str, MetadataValue] = {
        "window_since": MetadataValue.text(errors["window"]["since"]),
        "total_errors": MetadataValue.int(errors["total_errors"]),
        "retried_errors": MetadataValue.int(errors["retried_errors"]),
        "failures": MetadataValue.int(errors["failures"]),
        "recovered_failures": MetadataValue.int(errors["recovered_failures"]),
        "recovery_success_rate": _number(errors["recovery_success_rate"]),
        "total_events_processed": MetadataValue.int(events["total_events_processed"]),
        "failed_events": MetadataValue.int(events["failed_events"]),
        "average_processing_time": _number(events["average_processing_time"]),
        "runs_succeeded": MetadataValue.int(events["runs_by_status"]["SUCCESS"]),
        "runs_failed": MetadataValue.int(events["runs_by_status"]["FAILURE"]),
        "dead_letters": MetadataValue.int(events["dead_letters"]["size"]),
        "dead_letter_limit": MetadataValue.int(events["dead_letters"]["limit"]),
        "dead_letters_over_limit": MetadataValue.bool(events["dead_letters"]["over_limit"]),
        "timeouts": MetadataValue.int(events["timeouts"]["total"]),
        "sensor_running": MetadataValue.bool(breakers["sensor_running"]),
    }
    for category, count in errors["errors_by_category"].items():
        figures[f"category_{category}"] = MetadataValue.int(count)
    for severity, count in errors["errors_by_severity"].items():
        figures[f"severity_{severity}"] = MetadataValue.int(count)
    for service, breaker in breakers["services"].items():
        figures[f"breaker_{service}_state"] = MetadataValue.text(breaker["state"])
        figures[f"breaker_{service}_failures"] = MetadataValue.int(breaker["failure_count"])
    figures["errors_report"] = MetadataValue.json(errors)
    figures["events_report"] = MetadataValue.json(events)
    figures["circuit_breakers_report"] = MetadataValue.json(breakers)
    return figures


def _number(value: float | None) -> MetadataValue:
    """A float, or null when there is nothing to measure (no failures, no runs)."""
    return MetadataValue.null() if value is None else MetadataValue.float(float(value))


pipeline_health_job = define_asset_job(
    "pipeline_health_job",
    selection=AssetSelection.groups(HEALTH_GROUP),
    config=RUN_LOGGING,
    executor_def=in_process_executor,
    description="Recompute the pipeline_health figures.",
    tags={"dagster/max_runtime": MAX_RUNTIME_S},
)

pipeline_health_every_5_minutes = ScheduleDefinition(
    name="pipeline_health_every_5_minutes",
    job=pipeline_health_job,
    cron_schedule="*/5 * * * *",
    default_status=DefaultScheduleStatus.RUNNING,
    description="Plots the pipeline's health every five minutes.",
)
