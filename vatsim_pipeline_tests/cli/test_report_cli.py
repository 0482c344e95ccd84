"""`vatsim-pipeline report errors|events|circuit-breakers` on a real failed run."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from dagster import DagsterInstance

# Registers the commands on `main`, whether or not cli/app.py lists the module yet.
import vatsim_pipeline.cli.report  # noqa: F401
from vatsim_pipeline.cli.app import main
from vatsim_pipeline_tests.reports import ingest, not_json_payload


@pytest.fixture
def failed_run(vatsim_env, engine, tmp_path) -> str:
    """One ingest run that failed on a payload that is not JSON."""
    result = ingest(DagsterInstance.get(), not_json_payload(tmp_path))
    assert not result.success
    return result.run_id


def _report(*args: str) -> dict:
    result = CliRunner().invoke(main, ["report", *args])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert result.stdout == json.dumps(document, indent=2, sort_keys=True) + "\n"
    return document


def test_report_errors_prints_the_classified_failure(failed_run) -> None:
    report = _report("errors", "--since", "1h")

    assert report["total_errors"] == 1
    assert report["errors_by_category"]["validation"] == 1
    assert report["errors_by_severity"]["high"] == 1
    assert report["errors_by_service"] == {"feed": 1}
    assert report["recovery_success_rate"] == 0.0
    [common] = report["most_common_errors"]
    assert common["count"] == 1
    assert common["message"].startswith("PayloadError: data feed is not JSON")


def test_report_events_prints_runs_and_dead_letters(failed_run) -> None:
    report = _report("events")

    assert report["runs_by_status"]["FAILURE"] == 1
    assert report["failed_events"] == 2
    assert report["dead_letters"] == {"size": 1, "limit": 100, "over_limit": False}
    assert report["events_by_job"]["ingest_snapshot"]["STEP_FAILURE"] == 1


def test_report_circuit_breakers_before_the_sensor_ever_ran(vatsim_env) -> None:
    report = _report("circuit-breakers")

    assert report["sensor_running"] is False
    assert {name: s["state"] for name, s in report["services"].items()} == {
        "database": "CLOSED",
        "feed": "CLOSED",
        "landing": "CLOSED",
    }


@pytest.mark.parametrize("command", ["errors", "events"])
def test_a_since_that_is_not_a_time_is_one_line_and_exit_2(command: str) -> None:
    result = CliRunner().invoke(main, ["report", command, "--since", "yesterday"])

    assert result.exit_code == 2
    assert result.stderr == (
        "error: --since: 'yesterday' is neither a duration (30s, 90m, 24h, 7d, 2w) "
        "nor an ISO time\n"
    )
    assert result.stdout == ""
