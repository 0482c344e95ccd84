"""Anomalies injected into copies of real recorded sequences are stored as exactly those
intervals, with the right start and end, whatever order the snapshots arrive in."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import select

from vatsim_pipeline.analytics.anomalies.thresholds import Thresholds
from vatsim_pipeline.storage.anomalies import anomalies
from vatsim_pipeline.storage.anomaly_reads import flights_with_anomalies
from vatsim_pipeline.storage.anomaly_writes import detect_snapshot, record_stale_feed
from vatsim_pipeline.storage.schema import flights
from vatsim_pipeline_tests.storage.anomaly_support import (
    copies,
    ingest,
    long_window,
    pilot,
    read_feed,
    sequence_files,
    stamps,
    stored,
    summary,
)

# The one real anomaly of the 2024-11-22 sequence (docs/anomalies.md): RDF7 squawks 7700
# at the gate in every snapshot, so it is still going on in the newest one.
RDF7 = ("emergency_squawk", "RDF7", 1828246)
ORDERS = {
    "in order": lambda paths: paths,
    "reversed": lambda paths: paths[::-1],
    "shuffled": lambda paths: random.Random(7).sample(paths, len(paths)),
    "twice, replayed backwards": lambda paths: paths + paths[::-1],
}


def inject_sequence(index: int, document: dict) -> None:
    """Snapshots 0..4 of 2024-11-22: one anomaly of each per-connection kind but frozen."""
    if index in (1, 2):
        pilot(document, "AAL1233")["transponder"] = "7600"
    if index == 4:
        pilot(document, "AAL200")["transponder"] = "7500"
    if index in (1, 2, 3):
        pilot(document, "AAL72A")["transponder"] = "7700"
    if index == 2:
        pilot(document, "AAL298")["latitude"] += 5.0
    if index in (3, 4):
        pilot(document, "AAL305")["altitude"] += 20000
    if index >= 2:
        ghost = dict(pilot(document, "AAL72"), cid=999999, logon_time="2024-11-22T12:49:50Z")
        ghost["latitude"] += 0.5
        document["pilots"].append(ghost)


def expected_sequence(t: list) -> set[tuple]:
    return {
        (*RDF7, t[0], None),
        ("radio_failure_squawk", "AAL1233", 815803, t[1], t[2]),
        ("hijack_squawk", "AAL200", 954207, t[4], None),
        ("emergency_squawk", "AAL72A", 1477883, t[1], t[3]),
        # Jumped 5 degrees north in snapshot 2 and back in 3: two jumps, one interval.
        ("teleport", "AAL298", 1594571, t[2], t[3]),
        ("altitude_jump", "AAL305", 1256470, t[3], t[3]),
        ("duplicate_callsign", "AAL72", 999999, t[2], None),
    }


@pytest.mark.parametrize("order", list(ORDERS))
def test_injected_anomalies_in_the_real_sequence(engine, tmp_path, order) -> None:
    paths = copies(tmp_path, sequence_files(), inject_sequence)
    ingest(engine, ORDERS[order](paths))
    assert summary(engine) == expected_sequence(stamps(paths))


def test_any_order_gives_the_same_rows_as_in_order(engine, tmp_path, database_url) -> None:
    paths = copies(tmp_path, sequence_files(), inject_sequence)
    ingest(engine, paths)
    in_order = stored(engine)
    with engine.begin() as connection:
        connection.execute(anomalies.delete())
    # Re-detecting every stored snapshot, newest first, rebuilds the same rows.
    for stamp in sorted(stamps(paths), reverse=True):
        detect_snapshot(engine, stamp)
    assert stored(engine) == in_order
    ingest(engine, random.Random(3).sample(paths, len(paths)))
    assert stored(engine) == in_order


def test_the_unmodified_sequence_holds_only_its_real_anomaly(engine, tmp_path) -> None:
    paths = copies(tmp_path, sequence_files())
    ingest(engine, paths)
    t = stamps(paths)
    assert summary(engine) == {(*RDF7, t[0], None)}
    trigger = stored(engine)[0][-1]
    assert '"transponder":"7700"' in trigger and '"groundspeed":0' in trigger


def hold_still(index: int, document: dict) -> None:
    """ACA127, parked at its gate, reports 300 kt from 11:32:27 to 11:41:27."""
    if index <= 4:
        pilot(document, "ACA127")["groundspeed"] = 300


LONG_BASELINE = {
    ("emergency_squawk", "AFL1226", 1571420, 0, 3),
    ("teleport", "RYS3972", 1498515, 1, 1),
    ("frozen", "KQA687B", 1641302, 3, 3),
    ("frozen", "PGT6DR", 1621414, 3, None),
}


@pytest.mark.parametrize("order", list(ORDERS))
def test_a_pilot_held_still_at_300_kt_for_five_minutes_is_frozen(engine, tmp_path, order) -> None:
    paths = copies(tmp_path, long_window(), hold_still)
    ingest(engine, ORDERS[order](paths))
    t = stamps(paths)
    baseline = {
        (kind, callsign, cid, t[start], None if end is None else t[end])
        for kind, callsign, cid, start, end in LONG_BASELINE
    }
    # Held since 11:32:27: frozen from 11:38:12 (5 min 45 s) until it reports 0 kt again.
    assert summary(engine) == baseline | {("frozen", "ACA127", 1578485, t[3], t[4])}
    with engine.connect() as connection:
        trigger = connection.scalar(
            select(anomalies.c.trigger).where(anomalies.c.callsign == "ACA127")
        )
    assert f'"held_since":"{t[0].isoformat()}"' in trigger
    assert '"held_s":344.998' in trigger
    # What traffic analytics may leave out: teleports and frozen flights, by window.
    with engine.connect() as connection:
        excluded = flights_with_anomalies(connection, t[0], t[-1])
        before_any = flights_with_anomalies(connection, t[0], t[0])
        names = dict(connection.execute(select(flights.c.id, flights.c.callsign)).all())
    assert {names[flight_id] for flight_id in excluded} == {
        "RYS3972",
        "KQA687B",
        "PGT6DR",
        "ACA127",
    }
    assert before_any == set()


def test_a_snapshot_fetched_two_minutes_late_is_a_stale_feed(engine, tmp_path) -> None:
    paths = copies(tmp_path, sequence_files())
    t = stamps(paths)
    late = {paths[2].name: t[2] + timedelta(seconds=150)}
    ingest(engine, [paths[0], paths[2], paths[4], paths[1], paths[3]], fetched_at=late)
    # Fetched 150 s after its update; the feed moved again at the next stored one.
    assert summary(engine) == {(*RDF7, t[0], None), ("stale_feed", None, None, t[2], t[3])}


def test_the_feed_sensor_seeing_the_same_update_records_one_stale_feed(engine, tmp_path) -> None:
    paths = copies(tmp_path, sequence_files())
    ingest(engine, paths[:4])
    t = stamps(paths)
    thresholds = Thresholds()
    assert not record_stale_feed(engine, t[3], t[3] + timedelta(seconds=60), thresholds)
    assert record_stale_feed(engine, t[3], t[3] + timedelta(seconds=130), thresholds)
    assert not record_stale_feed(engine, t[3], t[3] + timedelta(seconds=200), thresholds)
    assert ("stale_feed", None, None, t[3], None) in summary(engine)
    ingest(engine, paths[4:])  # the feed moves again
    assert ("stale_feed", None, None, t[3], t[4]) in summary(engine)


def test_missing_and_impossible_fields_never_raise(engine, tmp_path) -> None:
    def damage(index: int, document: dict) -> None:
        for record in document["pilots"][index::5]:
            record.pop("transponder", None)
            record["altitude"] = None
            record["groundspeed"] = None

    paths = copies(tmp_path, sequence_files(), damage)
    ingest(engine, paths)
    t = stamps(paths)
    damaged = [
        record["callsign"]
        for index, path in enumerate(paths)
        for record in read_feed(path)["pilots"][index::5]
    ]
    # RDF7 squawks 7700 in every snapshot its transponder is there to read.
    assert "RDF7" not in damaged
    assert summary(engine) == {(*RDF7, t[0], None)}
