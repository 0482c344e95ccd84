"""Session lifecycle and flight summaries (storage/sessions.py, storage/flight_summaries.py)
on the real five-snapshot sequence, on SQLite and, when configured, PostgreSQL.

The sequence has no transceivers feed, so each snapshot gets one written here: every
controller on its frequency, and three pilots tuned as `TUNING` says. Expected values
are computed from the raw JSON.
"""

from __future__ import annotations

import itertools
import json
import math
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from vatsim_pipeline.feed.parse import parse_data_feed, parse_transceivers
from vatsim_pipeline.sectors.locate import SectorIndex
from vatsim_pipeline.storage.flight_summaries import (
    Radio,
    Station,
    frequency_khz,
    tuned_controllers,
    tuned_seconds,
)
from vatsim_pipeline.storage.occupancy_writes import SectorSet, update_occupancy
from vatsim_pipeline.storage.schema import (
    controllers,
    flight_sector_occupancy,
    flight_summaries,
    flights,
    maintenance_log,
)
from vatsim_pipeline.storage.sessions import end_sessions, session_timeout_s
from vatsim_pipeline.storage.writes import write_snapshot
from vatsim_pipeline_tests.shared_data import sequence_files
from vatsim_pipeline_tests.storage.reads_support import real_sectors
from vatsim_pipeline_tests.storage.support import iso, key_of, parsed, raw, update_timestamp

FILES = sequence_files()
TIMEOUT_S = 10.0  # ends everything not in the last snapshot (15 s after the one before)
STATION_AT = {
    "EGPH_TWR": (55.95, -3.37),
    "RJFK_T_TWR": (31.80, 130.72),
    "ZUCK_TWR": (29.72, 106.64),
    "EKDK_CTR": (55.60, 12.60),
}
# Pilot callsign -> file index -> radio frequencies (Hz), all tuned at the pilot's position.
TUNING = {
    # 118.705 is EGPH_TWR's and an observer's (AF_OBS): only the tower counts; UNICOM not.
    "BAW7AZ": {i: [118_705_010, 122_800_010] for i in range(4)},
    # 118.200 is both RJFK_T_TWR's and ZUCK_TWR's: from Malta, Chengdu is the nearer.
    "IACMX": {0: [118_200_000], 1: [118_200_000], 2: [136_485_000], 3: [136_485_000]},
    "CCA6643": {i: [0, 199_998_000] for i in range(4)},
}
# EKDK_CTR has no radio in the fourth snapshot: its primary frequency stands in.
WITHOUT_RADIOS = {(3, "EKDK_CTR")}


def frequency_hz(text: str) -> int:
    return round(float(text) * 1_000_000)


def transceivers_feed(path: Path) -> bytes:
    """A transceivers payload for one recorded snapshot (see the module docstring)."""
    index = FILES.index(path)
    document = raw(path)
    stations = [
        {
            "callsign": record["callsign"],
            "transceivers": [
                {
                    "id": 0,
                    "frequency": frequency_hz(record["frequency"]),
                    "latDeg": STATION_AT.get(record["callsign"], (0.0, 0.0))[0],
                    "lonDeg": STATION_AT.get(record["callsign"], (0.0, 0.0))[1],
                    "heightMslM": 10.0,
                    "heightAglM": 10.0,
                }
            ],
        }
        for record in document["controllers"]
        if (index, record["callsign"]) not in WITHOUT_RADIOS
    ]
    for pilot in document["pilots"]:
        tuned = TUNING.get(pilot["callsign"], {}).get(index, [])
        radios = [
            {
                "id": number,
                "frequency": hz,
                "latDeg": pilot["latitude"],
                "lonDeg": pilot["longitude"],
                "heightMslM": 3000.0,
                "heightAglM": 2900.0,
            }
            for number, hz in enumerate(tuned)
        ]
        if radios:
            stations.append({"callsign": pilot["callsign"], "transceivers": radios})
    return json.dumps(stations).encode()


@pytest.fixture(scope="module")
def sector_set() -> SectorSet:
    return SectorSet.of(real_sectors(), key=(len(real_sectors()), None))


