"""The reports over real history: ingest runs that succeed, fail on a payload that is not
JSON, and fail on a database that refuses connections (retried, then replayed once the
database is back), plus feed-sensor ticks against a feed that refuses connections.

The history is made once per backend (SQLite, and PostgreSQL when configured) and every
test reads the reports taken before and after the replay.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from dagster import DagsterEvent, DagsterEventType, DagsterInstance, DagsterRunStatus
from dagster._core.events.log import EventLogEntry
from dagster._daemon.monitoring.run_monitoring import check_run_timeout

from vatsim_pipeline.definitions import build_definitions
from vatsim_pipeline.defs.dead_letters import ReplayOutcome, replay
from vatsim_pipeline.reports import circuit_breakers_report, errors_report, events_report
from vatsim_pipeline.storage.engine import engine_for
from vatsim_pipeline_tests.backends import (
    BACKENDS,
    drop_postgres_database,
    fresh_postgres_database,
)
from vatsim_pipeline_tests.reports import (
    CLOSED_DATABASE_URL,
    CLOSED_STATUS_URL,
    database_retries,
    ingest,
    not_json_payload,
    store_sensor_state,
    tick_feed_sensor,
)
from vatsim_pipeline_tests.shared_data import sequence_files

RETRIES = database_retries()
LOST_DATABASE = (
    'OperationalError: (psycopg2.OperationalError) connection to server at "127.0.0.1", '
    "port 1 failed: Connection refused Is the server running on that host and accepting "
    "TCP/IP connections?"
)


@dataclass
class History:
    instance: DagsterInstance
    database_url: str
    stored_run: str
    not_json_run: str
    lost_database_run: str
    replayed: ReplayOutcome
    ticked_at: datetime
    errors_before: dict
    errors_after: dict
    events_before: dict
    events_after: dict
    breakers: dict


@pytest.fixture(scope="module", params=BACKENDS)
def history(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[History]:
    tmp = tmp_path_factory.mktemp(f"history-{request.param}")
    url = (
        f"sqlite:///{tmp / 'vatsim.db'}" if request.param == "sqlite" else fresh_postgres_database()
    )
    with pytest.MonkeyPatch.context() as env:
        env.setenv("VATSIM_HOME", str(tmp / "home"))
        env.setenv("VATSIM_LANDING_DIR", str(tmp / "landing"))
        env.setenv("DAGSTER_HOME", str(tmp / "dagster_home"))
        env.setenv("VATSIM_DATABASE_URL", url)
        env.setenv("VATSIM_STATUS_URL", CLOSED_STATUS_URL)
        env.setenv("VATSIM_BREAKER_THRESHOLD", "2")
        env.setenv("VATSIM_DEAD_LETTER_LIMIT", "1")
        (tmp / "dagster_home").mkdir()
        instance = DagsterInstance.get()
        first, second = sequence_files()[:2]
        stored = ingest(instance, first)
        not_json = ingest(instance, not_json_payload(tmp))
        env.setenv("VATSIM_DATABASE_URL", CLOSED_DATABASE_URL)
        lost = ingest(instance, second)
        env.setenv("VATSIM_DATABASE_URL", url)
        cursor = tick_feed_sensor(instance, ticks=2)
        ticked_at = datetime.now(UTC)
        store_sensor_state(instance, cursor, ticked_at.timestamp())
        engine = engine_for(url)
        errors_before = errors_report(instance)
        events_before = events_report(instance, engine)
        breakers = circuit_breakers_report(instance)
        replayed = replay(instance, lost.run_id)
        yield History(
            instance=instance,
            database_url=url,
            stored_run=stored.run_id,
            not_json_run=not_json.run_id,
            lost_database_run=lost.run_id,
            replayed=replayed,
            ticked_at=ticked_at,
            errors_before=errors_before,
            errors_after=errors_report(instance),
            events_before=events_before,
            events_after=events_report(instance, engine),
            breakers=breakers,
        )
        instance.dispose()
    if request.param != "sqlite":
        engine_for(url).dispose()
        drop_postgres_database(url)


def test_the_history_is_what_the_reports_are_asked_about(history: History) -> None:
    runs = {
        run_id: history.instance.get_run_by_id(run_id).status
        for run_id in (history.stored_run, history.not_json_run, history.lost_database_run)
    }
    assert list(runs.values()) == [
        DagsterRunStatus.SUCCESS,
        DagsterRunStatus.FAILURE,
        DagsterRunStatus.FAILURE,
    ]
    assert history.replayed.success
    assert RETRIES >= 1


def test_errors_count_every_failed_attempt_by_category_severity_and_service(
    history: History,
) -> None:
    report = history.errors_before
    assert report["total_errors"] == 1 + RETRIES + 1
    assert report["final_errors"] == 2
    assert report["retried_errors"] == RETRIES
    assert report["errors_by_category"] == {
        "network": 0,
        "database": RETRIES + 1,
        "api": 0,
        "validation": 1,
        "configuration": 0,
        "resource": 0,
        "timeout": 0,
        "unknown": 0,
    }
    assert report["errors_by_severity"] == {
        "low": 0,
        "medium": 0,
        "high": 1,
        "critical": RETRIES + 1,
    }
    assert report["errors_by_service"] == {"database": RETRIES + 1, "feed": 1}
    assert report["most_common_errors"][0] == {
        "message": LOST_DATABASE,
        "count": RETRIES + 1,
        "category": "database",
    }
    second = report["most_common_errors"][1]
    assert (second["count"], second["category"]) == (1, "validation")
    assert second["message"].startswith("PayloadError: data feed is not JSON")
    assert len(report["most_common_errors"]) == 2


def test_recovery_counts_a_failure_once_and_a_replay_recovers_it(history: History) -> None:
    before, after = history.errors_before, history.errors_after
    assert (before["failures"], before["recovered_failures"]) == (2, 0)
    assert before["recovery_success_rate"] == 0.0
    assert (after["failures"], after["recovered_failures"]) == (2, 1)
    assert after["recovery_success_rate"] == 0.5
    assert after["total_errors"] == before["total_errors"]


def test_the_window_excludes_what_came_before_it(history: History) -> None:
    later = datetime.now(UTC)
    report = errors_report(history.instance, later - timedelta(microseconds=1))
    assert report["total_errors"] == 0
    assert report["recovery_success_rate"] is None
    assert report["window"]["since"] == (later - timedelta(microseconds=1)).isoformat()


def test_events_report_counts_what_the_event_log_holds(history: History) -> None:
    report = history.events_before
    records = [
        record.event_log_entry
        for run_id in (history.stored_run, history.not_json_run, history.lost_database_run)
        for record in history.instance.get_records_for_run(run_id).records
        if record.event_log_entry.dagster_event is not None
    ]
    assert report["total_events_processed"] == len(records)
    assert sum(report["events_by_type"].values()) == len(records)
    assert report["events_by_job"] == {"ingest_snapshot": report["events_by_type"]}
    assert report["events_by_type"]["STEP_UP_FOR_RETRY"] == RETRIES
    assert report["events_by_type"]["STEP_FAILURE"] == 2
    assert report["events_by_type"]["RUN_FAILURE"] == 2
    assert report["events_by_type"]["RUN_SUCCESS"] == 1
    assert report["failed_events"] == 4
    assert report["last_event_time"] == (
        datetime.fromtimestamp(max(entry.timestamp for entry in records), UTC).isoformat()
    )
    assert report["runs_by_status"]["SUCCESS"] == 1
    assert report["runs_by_status"]["FAILURE"] == 2
    assert sum(report["runs_by_status"].values()) == 3
    stored = history.instance.get_run_record_by_id(history.stored_run)
    assert report["average_processing_time"] == round(stored.end_time - stored.start_time, 3)
    assert report["dead_letters"] == {"size": 2, "limit": 1, "over_limit": True}
    assert report["timeouts"] == {"max_runtime_runs": 0, "timeout_errors": 0, "total": 0}


def test_after_the_replay_one_dead_letter_is_left(history: History) -> None:
    report = history.events_after
    assert report["runs_by_status"]["SUCCESS"] == 2
    assert report["runs_by_status"]["FAILURE"] == 2
    assert report["dead_letters"] == {"size": 1, "limit": 1, "over_limit": False}
    durations = [
        record.end_time - record.start_time
        for record in map(
            history.instance.get_run_record_by_id,
            (history.stored_run, history.replayed.replay_run_id),
        )
    ]
    assert report["average_processing_time"] == round(sum(durations) / 2, 3)


def test_breakers_show_what_the_sensor_stored(history: History) -> None:
    report = history.breakers
    assert report["sensor"] == "vatsim_feed_sensor"
    assert report["sensor_running"] is True
    assert report["last_tick_time"] == history.ticked_at.isoformat()
    feed, database = report["services"]["feed"], report["services"]["database"]
    assert set(report["services"]) == {"feed", "landing", "database"}
    assert feed["state"] == "OPEN"
    assert feed["failure_count"] == 2
    assert feed["opened_count"] == 1
    assert "127.0.0.1:1" in feed["last_failure_reason"]
    failed_at = datetime.fromisoformat(feed["last_failure_time"])
    assert failed_at <= history.ticked_at
    assert datetime.fromisoformat(feed["next_attempt_time"]) == failed_at + timedelta(seconds=30)
    assert feed["summary"].startswith("feed breaker OPEN after 2 consecutive failures")
    assert database["state"] == "CLOSED"
    assert database["failure_count"] == 1
    assert database["last_failure_reason"] == (
        f"run {history.lost_database_run[:8]} failed on the database"
    )
    assert database["next_attempt_time"] is None


def test_a_run_stopped_by_its_maximum_runtime_is_a_timeout(vatsim_env, engine) -> None:
    instance = DagsterInstance.get()
    job = build_definitions().resolve_job_def("ingest_snapshot")
    run = instance.create_run_for_job(job_def=job, tags={"dagster/max_runtime": "1"})
    instance.handle_new_event(
        EventLogEntry(
            error_info=None,
            level=logging.DEBUG,
            user_message="",
            run_id=run.run_id,
            timestamp=time.time() - 10,
            dagster_event=DagsterEvent(DagsterEventType.RUN_START.value, job_name=job.name),
        )
    )

    check_run_timeout(instance, instance.get_run_record_by_id(run.run_id), logging.getLogger(), 0)

    assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.FAILURE
    events = events_report(instance, engine)
    assert events["timeouts"] == {"max_runtime_runs": 1, "timeout_errors": 0, "total": 1}
    assert events["runs_by_status"]["FAILURE"] == 1
    errors = errors_report(instance)
    assert errors["total_errors"] == 1
    assert errors["errors_by_category"]["timeout"] == 1
    assert errors["errors_by_service"] == {"pipeline": 1}
    assert errors["most_common_errors"] == [
        {
            "message": "Canceling due to exceeding maximum runtime of 1 seconds.",
            "count": 1,
            "category": "timeout",
        }
    ]
