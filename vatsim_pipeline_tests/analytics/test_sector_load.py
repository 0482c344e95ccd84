"""Sector load and coverage on stays built by hand, with every figure worked out on
paper: a FIR counts its TRACON and sub-sector, a flight crossing from a TRACON into its
FIR stays one flight there, and a sector above a staffed one does not count as staffed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd

from vatsim_pipeline.analytics.coverage import network_coverage, sector_coverage, staffing_frame
from vatsim_pipeline.analytics.sector_load import sector_load
from vatsim_pipeline.analytics.stays import stays_frame

HOUR = datetime(2026, 3, 6, 10, tzinfo=UTC)
PARENTS = {"T1": ("F",), "S1": ("F",)}


def at(minutes: float) -> datetime:
    return HOUR + timedelta(minutes=minutes)


STAYS = stays_frame(
    [
        (1, "T1", at(5), at(20)),  # into the TRACON, then out into its FIR
        (1, "F", at(20), at(40)),
        (2, "F", at(-10), at(10)),  # inside before the hour began
        (3, "S1", at(30), at(50)),  # out of every sector, then back
        (3, "S1", at(55), at(70)),
    ]
)


def rows(frame: pd.DataFrame) -> dict[tuple[str, int], tuple]:
    return {
        (r.sector_id, (r.bucket_start - pd.Timestamp(HOUR)).seconds // 60): (
            r.entries,
            r.peak,
            round(r.mean, 4),
        )
        for r in frame.itertuples()
    }


def test_a_fir_counts_its_tracon_and_sub_sector_without_double_entries() -> None:
    load = sector_load(STAYS, PARENTS, HOUR, HOUR + timedelta(hours=1))
    assert rows(load) == {
        ("F", 0): (1, 2, 1.3333),
        ("F", 15): (0, 1, 1.0),
        ("F", 30): (1, 2, 1.6667),
        ("F", 45): (1, 1, 0.6667),
        ("T1", 0): (1, 1, 0.6667),
        ("T1", 15): (0, 1, 0.3333),
        ("T1", 30): (0, 0, 0.0),
        ("T1", 45): (0, 0, 0.0),
        ("S1", 0): (0, 0, 0.0),
        ("S1", 15): (0, 0, 0.0),
        ("S1", 30): (1, 1, 1.0),
        ("S1", 45): (1, 1, 0.6667),
    }


def test_an_hour_without_stays_is_empty_and_a_flight_replacing_another_is_one() -> None:
    empty = sector_load(STAYS.iloc[0:0], PARENTS, HOUR, HOUR + timedelta(hours=1))
    assert empty.empty and list(empty.columns)[:2] == ["sector_id", "bucket_start"]
    swap = stays_frame([(1, "F", at(0), at(7)), (2, "F", at(7), at(15))])
    load = sector_load(swap, {}, HOUR, HOUR + timedelta(minutes=15))
    assert rows(load) == {("F", 0): (2, 1, 1.0)}


def test_coverage_counts_staffing_from_above_and_flights_from_below() -> None:
    staffing = staffing_frame([("F", at(0), at(30)), ("S1", at(40), at(50))])
    coverage = sector_coverage(STAYS, staffing, PARENTS, HOUR, HOUR + timedelta(hours=1))
    found = {
        r.sector_id: (r.staffed_minutes, r.flight_minutes, r.covered_flight_minutes)
        for r in coverage.itertuples()
    }
    assert found == {
        "F": (30.0, 70.0, 45.0),
        "T1": (30.0, 15.0, 15.0),
        "S1": (40.0, 25.0, 10.0),
    }
    assert network_coverage(STAYS, staffing, PARENTS, HOUR, HOUR + timedelta(hours=1)) == (
        70.0,
        45.0,
    )


def test_a_staffed_sub_sector_does_not_staff_its_fir() -> None:
    staffing = staffing_frame([("S1", at(0), at(60))])
    coverage = sector_coverage(STAYS, staffing, PARENTS, HOUR, HOUR + timedelta(hours=1))
    staffed = dict(zip(coverage["sector_id"], coverage["staffed_minutes"], strict=True))
    assert staffed == {"F": 0.0, "S1": 60.0, "T1": 0.0}
