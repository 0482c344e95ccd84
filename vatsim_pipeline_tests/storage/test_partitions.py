"""Daily partitions of the per-snapshot tables (storage/partitions.py), asserted from
PostgreSQL's catalog: created ahead by migrate, on demand by the real write paths (COPY
included), once each when processes race, dropped unless the parent stays locked, and a
plain table of an earlier version converted in place with its rows kept."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, select, text

from vatsim_pipeline.feed.parse import parse_data_feed, parse_transceivers
from vatsim_pipeline.maintenance.table_retention import TableRetention, sweep_tables
from vatsim_pipeline.storage.engine import make_engine, migrate
from vatsim_pipeline.storage.occupancy_writes import SectorSet, update_occupancy
from vatsim_pipeline.storage.partitions import (
    PARTITIONED,
    PARTITIONED_NAMES,
    drop_partition,
    ensure_day_partitions,
    list_partitions,
    partition_name,
)
from vatsim_pipeline.storage.schema import metadata, transceivers
from vatsim_pipeline.storage.writes import write_snapshot
from vatsim_pipeline_tests.backends import POSTGRESQL_ONLY, SQLITE_ONLY
from vatsim_pipeline_tests.maintenance import payloads
from vatsim_pipeline_tests.shared_data import TRANSCEIVERS_FEED, sequence_files, shared_data
from vatsim_pipeline_tests.storage.reads_support import real_sectors
from vatsim_pipeline_tests.storage.support import pilot_keys, update_timestamp

# The tables as the previous version created them: plain.
OLD_TABLES = (
    """CREATE TABLE flight_positions (
        flight_id BIGINT NOT NULL, observed_at TIMESTAMP WITH TIME ZONE NOT NULL,
        last_observed_at TIMESTAMP WITH TIME ZONE,
        latitude FLOAT NOT NULL, longitude FLOAT NOT NULL, altitude INTEGER,
        groundspeed INTEGER, heading SMALLINT, transponder TEXT, qnh_i_hg FLOAT, qnh_mb INTEGER,
        CONSTRAINT uq_flight_positions_flight_time UNIQUE (flight_id, observed_at),
        FOREIGN KEY(flight_id) REFERENCES flights (id) ON DELETE CASCADE)""",
    # Radios already as runs (rows per snapshot becoming runs: test_radio_runs).
    """CREATE TABLE transceivers (
        observed_at TIMESTAMP WITH TIME ZONE NOT NULL,
        last_observed_at TIMESTAMP WITH TIME ZONE NOT NULL, callsign TEXT NOT NULL,
        transceiver_id INTEGER NOT NULL, frequency_hz BIGINT NOT NULL,
        latitude FLOAT NOT NULL, longitude FLOAT NOT NULL, height_msl_m FLOAT,
        height_agl_m FLOAT, flight_id BIGINT, controller_id BIGINT,
        FOREIGN KEY(flight_id) REFERENCES flights (id) ON DELETE SET NULL,
        FOREIGN KEY(controller_id) REFERENCES controllers (id) ON DELETE SET NULL)""",
    "CREATE UNIQUE INDEX ux_transceivers_run ON transceivers "
    "(callsign, transceiver_id, observed_at)",
    "CREATE INDEX ix_transceivers_flight ON transceivers (flight_id)",
    "CREATE INDEX ix_transceivers_controller ON transceivers (controller_id)",
    """CREATE TABLE sector_assignments (
        flight_id BIGINT NOT NULL, observed_at TIMESTAMP WITH TIME ZONE NOT NULL,
        sector_id TEXT, PRIMARY KEY (flight_id, observed_at),
        FOREIGN KEY(flight_id) REFERENCES flights (id) ON DELETE CASCADE)""",
)
NOV_20 = datetime(2024, 11, 20, 10, 0, 15, tzinfo=UTC)
NOV_21 = datetime(2024, 11, 21, 23, 59, 45, tzinfo=UTC)
NOV_23 = datetime(2024, 11, 23, 0, 0, 0, tzinfo=UTC)


@pytest.fixture
def pg_engine(postgres_url: str) -> Iterator[Engine]:
    engine = make_engine(postgres_url)
    migrate(engine)
    yield engine
    engine.dispose()


def store_cut_snapshot(engine: Engine, moment: datetime):
    """A real (cut) snapshot published at `moment`, with its radios, stored."""
    data, radios = payloads(moment)
    snapshot = parse_data_feed(data)
    parse_transceivers(radios, snapshot)
    return write_snapshot(engine, snapshot)


def _exists(engine: Engine, name: str) -> bool:
    with engine.connect() as connection:
        return connection.execute(text("SELECT to_regclass(:n) IS NOT NULL"), {"n": name}).scalar()


def _relkind(engine: Engine, name: str) -> str:
    with engine.connect() as connection:
        return connection.execute(
            text("SELECT relkind FROM pg_class WHERE oid = to_regclass(:n)"), {"n": name}
        ).scalar()


def _count(engine: Engine, name: str) -> int:
    with engine.connect() as connection:
        return connection.execute(text(f'SELECT count(*) FROM "{name}"')).scalar()


def _ranges(engine: Engine, table: str) -> dict[str, tuple[datetime, datetime]]:
    return {p.name: (p.start, p.end) for p in list_partitions(engine) if p.table == table}


def _day(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def test_migrate_partitions_the_tables_and_creates_today_and_three_days_ahead(
    pg_engine: Engine,
) -> None:
    today = datetime.now(UTC).date()
    days = [today + timedelta(days=offset) for offset in range(4)]

    for table in PARTITIONED_NAMES:
        assert _relkind(pg_engine, table) == "p"
        assert _ranges(pg_engine, table) == {
            partition_name(table, day): (_day(day), _day(day + timedelta(days=1))) for day in days
        }
    assert ensure_day_partitions(pg_engine, days) == []


@SQLITE_ONLY
def test_sqlite_has_no_partitions(engine: Engine) -> None:
    assert ensure_day_partitions(engine, [date(2024, 11, 22)]) == []
    assert list_partitions(engine) == []


def test_a_snapshot_of_a_day_without_partitions_stores_through_copy(pg_engine: Engine) -> None:
    path = sequence_files()[0]
    snapshot = parse_data_feed(path.read_bytes())
    parse_transceivers(shared_data(TRANSCEIVERS_FEED).read_bytes(), snapshot)
    names = [partition_name(table, date(2024, 11, 22)) for table in PARTITIONED_NAMES]
    assert not any(_exists(pg_engine, name) for name in names)

    write = write_snapshot(pg_engine, snapshot)

    assert all(_exists(pg_engine, name) for name in names)
    positions, radios, _ = names
    assert _count(pg_engine, positions) == len(pilot_keys(path)) > 0
    assert _count(pg_engine, radios) == write.tables["transceivers"].inserted > 0
    assert write_snapshot(pg_engine, snapshot).tables["flight_positions"].inserted == 0


def test_occupancy_recreates_a_dropped_sector_assignments_partition(pg_engine: Engine) -> None:
    path = sequence_files()[0]
    write_snapshot(pg_engine, parse_data_feed(path.read_bytes()))
    name = partition_name("sector_assignments", date(2024, 11, 22))
    [dropped] = [p for p in list_partitions(pg_engine) if p.name == name]
    assert drop_partition(pg_engine, dropped)

    sector_set = SectorSet.of(real_sectors(), key=(len(real_sectors()), None))
    written = update_occupancy(pg_engine, update_timestamp(path), sector_set)

    assert written.assigned == len(pilot_keys(path)) == _count(pg_engine, name)


def test_racing_processes_create_each_partition_once(postgres_url: str) -> None:
    """Two engines (so two caches, as in two processes) ask for the same days at once."""
    engines = [make_engine(postgres_url) for _ in range(2)]
    migrate(engines[0])
    created: list[list[str]] = [[], []]
    try:
        for round_ in range(5):
            days = [date(2024, 1, 1) + timedelta(days=3 * round_ + i) for i in range(3)]
            barrier = threading.Barrier(2)

            def race(index: int, days: list[date] = days, barrier=barrier) -> None:
                barrier.wait()
                created[index].extend(ensure_day_partitions(engines[index], days))

            threads = [threading.Thread(target=race, args=(i,)) for i in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        wanted = {
            partition_name(table, date(2024, 1, 1) + timedelta(days=offset))
            for table in PARTITIONED_NAMES
            for offset in range(15)
        }
        assert sorted(created[0] + created[1]) == sorted(wanted)
        assert all(_exists(engines[0], name) for name in wanted)
    finally:
        for engine in engines:
            engine.dispose()


def test_a_drop_gives_up_while_a_reader_holds_the_table(pg_engine: Engine) -> None:
    store_cut_snapshot(pg_engine, NOV_20)
    [partition] = [p for p in list_partitions(pg_engine) if p.name == "flight_positions_p20241120"]
    with pg_engine.connect() as reader:
        reader.execute(text("SELECT count(*) FROM flight_positions"))

        assert drop_partition(pg_engine, partition, lock_timeout_ms=100) is False
        assert _exists(pg_engine, partition.name)

    assert drop_partition(pg_engine, partition) is True
    assert not _exists(pg_engine, partition.name)


def _plain_database(url: str) -> Engine:
    """The schema of the previous version: every table, the per-snapshot ones plain."""
    engine = make_engine(url)
    metadata.create_all(engine, tables=[t for t in metadata.sorted_tables if t not in PARTITIONED])
    with engine.begin() as connection:
        for statement in OLD_TABLES:
            connection.execute(text(statement))
    return engine


def _old_rows(engine: Engine) -> dict[str, list[tuple]]:
    with engine.connect() as connection:
        return {
            "flight_positions": connection.execute(
                text(
                    "SELECT flight_id, observed_at, latitude, longitude, altitude "
                    "FROM flight_positions ORDER BY flight_id, observed_at"
                )
            ).all(),
            "transceivers": connection.execute(
                select(transceivers).order_by(
                    transceivers.c.observed_at,
                    transceivers.c.callsign,
                    transceivers.c.transceiver_id,
                )
            ).all(),
        }


@pytest.fixture
def legacy_engine(postgres_url: str) -> Iterator[Engine]:
    """An empty database with the schema of the previous version."""
    engine = _plain_database(postgres_url)
    try:
        yield engine
    finally:
        engine.dispose()


def test_migrate_converts_plain_tables_in_place(
    legacy_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    engine = legacy_engine
    for moment in (NOV_20, NOV_21):
        assert store_cut_snapshot(engine, moment).tables["flight_positions"].inserted > 0
    with engine.begin() as connection:
        # As if stored by a version before `qnh_mb` and runs: migrate must add them before
        # attaching (the snapshots are a day apart: every row is one snapshot).
        connection.execute(text("ALTER TABLE flight_positions DROP COLUMN qnh_mb"))
        connection.execute(text("ALTER TABLE flight_positions DROP COLUMN last_observed_at"))
    before = _old_rows(engine)
    assert _relkind(engine, "flight_positions") == "r"

    with caplog.at_level(logging.WARNING, logger="vatsim_pipeline.storage.partitions"):
        migrate(engine)

    assert [record.getMessage() for record in caplog.records] == [
        # Narrowed first: a partition has its parent's types (test_narrow_radios).
        "migrate: transceivers: dropped ix_transceivers_controller (a NULL per pilot radio)",
        "migrate: transceivers: frequency_hz bigint -> integer",
        "migrate: flight_positions: plain table converted to partitioned by day without "
        "copying rows; its rows stay in partition flight_positions_legacy covering "
        "2024-11-20 .. 2024-11-21, dropped by retention once that whole range is past",
        "migrate: transceivers: plain table converted to partitioned by day without "
        "copying rows; its rows stay in partition transceivers_legacy covering "
        "2024-11-20 .. 2024-11-21, dropped by retention once that whole range is past",
        "migrate: sector_assignments: empty plain table dropped and recreated partitioned",
    ]
    assert {name: _relkind(engine, name) for name in PARTITIONED_NAMES} == dict.fromkeys(
        PARTITIONED_NAMES, "p"
    )
    for table in ("flight_positions", "transceivers"):
        legacy = _ranges(engine, table)[f"{table}_legacy"]
        assert legacy == (_day(date(2024, 11, 20)), _day(date(2024, 11, 22)))
    assert "sector_assignments_legacy" not in _ranges(engine, "sector_assignments")
    assert _old_rows(engine) == before
    with engine.connect() as connection:
        assert set(connection.execute(text("SELECT qnh_mb FROM flight_positions")).scalars()) == {
            None
        }

    again = store_cut_snapshot(engine, NOV_21 - timedelta(hours=1))
    later = store_cut_snapshot(engine, NOV_23)

    assert not _exists(engine, "flight_positions_p20241121")
    assert _count(engine, "flight_positions_legacy") == len(before["flight_positions"]) + (
        again.tables["flight_positions"].inserted
    )
    assert (
        _count(engine, "flight_positions_p20241123")
        == later.tables["flight_positions"].inserted
        > 0
    )
    assert _count(engine, "transceivers_p20241123") == later.tables["transceivers"].inserted > 0
    # Days the legacy partition covers get partitions only where it does not.
    assert _exists(engine, "sector_assignments_p20241121")
    caplog.clear()
    migrate(engine)
    assert caplog.records == []


def test_retention_drops_the_legacy_partition_once_its_whole_range_is_past(
    legacy_engine: Engine,
) -> None:
    engine = legacy_engine
    for moment in (NOV_20, NOV_21):
        store_cut_snapshot(engine, moment)
    migrate(engine)
    retention = TableRetention(days=dict.fromkeys(PARTITIONED_NAMES, 1), ahead_days=0)
    rows = _count(engine, "flight_positions_legacy")

    kept = sweep_tables(engine, retention, now=datetime(2024, 11, 22, 6, tzinfo=UTC))

    assert kept.partitions == [] and _exists(engine, "flight_positions_legacy")

    dropped = sweep_tables(engine, retention, now=datetime(2024, 11, 23, 6, tzinfo=UTC))

    assert dropped.partitions == ["flight_positions_legacy", "transceivers_legacy"]
    assert dropped.tables["flight_positions"].rows == rows > 0
    assert not _exists(engine, "flight_positions_legacy")


@POSTGRESQL_ONLY
def test_positions_carry_a_brin_index_on_time_in_every_day_partition(engine: Engine) -> None:
    day = datetime.now(UTC).date()
    with engine.connect() as connection:
        definitions = dict(
            connection.execute(
                text(
                    "SELECT tablename, indexdef FROM pg_indexes "
                    "WHERE indexdef LIKE '%USING brin (observed_at)%'"
                )
            ).all()
        )
    days = {p.name for p in list_partitions(engine) if p.table == "flight_positions"}
    assert partition_name("flight_positions", day) in days
    assert set(definitions) == {"flight_positions", *days}
