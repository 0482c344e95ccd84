"""`migrate` gives a database made by an earlier version the indexes added since:
`create_all` only creates those of tables it creates."""

from __future__ import annotations

from sqlalchemy import Engine, func, inspect, select, text

from vatsim_pipeline.storage.engine import migrate
from vatsim_pipeline.storage.schema import flights, metadata
from vatsim_pipeline_tests.shared_data import sequence_files
from vatsim_pipeline_tests.storage.support import ingest


def _indexes(engine: Engine) -> dict[str, set[str]]:
    inspector = inspect(engine)
    return {
        table.name: {index["name"] for index in inspector.get_indexes(table.name)}
        for table in metadata.sorted_tables
    }


def test_indexes_dropped_from_an_older_database_come_back(engine: Engine) -> None:
    ingest(engine, sequence_files()[:1])
    expected = _indexes(engine)
    dropped = [index.name for table in metadata.sorted_tables for index in table.indexes]
    dropped = [name for name in dropped if name.startswith(("ix_flights_", "ix_flight_sector"))]
    with engine.begin() as connection:
        for name in dropped:
            connection.execute(text(f'DROP INDEX "{name}"'))
        rows = connection.execute(select(func.count()).select_from(flights)).scalar_one()
    assert len(dropped) >= 4
    assert not set(dropped) & _indexes(engine)["flights"]

    migrate(engine)

    assert _indexes(engine) == expected
    assert set(dropped) <= expected["flights"] | expected["flight_sector_occupancy"]
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(flights)).scalar_one() == rows
    assert rows > 0
