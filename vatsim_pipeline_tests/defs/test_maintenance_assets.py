"""The maintenance job, executed in process on landed and stored payloads and real runs:
what it removes, what its metadata says, dry runs, a failing step, and its schedule."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from dagster import (
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    DefaultScheduleStatus,
    RunRequest,
    SkipReason,
    build_schedule_context,
    materialize,
)
from dagster._core.test_utils import create_run_for_test
from sqlalchemy import Engine, func, select

from vatsim_pipeline.definitions import build_definitions
from vatsim_pipeline.defs import maintenance_assets
from vatsim_pipeline.defs.maintenance_assets import (
    MAINTENANCE_STEPS,
    maintenance,
    maintenance_hourly,
)
from vatsim_pipeline.defs.resources import DatabaseResource, LandingResource
from vatsim_pipeline.storage.partitions import PARTITIONED, list_partitions
from vatsim_pipeline_tests.maintenance import KEEP, land_snapshot
from vatsim_pipeline_tests.storage.test_partitions import store_cut_snapshot

OLD = datetime(2024, 11, 20, 10, 0, 15, 250000, tzinfo=UTC)
LATER = datetime(2024, 11, 20, 10, 0, 30, 250000, tzinfo=UTC)


def _maintain(instance: DagsterInstance, dry_run: bool = False):
    job = build_definitions().resolve_job_def("maintenance_job")
    return job.execute_in_process(
        instance=instance,
        run_config={"ops": {"maintenance": {"config": {"dry_run": dry_run}}}},
        raise_on_error=False,
    )


def _metadata(result) -> dict:
    (event,) = [
        e for e in result.all_events if e.event_type == DagsterEventType.ASSET_MATERIALIZATION
    ]
    return {key: value.value for key, value in event.materialization.metadata.items()}


def _rows(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in PARTITIONED
        }


def _partition_bytes(engine: Engine, days: set[date]) -> dict[str, int]:
    return {p.name: p.bytes for p in list_partitions(engine) if p.first_day in days}


@pytest.fixture
def old_history(vatsim_env, engine, monkeypatch) -> dict:
    """Everything older than a retention of 0 days: one stored snapshot, one not stored,
    one successful run; the stored snapshot's rows are older than the 30 days tables keep."""
    monkeypatch.setenv("VATSIM_LANDING_RETENTION_DAYS", "0")
    monkeypatch.setenv("VATSIM_RUN_RETENTION_DAYS", "0")
    landing = Path(vatsim_env["VATSIM_LANDING_DIR"])
    stored = land_snapshot(landing, engine, OLD)
    unstored = land_snapshot(landing, engine, LATER, store=False)
    run = create_run_for_test(
        DagsterInstance.get(), job_name="ingest_snapshot", status=DagsterRunStatus.SUCCESS
    )
    files = [Path(stored.data_path), Path(stored.transceivers_path)]
    return {
        "stored": files,
        "stored_bytes": sum(p.stat().st_size for p in files),
        "unstored": [Path(unstored.data_path), Path(unstored.transceivers_path)],
        "run_id": run.run_id,
        "rows": _rows(engine),
        "partition_bytes": _partition_bytes(engine, {OLD.date()}),
    }


def test_maintenance_is_hourly_in_process_and_has_its_steps(vatsim_env) -> None:
    defs = build_definitions()
    job = defs.resolve_job_def("maintenance_job")
    schedule = defs.resolve_schedule_def("maintenance_hourly")

    assert job.executor_def.name == "in_process"
    assert [key.to_user_string() for key in job.asset_layer.executable_asset_keys] == [
        "maintenance"
    ]
    assert (schedule.cron_schedule, schedule.job_name) == ("17 * * * *", "maintenance_job")
    assert schedule.default_status == DefaultScheduleStatus.RUNNING
    assert [name for name, _ in MAINTENANCE_STEPS] == [
        "landed_payloads",
        "dagster_runs",
        "table_rows",
    ]


def test_the_schedule_cron_comes_from_the_environment_when_definitions_load() -> None:
    code = (
        "from vatsim_pipeline.definitions import defs; "
        "print(defs.resolve_schedule_def('maintenance_hourly').cron_schedule)"
    )
    env = {**os.environ, "VATSIM_MAINTENANCE_CRON": "*/10 * * * *"}

    loaded = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )

    assert loaded.stdout.strip() == "*/10 * * * *"


