"""Helpers that produce real history for the report tests: ingest runs that succeed or
fail for real reasons, a job whose step recovers on its retry, and feed-sensor ticks whose
cursor is stored as the daemon does."""

import time
from pathlib import Path

from dagster import (
    DagsterInstance,
    ExecuteInProcessResult,
    OpExecutionContext,
    RetryPolicy,
    build_sensor_context,
    job,
    op,
)
from dagster._core.definitions.sensor_definition import SensorType
from dagster._core.remote_origin import (
    InProcessCodeLocationOrigin,
    RemoteInstigatorOrigin,
    RemoteRepositoryOrigin,
)
from dagster._core.scheduler.instigation import (
    InstigatorState,
    InstigatorStatus,
    InstigatorType,
    SensorInstigatorData,
)
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

from vatsim_pipeline.definitions import build_definitions
from vatsim_pipeline.defs.ingest_job import ingest_run_config, ingest_tags
from vatsim_pipeline.defs.ingest_step import ingest_step
from vatsim_pipeline.defs.resources import build_resources
from vatsim_pipeline.feed.client import snapshot_timestamp

# Nothing listens on port 1: connections are refused at once.
CLOSED_DATABASE_URL = "postgresql+psycopg2://postgres@127.0.0.1:1/x"
CLOSED_STATUS_URL = "http://127.0.0.1:1/status.json"
NOT_JSON = "<!DOCTYPE html><html><body>502 Bad Gateway</body></html>"
QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


def database_retries() -> int:
    """How often the ingest step retries (the test settings make it quick)."""
    return ingest_step.op.retry_policy.max_retries


def ingest(instance: DagsterInstance, path: Path) -> ExecuteInProcessResult:
    """One run of the ingest job on a recorded or written payload, as the sensor requests it
    (tagged with its snapshot when the payload names one)."""
    try:
        tags = ingest_tags(snapshot_timestamp(path.read_bytes()))
    except ValueError:
        tags = {}
    job = build_definitions().resolve_job_def("ingest_snapshot")
    return job.execute_in_process(
        run_config={**ingest_run_config(str(path), None), **QUIET},
        instance=instance,
        tags=tags,
        raise_on_error=False,
    )


@op(retry_policy=RetryPolicy(max_retries=1))
def flaky(context: OpExecutionContext) -> None:
    """Fails its first attempt the way a dropped connection does, then succeeds."""
    if context.retry_number == 0:
        raise ConnectionResetError("connection reset by peer")


@job
def flaky_job() -> None:
    """A real run with one retried, then recovered, step: no database needed."""
    flaky()


def not_json_payload(folder: Path) -> Path:
    """A landed 'feed' that is an HTML error page: a validation failure, never retried."""
    path = folder / "vatsim-data_not-json.json"
    path.write_text(NOT_JSON)
    return path


def tick_feed_sensor(instance: DagsterInstance, ticks: int, cursor: str | None = None) -> str:
    """Evaluate the real feed sensor `ticks` times, carrying its cursor like the daemon."""
    sensor = build_definitions().resolve_sensor_def("vatsim_feed_sensor")
    for _ in range(ticks):
        context = build_sensor_context(
            instance=instance, cursor=cursor, resources=build_resources()
        )
        cursor = sensor.evaluate_tick(context).cursor or cursor
    return cursor


def store_sensor_state(
    instance: DagsterInstance,
    cursor: str | None,
    ticked_at: float | None = None,
    status: InstigatorStatus = InstigatorStatus.DECLARED_IN_CODE,
) -> None:
    """Store the sensor's state where the daemon stores it after a tick."""
    origin = RemoteInstigatorOrigin(
        RemoteRepositoryOrigin(
            InProcessCodeLocationOrigin(
                LoadableTargetOrigin(module_name="vatsim_pipeline.definitions")
            ),
            "__repository__",
        ),
        "vatsim_feed_sensor",
    )
    instance.add_instigator_state(
        InstigatorState(
            origin,
            InstigatorType.SENSOR,
            status,
            SensorInstigatorData(
                last_tick_timestamp=time.time() if ticked_at is None else ticked_at,
                cursor=cursor,
                min_interval=15,
                sensor_type=SensorType.STANDARD,
            ),
        )
    )
