"""The airport pattern assets materialized by real Dagster runs on two hours of simulated
traffic, on both databases: an hour re-materialized gives identical rows, a single-run
back-fill of the day equals its hours materialized one by one, and the rows agree with
the analytics functions applied to the same tracks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dagster import BackfillPolicy, DagsterInstance, materialize
from sqlalchemy import Engine, func, select

from vatsim_pipeline.analytics.movements import MovementSettings, detect_movements
from vatsim_pipeline.defs.airport_pattern_assets import (
    AIRPORT_PATTERN_ASSETS,
    airport_movements,
    airport_traffic,
    airports,
    route_flights,
)
from vatsim_pipeline.defs.pattern_partitions import TRAFFIC_PATTERNS_GROUP, hourly_partitions
from vatsim_pipeline.defs.resources import DatabaseResource
from vatsim_pipeline.storage.airport_storage import airports_frame
from vatsim_pipeline.storage.engine import make_engine, migrate
from vatsim_pipeline.storage.reads_tracks import filed_frame, track_frame
from vatsim_pipeline.storage.traffic_schema import airport_movements as movements_table
from vatsim_pipeline.storage.traffic_schema import airport_traffic as traffic_table
from vatsim_pipeline.storage.traffic_schema import airports as airports_table
from vatsim_pipeline.storage.traffic_schema import route_flights as routes_table
from vatsim_pipeline_tests.backends import (
    BACKENDS,
    drop_postgres_database,
    fresh_postgres_database,
)
from vatsim_pipeline_tests.shared_data import shared_data
from vatsim_pipeline_tests.storage.simulated_history import store_simulated_history

START = datetime(2026, 12, 4, 10, tzinfo=UTC)
HOURS = ["2026-12-04-09:00", "2026-12-04-10:00", "2026-12-04-11:00", "2026-12-04-12:00"]
PATTERN_TABLES = (movements_table, traffic_table, routes_table)
PATTERNS = (airport_movements, airport_traffic, route_flights)


@pytest.fixture(scope="module", params=BACKENDS)
def history(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[str]:
    """A database with 10:00-12:00 of simulated traffic (a snapshot every 30 s)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('patterns') / 'vatsim.db'}"
    else:
        url = fresh_postgres_database()
    engine = make_engine(url)
    migrate(engine)
    store_simulated_history(engine, START, hours=2, pilots=40, seed=9, step_s=30)
    engine.dispose()
    try:
        yield url
    finally:
        if request.param != "sqlite":
            drop_postgres_database(url)


def _resources(url: str) -> dict:
    return {"database": DatabaseResource(url=url)}


def _dump(engine: Engine) -> dict[str, list[tuple]]:
    with engine.connect() as connection:
        return {
            table.name: [
                tuple(row)
                for row in connection.execute(select(table).order_by(*table.primary_key.columns))
            ]
            for table in PATTERN_TABLES
        }


def _clear(engine: Engine) -> None:
    with engine.begin() as connection:
        for table in PATTERN_TABLES:
            connection.execute(table.delete())


def _load_airports(url: str, instance: DagsterInstance) -> None:
    config = {"ops": {"airports": {"config": {"vatspy_dat": str(shared_data("VATSpy.dat"))}}}}
    result = materialize(
        [airports], resources=_resources(url), instance=instance, run_config=config
    )
    assert result.success


def test_hours_rematerialize_identically_and_a_backfill_equals_them(
    history: str, tmp_path: Path
) -> None:
    instance = DagsterInstance.ephemeral()
    engine = make_engine(history)
    _load_airports(history, instance)
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(airports_table)) > 17000

    for hour in HOURS:
        result = materialize(
            list(PATTERNS), partition_key=hour, resources=_resources(history), instance=instance
        )
        assert result.success
    hour_by_hour = _dump(engine)
    assert len(hour_by_hour["airport_movements"]) > 20
    assert hour_by_hour["airport_traffic"] and hour_by_hour["route_flights"]

    # The same hour again: identical rows, nothing counted twice.
    again = materialize(
        list(PATTERNS), partition_key=HOURS[1], resources=_resources(history), instance=instance
    )
    assert again.success
    assert _dump(engine) == hour_by_hour

    # The whole day as one single-run back-fill, on emptied tables.
    _clear(engine)
    backfill = materialize(
        list(PATTERNS),
        resources=_resources(history),
        instance=instance,
        tags={
            "dagster/asset_partition_range_start": "2026-12-04-00:00",
            "dagster/asset_partition_range_end": "2026-12-04-23:00",
        },
    )
    assert backfill.success
    assert _dump(engine) == hour_by_hour
    engine.dispose()


def test_stored_patterns_agree_with_the_analytics_on_the_same_tracks(history: str) -> None:
    instance = DagsterInstance.ephemeral()
    _load_airports(history, instance)
    engine = make_engine(history)
    _clear(engine)
    result = materialize(
        list(PATTERNS),
        resources=_resources(history),
        instance=instance,
        tags={
            "dagster/asset_partition_range_start": HOURS[0],
            "dagster/asset_partition_range_end": HOURS[-1],
        },
    )
    assert result.success
    with engine.connect() as connection:
        positions = track_frame(connection, START, START + timedelta(hours=3))
        filed = filed_frame(connection, sorted(positions["flight_id"].unique().tolist()))
        expected = detect_movements(
            positions, airports_frame(connection), MovementSettings(), filed
        )
        stored = connection.execute(
            select(
                movements_table.c.flight_id,
                movements_table.c.kind,
                movements_table.c.moved_at,
                movements_table.c.airport,
            ).order_by(movements_table.c.flight_id, movements_table.c.moved_at)
        ).all()
        traffic = connection.execute(
            select(func.sum(traffic_table.c.departures), func.sum(traffic_table.c.arrivals))
        ).one()
        routed = connection.scalar(select(func.sum(routes_table.c.flights)))
    assert [(r.flight_id, r.kind, r.moved_at, r.airport) for r in stored] == [
        (int(r.flight_id), r.kind, r.moved_at.to_pydatetime(), r.airport)
        for r in expected.itertuples(index=False)
    ]
    departures = int((expected["kind"] == "departure").sum())
    assert tuple(traffic) == (departures, int((expected["kind"] == "arrival").sum()))
    # Every simulated flight files its airports: each takeoff counts in one city pair.
    assert routed == departures
    materialized = {
        event.asset_key.to_user_string(): event.materialization.metadata
        for event in result.get_asset_materialization_events()
    }
    assert materialized["airport_movements"]["departures"].value == departures
    engine.dispose()


def test_the_patterns_are_hourly_partitioned_single_run_assets_of_their_group() -> None:
    for asset in PATTERNS:
        assert asset.partitions_def == hourly_partitions
        assert asset.backfill_policy == BackfillPolicy.single_run()
        assert asset.group_names_by_key[asset.key] == TRAFFIC_PATTERNS_GROUP
    assert airports.group_names_by_key[airports.key] == "sectors"
    assert set(AIRPORT_PATTERN_ASSETS) == {airports, *PATTERNS}