def test_the_job_removes_what_retention_lets_go_and_says_so(old_history, engine) -> None:
    instance = DagsterInstance.get()
    rows = old_history["rows"]
    partitions = old_history["partition_bytes"]

    result = _maintain(instance)

    assert result.success
    metadata = _metadata(result)
    assert {k: metadata[k] for k in metadata if not k.endswith("duration_s")} == {
        "payloads_deleted": 2,
        "payloads_archived": 0,
        "payload_bytes_removed": old_history["stored_bytes"],
        "archive_bytes_written": 0,
        "bytes_freed": old_history["stored_bytes"],
        "payloads_held_unstored": 2,
        "payloads_held_recent": 0,
        "landing_other_files": 0,
        "day_folders_removed": 0,
        "archives": "",
        "runs_deleted": 1,
        "runs_deleted_success": 1,
        "runs_deleted_failure": 0,
        "runs_deleted_canceled": 0,
        "runs_kept_snapshot_not_stored": 0,
        "runs_kept_failed_no_snapshot": 0,
        "runs_kept_latest_materialization": 0,
        "run_descriptors_removed": 0,
        "runs_stopped_at_limit": False,
        "table_rows_deleted": rows["flight_positions"] + rows["transceivers"],
        "table_partitions_dropped": len(partitions),
        "table_bytes_freed": sum(partitions.values()),
        "table_partitions_created": 0,
        "table_drops_deferred": 0,
        "table_days_archived": 0,
        "table_rows_archived": 0,
        "table_archive_bytes_written": 0,
        "rows_deleted_flight_positions": rows["flight_positions"],
        "rows_deleted_transceivers": rows["transceivers"],
        "rows_deleted_sector_assignments": 0,
        "partitions_dropped_flight_positions": int(bool(partitions)),
        "partitions_dropped_transceivers": int(bool(partitions)),
        "partitions_dropped_sector_assignments": int(bool(partitions)),
        "table_drops_deferred_names": "",
        "dry_run": False,
    }
    assert len(partitions) == (3 if engine.dialect.name == "postgresql" else 0)
    assert rows["flight_positions"] == KEEP["pilots"] and rows["transceivers"] > 0
    assert _rows(engine) == dict.fromkeys(rows, 0)
    assert metadata["duration_s"] >= metadata["landed_payloads_duration_s"] > 0
    assert metadata["dagster_runs_duration_s"] > 0
    assert not any(p.exists() for p in old_history["stored"])
    assert all(p.exists() for p in old_history["unstored"])
    assert instance.get_run_by_id(old_history["run_id"]) is None


def test_a_dry_run_reports_and_keeps_everything(old_history, engine) -> None:
    instance = DagsterInstance.get()

    result = _maintain(instance, dry_run=True)

    metadata = _metadata(result)
    assert (metadata["dry_run"], metadata["payloads_deleted"], metadata["runs_deleted"]) == (
        True,
        2,
        1,
    )
    assert metadata["rows_deleted_flight_positions"] == KEEP["pilots"]
    assert all(p.exists() for p in old_history["stored"])
    assert instance.get_run_by_id(old_history["run_id"]) is not None
    assert _rows(engine) == old_history["rows"]


