"""The old analytics endpoints over real HTTP, from real runs in the Dagster instance."""

from __future__ import annotations

import requests
from dagster import DagsterInstance

from vatsim_pipeline.cli.serve import build_app
from vatsim_pipeline.definitions import build_definitions
from vatsim_pipeline.defs.ingest_job import ingest_run_config
from vatsim_pipeline.settings import Settings
from vatsim_pipeline_tests.api import serving
from vatsim_pipeline_tests.shared_data import sequence_files


def _ingest(path) -> bool:
    job = build_definitions().resolve_job_def("ingest_snapshot")
    return job.execute_in_process(
        run_config=ingest_run_config(str(path), None),
        instance=DagsterInstance.get(),
        raise_on_error=False,
    ).success


def test_error_event_and_breaker_analytics_are_served(vatsim_env, engine, tmp_path) -> None:
    html = tmp_path / "vatsim-data.json"
    html.write_text("<html>503 Service Unavailable</html>")
    assert _ingest(sequence_files()[0])
    assert not _ingest(html)

    with serving(build_app(Settings.from_env())) as base:
        errors = requests.get(f"{base}/api/errors/analytics", timeout=30).json()
        events = requests.get(f"{base}/api/events/analytics?since=1h", timeout=30).json()
        breakers = requests.get(f"{base}/api/errors/circuit-breakers", timeout=30).json()
        bad = requests.get(f"{base}/api/events/analytics?since=soon", timeout=30)
        paths = requests.get(f"{base}/api/openapi.json", timeout=30).json()["paths"]

    assert errors["total_errors"] == 1
    assert errors["errors_by_category"]["validation"] == 1
    assert errors["errors_by_severity"]["high"] == 1
    assert errors["errors_by_service"] == {"feed": 1}
    assert errors["recovery_success_rate"] == 0
    assert "not JSON" in errors["most_common_errors"][0]["message"]
    assert events["runs_by_status"]["SUCCESS"] == 1
    assert events["runs_by_status"]["FAILURE"] == 1
    assert events["failed_events"] >= 2
    assert events["dead_letters"]["size"] == 1
    assert events["total_events_processed"] > 10
    # The old service's shape: one object per service at the top level.
    assert set(breakers) == {"feed", "database", "landing"}
    for breaker in breakers.values():
        assert {"state", "failure_count", "last_failure_time"} <= set(breaker)
        assert breaker["sensor_running"] is False
    assert breakers["feed"]["state"] == "CLOSED"
    assert breakers["database"]["failure_count"] == 0
    assert breakers["feed"]["last_failure_time"] is None
    assert bad.status_code == 400
    assert bad.json()["error"].startswith("since:")
    assert {
        "/api/errors/analytics",
        "/api/errors/circuit-breakers",
        "/api/events/analytics",
    } <= set(paths)