def ingest(engine: Engine, paths: list[Path], sector_set: SectorSet, radios: bool = True) -> None:
    """Store each snapshot (with its radios) and its occupancy, as an ingest run does."""
    for path in paths:
        if radios:
            snapshot = parse_data_feed(path.read_bytes())
            parse_transceivers(transceivers_feed(path), snapshot)
        else:
            snapshot = parsed(path)
        write_snapshot(engine, snapshot)
        update_occupancy(engine, snapshot.update_timestamp, sector_set)


def seen_in(paths: list[Path], section: str) -> dict[tuple, list[Path]]:
    """Connection key -> the files it appears in, in time order."""
    found: dict[tuple, list[Path]] = {}
    for path in sorted(paths, key=update_timestamp):
        document = raw(path)
        records = document["pilots"] if section == "pilots" else document["controllers"]
        records = records + (document["atis"] if section == "controllers" else [])
        for record in records:
            found.setdefault(key_of(record), []).append(path)
    return found


def states(engine: Engine, table) -> dict[tuple, tuple[str, datetime | None, datetime]]:
    with engine.connect() as connection:
        return {
            (row.cid, row.callsign, row.logon_time): (row.status, row.ended_at, row.last_seen)
            for row in connection.execute(select(table))
        }


def summaries(engine: Engine) -> dict[str, dict[str, Any]]:
    with engine.connect() as connection:
        return {
            row.callsign: dict(row._mapping) for row in connection.execute(select(flight_summaries))
        }


def haversine_nm(a: dict, b: dict) -> float:
    """Distance between two pilot records, written out apart from the code under test."""
    lat1, lat2 = math.radians(a["latitude"]), math.radians(b["latitude"])
    dlon = math.radians(b["longitude"] - a["longitude"])
    central = math.acos(
        min(1.0, math.sin(lat1) * math.sin(lat2) + math.cos(lat1) * math.cos(lat2) * math.cos(dlon))
    )
    return central * 3440.065


def expected_sectors(records: list[tuple[datetime, dict]]) -> list[dict[str, Any]]:
    """Stays of an ended flight, each position located on its own."""
    index = SectorIndex(real_sectors())
    stays: list[dict[str, Any]] = []
    for t, record in records:
        sector = index.locate(record["latitude"], record["longitude"])
        inside = stays and stays[-1]["exited_at"] is None
        if inside and (sector is None or stays[-1]["sector_id"] != sector.id):
            stays[-1]["exited_at"] = t
            inside = False
        if sector is not None and not inside:
            stays.append({"sector_id": sector.id, "entered_at": t, "exited_at": None})
    if stays and stays[-1]["exited_at"] is None:
        stays[-1]["exited_at"] = records[-1][0]  # the flight ended there
    return [
        {
            "sector_id": s["sector_id"],
            "entered_at": s["entered_at"].isoformat(),
            "exited_at": s["exited_at"].isoformat(),
            "seconds": round((s["exited_at"] - s["entered_at"]).total_seconds(), 3),
        }
        for s in stays
    ]


def test_connections_missing_from_the_last_snapshot_end_at_their_last_seen(
    engine: Engine, sector_set: SectorSet
) -> None:
    ingest(engine, FILES, sector_set)
    result = end_sessions(engine, TIMEOUT_S)
    newest = update_timestamp(FILES[-1])
    assert (result.newest_snapshot, result.cutoff) == (newest, iso("2024-11-22T12:50:15.116137Z"))
    pilots, stations = seen_in(FILES, "pilots"), seen_in(FILES, "controllers")
    gone_pilots = {key for key, files in pilots.items() if files[-1] != FILES[-1]}
    gone_stations = {key for key, files in stations.items() if files[-1] != FILES[-1]}
    assert (len(gone_pilots), len(gone_stations)) == (23, 5)
    assert (result.flights_completed, result.controllers_offline) == (23, 5)
    for table, seen, gone, ended in (
        (flights, pilots, gone_pilots, "completed"),
        (controllers, stations, gone_stations, "offline"),
    ):
        stored = states(engine, table)
        assert stored.keys() == seen.keys()
        for key, (status, ended_at, last_seen) in stored.items():
            assert last_seen == update_timestamp(seen[key][-1])
            if key in gone:
                assert (status, ended_at) == (ended, last_seen), key
            else:
                assert (status, ended_at) == ("active", None), key
    with engine.connect() as connection:
        log = connection.execute(select(maintenance_log)).one()
        # Every open interval of an ended flight is closed at its last position.
        open_ended = connection.execute(
            select(flight_sector_occupancy.c.id)
            .join(flights, flights.c.id == flight_sector_occupancy.c.flight_id)
            .where(flights.c.status == "completed", flight_sector_occupancy.c.exited_at.is_(None))
        ).all()
    assert (log.task, log.rows) == ("session_lifecycle", result.rows)
    assert open_ended == []
    assert result.summaries_written == 23


