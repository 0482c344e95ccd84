"""Every recorded payload stores exactly what its JSON holds."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from vatsim_pipeline.storage.schema import (
    controllers,
    feed_snapshots,
    flight_positions,
    flights,
    prefiles,
    transceivers,
)
from vatsim_pipeline_tests.shared_data import DATA_FEEDS, sequence_files, shared_data
from vatsim_pipeline_tests.storage.support import (
    controller_keys,
    ingest,
    pilot_keys,
    raw,
    rows,
    update_timestamp,
)

PAYLOADS = [shared_data(name) for name in DATA_FEEDS] + sequence_files()[-1:]


@pytest.mark.parametrize("path", PAYLOADS, ids=lambda path: path.name)
def test_payload_is_stored_record_for_record(engine: Engine, path: Path) -> None:
    document = raw(path)
    atis = document.get("atis") or []
    prefile_keys = {(p["cid"], p["callsign"]) for p in document["prefiles"]}

    [write] = ingest(engine, [path])

    assert write.new_snapshot is True
    assert write.rejected == 0
    assert write.tables["flights"].inserted == len(pilot_keys(path))
    assert write.tables["flight_positions"].inserted == len(pilot_keys(path))
    assert write.tables["controllers"].inserted == len(controller_keys(path))
    assert write.tables["prefiles"].inserted == len(prefile_keys)
    stored_flights = rows(engine, flights)
    assert {(r["cid"], r["callsign"], r["logon_time"]) for r in stored_flights} == pilot_keys(path)
    assert len(stored_flights) == len(document["pilots"])
    assert len(rows(engine, flight_positions)) == len(document["pilots"])
    stored_controllers = rows(engine, controllers)
    assert sum(r["kind"] == "atis" for r in stored_controllers) == len(atis)
    assert sum(r["kind"] == "controller" for r in stored_controllers) == len(
        document["controllers"]
    )
    assert {(r["cid"], r["callsign"], r["logon_time"]) for r in stored_controllers} == (
        controller_keys(path)
    )
    # A prefile is keyed by (cid, callsign): repeated plans in one feed collapse to one row.
    assert {(r["cid"], r["callsign"]) for r in rows(engine, prefiles)} == prefile_keys
    assert rows(engine, transceivers) == []
    [snapshot] = rows(engine, feed_snapshots)
    assert snapshot["update_timestamp"] == update_timestamp(path)
    assert snapshot["connected_clients"] == document["general"]["connected_clients"]
    assert {name: snapshot[name] for name in ("pilots", "controllers", "atis", "prefiles")} == {
        "pilots": len(document["pilots"]),
        "controllers": len(document["controllers"]),
        "atis": len(atis),
        "prefiles": len(document["prefiles"]),
    }
    assert snapshot["servers"] == len(document["servers"])
    assert snapshot["rejected"] == 0
    assert snapshot["status"] == "stored"


def test_flight_row_holds_the_pilot_and_flight_plan_of_the_feed(engine: Engine) -> None:
    path = shared_data("vatsim-data_20230312T172418Z.json")
    ingest(engine, [path])
    stored = {(r["cid"], r["callsign"]): r for r in rows(engine, flights)}
    for pilot in raw(path)["pilots"]:
        row = stored[(pilot["cid"], pilot["callsign"])]
        plan = pilot["flight_plan"] or {}
        assert (row["latitude"], row["longitude"]) == (pilot["latitude"], pilot["longitude"])
        assert (row["altitude"], row["groundspeed"], row["heading"]) == (
            pilot["altitude"],
            pilot["groundspeed"],
            pilot["heading"],
        )
        assert row["name"] == pilot["name"]
        assert row["route"] == plan.get("route")
        assert row["remarks"] == plan.get("remarks")
        assert row["planned_altitude"] == plan.get("altitude")
        assert row["flight_rules"] == plan.get("flight_rules")
        assert row["first_seen"] == row["last_seen"] == update_timestamp(path)
