"""The events report: what the event log recorded in a window, and the backlog it left.

Event types are named as Dagster names them today (`RUN_FAILURE`, not the stored
`PIPELINE_FAILURE`); plain log lines are not events here. Runs are those active in the
window (updated in it, or still going), by their current status.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from statistics import mean

from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus
from sqlalchemy import Engine

from vatsim_pipeline.defs.dead_letters import INGEST_JOB, dead_letter_limit, list_dead_letters
from vatsim_pipeline.reports.check_failures import LANDING_CHECK, RADIOS_CHECK, failed_checks
from vatsim_pipeline.reports.errors_report import collect_errors
from vatsim_pipeline.reports.window import Activity, Window, activity
from vatsim_pipeline.resilience.errors import ErrorCategory
from vatsim_pipeline.storage.anomaly_reads import alert_counts

FAILED_EVENTS = (DagsterEventType.STEP_FAILURE, DagsterEventType.RUN_FAILURE)


def events_report(
    instance: DagsterInstance,
    engine: Engine,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict:
    """Event counts by type and job, runs by status, processing time, dead letters, timeouts,
    and the anomaly alerts sent and not delivered.

    The window runs from `since` (default: 24 hours before `until`) to `until` (default: now).
    """
    seen = activity(instance, Window.between(since, until))
    by_job: dict[str, Counter[str]] = {}
    for run_id, counts in seen.counts.items():
        job = by_job.setdefault(seen.runs[run_id].dagster_run.job_name, Counter())
        job.update({event_type.name: count for event_type, count in counts.items()})
    statuses = Counter(record.dagster_run.status for record in seen.runs.values())
    letters = len(list_dead_letters(instance, engine))
    limit = dead_letter_limit()
    return {
        "window": seen.window.as_dict(),
        "events_by_type": dict(sorted(sum(by_job.values(), Counter()).items())),
        "events_by_job": {
            job: dict(sorted(counts.items())) for job, counts in sorted(by_job.items())
        },
        "runs_by_status": {status.value: statuses[status] for status in DagsterRunStatus},
        "total_events_processed": sum(sum(counts.values()) for counts in seen.counts.values()),
        "failed_events": sum(seen.total(event_type) for event_type in FAILED_EVENTS),
        "average_processing_time": _average_processing_time(seen),
        "last_event_time": seen.last_event_time.isoformat() if seen.last_event_time else None,
        "dead_letters": {"size": letters, "limit": limit, "over_limit": letters > limit},
        "timeouts": _timeouts(instance, seen),
        "anomaly_alerts": _alerts(engine, seen.window),
        "snapshots_without_radios": len(failed_checks(instance, RADIOS_CHECK, seen.window)),
        "updates_not_landed": len(failed_checks(instance, LANDING_CHECK, seen.window)),
    }


def _alerts(engine: Engine, window: Window) -> dict[str, int]:
    """Anomaly alerts handled in the window: sent, `failed` (the webhook could not be
    reached or refused them: not delivered), `skipped` (too old to be news)."""
    with engine.connect() as connection:
        return alert_counts(connection, window.since, window.until)


def _average_processing_time(seen: Activity) -> float | None:
    """Mean seconds from start to end of the ingest runs that succeeded."""
    durations = [
        record.end_time - record.start_time
        for record in seen.runs.values()
        if record.dagster_run.job_name == INGEST_JOB
        and record.dagster_run.status == DagsterRunStatus.SUCCESS
        and record.start_time is not None
        and record.end_time is not None
    ]
    return round(mean(durations), 3) if durations else None


def _timeouts(instance: DagsterInstance, seen: Activity) -> dict[str, int]:
    """Runs stopped by their maximum runtime, and the other errors classified as timeouts."""
    by_run = collect_errors(instance, seen)
    stopped = sum(run.max_runtime_exceeded for run in by_run.values())
    timed_out = sum(
        error.category == ErrorCategory.TIMEOUT.value
        for run in by_run.values()
        if not run.max_runtime_exceeded
        for error in run.errors
    )
    return {"max_runtime_runs": stopped, "timeout_errors": timed_out, "total": stopped + timed_out}
