"""The session lifecycle job and its every-minute schedule, executed in process on both
databases after the sequence was stored with its occupancy."""

from __future__ import annotations

import pytest
from dagster import (
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    DefaultScheduleStatus,
    Definitions,
    ExecuteInProcessResult,
    RunRequest,
    build_schedule_context,
)
from sqlalchemy import Engine, select

from vatsim_pipeline.definitions import build_definitions
from vatsim_pipeline.defs.ingest_step import ingest_step
from vatsim_pipeline.defs.session_assets import (
    session_lifecycle,
    session_lifecycle_every_minute,
    session_lifecycle_job,
)
from vatsim_pipeline.defs.table_checks import TABLE_CHECKS
from vatsim_pipeline.storage.occupancy_writes import SectorSet, update_occupancy
from vatsim_pipeline.storage.schema import flights, maintenance_log
from vatsim_pipeline.storage.writes import write_snapshot
from vatsim_pipeline_tests.shared_data import sequence_files
from vatsim_pipeline_tests.storage.reads_support import real_sectors
from vatsim_pipeline_tests.storage.support import parsed, update_timestamp

FILES = sequence_files()


def definitions() -> Definitions:
    return Definitions(
        assets=[ingest_step, session_lifecycle],
        asset_checks=TABLE_CHECKS,
        jobs=[session_lifecycle_job],
        schedules=[session_lifecycle_every_minute],
        resources=build_definitions().resources,
    )


def run(config: dict | None = None) -> ExecuteInProcessResult:
    job = definitions().resolve_job_def(session_lifecycle_job.name)
    return job.execute_in_process(
        run_config={"ops": {"session_lifecycle": {"config": config or {}}}},
        instance=DagsterInstance.get(),
        raise_on_error=False,
    )


def materialized(result: ExecuteInProcessResult) -> dict[str, dict]:
    return {
        event.asset_key.to_user_string(): {
            key: value.value for key, value in event.materialization.metadata.items()
        }
        for event in result.get_asset_materialization_events()
    }


@pytest.fixture
def stored_sequence(engine: Engine) -> Engine:
    sector_set = SectorSet.of(real_sectors(), key=(0, None))
    for path in FILES:
        write_snapshot(engine, parsed(path))
        update_occupancy(engine, update_timestamp(path), sector_set)
    return engine


def test_sessions_end_by_feed_time_and_a_second_run_changes_nothing(
    vatsim_env, stored_sequence: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VATSIM_SESSION_TIMEOUT_S", "10")
    first = run()
    assert first.success
    found = materialized(first)
    lifecycle, summaries = found["session_lifecycle"], found["flight_summaries"]
    assert lifecycle["timeout_s"] == 10.0
    assert lifecycle["newest_snapshot"] == update_timestamp(FILES[-1]).isoformat()
    assert (lifecycle["flights_completed"], lifecycle["controllers_offline"]) == (23, 5)
    assert (lifecycle["flights_reopened"], lifecycle["controllers_reopened"]) == (0, 0)
    assert lifecycle["window_start"] == "all"  # the first run reads every connection
    assert summaries["rows_written"] == 23
    # The table checks run in the ingest runs, which materialize the assets they check.
    assert not [
        e for e in first.all_events if e.event_type == DagsterEventType.ASSET_CHECK_EVALUATION
    ]

    second = run({"timeout_s": 10})
    again = materialized(second)
    assert again["session_lifecycle"]["flights_completed"] == 0
    assert again["flight_summaries"]["rows_written"] == 0
    # It reads from the oldest snapshot stored in the margin before the previous run's.
    assert again["session_lifecycle"]["window_start"] == update_timestamp(FILES[0]).isoformat()
    with stored_sequence.connect() as connection:
        log = connection.execute(select(maintenance_log)).one()
        completed = connection.scalar(
            select(flights.c.id).where(flights.c.status == "completed").limit(1)
        )
    assert (log.task, log.rows) == ("session_lifecycle", 0)
    assert completed is not None


def test_the_default_timeout_ends_nothing_within_two_minutes(
    vatsim_env, stored_sequence: Engine
) -> None:
    # The sequence spans 105 s: under the default 120 s every connection is still on.
    found = materialized(run())
    assert found["session_lifecycle"]["timeout_s"] == 120.0
    assert found["session_lifecycle"]["flights_completed"] == 0
    assert found["flight_summaries"]["rows_written"] == 0


def test_the_schedule_runs_every_minute_unless_a_run_is_unfinished(vatsim_env) -> None:
    assert session_lifecycle_every_minute.cron_schedule == "* * * * *"
    assert session_lifecycle_every_minute.default_status == DefaultScheduleStatus.RUNNING
    assert session_lifecycle_every_minute.job_name == "session_lifecycle_job"
    instance = DagsterInstance.get()
    requested = session_lifecycle_every_minute.evaluate_tick(build_schedule_context(instance))
    assert [type(r) for r in requested.run_requests] == [RunRequest]

    job = definitions().resolve_job_def(session_lifecycle_job.name)
    running = instance.create_run_for_job(job, status=DagsterRunStatus.STARTED)
    skipped = session_lifecycle_every_minute.evaluate_tick(build_schedule_context(instance))
    assert not skipped.run_requests
    assert skipped.skip_message == f"run {running.run_id} has not finished yet"
