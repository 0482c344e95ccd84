"""What counts as a recovered failure: a retry that succeeded, a later run of the same
snapshot that stored it, and a replay of a replay that finally did."""

from __future__ import annotations

from dagster import DagsterInstance, instance_for_test

from vatsim_pipeline.defs.dead_letters import replay
from vatsim_pipeline.reports import errors_report
from vatsim_pipeline_tests.reports import (
    CLOSED_DATABASE_URL,
    database_retries,
    flaky_job,
    ingest,
    not_json_payload,
)
from vatsim_pipeline_tests.shared_data import sequence_files


def test_a_step_that_succeeds_on_its_retry_is_a_recovered_failure() -> None:
    with instance_for_test() as instance:
        assert flaky_job.execute_in_process(instance=instance).success

        report = errors_report(instance)

    assert (report["total_errors"], report["retried_errors"], report["final_errors"]) == (1, 1, 0)
    assert report["errors_by_category"]["network"] == 1
    assert report["errors_by_service"] == {"pipeline": 1}
    assert report["most_common_errors"] == [
        {
            "message": "ConnectionResetError: connection reset by peer",
            "count": 1,
            "category": "network",
        }
    ]
    assert (report["failures"], report["recovered_failures"]) == (1, 1)
    assert report["recovery_success_rate"] == 1.0


def test_a_later_run_of_the_same_snapshot_recovers_the_failed_one(
    vatsim_env, engine, monkeypatch
) -> None:
    instance = DagsterInstance.get()
    monkeypatch.setenv("VATSIM_DATABASE_URL", CLOSED_DATABASE_URL)
    assert not ingest(instance, sequence_files()[0]).success
    failed = errors_report(instance)
    monkeypatch.setenv("VATSIM_DATABASE_URL", vatsim_env["VATSIM_DATABASE_URL"])

    assert ingest(instance, sequence_files()[0]).success
    recovered = errors_report(instance)

    assert failed["total_errors"] == recovered["total_errors"] == database_retries() + 1
    assert (failed["failures"], failed["recovered_failures"]) == (1, 0)
    assert (recovered["failures"], recovered["recovered_failures"]) == (1, 1)


def test_a_replay_of_a_replay_that_succeeds_recovers_both(vatsim_env, engine, tmp_path) -> None:
    instance = DagsterInstance.get()
    payload = not_json_payload(tmp_path)
    first = ingest(instance, payload)
    again = replay(instance, first.run_id)
    assert not again.success
    payload.write_bytes(sequence_files()[0].read_bytes())

    last = replay(instance, again.replay_run_id)

    assert last.success
    report = errors_report(instance)
    assert report["total_errors"] == 2
    assert report["errors_by_category"]["validation"] == 2
    assert (report["failures"], report["recovered_failures"]) == (2, 2)
    assert report["recovery_success_rate"] == 1.0
