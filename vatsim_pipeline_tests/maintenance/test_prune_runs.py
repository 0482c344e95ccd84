"""Run pruning on real ingest runs (stored, failed on the database, failed on a payload
that is not a feed), then on many runs in small batches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dagster import DagsterInstance, DagsterRunStatus
from dagster._core.test_utils import create_run_for_test

from vatsim_pipeline.defs.dead_letters import list_dead_letters, replay
from vatsim_pipeline.maintenance.prune_runs import RunRetention, descriptor_path, prune_runs
from vatsim_pipeline.storage.sector_writes import replace_sectors
from vatsim_pipeline_tests.defs.test_dead_letters import failed_locating
from vatsim_pipeline_tests.maintenance import payload_file
from vatsim_pipeline_tests.reports import CLOSED_DATABASE_URL, ingest, not_json_payload
from vatsim_pipeline_tests.shared_data import sequence_files
from vatsim_pipeline_tests.storage.reads_support import real_sectors

RETENTION = RunRetention(days=7, failed_days=90)
SNAPSHOT = datetime(2024, 11, 22, 12, 48, 40, 116824, tzinfo=UTC)


@pytest.fixture
def history(vatsim_env, engine, monkeypatch, tmp_path) -> dict[str, str]:
    """Five real ingest runs, oldest first, and what each one is."""
    instance = DagsterInstance.get()
    files = [payload_file(tmp_path, SNAPSHOT + timedelta(seconds=15 * n)) for n in range(3)]

    def failing_on_the_database(path: Path) -> str:
        monkeypatch.setenv("VATSIM_DATABASE_URL", CLOSED_DATABASE_URL)
        result = ingest(instance, path)
        monkeypatch.setenv("VATSIM_DATABASE_URL", vatsim_env["VATSIM_DATABASE_URL"])
        assert not result.success
        return result.run_id

    runs = {"failed_then_stored": failing_on_the_database(files[0])}
    runs["stored"] = ingest(instance, files[0]).run_id
    runs["dead_letter"] = failing_on_the_database(files[1])
    runs["not_a_feed"] = ingest(instance, not_json_payload(tmp_path)).run_id
    runs["latest"] = ingest(instance, files[2]).run_id
    return runs


def _run_ids(instance: DagsterInstance) -> set[str]:
    return {record.dagster_run.run_id for record in instance.get_run_records()}


def test_old_runs_go_and_dead_letters_stay_until_stored(history, engine) -> None:
    instance = DagsterInstance.get()
    storage = Path(instance.storage_directory())
    descriptors = {name: descriptor_path(instance, run_id) for name, run_id in history.items()}
    # The one-step ingest run writes none; runs of the four-step job left one each.
    assert not any(path.exists() for path in descriptors.values())
    for path in descriptors.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")
    shard = Path(instance.event_log_storage.path_for_shard(history["stored"]))
    assert shard.exists()
    in_a_week = datetime.now(UTC) + timedelta(days=8)

    too_young = prune_runs(instance, engine, RETENTION, now=datetime.now(UTC) + timedelta(days=6))
    assert too_young.total == 0

    preview = prune_runs(instance, engine, RETENTION, now=in_a_week, dry_run=True)

    assert _run_ids(instance) == set(history.values())
    expected = {
        "deleted": 2,
        "deleted_by_status": {"FAILURE": 1, "SUCCESS": 1},
        "kept_failed_snapshot_not_stored": 1,
        "kept_failed_no_snapshot": 1,
        "kept_latest_materialization": 1,
        "descriptors": 2,
        "stopped_at_limit": False,
    }
    assert {k: preview.as_dict()[k] for k in expected} == expected
    assert preview.describe() == (
        "would delete 2 run(s) (FAILURE 1, SUCCESS 1); kept 1 failed run(s) whose snapshot "
        "is not stored or not located, 1 failed run(s) of no snapshot, 1 holding an asset's "
        "latest materialization"
    )

    done = prune_runs(instance, engine, RETENTION, now=in_a_week)

    assert {k: done.as_dict()[k] for k in expected} == expected
    assert _run_ids(instance) == {history[n] for n in ("dead_letter", "not_a_feed", "latest")}
    for name in ("stored", "failed_then_stored"):
        assert not descriptors[name].exists()
        assert not Path(instance.event_log_storage.path_for_shard(history[name])).exists()
        assert instance.all_logs(history[name]) == []
        assert not (storage / history[name]).exists()
    assert descriptors["dead_letter"].exists() and descriptors["latest"].exists()
    assert [letter.run_id for letter in list_dead_letters(instance, engine)] == [
        history["dead_letter"],
        history["not_a_feed"],
    ]

    after_the_limit = prune_runs(
        instance, engine, RETENTION, now=datetime.now(UTC) + timedelta(days=91)
    )

    assert after_the_limit.deleted == {"FAILURE": 2}
    assert after_the_limit.kept_latest == 1
    assert _run_ids(instance) == {history["latest"]}


def test_a_run_that_failed_locating_its_stored_snapshot_stays_until_a_replay_locates_it(
    vatsim_env, engine
) -> None:
    replace_sectors(engine, real_sectors(), "test")
    before, path, after = sequence_files()[:3]
    instance = DagsterInstance.get()
    assert ingest(instance, before).success
    failed, _stamp = failed_locating(engine, path)
    assert ingest(instance, after).success
    in_a_week = datetime.now(UTC) + timedelta(days=8)

    kept = prune_runs(instance, engine, RETENTION, now=in_a_week)

    assert (kept.deleted["FAILURE"], kept.kept_unstored) == (0, 1)
    assert failed.run_id in _run_ids(instance)
    assert replay(instance, failed.run_id).success

    done = prune_runs(instance, engine, RETENTION, now=in_a_week)

    assert done.deleted["FAILURE"] == 1
    assert failed.run_id not in _run_ids(instance)


def test_many_runs_are_read_in_batches_and_one_pass_stops_at_its_limit(vatsim_env, engine) -> None:
    instance = DagsterInstance.get()
    succeeded = [
        create_run_for_test(instance, job_name="ingest_snapshot", status=DagsterRunStatus.SUCCESS)
        for _ in range(7)
    ]
    running = create_run_for_test(instance, status=DagsterRunStatus.STARTED)
    canceled = create_run_for_test(instance, status=DagsterRunStatus.CANCELED)
    small = RunRetention(days=7, failed_days=90, batch=2, max_runs=5)
    later = datetime.now(UTC) + timedelta(days=8)

    first = prune_runs(instance, engine, small, now=later)

    assert (first.total, first.stopped_at_limit) == (5, True)
    assert first.describe().startswith("deleted 5 run(s) (SUCCESS 5) and stopped at the limit")
    assert _run_ids(instance) == {r.run_id for r in (*succeeded[5:], running, canceled)}

    second = prune_runs(instance, engine, small, now=later)

    assert (second.total, second.stopped_at_limit, second.kept_unnamed) == (2, False, 1)
    assert _run_ids(instance) == {running.run_id, canceled.run_id}


def test_retention_reads_the_environment() -> None:
    assert RunRetention.from_env({}) == RunRetention(7.0, 90.0, 500, 50_000)
    env = {
        "VATSIM_RUN_RETENTION_DAYS": "3",
        "VATSIM_FAILED_RUN_RETENTION_DAYS": "30",
        "VATSIM_PRUNE_MAX_RUNS": "1000",
    }
    assert RunRetention.from_env(env) == RunRetention(3.0, 30.0, 500, 1000)
