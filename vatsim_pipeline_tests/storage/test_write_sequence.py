"""Five consecutive real snapshots: tracks, sessions and every delivery order.

Presence, first/last seen and latest state are computed from the raw JSON of each file,
keyed by the connection `(cid, callsign, logon_time)`.
"""

from __future__ import annotations

import random
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from vatsim_pipeline.storage.schema import controllers, flights
from vatsim_pipeline_tests.shared_data import sequence_files
from vatsim_pipeline_tests.storage.support import (
    Dump,
    Key,
    clear,
    controller_keys,
    dump,
    ingest,
    key_of,
    pilot_keys,
    raw,
    rows,
    update_timestamp,
)

FILES = sequence_files()


def _presence(keys_of) -> dict[Key, list[datetime]]:
    """Connection -> update timestamps of the snapshots it appears in, oldest first."""
    seen: dict[Key, list[datetime]] = {}
    for path in FILES:
        for key in keys_of(path):
            seen.setdefault(key, []).append(update_timestamp(path))
    return seen


def _newest_record(section: str) -> dict[Key, dict[str, Any]]:
    """Connection -> its record in the newest snapshot that holds it."""
    newest: dict[Key, dict[str, Any]] = {}
    for path in FILES:
        document = raw(path)
        records = (
            document["pilots"]
            if section == "pilots"
            else (document["controllers"] + document["atis"])
        )
        for record in records:
            newest[key_of(record)] = record
    return newest


def _by_key(engine: Engine, table) -> dict[Key, dict[str, Any]]:
    return {(r["cid"], r["callsign"], r["logon_time"]): r for r in rows(engine, table)}


def _assert_latest_flight_state(engine: Engine) -> None:
    stored = _by_key(engine, flights)
    newest = _newest_record("pilots")
    assert stored.keys() == newest.keys()
    for key, pilot in newest.items():
        row = stored[key]
        plan = pilot["flight_plan"] or {}
        assert (row["latitude"], row["longitude"], row["altitude"]) == (
            pilot["latitude"],
            pilot["longitude"],
            pilot["altitude"],
        ), key
        assert (row["groundspeed"], row["heading"], row["transponder"]) == (
            pilot["groundspeed"],
            pilot["heading"],
            pilot["transponder"],
        ), key
        assert (row["route"], row["arrival"], row["planned_altitude"], row["revision_id"]) == (
            plan.get("route"),
            plan.get("arrival"),
            plan.get("altitude"),
            plan.get("revision_id"),
        ), key


def test_in_order_ingest_builds_tracks_and_sessions(engine: Engine) -> None:
    writes = ingest(engine, FILES)

    flight_presence = _presence(pilot_keys)
    table = dump(engine)
    positions = [(row[:3], row[3]) for row in table["flight_positions"]]
    expected_positions = [(key, ts) for key, stamps in flight_presence.items() for ts in stamps]
    assert sorted(positions) == sorted(expected_positions)

    stored_flights = _by_key(engine, flights)
    assert stored_flights.keys() == flight_presence.keys()
    for key, stamps in flight_presence.items():
        assert (stored_flights[key]["first_seen"], stored_flights[key]["last_seen"]) == (
            stamps[0],
            stamps[-1],
        ), key

    controller_presence = _presence(controller_keys)
    stored_controllers = _by_key(engine, controllers)
    assert stored_controllers.keys() == controller_presence.keys()
    for key, stamps in controller_presence.items():
        assert (stored_controllers[key]["first_seen"], stored_controllers[key]["last_seen"]) == (
            stamps[0],
            stamps[-1],
        ), key

    _assert_latest_flight_state(engine)
    newest_controller = _newest_record("controllers")
    for key, record in newest_controller.items():
        assert stored_controllers[key]["frequency"] == record["frequency"]
        assert stored_controllers[key]["atis_code"] == record.get("atis_code")

    earlier: set[Key] = set()
    for path, write in zip(FILES, writes, strict=True):
        keys = pilot_keys(path)
        assert write.new_snapshot is True
        assert write.tables["flights"].inserted == len(keys - earlier), path.name
        assert write.tables["flights"].updated == len(keys & earlier), path.name
        assert write.tables["flights"].unchanged == 0, path.name
        assert write.tables["flight_positions"].inserted == len(keys), path.name
        earlier |= keys


def test_ingesting_twice_changes_nothing(engine: Engine) -> None:
    ingest(engine, FILES)
    before = dump(engine)

    again = ingest(engine, FILES)

    assert dump(engine) == before
    for path, write in zip(FILES, again, strict=True):
        assert write.new_snapshot is False
        for name, table in write.tables.items():
            assert (table.inserted, table.updated) == (0, 0), (path.name, name)
        assert write.tables["flights"].unchanged == len(pilot_keys(path))
        assert write.tables["flight_positions"].unchanged == len(pilot_keys(path))
        assert write.tables["controllers"].unchanged == len(controller_keys(path))


def _duplicated(paths: list[Path]) -> list[Path]:
    return [paths[0], paths[0], paths[1], paths[2], paths[1], paths[3], paths[4], paths[4]]


def _shuffled(paths: list[Path]) -> list[Path]:
    shuffled = list(paths)
    random.Random(20241122).shuffle(shuffled)
    assert shuffled != paths
    return shuffled


ORDERS = {
    "reversed": lambda paths: list(reversed(paths)),
    "shuffled": _shuffled,
    "duplicated": _duplicated,
}


_IN_ORDER: dict[str, Dump] = {}


def _in_order_tables(engine: Engine) -> Dump:
    """The tables after an in-order ingest, once per backend (the engine is left empty)."""
    if engine.dialect.name not in _IN_ORDER:
        ingest(engine, FILES)
        _IN_ORDER[engine.dialect.name] = dump(engine)
        clear(engine)
    return _IN_ORDER[engine.dialect.name]


@pytest.mark.parametrize("order", ORDERS)
def test_any_delivery_order_gives_the_in_order_tables(engine: Engine, order: str) -> None:
    in_order = _in_order_tables(engine)

    ingest(engine, ORDERS[order](FILES))

    assert dump(engine) == in_order
    _assert_latest_flight_state(engine)


def test_an_older_snapshot_never_moves_state_backwards(engine: Engine) -> None:
    oldest, newest = FILES[0], FILES[-1]
    ingest(engine, [newest])
    after_newest = _by_key(engine, flights)

    [late] = ingest(engine, [oldest])

    both = pilot_keys(oldest) & pilot_keys(newest)
    only_old = pilot_keys(oldest) - pilot_keys(newest)
    assert both and only_old
    assert late.tables["flights"].inserted == len(only_old)
    assert late.tables["flights"].updated == 0
    assert late.tables["flights"].unchanged == len(both)
    assert late.tables["flight_positions"].inserted == len(pilot_keys(oldest))
    stored = _by_key(engine, flights)
    state = ("latitude", "longitude", "altitude", "heading", "route", "remarks", "last_updated")
    for key in both:
        assert stored[key]["last_seen"] == update_timestamp(newest), key
        assert stored[key]["first_seen"] == update_timestamp(oldest), key
        assert {c: stored[key][c] for c in state} == {c: after_newest[key][c] for c in state}
    for key in only_old:
        assert stored[key]["first_seen"] == stored[key]["last_seen"] == update_timestamp(oldest)
    stored_controllers = _by_key(engine, controllers)
    for key in controller_keys(oldest) & controller_keys(newest):
        assert stored_controllers[key]["last_seen"] == update_timestamp(newest), key