def test_materialized_maintenance_reports_table_retention_per_table(
    vatsim_env, engine, monkeypatch
) -> None:
    """Two days past the default 30, one recent; radios kept whole; five days ahead."""
    monkeypatch.setenv("VATSIM_RETENTION_DAYS_TRANSCEIVERS", "keep")
    monkeypatch.setenv("VATSIM_PARTITIONS_AHEAD_DAYS", "5")
    now = datetime.now(UTC)
    old = [now - timedelta(days=40), now - timedelta(days=35)]
    for moment in [*old, now - timedelta(hours=1)]:
        store_cut_snapshot(engine, moment)
    before = _rows(engine)
    partitions = {
        name: size
        for name, size in _partition_bytes(engine, {m.date() for m in old}).items()
        if not name.startswith("transceivers")
    }
    postgres = engine.dialect.name == "postgresql"

    result = materialize(
        [maintenance],
        resources={
            "database": DatabaseResource(url=vatsim_env["VATSIM_DATABASE_URL"]),
            "landing": LandingResource(directory=vatsim_env["VATSIM_LANDING_DIR"]),
        },
        instance=DagsterInstance.get(),
    )

    assert result.success
    [materialization] = result.asset_materializations_for_node("maintenance")
    metadata = {key: value.value for key, value in materialization.metadata.items()}
    expected = {
        "table_rows_deleted": 2 * KEEP["pilots"],
        "table_partitions_dropped": 4 if postgres else 0,
        "table_bytes_freed": sum(partitions.values()),
        "table_partitions_created": 3 * 2 if postgres else 0,
        "table_drops_deferred": 0,
        "table_drops_deferred_names": "",
        "rows_deleted_flight_positions": 2 * KEEP["pilots"],
        "rows_deleted_transceivers": 0,
        "rows_deleted_sector_assignments": 0,
        "partitions_dropped_flight_positions": 2 if postgres else 0,
        "partitions_dropped_transceivers": 0,
        "partitions_dropped_sector_assignments": 2 if postgres else 0,
    }
    assert {key: metadata[key] for key in expected} == expected
    assert metadata["table_rows_duration_s"] > 0
    assert _rows(engine) == before | {"flight_positions": KEEP["pilots"]}


def test_a_failing_step_fails_the_run_after_the_others_ran(old_history, monkeypatch) -> None:
    def broken(_context) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(
        maintenance_assets, "MAINTENANCE_STEPS", [("broken", broken), *MAINTENANCE_STEPS]
    )

    result = _maintain(DagsterInstance.get())

    assert not result.success
    (failure,) = result.get_step_failure_events()
    assert failure.step_failure_data.user_failure_data.description == (
        "1 maintenance step(s) failed: broken: RuntimeError: disk on fire"
    )
    assert not any(p.exists() for p in old_history["stored"])


def test_the_schedule_waits_for_an_unfinished_maintenance_run(vatsim_env) -> None:
    instance = DagsterInstance.get()

    assert isinstance(maintenance_hourly(build_schedule_context(instance=instance)), RunRequest)

    running = create_run_for_test(
        instance, job_name="maintenance_job", status=DagsterRunStatus.STARTED
    )
    skipped = maintenance_hourly(build_schedule_context(instance=instance))

    assert isinstance(skipped, SkipReason)
    assert skipped.skip_message == f"run {running.run_id} has not finished yet"


def test_with_an_archive_the_job_archives_and_its_check_sees_every_file(
    old_history, engine, monkeypatch, tmp_path
) -> None:
    archive = tmp_path / "archive"
    monkeypatch.setenv("VATSIM_ARCHIVE_DIR", str(archive))
    rows = old_history["rows"]

    result = _maintain(DagsterInstance.get())

    assert result.success
    metadata = _metadata(result)
    assert metadata["table_days_archived"] == 2  # positions and radios; no assignments
    assert metadata["table_rows_archived"] == rows["flight_positions"] + rows["transceivers"]
    assert metadata["table_archive_bytes_written"] == sum(
        p.stat().st_size for p in archive.rglob("*.parquet")
    )
    assert _rows(engine) == dict.fromkeys(rows, 0)
    (passed,) = result.get_asset_check_evaluations()
    assert (passed.check_name, passed.passed) == ("archive_files_intact", True)
    assert passed.metadata["archived_rows"].value == metadata["table_rows_archived"]

    lost = archive / "transceivers/day=2024-11-20/transceivers_2024-11-20.parquet"
    lost.unlink()
    damaged = archive / "flight_positions/day=2024-11-20/flight_positions_2024-11-20.parquet"
    damaged.write_bytes(damaged.read_bytes()[:-64])
    again = _maintain(DagsterInstance.get())

    (failed,) = again.get_asset_check_evaluations()
    assert not failed.passed
    assert failed.severity.value == "ERROR"
    assert failed.description.startswith(
        f"2 of 2 archived day file(s) missing or damaged: {damaged}: unreadable ("
    )
    assert failed.description.endswith(f"; {lost}: missing")
    assert failed.metadata["problems"].value == 2
