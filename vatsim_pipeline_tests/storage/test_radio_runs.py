"""Radios stored as runs: every recorded snapshot's radios rebuilt exactly, whatever the
order of delivery, repeats, gaps and midnight; and an old table converted by `migrate`.

The expected radios of a snapshot are what the project's parser reads from its payload;
each radio's link is the flight or controller row of the connection that carried its
callsign in that snapshot.
"""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Column, Engine, MetaData, Table, select, text

from vatsim_pipeline.feed.models import Snapshot
from vatsim_pipeline.feed.parse import parse_data_feed, parse_transceivers
from vatsim_pipeline.feed.simulator import Simulator
from vatsim_pipeline.storage import snapshot_rows
from vatsim_pipeline.storage.engine import migrate
from vatsim_pipeline.storage.radio_runs import transceiver_snapshots
from vatsim_pipeline.storage.schema import controllers, flights, transceivers
from vatsim_pipeline.storage.writes import LandedFiles, write_snapshot
from vatsim_pipeline_tests.shared_data import TRANSCEIVERS_FEED, shared_data

# Crosses midnight (a run never does) with a 15 s feed.
START = datetime(2026, 11, 30, 23, 57, 30, tzinfo=UTC)
SNAPSHOTS = 14
MISSING_RADIOS = 5  # this snapshot's transceivers feed stayed broken
WITHOUT_STATION = 8  # one station left out of this snapshot's radios only

RadioRow = tuple


def _sequence() -> list[Snapshot]:
    """Simulated snapshots with parked and moving aircraft and fixed controllers, one
    without radios, one where a station's radios are absent, one with a retuned radio."""
    simulator = Simulator(pilots=30, controllers=8, seed=5, start=START)
    snapshots = []
    for index in range(SNAPSHOTS):
        simulator.step(15)
        _, data, radios = simulator.render()
        snapshot = parse_data_feed(data)
        if index != MISSING_RADIOS:
            parse_transceivers(radios, snapshot)
        snapshots.append(snapshot)
    # A controller's station leaves the radios of one snapshot, then comes back.
    station = next(r.callsign for r in snapshots[0].transceivers if r.callsign.endswith("_CTR"))
    gap = snapshots[WITHOUT_STATION]
    kept = [r for r in gap.transceivers if r.callsign != station]
    snapshots[WITHOUT_STATION] = dataclasses.replace(gap, transceivers=kept)
    # A radio retuned for one snapshot, then back.
    retuned = snapshots[3]
    first, *rest = retuned.transceivers
    snapshots[3] = dataclasses.replace(
        retuned, transceivers=[dataclasses.replace(first, frequency_hz=121_500_000), *rest]
    )
    return snapshots


SEQUENCE = _sequence()


def _landed(index: int) -> LandedFiles:
    return LandedFiles(transceivers_missing="broken feed" if index == MISSING_RADIOS else None)


def _ids(engine: Engine) -> tuple[dict, dict]:
    with engine.connect() as connection:
        flight_ids = {
            (cid, callsign, logon): id_
            for id_, cid, callsign, logon in connection.execute(
                select(flights.c.id, flights.c.cid, flights.c.callsign, flights.c.logon_time)
            )
        }
        controller_ids = {
            (cid, callsign, logon): id_
            for id_, cid, callsign, logon in connection.execute(
                select(
                    controllers.c.id,
                    controllers.c.cid,
                    controllers.c.callsign,
                    controllers.c.logon_time,
                )
            )
        }
    return flight_ids, controller_ids


def expected(engine: Engine, snapshots: list[Snapshot]) -> set[RadioRow]:
    """(observed_at, radio..., flight_id, controller_id) of every radio the payloads list."""
    flight_ids, controller_ids = _ids(engine)
    found = set()
    for snapshot in snapshots:
        pilot = {p.callsign: flight_ids[(p.cid, p.callsign, p.logon_time)] for p in snapshot.pilots}
        station = {
            c.callsign: controller_ids[(c.cid, c.callsign, c.logon_time)]
            for c in snapshot.controllers
        }
        for r in snapshot.transceivers:
            found.add(
                (
                    snapshot.update_timestamp,
                    r.callsign,
                    r.transceiver_id,
                    r.frequency_hz,
                    r.latitude,
                    r.longitude,
                    r.height_msl_m,
                    r.height_agl_m,
                    pilot.get(r.callsign),
                    station.get(r.callsign),
                )
            )
    return found


