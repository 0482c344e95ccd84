"""The Dagster UI links the dashboard from every ingest table's materialization."""

from __future__ import annotations

import pytest
from dagster import AssetKey, DagsterInstance, MetadataValue

from vatsim_pipeline.dashboard.link import DEFAULT_DASHBOARD_URL, dashboard_url
from vatsim_pipeline.definitions import build_definitions
from vatsim_pipeline.defs.ingest_job import ingest_run_config
from vatsim_pipeline_tests.shared_data import sequence_files


def test_the_default_is_the_local_serve_address():
    assert dashboard_url({}) == DEFAULT_DASHBOARD_URL == "http://127.0.0.1:8000/"
    assert dashboard_url({"VATSIM_DASHBOARD_URL": "https://ops.example/"}) == "https://ops.example/"


def test_ingest_tables_link_the_dashboard(vatsim_env, engine, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("VATSIM_DASHBOARD_URL", "http://127.0.0.1:8123/")
    instance = DagsterInstance.get()
    result = (
        build_definitions()
        .resolve_job_def("ingest_snapshot")
        .execute_in_process(
            run_config=ingest_run_config(str(sequence_files()[0]), None), instance=instance
        )
    )
    assert result.success
    for table in ("flights", "controllers"):
        event = instance.get_latest_materialization_event(AssetKey(table))
        assert event is not None
        metadata = event.asset_materialization.metadata
        assert metadata["dashboard"] == MetadataValue.url("http://127.0.0.1:8123/")
