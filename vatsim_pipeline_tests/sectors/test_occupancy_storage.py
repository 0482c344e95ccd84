"""Sector assignments, occupancy intervals and staffing stored per snapshot
(storage/occupancy_writes.py), on the real five-snapshot sequence and the real VATSpy and
simaware boundaries, on SQLite and, when configured, PostgreSQL.

Expectations come from the raw JSON and from locating each position on its own; tables
are compared by natural keys, so databases filled in different orders compare equal.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from vatsim_pipeline.sectors.locate import SectorIndex
from vatsim_pipeline.sectors.staffing import StaffingIndex, sectors_staffed_by
from vatsim_pipeline.storage.assignment_runs import assignment_snapshots
from vatsim_pipeline.storage.engine import make_engine, migrate
from vatsim_pipeline.storage.occupancy_writes import OccupancyWrite, SectorSet, update_occupancy
from vatsim_pipeline.storage.schema import (
    controller_sectors,
    controllers,
    flight_sector_occupancy,
    flights,
)
from vatsim_pipeline.storage.writes import write_snapshot
from vatsim_pipeline_tests.backends import (
    BACKENDS,
    drop_postgres_database,
    fresh_postgres_database,
)
from vatsim_pipeline_tests.shared_data import sequence_files
from vatsim_pipeline_tests.storage.reads_support import real_sectors
from vatsim_pipeline_tests.storage.support import clear, key_of, parsed, raw, update_timestamp

FILES = sequence_files()
AIRBORNE_GROUNDSPEED = 50
AIRBORNE_ALTITUDE = 1000


@pytest.fixture(scope="module")
def sector_set() -> SectorSet:
    return SectorSet.of(real_sectors(), key=(len(real_sectors()), None))


@pytest.fixture(scope="module", params=BACKENDS)
def occupied(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sector_set
) -> Iterator[Engine]:
    """A database holding the sequence, ingested in order with its occupancy; the tests
    using it only read it."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('occupied') / 'vatsim.db'}"
    else:
        url = fresh_postgres_database()
    engine = make_engine(url)
    migrate(engine)
    occupy(engine, FILES, sector_set)
    yield engine
    engine.dispose()
    if request.param != "sqlite":
        drop_postgres_database(url)


def occupy(engine: Engine, paths: list[Path], sector_set: SectorSet) -> list[OccupancyWrite]:
    """Store each snapshot, then its occupancy, as the ingest run does."""
    writes = []
    for path in paths:
        write_snapshot(engine, parsed(path))
        writes.append(update_occupancy(engine, update_timestamp(path), sector_set))
    return writes


def occupancy_tables(engine: Engine) -> dict[str, list[tuple]]:
    """Assignments (one per position, expanded from the runs), intervals and staffing,
    with connection ids as natural keys."""
    assigned = assignment_snapshots
    flight_key = (flights.c.cid, flights.c.callsign, flights.c.logon_time)
    occupancy = flight_sector_occupancy
    with engine.connect() as connection:

        def fetch(statement) -> list[tuple]:
            return sorted((tuple(row) for row in connection.execute(statement)), key=repr)

        return {
            "sector_assignments": fetch(
                select(*flight_key, assigned.c.observed_at, assigned.c.sector_id).join(
                    flights, flights.c.id == assigned.c.flight_id
                )
            ),
            "flight_sector_occupancy": fetch(
                select(
                    *flight_key, *(c for c in occupancy.c if c.name not in ("id", "flight_id"))
                ).join(flights, flights.c.id == occupancy.c.flight_id)
            ),
            "controller_sectors": fetch(
                select(
                    controllers.c.cid,
                    controllers.c.callsign,
                    controllers.c.logon_time,
                    controller_sectors.c.sector_id,
                ).join(controllers, controllers.c.id == controller_sectors.c.controller_id)
            ),
        }


def test_any_order_of_delivery_gives_the_same_occupancy(
    engine: Engine, sector_set: SectorSet
) -> None:
    occupy(engine, FILES, sector_set)
    in_order = occupancy_tables(engine)
    occupancy = in_order["flight_sector_occupancy"]
    assert len(in_order["sector_assignments"]) == sum(len(raw(p)["pilots"]) for p in FILES)
    assert len(occupancy) > len({row[:3] for row in occupancy})  # some flights changed sector
    assert sum(1 for row in occupancy if row[5] is None) == len({row[:3] for row in occupancy})

    orders = {
        "reversed": [FILES[::-1]],
        "gap, then the missed snapshot": [[*FILES[:2], *FILES[3:]], [FILES[2]]],
        "in order, then all again": [FILES, FILES],
    }
    for name, batches in orders.items():
        clear(engine)
        for batch in batches:
            occupy(engine, batch, sector_set)
        assert occupancy_tables(engine) == in_order, name


