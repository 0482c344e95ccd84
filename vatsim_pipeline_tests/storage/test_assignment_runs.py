"""Sector assignments stored as runs (storage/assignment_runs.py), on both backends.

Pilots of a real snapshot are moved between two made-up sectors by latitude (a stand-in
locator decides the sector), over a stretch crossing UTC midnight. Whatever the order in
which snapshots are recorded and located, the stored runs must be exactly the stretches
of consecutive recorded snapshots a flight spent in one sector on one day, and the
expanded view must give each flight's sector in every snapshot.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select

from vatsim_pipeline.feed.models import Snapshot
from vatsim_pipeline.sectors.staffing import StaffingIndex
from vatsim_pipeline.storage.assignment_runs import assignment_snapshots, run_end
from vatsim_pipeline.storage.occupancy_writes import SectorSet, update_occupancy
from vatsim_pipeline.storage.partitions import utc_day
from vatsim_pipeline.storage.schema import flight_sector_occupancy, flights, sector_assignments
from vatsim_pipeline.storage.writes import write_snapshot
from vatsim_pipeline_tests.shared_data import sequence_files
from vatsim_pipeline_tests.storage.support import clear, parsed

START = datetime(2024, 11, 22, 23, 58, 0, tzinfo=UTC)  # step 8 is midnight
STEPS = 14
LATITUDE = {"NORTH": 55.0, "SOUTH": 10.0, None: -40.0}
# Each pilot's sector per step ("-": absent from that snapshot).
N, S, X, A = "NORTH", "SOUTH", None, "-"
SCHEDULE = [
    [N] * STEPS,  # parked in one sector: one run a day
    [N, N, N, S, S, S, N, N, N, N, N, S, S, S],  # changes sector
    [X] * STEPS,  # outside every sector
    [N, N, N, N, A, N, N, N, N, N, N, N, N, N],  # missing from one snapshot
    [S, S, S, S, S, N, S, S, S, S, S, S, S, S],  # one snapshot elsewhere
]


class ByLatitude:
    """A locator: the sector is decided by the latitude alone."""

    def locate_many(self, lats, lons) -> list[str | None]:
        by_latitude = {latitude: sector for sector, latitude in LATITUDE.items()}
        return [by_latitude[latitude] for latitude in lats]


SECTORS = SectorSet(key=(2, None), index=ByLatitude(), staffing=StaffingIndex([]))  # type: ignore[arg-type]


def _snapshots() -> list[Snapshot]:
    base = parsed(sequence_files()[0])
    pilots = base.pilots[: len(SCHEDULE)]
    out = []
    for step in range(STEPS):
        present = [
            replace(pilot, latitude=LATITUDE[plan[step]])
            for pilot, plan in zip(pilots, SCHEDULE, strict=True)
            if plan[step] != A
        ]
        moment = START + timedelta(seconds=15 * step)
        out.append(
            Snapshot(update_timestamp=moment, connected_clients=len(present), pilots=present)
        )
    return out


SNAPSHOTS = _snapshots()
MOMENTS = [s.update_timestamp for s in SNAPSHOTS]


def _expected_runs() -> set[tuple]:
    """(callsign, first, last, sector): each stretch of consecutive snapshots of one day
    in one sector."""
    callsigns = [p.callsign for p in SNAPSHOTS[0].pilots]
    runs = set()
    for callsign, plan in zip(callsigns, SCHEDULE, strict=True):
        first = None
        for step, sector in enumerate(plan):
            if sector == A:
                continue
            moment = MOMENTS[step]
            continues = (
                first is not None
                and step > 0
                and plan[step - 1] == sector
                and utc_day(MOMENTS[step - 1]) == utc_day(moment)
            )
            if not continues:
                first = moment
            ends = (
                step == STEPS - 1
                or plan[step + 1] != sector
                or utc_day(MOMENTS[step + 1]) != utc_day(moment)
            )
            if ends:
                runs.add((callsign, first, moment, sector))
    return runs


def _store(engine: Engine, steps) -> None:
    for step in steps:
        write_snapshot(engine, SNAPSHOTS[step])
        update_occupancy(engine, MOMENTS[step], SECTORS)


def _by_callsign(engine: Engine, table, *columns) -> set[tuple]:
    """`columns` of `table`'s rows, each row keyed by its flight's callsign."""
    with engine.connect() as connection:
        statement = select(flights.c.callsign, *columns).join(
            flights, flights.c.id == table.c.flight_id
        )
        return {tuple(row) for row in connection.execute(statement)}


def _runs(engine: Engine) -> set[tuple]:
    a = sector_assignments
    return _by_callsign(engine, a, a.c.observed_at, run_end, a.c.sector_id)


def _per_snapshot(engine: Engine) -> set[tuple]:
    a = assignment_snapshots
    return _by_callsign(engine, a, a.c.observed_at, a.c.sector_id)


def _occupancy(engine: Engine) -> set[tuple]:
    o = flight_sector_occupancy
    return _by_callsign(engine, o, o.c.sector_id, o.c.entered_at, o.c.exited_at)


def _truth() -> set[tuple]:
    return {
        (
            pilot.callsign,
            snapshot.update_timestamp,
            SECTORS.index.locate_many([pilot.latitude], [0])[0],
        )
        for snapshot in SNAPSHOTS
        for pilot in snapshot.pilots
    }


def test_in_order_runs_extend_and_end_at_midnight(engine: Engine) -> None:
    _store(engine, range(STEPS))
    runs = _runs(engine)
    assert runs == _expected_runs()
    parked = sorted(run[1:] for run in runs if run[0] == SNAPSHOTS[0].pilots[0].callsign)
    assert parked == [(MOMENTS[0], MOMENTS[7], N), (MOMENTS[8], MOMENTS[13], N)]
    assert len(runs) < len(_truth()) / 3
    assert _per_snapshot(engine) == _truth()


def test_a_repeat_changes_nothing(engine: Engine) -> None:
    _store(engine, range(STEPS))
    before = (_runs(engine), _occupancy(engine))
    _store(engine, [0, 5, 8, 13])
    again = update_occupancy(engine, MOMENTS[5], SECTORS)
    assert again.assigned == 0
    assert (_runs(engine), _occupancy(engine)) == before


def test_snapshots_recorded_late_split_and_join_runs(engine: Engine) -> None:
    _store(engine, range(STEPS))
    in_order = (_runs(engine), _occupancy(engine))
    clear(engine)
    held_back = [5, 4, 8, 11, 3]  # inside runs, at midnight, at sector changes
    _store(engine, [step for step in range(STEPS) if step not in held_back])
    # Without splitting when step 5 is recorded, pilot 4's SOUTH run over 4..6 would
    # claim step 5, where it is NORTH.
    _store(engine, held_back)
    assert (_runs(engine), _occupancy(engine)) == in_order
    assert _per_snapshot(engine) == _truth()


def test_located_late_joins_the_runs_on_both_sides(engine: Engine) -> None:
    """Snapshots recorded in order, but one located last: it joins its neighbours."""
    for step in range(STEPS):
        write_snapshot(engine, SNAPSHOTS[step])
        if step != 2:
            update_occupancy(engine, MOMENTS[step], SECTORS)
    assert (SNAPSHOTS[0].pilots[0].callsign, MOMENTS[0], MOMENTS[7], N) not in _runs(engine)
    update_occupancy(engine, MOMENTS[2], SECTORS)
    assert _runs(engine) == _expected_runs()
