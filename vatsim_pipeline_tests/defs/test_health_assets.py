"""The pipeline_health asset, its job and its schedule, on real history."""

from __future__ import annotations

from datetime import datetime, timedelta

from dagster import DagsterEventType, DagsterInstance, DefaultScheduleStatus

from vatsim_pipeline.definitions import build_definitions
from vatsim_pipeline_tests.reports import ingest, not_json_payload

QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


def _health(instance: DagsterInstance, window: str):
    job = build_definitions().resolve_job_def("pipeline_health_job")
    return job.execute_in_process(
        run_config={"ops": {"pipeline_health": {"config": {"window": window}}}, **QUIET},
        instance=instance,
        raise_on_error=False,
    )


def test_the_schedule_materializes_pipeline_health_every_five_minutes(vatsim_env) -> None:
    defs = build_definitions()
    schedule = defs.resolve_schedule_def("pipeline_health_every_5_minutes")
    assert schedule.cron_schedule == "*/5 * * * *"
    assert schedule.default_status == DefaultScheduleStatus.RUNNING
    assert schedule.job_name == "pipeline_health_job"
    job = defs.resolve_job_def("pipeline_health_job")
    assert job.executor_def.name == "in_process"
    assert "vatsim/ingest" not in job.tags
    keys = {key.to_user_string() for key in job.asset_layer.executable_asset_keys}
    assert keys == {"pipeline_health"}
    graph = defs.resolve_asset_graph()
    assert graph.get(next(iter(job.asset_layer.executable_asset_keys))).group_name == "health"


def test_pipeline_health_records_the_reports_figures_as_metadata(
    vatsim_env, engine, tmp_path
) -> None:
    instance = DagsterInstance.get()
    failed = ingest(instance, not_json_payload(tmp_path))
    assert not failed.success

    result = _health(instance, "1h")

    assert result.success
    [materialization] = result.asset_materializations_for_node("pipeline_health")
    metadata = {key: value.value for key, value in materialization.metadata.items()}
    figures = {
        key: metadata[key]
        for key in (
            "total_errors",
            "retried_errors",
            "failures",
            "recovered_failures",
            "recovery_success_rate",
            "failed_events",
            "runs_failed",
            "runs_succeeded",
            "dead_letters",
            "dead_letter_limit",
            "dead_letters_over_limit",
            "timeouts",
            "average_processing_time",
            "category_validation",
            "category_database",
            "severity_high",
            "breaker_feed_state",
            "breaker_feed_failures",
            "breaker_database_state",
            "breaker_database_failures",
            "sensor_running",
        )
    }
    assert figures == {
        "total_errors": 1,
        "retried_errors": 0,
        "failures": 1,
        "recovered_failures": 0,
        "recovery_success_rate": 0.0,
        "failed_events": 2,
        "runs_failed": 1,
        "runs_succeeded": 0,
        "dead_letters": 1,
        "dead_letter_limit": 100,
        "dead_letters_over_limit": False,
        "timeouts": 0,
        "average_processing_time": None,
        "category_validation": 1,
        "category_database": 0,
        "severity_high": 1,
        "breaker_feed_state": "CLOSED",
        "breaker_feed_failures": 0,
        "breaker_database_state": "CLOSED",
        "breaker_database_failures": 0,
        "sensor_running": False,
    }
    since = datetime.fromisoformat(metadata["window_since"])
    until = datetime.fromisoformat(metadata["errors_report"]["window"]["until"])
    assert until - since == timedelta(hours=1)
    assert metadata["errors_report"]["most_common_errors"][0]["category"] == "validation"
    assert metadata["events_report"]["dead_letters"]["size"] == 1
    assert metadata["circuit_breakers_report"]["sensor_running"] is False


def test_a_window_that_is_not_a_duration_fails_the_run_once(vatsim_env, engine) -> None:
    result = _health(DagsterInstance.get(), "soon")

    assert not result.success
    failure = next(e for e in result.all_events if e.event_type == DagsterEventType.STEP_FAILURE)
    assert failure.step_failure_data.user_failure_data.description == (
        "window: 'soon' is neither a duration (30s, 90m, 24h, 7d, 2w) nor an ISO time"
    )
    assert not [e for e in result.all_events if e.event_type == DagsterEventType.STEP_UP_FOR_RETRY]