def rebuilt(engine: Engine) -> list[RadioRow]:
    """Every radio of every recorded snapshot, read back through the expansion."""
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(select(transceiver_snapshots))]


def stored_runs(engine: Engine) -> set[tuple]:
    """The runs, ids replaced by the callsign they link (ids depend on delivery order)."""
    own = [c for c in transceivers.columns if c.name not in ("flight_id", "controller_id")]
    with engine.connect() as connection:
        return {
            tuple(row)
            for row in connection.execute(
                select(*own, flights.c.logon_time, controllers.c.logon_time)
                .outerjoin(flights, flights.c.id == transceivers.c.flight_id)
                .outerjoin(controllers, controllers.c.id == transceivers.c.controller_id)
            )
        }


def _write_all(engine: Engine, order: list[int]) -> None:
    for index in order:
        write_snapshot(engine, SEQUENCE[index], _landed(index))


def test_in_order_runs_say_exactly_what_each_snapshot_said(engine: Engine) -> None:
    _write_all(engine, list(range(SNAPSHOTS)))
    radios = rebuilt(engine)
    assert len(radios) == len(set(radios))
    assert set(radios) == expected(engine, SEQUENCE)
    with engine.connect() as connection:
        runs = connection.execute(select(transceivers)).all()
        days = connection.execute(
            select(transceivers.c.observed_at, transceivers.c.last_observed_at)
        ).all()
    # Controllers' radios do not move: far fewer runs than radios, none across midnight.
    assert len(runs) < 0.8 * len(radios)
    # A moving pilot's COM2 at COM1's position names it and stays one run while it moves.
    referring = [run for run in runs if run.position_of is not None]
    assert referring
    assert all(run.position_of < run.transceiver_id for run in referring)
    assert all(run.latitude is None and run.longitude is None for run in referring)
    moved = [
        run
        for run in referring
        for owner in runs
        if (owner.callsign, owner.transceiver_id) == (run.callsign, run.position_of)
        and run.observed_at < owner.observed_at <= run.last_observed_at
    ]
    assert moved
    assert all(first.date() == last.date() for first, last in days)
    assert all(first <= last for first, last in days)


