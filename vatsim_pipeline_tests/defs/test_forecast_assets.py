"""The sector forecast on simulated traffic, on both databases: the minute's asset in a
real Dagster run stores a forecast the query service and the command line read back,
and `forecast backtest` beats persistence (ratio < 1) on the same hours."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from dagster import DagsterInstance, materialize
from sqlalchemy import select

from vatsim_pipeline.analytics.sector_forecaster import forecast_at
from vatsim_pipeline.definitions import build_definitions
from vatsim_pipeline.defs.forecast_assets import sector_forecast
from vatsim_pipeline.defs.warm_up import warm_up_run_worker
from vatsim_pipeline.sectors.containment import sector_parents
from vatsim_pipeline.sectors.locate import SectorIndex
from vatsim_pipeline.storage.engine import make_engine, migrate
from vatsim_pipeline.storage.occupancy_writes import sector_set
from vatsim_pipeline.storage.pattern_tables import traffic_forecasts
from vatsim_pipeline.storage.reads import QueryService
from vatsim_pipeline.storage.reads_base import newest_update
from vatsim_pipeline.storage.reads_forecast import stored_load
from vatsim_pipeline.storage.sector_writes import load_sector_rows
from vatsim_pipeline.storage.traffic_schema import airports
from vatsim_pipeline_tests.analytics.simulated import simulate_into
from vatsim_pipeline_tests.backends import (
    BACKENDS,
    drop_postgres_database,
    fresh_postgres_database,
)
from vatsim_pipeline_tests.cli import refused, run

START = datetime(2026, 3, 6, 6, 0, tzinfo=UTC)
LINE = re.compile(r"^forecast-backtest mae (\S+) persistence-mae (\S+) ratio (\S+)$")


@pytest.fixture(scope="module", params=BACKENDS)
def simulated(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[str]:
    """A database holding 4.5 hours of simulated traffic, one snapshot per 2 minutes."""
    folder = tmp_path_factory.mktemp("simulated")
    url = (
        f"sqlite:///{folder / 'sim.db'}" if request.param == "sqlite" else fresh_postgres_database()
    )
    engine = make_engine(url)
    try:
        migrate(engine)
        simulate_into(engine, START, 4.5, pilots=100, controllers=20, step_s=120)
        engine.dispose()
        yield url
    finally:
        engine.dispose()
        if request.param != "sqlite":
            drop_postgres_database(url)


def test_the_minute_asset_stores_a_forecast_of_every_busy_sector(
    simulated: str, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VATSIM_DATABASE_URL", simulated)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    result = materialize(
        [sector_forecast],
        resources=build_definitions().resources,
        instance=DagsterInstance.ephemeral(),
    )
    assert result.success
    metadata = {
        k: v.value
        for k, v in result.get_asset_materialization_events()[0].materialization.metadata.items()
    }
    newest = datetime.fromisoformat(metadata["issued_at"])
    assert newest == START + timedelta(minutes=2 * 135)
    assert metadata["sectors_forecast"] > 20
    assert metadata["rows_written"] == metadata["sectors_forecast"] * 8
    assert metadata["entries_next_hour_outermost_sectors"] > 10

    engine = make_engine(simulated)
    service = QueryService(engine)
    with engine.connect() as connection:
        busiest = connection.exec_driver_sql(
            "SELECT target_id FROM traffic_forecasts GROUP BY target_id "
            "ORDER BY SUM(expected) DESC, target_id LIMIT 1"
        ).scalar_one()
    forecast = service.get_sector_forecast(busiest)
    engine.dispose()
    assert forecast.issued_at == newest
    assert [b.bucket_start for b in forecast.items] == [
        newest + timedelta(minutes=15 * k) for k in range(8)
    ]  # the newest update lies on a quarter hour
    assert all(b.low <= b.expected <= b.high for b in forecast.items)
    assert sum(b.expected for b in forecast.items) > 1
    assert any(b.low < b.expected < b.high for b in forecast.items)


def test_every_run_stores_the_forecast_computed_afresh_from_the_tables(
    simulated: str, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run reuses what did not change since the last one (the stored sector tree, the
    sectors and airports loaded once per process, the sectors' cell grid the warm-up
    builds): it must store exactly the forecast computed from the tables with nothing
    reused, run after run."""
    monkeypatch.setenv("VATSIM_DATABASE_URL", simulated)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    warm_up_run_worker()
    engine = make_engine(simulated)
    assert sector_set(engine).index._grid is not None
    t = traffic_forecasts.c
    stored = select(t.target_id, t.metric, t.bucket_start, t.expected, t.low, t.high).where(
        t.target_kind == "sector"
    )
    runs = []
    for _ in range(2):
        result = materialize(
            [sector_forecast],
            resources=build_definitions().resources,
            instance=DagsterInstance.ephemeral(),
        )
        assert result.success
        with engine.connect() as connection:
            runs.append(sorted(tuple(row) for row in connection.execute(stored)))

    sectors = load_sector_rows(engine)
    with engine.connect() as connection:
        now = pd.Timestamp(newest_update(connection))
        places = pd.DataFrame(
            connection.execute(
                select(airports.c.icao, airports.c.latitude, airports.c.longitude)
            ).all(),
            columns=["icao", "latitude", "longitude"],
        )
        frame = forecast_at(
            connection,
            now,
            read_history=lambda times: stored_load(connection, [x.to_pydatetime() for x in times]),
            airports=places,
            locate=SectorIndex(sectors).locate_many,
            parents=sector_parents(sectors),
        )
    engine.dispose()
    afresh = sorted(
        (r.target_id, r.metric, r.bucket_start.to_pydatetime(), r.expected, r.low, r.high)
        for r in frame.itertuples(index=False)
    )
    assert len(afresh) > 100
    assert runs[0] == runs[1] == afresh


