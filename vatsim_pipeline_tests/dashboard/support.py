"""The recorded database of the dashboard tests and what it must show, computed from
the raw JSON of the sequence (never from the reads under test)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from vatsim_pipeline.cli.serve import build_app
from vatsim_pipeline.sectors.airports import read_airports
from vatsim_pipeline.settings import Settings
from vatsim_pipeline.storage.airport_storage import replace_airports
from vatsim_pipeline.storage.anomaly_writes import detect_snapshot
from vatsim_pipeline.storage.engine import make_engine
from vatsim_pipeline.storage.occupancy_writes import sector_set, update_occupancy
from vatsim_pipeline_tests.api import serving
from vatsim_pipeline_tests.shared_data import shared_data
from vatsim_pipeline_tests.storage.reads_support import FILES, WINDOW, recorded_database
from vatsim_pipeline_tests.storage.support import Key, key_of, raw, update_timestamp

TIMES = [update_timestamp(path) for path in FILES]


@contextmanager
def map_database(backend: str, folder: Path) -> Iterator[str]:
    """URL of a database holding the sequence and the real sectors, every position
    located in its sector and checked for anomalies as the ingest run does."""
    with recorded_database(backend, folder) as url:
        engine = make_engine(url)
        try:
            sectors = sector_set(engine)
            assert sectors is not None
            for observed_at in TIMES:
                update_occupancy(engine, observed_at, sectors)
                detect_snapshot(engine, observed_at)
        finally:
            engine.dispose()
        yield url


def materialize_patterns(url: str) -> None:
    """The real airports of VATSpy.dat, then the traffic-pattern hour of the sequence and
    the forecasts, materialized by their Dagster assets as the schedules of a running
    pipeline do."""
    from dagster import materialize

    from vatsim_pipeline.defs.airport_forecast_assets import airport_forecast
    from vatsim_pipeline.defs.airport_pattern_assets import (
        airport_movements,
        airport_traffic,
        route_flights,
    )
    from vatsim_pipeline.defs.forecast_assets import sector_forecast
    from vatsim_pipeline.defs.pattern_assets import sector_coverage, sector_load
    from vatsim_pipeline.defs.resources import DatabaseResource

    engine = make_engine(url)
    try:
        replace_airports(engine, read_airports(shared_data("VATSpy.dat")), "test")
    finally:
        engine.dispose()
    resources = {"database": DatabaseResource(url=url)}
    hour = TIMES[-1].strftime("%Y-%m-%d-%H:00")
    hourly = [sector_load, sector_coverage, airport_movements, airport_traffic, route_flights]
    assert materialize(hourly, partition_key=hour, resources=resources).success
    assert materialize([sector_forecast, airport_forecast], resources=resources).success


def pilots_at(at: datetime) -> dict[Key, dict[str, Any]]:
    """Pilot connection -> its latest record among the files within the activity window
    before `at` (the map's rule for a moment)."""
    seen: dict[Key, dict[str, Any]] = {}
    for path, observed_at in zip(FILES, TIMES, strict=True):
        if at - WINDOW <= observed_at <= at:
            for record in raw(path)["pilots"]:
                seen[key_of(record)] = record
    return seen


@contextmanager
def dashboard_site(url: str, home: Path) -> Iterator[str]:
    """Base URL of the app `vatsim-pipeline serve` builds over `url` (the API with every
    provided router, the dashboard's included), served by uvicorn on a free port."""
    settings = Settings.from_env({"VATSIM_DATABASE_URL": url, "VATSIM_HOME": str(home)})
    with serving(build_app(settings)) as base:
        yield base
