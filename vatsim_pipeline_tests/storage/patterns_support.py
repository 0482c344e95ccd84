"""A database holding known sector-pattern rows (load, coverage, a forecast) and two
sectors, F and the TRACON T1 inside it, for the query, CLI and API tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
from shapely.geometry import box
from sqlalchemy import insert

from vatsim_pipeline.analytics.forecast_frame import FORECAST_COLUMNS
from vatsim_pipeline.sectors.boundaries import Sector
from vatsim_pipeline.storage.engine import make_engine, migrate
from vatsim_pipeline.storage.forecast_writes import replace_forecast
from vatsim_pipeline.storage.schema import feed_snapshots
from vatsim_pipeline.storage.sector_patterns import write_coverage, write_load
from vatsim_pipeline.storage.sector_writes import replace_sectors
from vatsim_pipeline_tests.backends import drop_postgres_database, fresh_postgres_database

NOW = datetime(2026, 3, 6, 12, 0, tzinfo=UTC)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, 6, hour, minute, tzinfo=UTC)


LOAD = [  # sector, bucket, entries, peak, mean
    ("F", at(10, 0), 3, 2, 1.5),
    ("F", at(10, 15), 1, 1, 0.5),
    ("F", at(10, 30), 0, 1, 1.0),
    ("F", at(10, 45), 2, 3, 2.0),
    ("F", at(11, 0), 1, 1, 0.25),
]
COVERAGE = [  # sector, hour, staffed, flight minutes, covered
    ("F", at(10), 30.0, 90.0, 45.0),
    ("T1", at(10), 0.0, 20.0, 0.0),
    ("F", at(11), 60.0, 30.0, 30.0),
]
FORECAST = [
    ("sector", "F", "entries", NOW + timedelta(minutes=15 * k), 1.0 + k, 0.5, 2.0 + k)
    for k in range(8)
]


def _frame(rows: list[tuple], columns: list[str], time_column: str) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=columns)
    frame[time_column] = pd.to_datetime(frame[time_column], utc=True)
    return frame


def fill(engine) -> None:
    replace_sectors(
        engine,
        [
            Sector(id="F", name="Fir", kind="fir", geometry=box(0, 0, 10, 10), prefixes=("F",)),
            Sector(id="T1", name="Tracon", kind="tracon", geometry=box(1, 1, 2, 2)),
        ],
        "test",
    )
    with engine.begin() as connection:
        connection.execute(
            insert(feed_snapshots).values(
                update_timestamp=NOW, stored_at=NOW, status="stored", pilots=10,
                controllers=1, atis=0, prefiles=0, servers=1, transceiver_stations=0,
                transceivers=0, rejected=0,
            )
        )  # fmt: skip
    load = _frame(LOAD, ["sector_id", "bucket_start", "entries", "peak", "mean"], "bucket_start")
    write_load(engine, at(10), at(12), load)
    coverage = _frame(
        COVERAGE,
        ["sector_id", "hour_start", "staffed_minutes", "flight_minutes", "covered_flight_minutes"],
        "hour_start",
    )
    write_coverage(engine, at(10), at(12), coverage)
    replace_forecast(engine, "sector", _frame(FORECAST, FORECAST_COLUMNS, "bucket_start"), NOW)


@contextmanager
def patterns_database(backend: str, folder: Path) -> Iterator[str]:
    """URL of a new database holding the rows above."""
    url = (
        f"sqlite:///{folder / 'patterns.db'}" if backend == "sqlite" else fresh_postgres_database()
    )
    engine = make_engine(url)
    try:
        migrate(engine)
        fill(engine)
        engine.dispose()
        yield url
    finally:
        engine.dispose()
        if backend != "sqlite":
            drop_postgres_database(url)
