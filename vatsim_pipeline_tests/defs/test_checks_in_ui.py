"""What the Dagster UI shows for the asset checks, read through the UI's own GraphQL API
(`executionForLatestMaterialization`, which is "Not Evaluated" when null) against a code
server loading `workspace.yaml`: after ingest runs and a session lifecycle run every
check shows its latest result, and a feed that stops answering turns the freshness
check red (failed, ERROR) through the sensor, with no ingest run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dagster import DagsterInstance, DagsterRunStatus, build_sensor_context
from dagster_graphql.test.utils import define_out_of_process_context, execute_dagster_graphql
from sqlalchemy import Engine

from vatsim_pipeline.definitions import build_definitions
from vatsim_pipeline.defs.resources import build_resources
from vatsim_pipeline.defs.sensor_cursor import FeedCursor
from vatsim_pipeline_tests.feed_server_fixture import running_feed_server

REPOSITORY = Path(__file__).resolve().parents[2]
CHECKS_QUERY = """
query {
  assetNodes {
    assetChecksOrError {
      ... on AssetChecks {
        checks {
          name
          executionForLatestMaterialization {
            status
            evaluation { severity description }
          }
        }
      }
    }
  }
}
"""
CHECKS = {
    "newest_snapshot_positions_complete",
    "tracks_match_sessions",
    "newest_snapshot_positions_located",
    "newest_snapshot_fresh",
    "landing_writable",
    "radios_complete",
    "active_emergency_squawks",
    "active_track_anomalies",
    "feed_not_stale",
}


def shown_checks(context) -> dict[str, tuple[str, str | None, str | None]]:
    """Check name -> (status, severity, description) as the UI shows it, for the checks
    an ingest run reports; NOT_EVALUATED when the UI has no execution for the asset's latest
    materialization."""
    result = execute_dagster_graphql(context, CHECKS_QUERY)
    assert not result.errors, result.errors
    shown = {}
    for node in result.data["assetNodes"]:
        for check in node["assetChecksOrError"].get("checks", []):
            if check["name"] not in CHECKS:
                continue
            execution = check["executionForLatestMaterialization"]
            if execution is None:
                shown[check["name"]] = ("NOT_EVALUATED", None, None)
                continue
            evaluation = execution["evaluation"] or {}
            shown[check["name"]] = (
                execution["status"],
                evaluation.get("severity"),
                evaluation.get("description"),
            )
    return shown


def test_checks_show_their_latest_result_and_a_feed_outage_is_red(
    vatsim_env, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_feed_server(pilots=30, controllers=6, seed=3) as feed:
        monkeypatch.setenv("VATSIM_STATUS_URL", feed.status_url)
        monkeypatch.setenv("VATSIM_MAP_DATA_URL", f"{feed.base_url}/api/map_data/")
        monkeypatch.setenv(
            "VATSIM_TRACON_URL", f"{feed.base_url}/map_data/TRACONBoundaries.geojson"
        )
        monkeypatch.setenv("VATSIM_FEED_READ_TIMEOUT_S", "1")
        defs = build_definitions()
        instance = DagsterInstance.get()
        sensor = defs.resolve_sensor_def("vatsim_feed_sensor")
        ingest = defs.resolve_job_def("ingest_snapshot")

        def tick(cursor: str | None):
            context = build_sensor_context(
                instance=instance, cursor=cursor, resources=build_resources()
            )
            return sensor.evaluate_tick(context)

        def ingest_landed(data) -> None:
            (request,) = data.run_requests
            run = ingest.execute_in_process(
                run_config=request.run_config, tags=request.tags, instance=instance
            )
            assert run.success

        assert defs.resolve_job_def("refresh_sectors").execute_in_process(instance=instance).success
        first = tick(None)
        ingest_landed(first)
        # The lifecycle runs every minute between ingest runs; it used to run the checks,
        # which the next ingest run's materializations then hid as "Not Evaluated".
        lifecycle = defs.resolve_job_def("session_lifecycle_job")
        assert lifecycle.execute_in_process(instance=instance).success
        feed.advance()
        second = tick(first.cursor)
        ingest_landed(second)

        with define_out_of_process_context(
            str(REPOSITORY / "workspace.yaml"), None, instance
        ) as context:
            shown = shown_checks(context)
            assert {name: status for name, (status, _, _) in shown.items()} == dict.fromkeys(
                CHECKS, "SUCCEEDED"
            )
            assert shown["newest_snapshot_positions_located"][2].startswith("30 of 30 ")

            # The next update's run is queued (one always is, or runs): the checks still
            # show their results, not "in progress" from the moment a run is queued.
            feed.advance()
            third = tick(second.cursor)
            (queued,) = third.run_requests
            instance.create_run_for_job(
                job_def=ingest,
                run_config=queued.run_config,
                tags=queued.tags,
                status=DagsterRunStatus.NOT_STARTED,
            )
            shown = shown_checks(context)
            assert {name: status for name, (status, _, _) in shown.items()} == dict.fromkeys(
                CHECKS, "SUCCEEDED"
            )

            # The feed stops answering; its newest update is 100 s old: no run can check
            # anything, so the sensor reports the freshness check itself.
            feed.set_faults(fail_mode="http503")
            cursor = FeedCursor.parse(third.cursor)
            cursor.last_landed = datetime.now(UTC) - timedelta(seconds=100)
            outage = tick(cursor.dump())
            assert outage.run_requests == [] and "503" in outage.skip_message
            for event in outage.asset_events:
                instance.report_runless_asset_event(event)

            shown = shown_checks(context)
            status, severity, description = shown["newest_snapshot_fresh"]
            assert (status, severity) == ("FAILED", "ERROR")
            assert description.startswith("no new feed update for 100 s: feed unreachable")
            others = {name: status for name, (status, _, _) in shown.items()}
            assert others == {
                **dict.fromkeys(CHECKS, "SUCCEEDED"),
                "newest_snapshot_fresh": "FAILED",
            }
