"""The PostgreSQL COPY path and the portable Core path store and report the same.

Also: a snapshot whose write fails leaves nothing behind, not even in the session's
staging tables, and the next snapshot on the same connection is stored cleanly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

from vatsim_pipeline.feed.models import Snapshot, Transceiver
from vatsim_pipeline.storage import core_writes, postgres_writes
from vatsim_pipeline.storage.copy_csv import CsvStream
from vatsim_pipeline.storage.engine import make_engine, migrate
from vatsim_pipeline.storage.partitions import ensure_day_partitions, utc_day
from vatsim_pipeline.storage.schema import feed_snapshots, flights
from vatsim_pipeline.storage.snapshot_rows import snapshot_rows
from vatsim_pipeline.storage.write_report import TableWrite
from vatsim_pipeline.storage.writes import write_snapshot
from vatsim_pipeline_tests.shared_data import sequence_files
from vatsim_pipeline_tests.storage.support import clear, dump, parsed, rows

PATH_TABLES = ("flights", "flight_positions", "controllers", "transceivers", "prefiles")


def with_radios(snapshot: Snapshot) -> Snapshot:
    """The snapshot with a radio per pilot (at its position) and two per controller."""
    radios = [
        Transceiver(p.callsign, 0, 122_800_000, p.latitude, p.longitude, 100.0, 0.0)
        for p in snapshot.pilots
    ]
    for index, controller in enumerate(snapshot.controllers):
        lat, lon = -50.0 + index % 100, -150.0 + (index * 7) % 300
        for radio in (0, 1):
            radios.append(
                Transceiver(controller.callsign, radio, 118_000_000, lat + radio, lon, 30.0, 20.0)
            )
    return dataclasses.replace(snapshot, transceivers=radios, transceiver_stations=len(radios))


def _order() -> list[Path]:
    """Out of order, with repeats: every branch of the upsert is taken."""
    files = sequence_files()
    return [files[2], files[0], files[2], files[4], files[1], files[0]]


@pytest.fixture
def pg_engine(postgres_url: str) -> Iterator[Engine]:
    """The COPY path is PostgreSQL's own: these tests run on PostgreSQL only."""
    engine = make_engine(postgres_url)
    migrate(engine)
    yield engine
    engine.dispose()


def _write_with(path, engine: Engine, snapshot: Snapshot) -> dict[str, TableWrite]:
    """One write path on its own; the day's partitions first and the snapshot recorded in
    the same transaction (radio runs join recorded snapshots), as `write_snapshot` does."""
    ts = snapshot.update_timestamp
    ensure_day_partitions(engine, [utc_day(ts)])
    with engine.begin() as connection:
        written = path.write_rows(connection, snapshot_rows(snapshot), ts)
        recorded = {"update_timestamp": ts, "stored_at": ts, "status": "stored"}
        core_writes.insert_new(connection, feed_snapshots, [recorded | snapshot.counts()])
        return written


def test_copy_path_and_core_path_store_and_report_the_same(pg_engine: Engine) -> None:
    engine = pg_engine
    snapshots = [with_radios(parsed(path)) for path in _order()]

    core_reports = [_write_with(core_writes, engine, s) for s in snapshots]
    core_tables = dump(engine)
    clear(engine)
    copy_reports = [_write_with(postgres_writes, engine, s) for s in snapshots]

    assert copy_reports == core_reports
    copied = dump(engine)
    for name in PATH_TABLES:
        assert copied[name] == core_tables[name], name
    assert any(r["transceivers"].inserted for r in copy_reports)
    assert any(r["flights"].updated for r in copy_reports)
    assert any(r["flights"].unchanged for r in copy_reports)


def _broken(snapshot: Snapshot) -> Snapshot:
    """A snapshot that fails in the database: a pilot without latitude (NOT NULL)."""
    pilots = list(snapshot.pilots)
    pilots[-1] = dataclasses.replace(pilots[-1], latitude=None)
    return dataclasses.replace(snapshot, pilots=pilots)


def test_a_failed_write_leaves_nothing_and_the_next_one_is_clean(engine: Engine) -> None:
    first, second, third = (with_radios(parsed(path)) for path in sequence_files()[:3])

    with pytest.raises(IntegrityError):
        write_snapshot(engine, _broken(first))
    write_snapshot(engine, second)
    with pytest.raises(IntegrityError):
        write_snapshot(engine, _broken(first))
    write_snapshot(engine, third)
    after_failures = dump(engine)
    clear(engine)
    write_snapshot(engine, second)
    write_snapshot(engine, third)

    assert dump(engine) == after_failures
    stored = {row["update_timestamp"] for row in rows(engine, feed_snapshots)}
    assert stored == {second.update_timestamp, third.update_timestamp}
    assert len(rows(engine, flights)) == len(
        {(p.cid, p.callsign, p.logon_time) for p in second.pilots + third.pilots}
    )


def test_copy_errors_surface_as_sqlalchemy_errors(pg_engine: Engine) -> None:
    """A value COPY refuses (heading beyond SMALLINT) fails like any other storage error."""
    engine = pg_engine
    snapshot = parsed(sequence_files()[0])
    pilots = [dataclasses.replace(snapshot.pilots[0], heading=40_000), *snapshot.pilots[1:]]

    with pytest.raises(DataError, match="smallint"):
        write_snapshot(engine, dataclasses.replace(snapshot, pilots=pilots))

    assert rows(engine, feed_snapshots) == []
    write_snapshot(engine, snapshot)
    assert len(rows(engine, flights)) == len(snapshot.pilots)


def test_a_connection_lost_during_copy_is_invalidated_and_the_next_write_works(
    pg_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = pg_engine
    snapshot = parsed(sequence_files()[0])
    original_read = CsvStream.read

    def read_then_lose_the_connection(stream: CsvStream, size: int = -1) -> str:
        with engine.connect() as admin:
            admin.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE state = 'active' AND query LIKE 'COPY %' AND pid <> pg_backend_pid()"
                )
            )
        monkeypatch.setattr(CsvStream, "read", original_read)
        return original_read(stream, size)

    monkeypatch.setattr(CsvStream, "read", read_then_lose_the_connection)

    with pytest.raises(OperationalError) as lost:
        write_snapshot(engine, snapshot)

    assert lost.value.connection_invalidated
    write = write_snapshot(engine, snapshot)
    assert write.new_snapshot is True
    assert len(rows(engine, flights)) == len(snapshot.pilots)


def test_an_autocommit_engine_is_refused_rather_than_storing_nothing(pg_engine: Engine) -> None:
    """Every commit empties the staging tables: without a transaction, COPY would be lost."""
    engine = pg_engine
    autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")

    with pytest.raises(ValueError, match="transaction"):
        write_snapshot(autocommit, parsed(sequence_files()[0]))

    assert rows(engine, flights) == []