@pytest.mark.parametrize("seed", [1, 2])
def test_any_delivery_order_and_repeats_store_the_same_runs(engine: Engine, seed: int) -> None:
    order = list(range(SNAPSHOTS))
    random.Random(seed).shuffle(order)
    _write_all(engine, order)
    runs = stored_runs(engine)
    # Replays of stored snapshots (a dead-letter replay, a re-ingest) change nothing.
    _write_all(engine, order[: SNAPSHOTS // 2])
    assert stored_runs(engine) == runs
    assert set(rebuilt(engine)) == expected(engine, SEQUENCE)
    assert len(rebuilt(engine)) == len(expected(engine, SEQUENCE))


def test_back_filled_snapshot_splits_and_joins_runs(engine: Engine, database_url: str) -> None:
    """The snapshots written in order except the middle ones, which arrive last: the runs
    first span the gap, then are split where a late snapshot differs and joined where
    it agrees; the result is the in-order one."""
    late = [3, MISSING_RADIOS, WITHOUT_STATION, 9]
    _write_all(engine, [i for i in range(SNAPSHOTS) if i not in late])
    _write_all(engine, late)
    assert set(rebuilt(engine)) == expected(engine, SEQUENCE)
    back_filled = stored_runs(engine)

    with engine.begin() as connection:
        connection.execute(text("DELETE FROM transceivers"))
        connection.execute(text("DELETE FROM feed_snapshots"))
    _write_all(engine, list(range(SNAPSHOTS)))
    assert stored_runs(engine) == back_filled


def test_real_radios_round_trip_exactly(engine: Engine) -> None:
    """Every value of a real transceivers feed (full doubles, frequencies in Hz) reads
    back as parsed, twice in a row as one run."""
    first = parse_data_feed(shared_data("vatsim-data_20230312T172418Z.json").read_bytes())
    parse_transceivers(shared_data(TRANSCEIVERS_FEED).read_bytes(), first)
    second = dataclasses.replace(
        first, update_timestamp=first.update_timestamp + timedelta(seconds=15)
    )
    write_snapshot(engine, first)
    write_snapshot(engine, second)
    with engine.connect() as connection:
        runs = connection.execute(select(transceivers)).all()
    assert len(runs) == len(first.transceivers) > 800
    got = {row[1:8] for row in rebuilt(engine)}
    want = {
        (
            r.callsign,
            r.transceiver_id,
            r.frequency_hz,
            r.latitude,
            r.longitude,
            r.height_msl_m,
            r.height_agl_m,
        )
        for r in first.transceivers
    }
    assert got == want
    assert len(rebuilt(engine)) == 2 * len(want)


OLD_TABLE = {
    "sqlite": """CREATE TABLE transceivers (
        observed_at DATETIME NOT NULL, callsign TEXT NOT NULL, transceiver_id INTEGER NOT NULL,
        frequency_hz BIGINT NOT NULL, latitude FLOAT NOT NULL, longitude FLOAT NOT NULL,
        height_msl_m FLOAT, height_agl_m FLOAT,
        flight_id INTEGER REFERENCES flights (id) ON DELETE SET NULL,
        controller_id INTEGER REFERENCES controllers (id) ON DELETE SET NULL,
        CONSTRAINT uq_transceivers_radio UNIQUE (observed_at, callsign, transceiver_id))""",
    "postgresql": """CREATE TABLE transceivers (
        observed_at TIMESTAMP WITH TIME ZONE NOT NULL, callsign TEXT NOT NULL,
        transceiver_id INTEGER NOT NULL, frequency_hz BIGINT NOT NULL,
        latitude FLOAT NOT NULL, longitude FLOAT NOT NULL,
        height_msl_m FLOAT, height_agl_m FLOAT,
        flight_id BIGINT REFERENCES flights (id) ON DELETE SET NULL,
        controller_id BIGINT REFERENCES controllers (id) ON DELETE SET NULL,
        CONSTRAINT uq_transceivers_radio UNIQUE (observed_at, callsign, transceiver_id))
        PARTITION BY RANGE (observed_at)""",
}
# The old table's rows, written through the schema's own types.
OLD_ROWS = Table(
    "transceivers",
    MetaData(),
    *(Column(c.name, c.type) for c in transceiver_snapshots.c),
)


def test_migrate_turns_rows_per_snapshot_into_the_same_runs(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database of an earlier version (a row per radio and snapshot, each with its own
    position) is converted by `migrate` into exactly the runs the writer made before
    `position_of`, every radio still there."""
    with monkeypatch.context() as before_references:
        before_references.setattr(snapshot_rows, "positions_of", lambda radios: {})
        _write_all(engine, list(range(SNAPSHOTS)))
    runs, radios = stored_runs(engine), rebuilt(engine)
    dialect = engine.dialect.name
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE transceivers"))
        connection.execute(text(OLD_TABLE[dialect]))
        if dialect == "postgresql":
            for day in ("20261130", "20261201"):
                start = datetime.strptime(day, "%Y%m%d").replace(tzinfo=UTC)
                end = start + timedelta(days=1)
                connection.execute(
                    text(
                        f"CREATE TABLE transceivers_p{day} PARTITION OF transceivers FOR VALUES "
                        f"FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
                    )
                )
        names = [c.name for c in transceiver_snapshots.c]
        connection.execute(
            OLD_ROWS.insert(), [dict(zip(names, row, strict=True)) for row in radios]
        )
    migrate(engine)
    migrate(engine)  # a second start finds nothing to convert
    assert stored_runs(engine) == runs
    assert Counter(rebuilt(engine)) == Counter(radios)
    # And the writer goes on from the converted runs.
    later = _sequence_after()
    write_snapshot(engine, later)
    assert set(rebuilt(engine)) == set(radios) | expected(engine, [later])


def _sequence_after() -> Snapshot:
    last = SEQUENCE[-1]
    return dataclasses.replace(last, update_timestamp=last.update_timestamp + timedelta(seconds=15))
