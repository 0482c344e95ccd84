"""ATC coverage per sector and hour: how long the sector was staffed, and how much of
the flying inside it was under ATC.

- A sector is staffed while a controller staffs it or any sector above it (a FIR's
  controller works its TRACONs when no approach controller is online; a UIR's works
  its FIRs). `staffed_minutes` is the union of those controllers' connections, clipped
  to the hour.
- `flight_minutes`: minutes flown inside the sector, its TRACONs and sub-sectors
  included (each position counts in its most specific sector and every one above).
- `covered_flight_minutes`: the part of those minutes during which the most specific
  sector of the flight was staffed (by itself or a sector above): a flight inside a
  staffed TRACON counts as covered for the FIR around it even when the FIR is not.
  `covered_flight_minutes / flight_minutes` is the share under ATC.

A staffing frame has the columns `sector_id`, `started_at`, `ended_at`: one row per
controller connection and sector it staffs (`controller_sectors`), from its first to
its last time seen.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime

import numpy as np
import pandas as pd

from vatsim_pipeline.analytics.stays import seconds_since

COVERAGE_COLUMNS = [
    "sector_id",
    "hour_start",
    "staffed_minutes",
    "flight_minutes",
    "covered_flight_minutes",
]


def empty_coverage() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "sector_id": pd.Series(dtype="object"),
            "hour_start": pd.Series(dtype="datetime64[ns, UTC]"),
            **{c: pd.Series(dtype="float64") for c in COVERAGE_COLUMNS[2:]},
        }
    )


def staffing_frame(rows: Sequence[tuple]) -> pd.DataFrame:
    """A staffing frame from (sector_id, started_at, ended_at) rows."""
    frame = pd.DataFrame.from_records(list(rows), columns=["sector_id", "started_at", "ended_at"])
    for column in ("started_at", "ended_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def _children(parents: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    below: dict[str, list[str]] = defaultdict(list)
    for child, above in parents.items():
        for parent in above:
            below[parent].append(child)
    return below


def _union(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    joined: list[tuple[float, float]] = []
    for lo, hi in sorted(spans):
        if joined and lo <= joined[-1][1]:
            joined[-1] = (joined[-1][0], max(joined[-1][1], hi))
        else:
            joined.append((lo, hi))
    return joined


def staffed_spans(
    staffing: pd.DataFrame,
    parents: Mapping[str, Sequence[str]],
    start: datetime,
    end: datetime,
) -> dict[str, list[tuple[float, float]]]:
    """Sector id -> disjoint spans (seconds from `start`, within the window) during which
    it or a sector above it was staffed."""
    length = (end - start).total_seconds()
    if staffing.empty:
        return {}
    origin = pd.Timestamp(start)
    lo = np.clip(seconds_since(staffing["started_at"], origin), 0, length)
    hi = np.clip(seconds_since(staffing["ended_at"], origin), 0, length)
    below = _children(parents)
    spans: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for sector, a, b in zip(staffing["sector_id"], lo, hi, strict=True):
        if b <= a:
            continue
        for target in (sector, *below.get(sector, ())):
            spans[target].append((float(a), float(b)))
    return {sector: _union(found) for sector, found in spans.items()}


def _flown_and_covered(
    stays: pd.DataFrame,
    spans: Mapping[str, list[tuple[float, float]]],
    start: datetime,
    end: datetime,
):
    """(most specific sector, seconds flown, seconds of it under ATC) per stay."""
    if stays.empty:
        return
    length = (end - start).total_seconds()
    origin = pd.Timestamp(start)
    lo = np.clip(seconds_since(stays["entered_at"], origin), 0, length)
    hi = np.clip(seconds_since(stays["exited_at"], origin), 0, length)
    for sector, a, b in zip(stays["sector_id"], lo, hi, strict=True):
        if b > a:
            under = sum(max(0.0, min(b, y) - max(a, x)) for x, y in spans.get(sector, ()))
            yield sector, float(b - a), float(under)


def sector_coverage(
    stays: pd.DataFrame,
    staffing: pd.DataFrame,
    parents: Mapping[str, Sequence[str]],
    start: datetime,
    end: datetime,
) -> pd.DataFrame:
    """Coverage of every sector with flights or staffing in start..end (one hour)."""
    spans = staffed_spans(staffing, parents, start, end)
    flown: dict[str, float] = defaultdict(float)
    covered: dict[str, float] = defaultdict(float)
    for sector, seconds, under in _flown_and_covered(stays, spans, start, end):
        for target in (sector, *parents.get(sector, ())):
            flown[target] += seconds
            covered[target] += under
    sectors = sorted(set(spans) | set(flown))
    if not sectors:
        return empty_coverage()
    frame = pd.DataFrame(
        {
            "sector_id": sectors,
            "hour_start": pd.Timestamp(start),
            "staffed_minutes": [sum(b - a for a, b in spans.get(s, ())) / 60 for s in sectors],
            "flight_minutes": [flown.get(s, 0.0) / 60 for s in sectors],
            "covered_flight_minutes": [covered.get(s, 0.0) / 60 for s in sectors],
        }
    )
    for column in COVERAGE_COLUMNS[2:]:
        frame[column] = frame[column].round(6)
    return frame[COVERAGE_COLUMNS]


def network_coverage(
    stays: pd.DataFrame,
    staffing: pd.DataFrame,
    parents: Mapping[str, Sequence[str]],
    start: datetime,
    end: datetime,
) -> tuple[float, float]:
    """(flight minutes located in any sector, of them under ATC) over the whole network,
    each flight-minute counted once."""
    spans = staffed_spans(staffing, parents, start, end)
    flown = covered = 0.0
    for _, seconds, under in _flown_and_covered(stays, spans, start, end):
        flown += seconds
        covered += under
    return round(float(flown) / 60, 6), round(float(covered) / 60, 6)
