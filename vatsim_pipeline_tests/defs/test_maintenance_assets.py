"""The maintenance job, executed in process on landed and stored payloads and real runs:
what it removes, what its metadata says, dry runs, a failing step, and its schedule."""

from __future__ import annotations

from datetime import UTC, datetime
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
)
from dagster._core.test_utils import create_run_for_test

from vatsim_pipeline.definitions import build_definitions
from vatsim_pipeline.defs import maintenance_assets
from vatsim_pipeline.defs.maintenance_assets import MAINTENANCE_STEPS, maintenance_hourly
from vatsim_pipeline_tests.maintenance import land_snapshot

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


@pytest.fixture
def old_history(vatsim_env, engine, monkeypatch) -> dict:
    """Everything older than a retention of 0 days: one stored snapshot, one not stored,
    one successful run."""
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
    assert [name for name, _ in MAINTENANCE_STEPS] == ["landed_payloads", "dagster_runs"]


def test_the_job_removes_what_retention_lets_go_and_says_so(old_history) -> None:
    instance = DagsterInstance.get()

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
        "dry_run": False,
    }
    assert metadata["duration_s"] >= metadata["landed_payloads_duration_s"] > 0
    assert metadata["dagster_runs_duration_s"] > 0
    assert not any(p.exists() for p in old_history["stored"])
    assert all(p.exists() for p in old_history["unstored"])
    assert instance.get_run_by_id(old_history["run_id"]) is None


def test_a_dry_run_reports_and_keeps_everything(old_history) -> None:
    instance = DagsterInstance.get()

    result = _maintain(instance, dry_run=True)

    metadata = _metadata(result)
    assert (metadata["dry_run"], metadata["payloads_deleted"], metadata["runs_deleted"]) == (
        True,
        2,
        1,
    )
    assert all(p.exists() for p in old_history["stored"])
    assert instance.get_run_by_id(old_history["run_id"]) is not None


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
