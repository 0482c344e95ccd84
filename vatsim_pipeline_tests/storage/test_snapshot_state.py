"""The exact-state rebuild: every recorded snapshot's positions, read back from the
compact tables, are what its payload says (parsed by the project's own parser).

Each snapshot's positions are located in the real sectors as the ingest run does, and
the sector of each, read back, is the one its payload position lies in.

Real sequences (15 s apart, and minutes apart delivered out of order) and a simulated
stretch built from a real snapshot: parked pilots, a pilot missing from one snapshot,
a change of one value, runs crossing midnight, a snapshot recorded after newer ones
inside parked stretches, and replays.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

from sqlalchemy import Engine, delete, func, insert, inspect, select, text

from vatsim_pipeline.feed.landing import read_payload
from vatsim_pipeline.feed.models import Snapshot, Transceiver
from vatsim_pipeline.feed.parse import parse_data_feed
from vatsim_pipeline.storage.assignment_runs import assignment_snapshots
from vatsim_pipeline.storage.engine import migrate
from vatsim_pipeline.storage.occupancy_writes import SectorSet, update_occupancy
from vatsim_pipeline.storage.position_runs import RUN_SPAN, position_snapshots
from vatsim_pipeline.storage.schema import flight_positions, sector_assignments
from vatsim_pipeline.storage.snapshot_rows import POSITION_COLUMNS
from vatsim_pipeline.storage.snapshot_state import recorded_snapshots, snapshot_state
from vatsim_pipeline.storage.write_report import SnapshotWrite
from vatsim_pipeline.storage.writes import write_snapshot
from vatsim_pipeline_tests.shared_data import sequence_files, shared_data
from vatsim_pipeline_tests.storage.reads_support import real_sectors


def _parsed(path: Path) -> Snapshot:
    return parse_data_feed(read_payload(path))


def _expected(snapshot: Snapshot) -> dict[tuple, tuple]:
    """Connection -> position values, as the payload says (a key listed twice: the last)."""
    return {
        (p.cid, p.callsign, p.logon_time): tuple(getattr(p, name) for name in POSITION_COLUMNS)
        for p in snapshot.pilots
    }


def _expected_radios(snapshot: Snapshot) -> dict[tuple, tuple]:
    """Radio -> its values and the connections its callsign belongs to in the snapshot."""
    pilot = {p.callsign: (p.cid, p.callsign, p.logon_time) for p in snapshot.pilots}
    station = {c.callsign: (c.cid, c.callsign, c.logon_time) for c in snapshot.controllers}
    return {
        (r.callsign, r.transceiver_id): (
            r.frequency_hz,
            r.latitude,
            r.longitude,
            r.height_msl_m,
            r.height_agl_m,
            pilot.get(r.callsign),
            station.get(r.callsign),
        )
        for r in snapshot.transceivers
    }


def _expected_sectors(snapshot: Snapshot) -> dict[tuple, str | None]:
    """Connection -> the sector its position lies in, located on its own."""
    positions = _expected(snapshot)
    located = _sectors().index.locate_many(
        [values[0] for values in positions.values()], [values[1] for values in positions.values()]
    )
    return dict(zip(positions, located, strict=True))


@cache
def _sectors() -> SectorSet:
    """The real sectors, parsed once."""
    return SectorSet.of(real_sectors(), key=(len(real_sectors()), None))


def _write(engine: Engine, snapshot: Snapshot) -> SnapshotWrite:
    """Store a snapshot and locate its positions, as the ingest run does."""
    written = write_snapshot(engine, snapshot)
    update_occupancy(engine, snapshot.update_timestamp, _sectors())
    return written


def _assert_rebuilt(engine: Engine, snapshots: list[Snapshot], *, located: bool = True) -> None:
    by_time = {s.update_timestamp: s for s in snapshots}
    with engine.connect() as connection:
        recorded = recorded_snapshots(connection)
        assert recorded == sorted(by_time)
        for moment in recorded:
            state = snapshot_state(connection, moment)
            assert state.positions == _expected(by_time[moment]), moment
            assert state.radios == _expected_radios(by_time[moment]), moment
            sectors = _expected_sectors(by_time[moment]) if located else {}
            assert state.sectors == sectors, moment


def _rows(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(flight_positions))


def test_real_sequence_in_order_rebuilds_exactly(engine: Engine) -> None:
    snapshots = [_parsed(path) for path in sequence_files()]
    writes = [_write(engine, s) for s in snapshots]
    assert [w.tables["flight_positions"].inserted for w in writes] == [
        len(_expected(s)) for s in snapshots
    ]
    _assert_rebuilt(engine, snapshots)
    positions = sum(len(_expected(s)) for s in snapshots)
    assert _rows(engine) < positions  # parked pilots share rows
    replayed = _write(engine, snapshots[2]).tables["flight_positions"]
    assert (replayed.inserted, replayed.unchanged) == (0, len(_expected(snapshots[2])))
    _assert_rebuilt(engine, snapshots)


def test_real_day_out_of_order_rebuilds_exactly(engine: Engine) -> None:
    paths = sorted(shared_data("long-20220624").glob("vatsim-data_*.json.gz"))
    snapshots = [_parsed(path) for path in paths]
    order = list(range(len(snapshots)))
    random.Random(13).shuffle(order)
    for index in order:
        _write(engine, snapshots[index])
    _assert_rebuilt(engine, snapshots)


def _simulated(base: Snapshot, start: datetime, steps: int) -> list[Snapshot]:
    """`steps` snapshots 15 s apart from `start`: the first 40 pilots parked, the next 20
    moving, pilot 60 absent from step 5, pilot 61 changing its squawk at step 7; each
    with a radio at its position."""
    pilots = base.pilots[:80]
    out = []
    for step in range(steps):
        moment = start + timedelta(seconds=15 * step)
        current = []
        for index, pilot in enumerate(pilots):
            if index == 60 and step == 5:
                continue
            if 40 <= index < 60:
                pilot = replace(pilot, latitude=round(pilot.latitude + 0.001 * step, 5))
            if index == 61 and step >= 7:
                pilot = replace(pilot, transponder="7700")
            current.append(pilot)
        radios = [
            # A radio at its aircraft: parked ones keep theirs, moving ones change.
            Transceiver(
                p.callsign, 1, 122_800_000 + 5_000 * (i % 3), p.latitude, p.longitude, 30.5, None
            )
            for i, p in enumerate(current)
        ]
        out.append(
            Snapshot(
                update_timestamp=moment,
                connected_clients=len(current),
                pilots=current,
                transceivers=radios,
            )
        )
    return out


def test_simulated_stretch_parked_missing_late_and_replayed(engine: Engine) -> None:
    base = _parsed(sequence_files()[0])
    # Crosses midnight, so runs must end at the day's end.
    snapshots = _simulated(base, datetime(2024, 11, 22, 23, 57, 30, tzinfo=UTC), 24)
    held_back = {5, 11, 12, 20}  # inside parked runs, one around midnight (step 10)
    for index, snapshot in enumerate(snapshots):
        if index not in held_back:
            _write(engine, snapshot)
    _assert_rebuilt(engine, [s for i, s in enumerate(snapshots) if i not in held_back])
    for index in sorted(held_back, reverse=True):
        late = _write(engine, snapshots[index]).tables["flight_positions"]
        assert late.inserted == len(snapshots[index].pilots)
    for index in (0, 5, 23):
        again = _write(engine, snapshots[index]).tables["flight_positions"]
        assert (again.inserted, again.unchanged) == (0, len(snapshots[index].pilots))
    _assert_rebuilt(engine, snapshots)
    positions = sum(len(s.pilots) for s in snapshots)
    parked_per_row = int(RUN_SPAN.total_seconds() // 15)
    assert _rows(engine) < positions - 40 * 24 * (parked_per_row - 2) / parked_per_row


def _as_earlier_version(engine: Engine, snapshots, table, expanded) -> list:
    """Store `snapshots`, then leave `table` as an earlier version held it: one row per
    snapshot (its runs expanded) and no `last_observed_at` column; the rows."""
    for snapshot in snapshots:
        _write(engine, snapshot)
    with engine.begin() as connection:
        old = connection.execute(select(expanded)).all()
        connection.execute(delete(table))
        connection.execute(text(f"ALTER TABLE {table.name} DROP COLUMN last_observed_at"))
        # Only the columns given: the table of an earlier version.
        connection.execute(insert(table), [dict(row._mapping) for row in old])
    stored = inspect(engine).get_columns(table.name)
    assert "last_observed_at" not in {column["name"] for column in stored}
    return old


def test_migrate_keeps_a_per_snapshot_table_of_an_earlier_version(engine: Engine) -> None:
    """A table of one row per snapshot (no `last_observed_at`) reads the same after
    `migrate`, and later snapshots extend its rows into runs."""
    snapshots = [_parsed(path) for path in sequence_files()]
    old = _as_earlier_version(engine, snapshots[:3], flight_positions, position_snapshots)
    migrate(engine)
    assert _rows(engine) == len(old)
    _assert_rebuilt(engine, snapshots[:3])
    for snapshot in snapshots[3:]:
        _write(engine, snapshot)
    _assert_rebuilt(engine, snapshots)
    assert _rows(engine) < sum(len(_expected(s)) for s in snapshots)


def test_migrate_keeps_per_snapshot_sector_assignments_of_an_earlier_version(
    engine: Engine,
) -> None:
    """A `sector_assignments` of one row per snapshot (no `last_observed_at`) reads the
    same after `migrate`, and later snapshots extend its rows into runs."""
    snapshots = [_parsed(path) for path in sequence_files()]
    old = _as_earlier_version(engine, snapshots[:3], sector_assignments, assignment_snapshots)
    migrate(engine)
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(sector_assignments)) == len(old)
    _assert_rebuilt(engine, snapshots[:3])
    for snapshot in snapshots[3:]:
        _write(engine, snapshot)
    _assert_rebuilt(engine, snapshots)
    with engine.connect() as connection:
        rows = connection.scalar(select(func.count()).select_from(sector_assignments))
    later = sum(len(_expected(s)) for s in snapshots[3:])
    assert rows < len(old) + later / 10  # the old rows of the third snapshot were extended