def test_summaries_hold_what_the_raw_payloads_say(engine: Engine, sector_set: SectorSet) -> None:
    ingest(engine, FILES, sector_set)
    end_sessions(engine, TIMEOUT_S)
    stored = summaries(engine)
    seen = seen_in(FILES, "pilots")
    completed = {key: files for key, files in seen.items() if files[-1] != FILES[-1]}
    assert sorted(stored) == sorted(key[1] for key in completed)
    for key, files in completed.items():
        records = [
            (update_timestamp(p), next(r for r in raw(p)["pilots"] if key_of(r) == key))
            for p in files
        ]
        latest_plan = records[-1][1]["flight_plan"] or {}
        row = stored[key[1]]
        assert (row["cid"], row["departure"], row["arrival"], row["aircraft"]) == (
            key[0],
            latest_plan.get("departure") or None,
            latest_plan.get("arrival") or None,
            latest_plan.get("aircraft_short") or None,
        )
        assert (row["started_at"], row["ended_at"]) == (records[0][0], records[-1][0])
        assert row["duration_s"] == pytest.approx((records[-1][0] - records[0][0]).total_seconds())
        assert row["positions"] == len(records)
        assert row["max_altitude"] == max(r["altitude"] for _, r in records)
        distance = sum(haversine_nm(a, b) for (_, a), (_, b) in itertools.pairwise(records))
        assert row["distance_nm"] == pytest.approx(distance, rel=1e-6, abs=1e-6)
        assert json.loads(row["sectors"]) == expected_sectors(records)
    times = [update_timestamp(p) for p in FILES]
    gap = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert gap[0] > 60  # the first snapshot is a minute before the others
    tuned = {callsign: json.loads(stored[callsign]["controllers"]) for callsign in TUNING}
    assert [(c["callsign"], c["seconds"]) for c in tuned["BAW7AZ"]] == [
        ("EGPH_TWR", pytest.approx(60 + gap[1] + gap[2], abs=1e-3))
    ]
    assert [(c["callsign"], c["seconds"]) for c in tuned["IACMX"]] == [
        ("ZUCK_TWR", 60.0),
        ("EKDK_CTR", pytest.approx(gap[2], abs=1e-3)),
    ]
    assert tuned["CCA6643"] == []
    with engine.connect() as connection:
        ids = dict(
            connection.execute(select(controllers.c.callsign, controllers.c.id)).tuples().all()
        )
    assert tuned["BAW7AZ"][0]["controller_id"] == ids["EGPH_TWR"]
    untuned = [c for c in stored if c not in TUNING]
    assert all(stored[c]["controllers"] == "[]" for c in untuned)


def test_running_twice_changes_nothing(engine: Engine, sector_set: SectorSet) -> None:
    ingest(engine, FILES, sector_set, radios=False)
    end_sessions(engine, TIMEOUT_S)
    before = (states(engine, flights), states(engine, controllers), summaries(engine))
    again = end_sessions(engine, TIMEOUT_S)
    assert again.rows == 0
    assert (states(engine, flights), states(engine, controllers), summaries(engine)) == before


def test_a_late_snapshot_fills_an_ended_flights_track(
    engine: Engine, sector_set: SectorSet
) -> None:
    ingest(engine, [FILES[0], *FILES[2:]], sector_set, radios=False)
    end_sessions(engine, TIMEOUT_S)
    first = summaries(engine)["BAW7AZ"]
    assert first["positions"] == 3

    ingest(engine, [FILES[1]], sector_set, radios=False)  # the missed snapshot arrives late
    result = end_sessions(engine, TIMEOUT_S)
    filled = summaries(engine)["BAW7AZ"]
    assert filled["positions"] == 4
    assert filled["distance_nm"] > first["distance_nm"]
    assert (filled["started_at"], filled["ended_at"]) == (first["started_at"], first["ended_at"])
    # Flights last seen in the late snapshot end there: new ones, or ones that ended at
    # the snapshot before and now end later.
    last_in_late = {k for k, files in seen_in(FILES, "pilots").items() if files[-1] == FILES[1]}
    assert result.flights_completed == len(last_in_late) > 0
    stored = states(engine, flights)
    assert all(stored[k][:2] == ("completed", update_timestamp(FILES[1])) for k in last_in_late)
    assert result.summaries_written >= 1


