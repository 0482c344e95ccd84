"""The anomalies asset and its WARN checks in real in-process ingest runs, and the
definitions refusing malformed alert settings."""

from __future__ import annotations

import pytest
from dagster import AssetCheckSeverity, DagsterEventType, DagsterInstance

from vatsim_pipeline.alerts.settings import SettingError
from vatsim_pipeline.definitions import build_definitions
from vatsim_pipeline.defs.anomaly_assets import ANOMALY_CHECKS
from vatsim_pipeline.defs.ingest_job import ingest_run_config
from vatsim_pipeline_tests.storage.anomaly_support import copies, pilot, sequence_files


def _emergency(index: int, document: dict) -> None:
    if index >= 1:
        pilot(document, "AAL1233")["transponder"] = "7700"


CHECK_EVENTS = (
    DagsterEventType.ASSET_CHECK_EVALUATION,
    DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED,
)


def _checks(result) -> dict[str, object]:
    """The anomaly checks the run reported for its own materializations: none is a check
    of the step (no planned or output event in the run's log)."""
    assert not [e for e in result.all_events if e.event_type in CHECK_EVENTS]
    storage = DagsterInstance.get().event_log_storage
    keys = [spec.key for spec in ANOMALY_CHECKS]
    found = {}
    for key, record in storage.get_latest_asset_check_execution_by_key(keys).items():
        evaluation = record.event.dagster_event.event_specific_data
        assert evaluation.target_materialization_data.run_id == result.run_id
        found[key.name] = evaluation
    return found


def _anomalies_metadata(result) -> dict:
    (event,) = [
        e
        for e in result.all_events
        if e.event_type == DagsterEventType.ASSET_MATERIALIZATION
        and e.asset_key.to_user_string() == "anomalies"
    ]
    return {key: value.value for key, value in event.materialization.metadata.items()}


def test_ingest_runs_detect_and_check_active_emergencies(vatsim_env, engine, tmp_path) -> None:
    job = build_definitions().resolve_job_def("ingest_snapshot")
    paths = copies(tmp_path, sequence_files()[:2], _emergency)
    results = [
        job.execute_in_process(
            run_config=ingest_run_config(str(path), None), instance=DagsterInstance.get()
        )
        for path in paths
    ]
    first, second = (_anomalies_metadata(result) for result in results)
    assert first["new_emergency_squawk"] == 1  # RDF7, real
    assert second["new_emergency_squawk"] == 1  # AAL1233, injected
    assert second["flights_checked"] == 954
    assert second["cpu_ms"] > 0
    checks = _checks(results[1])
    emergencies = checks["active_emergency_squawks"]
    assert not emergencies.passed
    assert emergencies.severity == AssetCheckSeverity.WARN
    assert emergencies.description == "2 active emergencies"
    # Only the kinds still seen: the others' zeros are not stored with every evaluation.
    assert {k: v.value for k, v in emergencies.metadata.items()} == {"active_emergency_squawk": 2}
    assert checks["active_track_anomalies"].metadata == {}
    assert checks["feed_not_stale"].passed
    assert checks["feed_not_stale"].description == "no active stale feed"
    assert checks["active_track_anomalies"].passed
    # Replaying the first snapshot changes nothing.
    again = job.execute_in_process(
        run_config=ingest_run_config(str(paths[0]), None), instance=DagsterInstance.get()
    )
    replayed = _anomalies_metadata(again)
    assert replayed["rows_inserted"] == replayed["rows_deleted"] == replayed["rows_updated"] == 0
    assert _checks(again)["active_emergency_squawks"].description == "2 active emergencies"


def test_a_bad_threshold_fails_the_step_without_retries(vatsim_env, monkeypatch) -> None:
    monkeypatch.setenv("VATSIM_ANOMALY_FROZEN_S", "five minutes")
    job = build_definitions().resolve_job_def("ingest_snapshot")
    result = job.execute_in_process(
        run_config=ingest_run_config(str(sequence_files()[0]), None),
        instance=DagsterInstance.get(),
        raise_on_error=False,
    )
    assert not result.success
    failure = result.failure_data_for_node("ingest")
    assert failure.error.message.strip().endswith(
        "VATSIM_ANOMALY_FROZEN_S: 'five minutes' is not a number"
    )
    restarts = [e for e in result.all_events if e.event_type == DagsterEventType.STEP_UP_FOR_RETRY]
    assert restarts == []
    # Checked before anything is landed or stored.
    assert result.get_asset_materialization_events() == []


def test_definitions_refuse_a_malformed_webhook_url(vatsim_env, monkeypatch) -> None:
    monkeypatch.setenv("VATSIM_ALERT_WEBHOOK_URL", "ftp://example.org/hook")
    with pytest.raises(SettingError, match=r"^VATSIM_ALERT_WEBHOOK_URL: 'ftp://example\.org/hook'"):
        build_definitions()
