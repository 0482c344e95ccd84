"""The window's event counts on every event log storage the project runs on: the default
run-sharded SQLite, consolidated SQLite, and PostgreSQL (the production profile)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from dagster import DagsterInstance, instance_for_test

from vatsim_pipeline.reports import errors_report
from vatsim_pipeline.reports.window import Window, activity
from vatsim_pipeline_tests.reports import flaky_job
from vatsim_pipeline_tests.shared_data import REPOSITORY


@contextmanager
def _instance(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator:
    if kind == "sharded sqlite":
        overrides = {}
    elif kind == "consolidated sqlite":
        overrides = {
            "event_log_storage": {
                "module": "dagster._core.storage.event_log",
                "class": "ConsolidatedSqliteEventLogStorage",
                "config": {"base_dir": str(tmp_path / "events")},
            }
        }
    else:
        url = request.getfixturevalue("postgres_url").replace("+psycopg2", "")
        request.getfixturevalue("monkeypatch").setenv("DAGSTER_POSTGRES_URL", url)
        profile = yaml.safe_load(
            (REPOSITORY / "vatsim_pipeline/deploy/dagster.postgres.yaml").read_text()
        )
        overrides = {"storage": profile["storage"]}
    with instance_for_test(overrides=overrides) as instance:
        yield instance


@pytest.mark.parametrize("kind", ["sharded sqlite", "consolidated sqlite", "postgresql"])
def test_counts_match_the_runs_own_records(kind: str, tmp_path, request) -> None:
    with _instance(kind, tmp_path, request) as instance:
        instance: DagsterInstance
        runs = [flaky_job.execute_in_process(instance=instance).run_id for _ in range(2)]

        seen = activity(instance, Window.between())
        report = errors_report(instance)

        assert sorted(seen.counts) == sorted(runs)
        for run_id in runs:
            expected = Counter(
                record.event_log_entry.dagster_event.event_type
                for record in instance.get_records_for_run(run_id).records
                if record.event_log_entry.dagster_event is not None
            )
            assert seen.counts[run_id] == expected
        assert (report["retried_errors"], report["recovered_failures"]) == (2, 2)