def test_re_ingesting_a_snapshot_changes_and_locates_nothing(
    engine: Engine, sector_set: SectorSet
) -> None:
    first = occupy(engine, FILES, sector_set)
    before = occupancy_tables(engine)
    again = update_occupancy(engine, update_timestamp(FILES[2]), sector_set)
    assert (again.positions, again.assigned, again.intervals.flights) == (
        len(raw(FILES[2])["pilots"]),
        0,
        0,
    )
    assert (again.staffing.inserted, again.staffing.deleted) == (0, 0)
    assert occupancy_tables(engine) == before
    # Appending a snapshot rebuilds only the flights whose sector changed, not all of them.
    for write in first[2:]:
        assert 0 < write.intervals.flights < write.positions / 10


def located_by_flight(engine: Engine) -> tuple[dict, dict]:
    """Per flight key: (observed_at, lat, lon) of its positions; and its intervals."""
    with engine.connect() as connection:
        keys = {
            row.id: (row.cid, row.callsign, row.logon_time)
            for row in connection.execute(select(flights))
        }
        stays = defaultdict(list)
        for row in connection.execute(select(flight_sector_occupancy)):
            stays[keys[row.flight_id]].append(row)
    return keys, stays


def test_positions_lie_in_the_intervals_of_their_own_sector(occupied: Engine) -> None:
    engine = occupied
    _, stays = located_by_flight(engine)
    index = SectorIndex(real_sectors())
    checked = airborne = 0
    for path in FILES:
        observed_at = update_timestamp(path)
        for pilot in raw(path)["pilots"]:
            located = index.locate(pilot["latitude"], pilot["longitude"])
            covering = [
                stay.sector_id
                for stay in stays[key_of(pilot)]
                if stay.entered_at <= observed_at
                and (stay.exited_at is None or observed_at < stay.exited_at)
            ]
            assert covering == ([located.id] if located else []), (pilot["callsign"], path)
            checked += 1
            if (
                pilot["groundspeed"] > AIRBORNE_GROUNDSPEED
                and pilot["altitude"] > AIRBORNE_ALTITUDE
            ):
                airborne += 1
                # Every airborne flight of the sequence is over a sector: the VATSpy
                # boundaries cover every position these files hold.
                assert located is not None, pilot["callsign"]
    assert checked == sum(len(raw(p)["pilots"]) for p in FILES)
    assert airborne > 2000


def staffing_of(engine: Engine) -> dict[str, set[str]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(controllers.c.callsign, controller_sectors.c.sector_id).join(
                controller_sectors, controller_sectors.c.controller_id == controllers.c.id
            )
        )
        staffed: dict[str, set[str]] = defaultdict(set)
        for callsign, sector_id in rows:
            staffed[callsign].add(sector_id)
    return staffed


def test_controllers_online_staff_the_sectors_of_their_callsigns(occupied: Engine) -> None:
    engine = occupied
    staffed = staffing_of(engine)
    assert staffed["EKDK_CTR"] == {"EKDK"}
    assert staffed["ESOS_1_CTR"] == {"ESOS-1"}
    assert staffed["EDDF_N_APP"] == {"TRACON:EDDF"}
    uir = next(s for s in real_sectors() if s.id == "UIR:RU-CEN")
    assert len(uir.members) == 13
    assert staffed["RU-CEN_FSS"] == {"UIR:RU-CEN", *uir.members}
    # Every controller and ATIS connection of the files, as staffing.py reads it.
    index = StaffingIndex(real_sectors())
    expected: dict[str, set[str]] = {}
    for path in FILES:
        document = raw(path)
        for record in document["controllers"] + document["atis"]:
            found = sectors_staffed_by(record["callsign"], record["facility"], index)
            if found:
                expected[record["callsign"]] = set(found)
    assert staffed == expected
    assert not any(callsign.endswith(("_ATIS", "_OBS", "_GND")) for callsign in staffed)


def test_a_flight_changing_sector_closes_one_interval_where_the_next_begins(
    occupied: Engine,
) -> None:
    engine = occupied
    _, stays = located_by_flight(engine)
    changed = {key: rows for key, rows in stays.items() if len(rows) > 1}
    assert changed
    for rows in changed.values():
        rows.sort(key=lambda row: row.entered_at)
        for left, right in pairwise(rows):
            assert left.exited_at == right.entered_at
            assert (left.exit_latitude, left.exit_longitude) == (
                right.entry_latitude,
                right.entry_longitude,
            )
        assert rows[-1].exited_at is None
    assert all(isinstance(row.entered_at, datetime) for rows in stays.values() for row in rows)
