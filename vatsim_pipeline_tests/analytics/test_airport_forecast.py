"""The airport forecast on hand-made frames: each source lands in the bucket it should,
history fills what is not visible yet, and the band holds the expectation."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from vatsim_pipeline.analytics.airport_forecast import (
    airport_forecast,
    history_baseline,
    prefiled_movements,
    seen_movements,
)

NOW = pd.Timestamp("2026-12-04T12:00:00Z")
AIRPORTS = pd.DataFrame(
    {"icao": ["EGLL", "EDDF"], "latitude": [51.4775, 50.033333], "longitude": [-0.461389, 8.570556]}
)


def _flights(*rows: tuple) -> pd.DataFrame:
    return pd.DataFrame(
        rows,
        columns=[
            "flight_id",
            "latitude",
            "longitude",
            "groundspeed",
            "heading",
            "departure",
            "arrival",
            "cruise_tas",
        ],
    )


def _expected(frame: pd.DataFrame, airport: str, metric: str) -> dict:
    chosen = frame[(frame["target_id"] == airport) & (frame["metric"] == metric)]
    return {
        (row.bucket_start - NOW) // timedelta(minutes=1): round(row.expected, 3)
        for row in chosen.itertuples(index=False)
    }


def test_an_airborne_flight_lands_after_its_distance_at_its_speed() -> None:
    # 4 degrees of latitude south of Heathrow: 240 nm at 480 kt, 32.4 minutes with the
    # approach allowance -> the 12:30 bucket.
    flights = _flights((1, 47.4775, -0.461389, 480, 0, "LEMD", "EGLL", "450"))
    seen = seen_movements(NOW, flights, AIRPORTS)
    assert list(seen.itertuples(index=False, name=None)) == [
        ("EGLL", "arrivals", NOW + timedelta(minutes=30), 1.0)
    ]


def test_a_flight_at_its_gate_departs_within_half_an_hour() -> None:
    flights = _flights(
        (1, 51.47, -0.45, 0, 0, "EGLL", "EDDF", "450"),  # at the gate
        (2, 51.47, -0.46, 15, 0, "EGLL", "EDDF", "450"),  # taxiing
        (3, 51.48, -0.46, 0, 0, "EGLL", "EGLL", None),  # a local flight departs too
    )
    frame = airport_forecast(NOW, flights, _no_prefiles(), _no_history(), AIRPORTS)
    departures = _expected(frame, "EGLL", "departures")
    # Half of each waiting one in each quarter hour, the taxiing one in the first.
    assert departures == {0: 2.0, 15: 1.0}
    # The two bound for Frankfurt land after a 20 minute taxi-out and 355 nm at 450 kt.
    assert _expected(frame, "EDDF", "arrivals") == {60: 2.0}
    assert (frame["low"] <= frame["expected"]).all() and (frame["expected"] <= frame["high"]).all()


def _no_prefiles() -> pd.DataFrame:
    return pd.DataFrame(columns=["departure", "arrival", "deptime", "enroute_time"])


def _no_history() -> pd.DataFrame:
    return pd.DataFrame(columns=["airport", "bucket_start", "departures", "arrivals"])


def test_prefiles_count_half_at_their_times() -> None:
    prefiles = pd.DataFrame(
        {
            "departure": ["EGLL", "EGLL", "EDDF"],
            "arrival": ["EDDF", "EDDF", "EGLL"],
            "deptime": ["1310", "bad", "1150"],
            "enroute_time": ["0100", "0100", "0040"],
        }
    )
    moved = prefiled_movements(NOW, prefiles)
    # 13:10 from Heathrow, at Frankfurt 14:10; 11:50 from Frankfurt (late: now), at
    # Heathrow 12:40; the plan without a valid deptime is left out.
    assert sorted(moved.itertuples(index=False, name=None)) == [
        ("EDDF", "arrivals", NOW + timedelta(minutes=120), 0.5),
        ("EDDF", "departures", NOW, 0.5),
        ("EGLL", "arrivals", NOW + timedelta(minutes=30), 0.5),
        ("EGLL", "departures", NOW + timedelta(minutes=60), 0.5),
    ]


def test_history_prefers_the_same_weekday_then_the_same_time_then_the_last_hour() -> None:
    rows = [
        # a week ago at 13:45: 4 departures; yesterday at 13:45: 9 (ignored, weekly wins)
        ("EGLL", NOW + timedelta(minutes=105) - timedelta(weeks=1), 4, 0),
        ("EGLL", NOW + timedelta(minutes=105) - timedelta(days=1), 9, 0),
        # yesterday at 12:00: 2 arrivals (no weekly record of 12:00)
        ("EGLL", NOW - timedelta(days=1), 0, 2),
        # the last hour: 3 arrivals in four recorded quarters
        ("EGLL", NOW - timedelta(minutes=15), 0, 2),
        ("EGLL", NOW - timedelta(minutes=60), 0, 1),
        ("EDDF", NOW - timedelta(minutes=30), 0, 0),
        ("EDDF", NOW - timedelta(minutes=45), 0, 0),
    ]
    history = pd.DataFrame(rows, columns=["airport", "bucket_start", "departures", "arrivals"])
    base = history_baseline(NOW, history)
    egll = base[(base["airport"] == "EGLL")].set_index(["metric", "bucket_start"])["base"]
    assert egll[("departures", NOW + timedelta(minutes=105))] == 4.0
    assert egll[("arrivals", NOW)] == 2.0
    assert egll[("arrivals", NOW + timedelta(minutes=15))] == pytest.approx(0.75)
    frame = airport_forecast(NOW, _flights(), _no_prefiles(), history, AIRPORTS)
    # Departures 1h45 ahead are not visible yet: the history counts whole.
    assert _expected(frame, "EGLL", "departures")[105] == 4.0
    # Arrivals in the first quarter hour are visible now: little is added to them.
    assert _expected(frame, "EGLL", "arrivals")[0] == pytest.approx(2 * 7.5 / 240, abs=1e-3)