def without(path: Path, callsigns: set[str], folder: Path) -> Path:
    """A copy of a recorded snapshot without some pilots and controllers."""
    document = json.loads(path.read_bytes())
    for section in ("pilots", "controllers"):
        document[section] = [r for r in document[section] if r["callsign"] not in callsigns]
    copy = folder / path.name
    copy.write_text(json.dumps(document))
    return copy


def test_a_connection_seen_again_within_the_timeout_is_active_again(
    engine: Engine, sector_set: SectorSet, tmp_path: Path
) -> None:
    pilot, controller = "AAL1233", "EKDK_CTR"
    gap_file = without(FILES[3], {pilot, controller}, tmp_path)
    ingest(engine, [*FILES[:3], gap_file], sector_set, radios=False)
    ended = end_sessions(engine, TIMEOUT_S)
    assert ended.flights_completed >= 1 and ended.controllers_offline >= 1
    by_callsign = {key[1]: state for key, state in states(engine, flights).items()}
    assert by_callsign[pilot][:2] == ("completed", update_timestamp(FILES[2]))
    assert pilot in summaries(engine)

    ingest(engine, [FILES[4]], sector_set, radios=False)
    back = end_sessions(engine, TIMEOUT_S)
    assert back.flights_reopened == 1 and back.controllers_reopened == 1
    by_callsign = {key[1]: state for key, state in states(engine, flights).items()}
    assert by_callsign[pilot] == ("active", None, update_timestamp(FILES[4]))
    stations = {key[1]: state for key, state in states(engine, controllers).items()}
    assert stations[controller][:2] == ("active", None)
    assert pilot not in summaries(engine)
    with engine.connect() as connection:
        open_stays = connection.execute(
            select(flight_sector_occupancy.c.sector_id)
            .join(flights, flights.c.id == flight_sector_occupancy.c.flight_id)
            .where(flights.c.callsign == pilot, flight_sector_occupancy.c.exited_at.is_(None))
        ).all()
    assert len(open_stays) == 1


def test_frequency_matching_and_time_tuned() -> None:
    assert frequency_khz(122_800_010) is None  # UNICOM
    assert frequency_khz(199_998_000) is None and frequency_khz(0) is None
    assert frequency_khz(118_705_010) == frequency_khz(118_705_000) == 118_705
    assert frequency_khz(118_704_600) == 118_705
    t = [iso(f"2024-11-22T12:00:{s:02d}Z") for s in (0, 15, 30)]
    late = iso("2024-11-22T12:05:00Z")
    assert tuned_seconds([t[2], t[0], t[1]]) == 30.0
    assert tuned_seconds([t[0], late]) == 60.0  # a long gap counts at most a minute
    assert tuned_seconds([t[0]]) == 0.0
    near, far = Station(1, "NEAR_TWR", 118_200, 50.0, 8.0), Station(2, "FAR_TWR", 118_200, 0, 0)
    heard = tuned_controllers(
        {t[0]: [Radio(118_200, 50.1, 8.1)], t[1]: [Radio(118_200, 50.1, 8.1)]},
        {t[0]: [far, near], t[1]: [near, far]},
    )
    assert heard == [{"callsign": "NEAR_TWR", "controller_id": 1, "seconds": 15.0}]


def test_the_timeout_comes_from_the_environment() -> None:
    assert session_timeout_s({}) == 120.0
    assert session_timeout_s({"VATSIM_SESSION_TIMEOUT_S": "300"}) == 300.0
    for bad in ("soon", "0", "-5", "nan"):
        with pytest.raises(ValueError, match="VATSIM_SESSION_TIMEOUT_S"):
            session_timeout_s({"VATSIM_SESSION_TIMEOUT_S": bad})
