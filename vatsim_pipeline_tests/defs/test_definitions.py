"""The whole `Definitions` loads, and the instance profiles say what the design needs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from dagster import AssetKey, DagsterInstance, DefaultSensorStatus, instance_for_test
from dagster._core.run_coordinator import QueuedRunCoordinator

from vatsim_pipeline.definitions import build_definitions
from vatsim_pipeline.defs.tags import INGEST_TAG
from vatsim_pipeline_tests.shared_data import REPOSITORY


def test_definitions_wire_assets_job_and_sensor(vatsim_env) -> None:
    defs = build_definitions()
    job = defs.resolve_job_def("ingest_snapshot")
    assert job.executor_def.name == "in_process"
    assert job.tags[INGEST_TAG] == "snapshot"
    assert int(job.tags["dagster/max_runtime"]) > 0
    # The job's step outputs the landed snapshot and records the seven assets it stores
    # into: assets without an op of their own, so no planned or output event each.
    executed = {key.to_user_string() for key in job.asset_layer.executable_asset_keys}
    assert executed == {"landed_snapshot"}
    sensor = defs.resolve_sensor_def("vatsim_feed_sensor")
    assert sensor.default_status == DefaultSensorStatus.RUNNING
    assert sensor.minimum_interval_seconds == 1
    assert sensor.job_name == "ingest_snapshot"
    graph = defs.resolve_asset_graph()
    assert {
        k.to_user_string()
        for k in graph.get_all_asset_keys()
        if graph.get(k).group_name == "ingest"
    } >= {"landed_snapshot", "flights", "controllers", "transceivers", "prefiles"}
    recorded = {
        "flights",
        "controllers",
        "transceivers",
        "prefiles",
        "flight_sector_occupancy",
        "controller_sectors",
        "anomalies",
    }
    assert {
        k.to_user_string() for k in graph.get_all_asset_keys() if not graph.get(k).is_executable
    } == recorded
    for name in recorded:
        node = graph.get(AssetKey(name))
        assert "Recorded by every `ingest_snapshot` run" in node.description
        assert node.parent_keys  # lineage kept: each still names what it is made from


@pytest.mark.parametrize("profile", ["dagster.yaml"])
def test_instance_profile_queues_runs_one_ingest_at_a_time(profile: str, tmp_path: Path) -> None:
    shutil.copy(REPOSITORY / profile, tmp_path / "dagster.yaml")
    instance = DagsterInstance.from_config(str(tmp_path))
    try:
        coordinator = instance.run_coordinator
        # The queued coordinator, launching an ingest run at once when its slot is free.
        assert isinstance(coordinator, QueuedRunCoordinator)
        assert type(coordinator).__name__ == "PromptRunCoordinator"
        assert coordinator.dequeue_interval_seconds == 1
        limits = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
        assert {"key": "vatsim/ingest", "limit": 1} in [dict(limit) for limit in limits]
        assert instance.run_monitoring_enabled
        assert instance.run_retries_enabled
    finally:
        instance.dispose()


def test_postgres_profile_reads_its_url_from_the_environment(postgres_url, monkeypatch) -> None:
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", postgres_url.replace("+psycopg2", ""))
    config = yaml.safe_load(
        (REPOSITORY / "vatsim_pipeline/deploy/dagster.postgres.yaml").read_text()
    )
    with instance_for_test(overrides=config) as instance:
        assert type(instance.run_storage).__name__ == "SchemaAwareRunStorage"
        assert type(instance.event_log_storage).__name__ == "SchemaAwareEventLogStorage"
        assert instance.get_runs() is not None