def test_the_backtest_beats_persistence(simulated: str) -> None:
    result = run(simulated, "forecast", "backtest")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    match = LINE.match(lines[-1])
    assert match, lines
    mae, persistence, ratio = (float(value) for value in match.groups())
    assert 0 < mae < persistence
    assert ratio == pytest.approx(mae / persistence, abs=1e-3) and ratio < 1
    anchors, scored = re.match(r"^(\d+) anchors, (\d+) buckets scored$", lines[-2]).groups()
    # 06:30 to 10:15 (at 06:15 the quarter before is not all recorded: the first
    # snapshot is at 06:02).
    assert int(anchors) == 16 and int(scored) > 1000


def test_the_backtest_refuses_bad_input(simulated: str, tmp_path) -> None:
    assert refused(simulated, "forecast", "backtest", "--max-gap", "soon") == (
        "error: --max-gap: 'soon' is not a duration such as 5m or 17m"
    )
    assert refused(simulated, "forecast", "backtest", "--since", "1h", "--until", "2h").startswith(
        "error: --since: must be before until"
    )
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    assert refused(empty, "forecast", "backtest") == (
        "error: forecast backtest: no feed update stored yet"
    )


def test_forecasts_every_5_minutes_and_alerts_every_15_s_unless_the_environment_says(
    vatsim_env,
) -> None:
    defs = build_definitions()
    schedule = defs.resolve_schedule_def("forecast_refresh_schedule")
    assert (schedule.cron_schedule, schedule.job_name) == ("*/5 * * * *", "forecast_refresh")
    assert defs.resolve_sensor_def("anomaly_alerts").minimum_interval_seconds == 15

    code = (
        "from vatsim_pipeline.definitions import defs; "
        "print(defs.resolve_schedule_def('forecast_refresh_schedule').cron_schedule, "
        "defs.resolve_sensor_def('anomaly_alerts').minimum_interval_seconds)"
    )
    env = {
        **os.environ,
        "VATSIM_FORECAST_CRON": "* * * * *",
        "VATSIM_ALERT_INTERVAL_S": "5",
    }
    loaded = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "* * * * * 5"
