"""The table checks pass on stored snapshots and fail on rows corrupted on purpose; the
freshness check follows the feed sensor's state; column schemas come from schema.py."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from dagster import (
    AssetCheckKey,
    AssetCheckSeverity,
    AssetSelection,
    DagsterEventType,
    DagsterInstance,
    Definitions,
    TableColumn,
    TableColumnConstraints,
    define_asset_job,
)
from dagster._core.definitions.run_request import InstigatorType
from dagster._core.remote_origin import (
    RegisteredCodeLocationOrigin,
    RemoteInstigatorOrigin,
    RemoteRepositoryOrigin,
)
from dagster._core.scheduler.instigation import (
    InstigatorState,
    InstigatorStatus,
    SensorInstigatorData,
)
from sqlalchemy import Engine, delete, select, update

from vatsim_pipeline.definitions import build_definitions
from vatsim_pipeline.defs.ingest_step import ingest_step
from vatsim_pipeline.defs.table_checks import FRESH, TABLE_CHECKS
from vatsim_pipeline.defs.table_docs import table_metadata
from vatsim_pipeline.storage.assignment_runs import covering
from vatsim_pipeline.storage.occupancy_writes import SectorSet, update_occupancy
from vatsim_pipeline.storage.position_runs import run_end
from vatsim_pipeline.storage.schema import flight_positions, flights, sector_assignments
from vatsim_pipeline.storage.writes import write_snapshot
from vatsim_pipeline_tests.shared_data import sequence_files
from vatsim_pipeline_tests.storage.reads_support import real_sectors
from vatsim_pipeline_tests.storage.support import key_of, parsed, raw, update_timestamp

FILES = sequence_files()[:2]
NEWEST = update_timestamp(FILES[-1])


def run_checks(*checks: AssetCheckKey) -> dict[str, dict]:
    """The table checks (all by default) in a job of checks only; name -> passed,
    severity, description and metadata."""
    job = define_asset_job("table_checks", selection=AssetSelection.checks(*checks or TABLE_CHECKS))
    defs = Definitions(
        assets=[ingest_step],
        asset_checks=TABLE_CHECKS,
        jobs=[job],
        resources=build_definitions().resources,
    )
    result = defs.resolve_job_def("table_checks").execute_in_process(
        instance=DagsterInstance.get(), raise_on_error=False
    )
    assert result.success
    found = {}
    for event in result.all_events:
        if event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION:
            data = event.event_specific_data
            found[data.check_name] = {
                "passed": data.passed,
                "severity": data.severity,
                "description": data.description,
                "metadata": {key: value.value for key, value in data.metadata.items()},
            }
    return found


@pytest.fixture
def stored(engine: Engine) -> Engine:
    sector_set = SectorSet.of(real_sectors(), key=(0, None))
    for path in FILES:
        write_snapshot(engine, parsed(path))
        update_occupancy(engine, update_timestamp(path), sector_set)
    return engine


def a_flight_at_newest(engine: Engine) -> tuple[int, str]:
    with engine.connect() as connection:
        row = connection.execute(
            select(flights.c.id, flights.c.callsign)
            .where(flights.c.first_seen < NEWEST, flights.c.last_seen == NEWEST)
            .order_by(flights.c.id)
            .limit(1)
        ).one()
    return row.id, row.callsign


def test_checks_pass_on_stored_snapshots(vatsim_env, stored: Engine) -> None:
    found = run_checks()
    assert {name: check["passed"] for name, check in found.items()} == {
        "newest_snapshot_positions_complete": True,
        "tracks_match_sessions": True,
        "newest_snapshot_positions_located": True,
        "newest_snapshot_fresh": True,
    }
    pilots = len(raw(FILES[-1])["pilots"])
    complete = found["newest_snapshot_positions_complete"]["metadata"]
    assert (complete["pilots"], complete["positions"]) == (pilots, pilots)
    tracks = found["tracks_match_sessions"]["metadata"]
    assert tracks["flights_mismatched"] == 0
    assert "examples" not in tracks
    assert tracks["flights_checked"] == len({key_of(p) for f in FILES for p in raw(f)["pilots"]})
    located = found["newest_snapshot_positions_located"]["metadata"]
    assert (located["positions"], located["located"], located["outside_sectors"]) == (
        pilots,
        pilots,
        0,
    )


def test_a_moved_position_fails_the_track_check(vatsim_env, stored: Engine) -> None:
    flight_id, callsign = a_flight_at_newest(stored)
    with stored.begin() as connection:
        first_seen = connection.scalar(
            select(flights.c.first_seen).where(flights.c.id == flight_id)
        )
        connection.execute(
            update(flight_positions)
            .where(
                flight_positions.c.flight_id == flight_id,
                flight_positions.c.observed_at == first_seen,
            )
            .values(observed_at=first_seen - timedelta(hours=1))
        )
    found = run_checks()
    tracks = found["tracks_match_sessions"]
    assert not tracks["passed"] and tracks["severity"] == AssetCheckSeverity.ERROR
    assert tracks["metadata"]["flights_mismatched"] == 1
    assert tracks["metadata"]["examples"] == f"{callsign} (id {flight_id})"
    assert found["newest_snapshot_positions_complete"]["passed"]


def test_a_lost_position_and_a_lost_assignment_fail_their_checks(
    vatsim_env, stored: Engine
) -> None:
    flight_id, _ = a_flight_at_newest(stored)
    other_id = flight_id + 1
    with stored.begin() as connection:
        # The run holding the newest position (positions are stored as runs).
        connection.execute(
            delete(flight_positions).where(
                flight_positions.c.flight_id == flight_id,
                flight_positions.c.observed_at <= NEWEST,
                run_end >= NEWEST,
            )
        )
        # The run holding its newest assignment (assignments are stored as runs too).
        connection.execute(
            delete(sector_assignments).where(covering(sector_assignments, other_id, NEWEST))
        )
    found = run_checks()
    pilots = len(raw(FILES[-1])["pilots"])
    complete = found["newest_snapshot_positions_complete"]
    assert not complete["passed"]
    assert complete["description"] == (
        f"{pilots - 1} positions for {pilots} pilots at {NEWEST.isoformat()}"
    )
    located = found["newest_snapshot_positions_located"]
    assert not located["passed"]
    assert (located["metadata"]["positions"], located["metadata"]["located"]) == (
        pilots - 1,
        pilots - 2,
    )
    assert not found["tracks_match_sessions"]["passed"]  # its last position is gone too


def test_a_database_that_cannot_answer_fails_each_check_with_a_warning(
    vatsim_env, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VATSIM_DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:1/none")
    found = run_checks()
    assert set(found) == {spec.name for check in TABLE_CHECKS for spec in check.check_specs}
    for check in found.values():
        assert (check["passed"], check["severity"]) == (False, AssetCheckSeverity.WARN)
        assert check["description"].startswith("could not query the database: ")
        assert check["metadata"]["error"] == "OperationalError"


def sensor_state(status: InstigatorStatus, last_tick: float) -> InstigatorState:
    origin = RemoteInstigatorOrigin(
        RemoteRepositoryOrigin(RegisteredCodeLocationOrigin("vatsim_pipeline"), "__repository__"),
        "vatsim_feed_sensor",
    )
    return InstigatorState(
        origin, InstigatorType.SENSOR, status, SensorInstigatorData(last_tick_timestamp=last_tick)
    )


def test_freshness_is_checked_only_while_the_feed_sensor_runs(vatsim_env, stored: Engine) -> None:
    instance = DagsterInstance.get()
    stopped = run_checks(FRESH)["newest_snapshot_fresh"]
    assert stopped["passed"] and stopped["severity"] == AssetCheckSeverity.WARN
    assert stopped["metadata"]["sensor_running"] is False

    instance.add_instigator_state(sensor_state(InstigatorStatus.RUNNING, time.time()))
    running = run_checks(FRESH)["newest_snapshot_fresh"]
    assert not running["passed"] and running["severity"] == AssetCheckSeverity.ERROR
    assert running["metadata"]["sensor_running"] is True
    assert running["metadata"]["newest_snapshot"] == NEWEST.isoformat()
    assert running["metadata"]["age_s"] > 365 * 24 * 3600  # the recorded snapshot is old
    assert running["description"].endswith("s old (limit 60 s)")

    # A sensor whose daemon stopped ticking is not running, whatever its status says.
    instance.update_instigator_state(sensor_state(InstigatorStatus.RUNNING, time.time() - 600))
    assert run_checks(FRESH)["newest_snapshot_fresh"]["passed"]


def test_column_schemas_come_from_the_tables() -> None:
    occupancy = table_metadata("flight_sector_occupancy")
    assert occupancy["dagster/table_name"] == "flight_sector_occupancy"
    schema = occupancy["dagster/column_schema"]
    columns = {column.name: column for column in schema.columns}
    assert list(columns)[:5] == ["id", "flight_id", "sector_id", "entered_at", "exited_at"]
    assert columns["id"] == TableColumn(
        "id", "bigint", constraints=TableColumnConstraints(False, True, ["primary key"])
    )
    assert columns["flight_id"].constraints == TableColumnConstraints(
        nullable=False, unique=False, other=["references flights.id"]
    )
    assert columns["entered_at"].type == "timestamp with time zone"
    assert columns["exited_at"].constraints.nullable
    assert schema.constraints.other == ["unique (flight_id, sector_id, entered_at)"]

    flight_columns = table_metadata("flights")["dagster/column_schema"].columns
    assert [c.name for c in flight_columns] == [c.name for c in flights.columns]
    sectors = table_metadata("sectors")["dagster/column_schema"]
    assert {c.name for c in sectors.columns} >= {"suffix", "members", "geometry"}
    summaries = table_metadata("flight_summaries")["dagster/column_schema"]
    assert summaries.columns[0].constraints.other == ["primary key", "references flights.id"]
    assignments = table_metadata("sector_assignments")["dagster/column_schema"]
    assert assignments.constraints.other == ["primary key (flight_id, observed_at)"]
    with pytest.raises(KeyError):
        table_metadata("no_such_table")
