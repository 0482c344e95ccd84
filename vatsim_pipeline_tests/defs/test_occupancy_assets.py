"""Occupancy inside ingest runs (the one step stores the tables, then locates occupancy
and staffing, then reports the table checks), executed in process on both databases."""

from __future__ import annotations

from dagster import DagsterEventType, DagsterInstance, ExecuteInProcessResult
from sqlalchemy import Engine, func, select

from vatsim_pipeline.definitions import build_definitions
from vatsim_pipeline.defs.anomaly_assets import ANOMALY_CHECKS as ANOMALY_CHECK_SPECS
from vatsim_pipeline.defs.ingest_assets import RADIOS_CHECK
from vatsim_pipeline.defs.ingest_job import ingest_run_config
from vatsim_pipeline.defs.table_checks import DESCRIPTIONS
from vatsim_pipeline.storage.assignment_runs import assignment_snapshots
from vatsim_pipeline.storage.schema import controller_sectors, controllers, sector_assignments
from vatsim_pipeline.storage.sector_writes import replace_sectors
from vatsim_pipeline_tests.shared_data import sequence_files
from vatsim_pipeline_tests.storage.reads_support import real_sectors
from vatsim_pipeline_tests.storage.support import raw

FILES = sequence_files()
# The WARN checks of active anomalies, reported by the same step (the recorded sequence
# has an emergency squawk and track anomalies, so their results vary by snapshot).
ANOMALY_CHECKS = {"active_emergency_squawks", "active_track_anomalies", "feed_not_stale"}


CHECK_EVENTS = (
    DagsterEventType.ASSET_CHECK_EVALUATION,
    DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED,
)


def ingest_job():
    return build_definitions().resolve_job_def("ingest_snapshot")


def run(job, path) -> ExecuteInProcessResult:
    return job.execute_in_process(
        run_config=ingest_run_config(str(path), None),
        instance=DagsterInstance.get(),
        raise_on_error=False,
    )


def materialized(result: ExecuteInProcessResult) -> dict[str, dict]:
    return {
        event.asset_key.to_user_string(): {
            key: value.value for key, value in event.materialization.metadata.items()
        }
        for event in result.get_asset_materialization_events()
    }


def checks(result: ExecuteInProcessResult) -> dict[str, tuple[bool, str]]:
    """The checks the run reported for its own materializations (the latest evaluation of
    each, as the UI reads it); none is a check of the run's step."""
    assert not [e for e in result.all_events if e.event_type in CHECK_EVENTS]
    found = {}
    storage = DagsterInstance.get().event_log_storage
    reported = [*DESCRIPTIONS, RADIOS_CHECK, *(spec.key for spec in ANOMALY_CHECK_SPECS)]
    for key, record in storage.get_latest_asset_check_execution_by_key(reported).items():
        evaluation = record.event.dagster_event.event_specific_data
        if evaluation.target_materialization_data.run_id == result.run_id:
            found[key.name] = (evaluation.passed, evaluation.description)
    return found


def test_each_ingest_run_locates_its_snapshot_and_checks_the_tables(
    vatsim_env, engine: Engine
) -> None:
    replace_sectors(engine, real_sectors(), "test")
    job = ingest_job()
    results, found = [], []
    for path in FILES:
        results.append(run(job, path))
        found.append(checks(results[-1]))
    assert all(result.success for result in results)

    first = materialized(results[0])
    pilots = len(raw(FILES[0])["pilots"])
    assert {
        k: first["flight_sector_occupancy"][k]
        for k in ("positions", "positions_located", "positions_outside_sectors", "rows_inserted")
    } == {
        "positions": pilots,
        "positions_located": pilots,
        "positions_outside_sectors": 0,
        "rows_inserted": pilots,
    }
    assert first["controller_sectors"]["controllers_staffing"] == 18
    assert first["landed_snapshot"]["update_timestamp"].startswith("2024-11-22T12:48:40")
    assert "elapsed_ms" in first["flight_sector_occupancy"]
    assert "elapsed_ms" not in first["controller_sectors"]  # the same write's: said once
    stamp = materialized(results[-1])["landed_snapshot"]["update_timestamp"]
    last = materialized(results[-1])["flight_sector_occupancy"]
    assert last["positions_located"] == len(raw(FILES[-1])["pilots"])
    assert 0 < last["flights_rebuilt"] < last["positions"] / 10
    for result, reported in zip(results, found, strict=True):
        assert [e.step_key for e in result.all_events if e.is_step_start] == ["ingest"]
        table_checks = {n: p for n, (p, _) in reported.items() if n not in ANOMALY_CHECKS}
        assert set(reported) - set(table_checks) == ANOMALY_CHECKS
        assert table_checks == {
            "newest_snapshot_positions_complete": True,
            "tracks_match_sessions": True,
            "newest_snapshot_positions_located": True,
            "newest_snapshot_fresh": True,
            "radios_complete": True,
        }
    fresh = found[-1]["newest_snapshot_fresh"][1]
    assert fresh == "vatsim_feed_sensor is not running, so no fresh snapshot is expected"
    located = found[-1]["newest_snapshot_positions_located"][1]
    assert located == f"957 of 957 positions at {stamp} located"
    with engine.connect() as connection:
        assigned = connection.scalar(select(func.count()).select_from(assignment_snapshots))
        rows = connection.scalar(select(func.count()).select_from(sector_assignments))
        staffed = {
            sector_id
            for _, sector_id in connection.execute(
                select(controllers.c.callsign, controller_sectors.c.sector_id)
                .join(controller_sectors, controller_sectors.c.controller_id == controllers.c.id)
                .where(controllers.c.callsign == "EKDK_CTR")
            )
        }
    assert assigned == sum(len(raw(path)["pilots"]) for path in FILES)
    assert rows < assigned / 3  # a flight's stretch in one sector is one row
    assert staffed == {"EKDK"}


def test_without_sectors_the_run_succeeds_and_says_what_is_missing(
    vatsim_env, engine: Engine
) -> None:
    result = run(ingest_job(), FILES[0])
    assert result.success
    assert set(materialized(result)) == {
        "landed_snapshot",
        "flights",
        "controllers",
        "transceivers",
        "prefiles",
        "flight_sector_occupancy",
        "controller_sectors",
        "anomalies",
    }
    assert materialized(result)["flight_sector_occupancy"]["sectors_stored"] == 0
    # Every check runs; the one on occupancy fails and says why.
    found = checks(result)
    assert {name: passed for name, (passed, _) in found.items() if name not in ANOMALY_CHECKS} == {
        "newest_snapshot_fresh": True,
        "newest_snapshot_positions_complete": True,
        "tracks_match_sessions": True,
        "newest_snapshot_positions_located": False,
        "radios_complete": True,
    }
    assert found["newest_snapshot_positions_located"][1].endswith(
        "located; no sectors stored (sensor sectors_when_missing requests them)"
    )
    messages = [entry.user_message for entry in DagsterInstance.get().all_logs(result.run_id)]
    assert any("no sectors stored yet: the positions of " in m for m in messages)
