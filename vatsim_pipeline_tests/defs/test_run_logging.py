"""What a run prints to the terminal: a few readable INFO lines and one when it ends,
instead of Dagster's DEBUG event records; the event log still keeps every event."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from dagster import DagsterEventType, DagsterInstance, build_sensor_context
from sqlalchemy import Engine

from vatsim_pipeline.definitions import build_definitions
from vatsim_pipeline.defs.resources import build_resources
from vatsim_pipeline.defs.run_logging import RUN_LOGGING
from vatsim_pipeline_tests.feed_server_fixture import running_feed_server

LINE = re.compile(r"^\d\d:\d\d:\d\d ingest_snapshot [0-9a-f]{8} (\S+ )?(INFO|WARNING) \S")


def _default_run_config(job) -> dict | None:
    """The run config a job runs with unless told otherwise (a partitioned job's, for its
    first partition)."""
    if job.partitioned_config is None:
        return job.run_config
    first = job.partitions_def.get_first_partition_key()
    return job.partitioned_config.get_run_config_for_partition_key(first)


def test_every_job_of_the_project_prints_through_the_one_line_console() -> None:
    jobs = build_definitions().get_repository_def().get_all_jobs()
    named = {job.name: _default_run_config(job) for job in jobs if not job.name.startswith("__")}
    assert {"ingest_snapshot", "refresh_sectors", "session_lifecycle_job"} <= set(named)
    assert {name: config for name, config in named.items() if config != RUN_LOGGING} == {}


def test_an_ingest_run_prints_a_few_info_lines_and_keeps_every_event(
    vatsim_env, engine: Engine, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture
) -> None:
    home = Path(vatsim_env["DAGSTER_HOME"])
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")  # no banner
    with running_feed_server(pilots=20, controllers=4, seed=9) as feed:
        monkeypatch.setenv("VATSIM_STATUS_URL", feed.status_url)
        defs = build_definitions()
        instance = DagsterInstance.get()
        context = build_sensor_context(instance=instance, resources=build_resources())
        (request,) = (
            defs.resolve_sensor_def("vatsim_feed_sensor").evaluate_tick(context).run_requests
        )
        capfd.readouterr()
        result = defs.resolve_job_def("ingest_snapshot").execute_in_process(
            run_config=request.run_config, tags=request.tags, instance=instance
        )
        lines = capfd.readouterr().err.splitlines()
    assert result.success
    run = result.run_id[:8]
    assert lines[-1].endswith(f"ingest_snapshot {run} INFO run succeeded")
    assert all(LINE.match(line) for line in lines), lines
    assert 3 <= len(lines) <= 6, lines  # landed, stored, located (a warning: no sectors), end
    assert any(" ingest INFO stored snapshot " in line for line in lines)
    stored = {
        entry.dagster_event.event_type
        for entry in instance.all_logs(result.run_id)
        if entry.dagster_event is not None
    }
    assert {DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS} <= stored
