"""The airport forecast on four hours of simulated traffic, on both databases: the
minute's asset in a real Dagster run stores a forecast that the query service, the
command line and the HTTP API read back, and the airport forecast alone beats
persistence in the backtest."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from dagster import DagsterInstance, materialize
from sqlalchemy import select

from vatsim_pipeline.analytics.airport_forecaster import AirportForecaster
from vatsim_pipeline.analytics.forecast_backtest import backtest
from vatsim_pipeline.api import create_app, provided_routers
from vatsim_pipeline.defs.airport_forecast_assets import airport_forecast
from vatsim_pipeline.defs.airport_pattern_assets import (
    airport_movements,
    airport_traffic,
    route_flights,
)
from vatsim_pipeline.defs.resources import DatabaseResource
from vatsim_pipeline.sectors.airports import read_airports
from vatsim_pipeline.settings import Settings
from vatsim_pipeline.storage.airport_storage import airports_frame, replace_airports
from vatsim_pipeline.storage.engine import make_engine, migrate
from vatsim_pipeline.storage.pattern_tables import traffic_forecasts
from vatsim_pipeline.storage.reads import QueryService
from vatsim_pipeline.storage.reads_airports import AirportQueries
from vatsim_pipeline.storage.reads_forecast import snapshot_times
from vatsim_pipeline_tests.api import get, ok, serving
from vatsim_pipeline_tests.backends import (
    BACKENDS,
    drop_postgres_database,
    fresh_postgres_database,
)
from vatsim_pipeline_tests.cli import refused, succeeded
from vatsim_pipeline_tests.shared_data import shared_data
from vatsim_pipeline_tests.storage.simulated_history import store_simulated_history

START = datetime(2026, 3, 6, 6, 0, tzinfo=UTC)
END = START + timedelta(hours=4)


@pytest.fixture(scope="module", params=BACKENDS)
def simulated(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[str]:
    """06:00-10:00 of simulated traffic (a snapshot every 2 minutes), its airport
    patterns materialized, and the airport forecast of 10:00."""
    folder = tmp_path_factory.mktemp("airport_forecast")
    url = (
        f"sqlite:///{folder / 'sim.db'}" if request.param == "sqlite" else fresh_postgres_database()
    )
    engine = make_engine(url)
    try:
        migrate(engine)
        replace_airports(engine, read_airports(shared_data("VATSpy.dat")), "test")
        store_simulated_history(engine, START, hours=4, pilots=120, seed=3, step_s=120)
        engine.dispose()
        yield url
    finally:
        engine.dispose()
        if request.param != "sqlite":
            drop_postgres_database(url)


def test_the_minute_asset_stores_a_forecast_read_back_everywhere(simulated: str) -> None:
    resources = {"database": DatabaseResource(url=simulated)}
    instance = DagsterInstance.ephemeral()
    patterns = materialize(
        [airport_movements, airport_traffic, route_flights],
        resources=resources,
        instance=instance,
        tags={
            "dagster/asset_partition_range_start": "2026-03-06-06:00",
            "dagster/asset_partition_range_end": "2026-03-06-09:00",
        },
    )
    assert patterns.success
    result = materialize([airport_forecast], resources=resources, instance=instance)
    assert result.success
    metadata = {
        key: value.value
        for key, value in result.get_asset_materialization_events()[
            0
        ].materialization.metadata.items()
    }
    assert datetime.fromisoformat(metadata["issued_at"]) == END
    assert metadata["airports_forecast"] > 10
    assert metadata["arrivals_next_hour"] > 5 and metadata["departures_next_hour"] > 5

    engine = make_engine(simulated)
    with engine.connect() as connection:
        busiest = (
            connection.execute(
                select(traffic_forecasts.c.target_id)
                .where(traffic_forecasts.c.target_kind == "airport")
                .group_by(traffic_forecasts.c.target_id)
                .order_by(traffic_forecasts.c.target_id)
            )
            .scalars()
            .first()
        )
    forecast = AirportQueries(engine, None).forecast(busiest)
    assert forecast.issued_at == END
    starts = [END + timedelta(minutes=15 * k) for k in range(8)]
    assert [b.bucket_start for b in forecast.departures] == starts
    assert [b.bucket_start for b in forecast.arrivals] == starts
    assert all(b.low <= b.expected <= b.high for b in forecast.departures + forecast.arrivals)
    assert sum(b.expected for b in forecast.departures + forecast.arrivals) > 0

    document = json.loads(succeeded(simulated, "forecast", "airport", busiest, "--json"))
    assert document["airport"] == busiest and len(document["arrivals"]) == 8
    table = succeeded(simulated, "forecast", "airport", busiest).splitlines()
    assert table[0] == f"{busiest} departures and arrivals, issued 2026-03-06 10:00:00Z"
    assert table[1].split() == [
        "BUCKET",
        "DEP",
        "DEP-LOW",
        "DEP-HIGH",
        "ARR",
        "ARR-LOW",
        "ARR-HIGH",
    ]
    assert len(table) == 10
    assert refused(simulated, "forecast", "airport", "ZZZZ") == "error: airport 'ZZZZ': not found"

    service = QueryService(engine)
    settings = Settings.from_env({"VATSIM_DATABASE_URL": simulated})
    with serving(create_app(service, provided_routers(service, settings))) as base:
        body = ok(base, f"/api/forecast/airports/{busiest}")
        assert [b["expected"] for b in body["departures"]] == [
            b.expected for b in forecast.departures
        ]
        missing = get(base, "/api/forecast/airports/ZZZZ")
        assert missing.status_code == 404
        assert missing.json() == {"error": "airport 'ZZZZ': not found"}
        paths = ok(base, "/api/openapi.json")["paths"]
        assert "/api/forecast/airports/{icao}" in paths
    engine.dispose()


def test_the_airport_forecast_beats_persistence(simulated: str) -> None:
    engine = make_engine(simulated)
    with engine.connect() as connection:
        times = snapshot_times(connection, START, END)
        airports = airports_frame(connection)
    result = backtest([AirportForecaster(engine, airports, timedelta(hours=24))], times)
    engine.dispose()
    # Anchors 06:15 .. 09:45, each scored as far ahead (at most two hours) as recorded.
    assert result.anchors == 15 and result.scored > 500
    assert 0 < result.mae < result.persistence_mae and result.ratio < 1
