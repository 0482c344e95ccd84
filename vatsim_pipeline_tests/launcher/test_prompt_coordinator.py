"""The prompt run coordinator on a real instance: an ingest run is launched as it is
submitted while the ingest slot is free, and queued like every other run otherwise."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import DagsterEventType, DagsterInstance, DagsterRun, DagsterRunStatus, reconstructable
from dagster._core.remote_origin import (
    RegisteredCodeLocationOrigin,
    RemoteJobOrigin,
    RemoteRepositoryOrigin,
)
from dagster._core.run_coordinator import SubmitRunContext
from dagster._core.storage.tags import PARENT_RUN_ID_TAG, SENSOR_NAME_TAG

from vatsim_pipeline.launcher.prompt_coordinator import PromptRunCoordinator
from vatsim_pipeline_tests.launcher.waiting_job import waiting_job

INGEST = {"vatsim/ingest": "snapshot", SENSOR_NAME_TAG: "vatsim_feed_sensor"}
# The queue keeps where a run's code lives; a name is enough for runs nobody dequeues.
REMOTE_ORIGIN = RemoteJobOrigin(
    RemoteRepositoryOrigin(RegisteredCodeLocationOrigin("waiting_job"), "__repository__"),
    "waiting_job",
)
WAIT_S = 60


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DagsterInstance]:
    """A local instance with the warm launcher and the project's run queue settings."""
    (tmp_path / "dagster.yaml").write_text(
        "run_launcher:\n"
        "  module: vatsim_pipeline.launcher.warm_launcher\n"
        "  class: WarmRunLauncher\n"
        "  config:\n    preload_modules: [vatsim_pipeline_tests.launcher.waiting_job]\n"
        "run_coordinator:\n"
        "  module: vatsim_pipeline.launcher.prompt_coordinator\n"
        "  class: PromptRunCoordinator\n"
        "  config:\n    dequeue_interval_seconds: 1\n"
        "concurrency:\n  runs:\n    max_concurrent_runs: 4\n"
        "    tag_concurrency_limits:\n      - key: vatsim/ingest\n        limit: 1\n"
        "telemetry:\n  enabled: false\n"
    )
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with DagsterInstance.get() as instance:
        try:
            yield instance
        finally:
            instance.run_launcher.dispose()


def _submit(instance: DagsterInstance, seconds: float, tags: dict[str, str]) -> DagsterRun:
    run = instance.create_run_for_job(
        waiting_job,
        run_config={"ops": {"wait": {"config": {"seconds": seconds}}}},
        job_code_origin=reconstructable(waiting_job).get_python_origin(),
        remote_job_origin=REMOTE_ORIGIN,
        tags=tags,
    )
    # As the daemons submit it (`instance.submit_run` also wants a code server's origin).
    return instance.run_coordinator.submit_run(SubmitRunContext(run, workspace=None))


def _event_types(instance: DagsterInstance, run_id: str) -> set[DagsterEventType]:
    return {
        record.event_log_entry.dagster_event.event_type
        for record in instance.get_records_for_run(run_id).records
        if record.event_log_entry.dagster_event is not None
    }


def _wait_for_success(instance: DagsterInstance, run_id: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if instance.get_run_by_id(run_id).status == DagsterRunStatus.SUCCESS:
            return
        time.sleep(0.1)
    pytest.fail(f"run {run_id} is {instance.get_run_by_id(run_id).status} after {WAIT_S} s")


def test_the_instance_takes_the_coordinator_with_its_queue_settings(instance) -> None:
    coordinator = instance.run_coordinator
    assert isinstance(coordinator, PromptRunCoordinator)
    assert coordinator.dequeue_interval_seconds == 1
    limits = instance.get_concurrency_config().run_queue_config
    assert limits.max_concurrent_runs == 4
    assert list(limits.tag_concurrency_limits) == [{"key": "vatsim/ingest", "limit": 1}]


def test_an_ingest_run_is_launched_at_once_while_the_slot_is_free(instance) -> None:
    # A retry waits in the queue even with the slot free (its submitter does not wait),
    # and so does an ingest run no sensor requested (started from the UI).
    retry = _submit(instance, 0.0, {**INGEST, PARENT_RUN_ID_TAG: "0" * 36})
    by_hand = _submit(instance, 0.0, {"vatsim/ingest": "snapshot"})
    assert [retry.status, by_hand.status] == [DagsterRunStatus.QUEUED] * 2
    assert instance.run_coordinator.cancel_run(retry.run_id)
    assert instance.run_coordinator.cancel_run(by_hand.run_id)

    first = _submit(instance, 3.0, INGEST)
    assert first.status in {DagsterRunStatus.STARTING, DagsterRunStatus.STARTED}
    assert DagsterEventType.PIPELINE_ENQUEUED not in _event_types(instance, first.run_id)

    # The one ingest slot is taken: the next ingest run waits in the queue; a run of
    # another kind is queued as always.
    second = _submit(instance, 0.0, INGEST)
    other = _submit(instance, 0.0, {})
    assert [second.status, other.status] == [DagsterRunStatus.QUEUED] * 2
    assert DagsterEventType.PIPELINE_ENQUEUED in _event_types(instance, second.run_id)

    _wait_for_success(instance, first.run_id)
    # The slot is free but runs wait in the queue (nobody dequeues in this test): a new
    # ingest run does not overtake them.
    third = _submit(instance, 0.0, INGEST)
    assert third.status == DagsterRunStatus.QUEUED
