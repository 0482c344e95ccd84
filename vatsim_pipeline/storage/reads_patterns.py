"""Queries of the sector patterns: a sector's load over a window, ATC coverage per
sector, and a sector's newest forecast.

Windows follow `reads_history` (ISO times or durations back from the newest update);
a window longer than the positions' retention is refused, since the patterns are built
from positions and nothing older than that can be rebuilt or checked. An hour without
data is an empty series, never an error.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, func, select

from vatsim_pipeline.storage.pattern_tables import sector_coverage, sector_load, traffic_forecasts
from vatsim_pipeline.storage.reads_base import InvalidQuery, fetch_page

BUCKETS = {"15m": timedelta(minutes=15), "1h": timedelta(hours=1)}
RETENTION_VARIABLE = "VATSIM_TABLE_RETENTION_DAYS"
DEFAULT_RETENTION_DAYS = 30


@dataclass(frozen=True)
class TrafficBucket:
    """Load of a sector in one bucket: flights entering, most and mean flights inside."""

    bucket_start: datetime
    entries: int
    peak: int
    mean: float


@dataclass(frozen=True)
class SectorTraffic:
    sector_id: str
    bucket: str
    since: datetime
    until: datetime
    items: list[TrafficBucket]


@dataclass(frozen=True)
class SectorCoverage:
    """ATC coverage of a sector over a window (its materialized hours)."""

    sector_id: str
    hours: int
    staffed_minutes: float
    flight_minutes: float
    covered_flight_minutes: float
    coverage_share: float | None


@dataclass(frozen=True)
class CoverageReport:
    items: list[SectorCoverage]
    total: int
    limit: int
    offset: int
    since: datetime
    until: datetime


@dataclass(frozen=True)
class ForecastBucket:
    bucket_start: datetime
    expected: float
    low: float
    high: float


@dataclass(frozen=True)
class SectorForecast:
    """The newest forecast of flights entering a sector; no items before the first."""

    sector_id: str
    metric: str
    issued_at: datetime | None
    items: list[ForecastBucket]


def retention_limit(env: dict[str, str] | None = None) -> timedelta | None:
    """The longest window a pattern query answers: the positions' retention (None when
    they are kept whole, `keep`)."""
    value = ((env if env is not None else os.environ).get(RETENTION_VARIABLE) or "").strip()
    if value.lower() == "keep":
        return None
    try:
        return timedelta(days=int(value or DEFAULT_RETENTION_DAYS))
    except ValueError:
        return timedelta(days=DEFAULT_RETENTION_DAYS)


def check_window(start: datetime, end: datetime, limit: timedelta | None) -> None:
    """Refuse an inverted window, and one longer than the retention."""
    if start >= end:
        raise InvalidQuery(
            "since", f"must be before until ({start.isoformat()} >= {end.isoformat()})"
        )
    if limit is not None and end - start > limit:
        raise InvalidQuery(
            "since",
            f"the window {start.isoformat()}..{end.isoformat()} is longer than the "
            f"retention of {limit.days} days ({RETENTION_VARIABLE})",
        )


def parse_bucket(text: str) -> timedelta:
    try:
        return BUCKETS[text.strip().lower()]
    except KeyError:
        raise InvalidQuery("bucket", f"must be 15m or 1h, got {text!r}") from None


def sector_traffic(
    connection: Connection, sector_id: str, start: datetime, end: datetime, bucket: str
) -> SectorTraffic:
    """The sector's load per bucket whose start lies in start..end, oldest first; an
    hour summed from its quarters (entries added, peak the highest, mean averaged)."""
    width = parse_bucket(bucket)
    rows = connection.execute(
        select(
            sector_load.c.bucket_start,
            sector_load.c.entries,
            sector_load.c.peak,
            sector_load.c.mean,
        )
        .where(
            sector_load.c.sector_id == sector_id,
            sector_load.c.bucket_start >= start,
            sector_load.c.bucket_start < end,
        )
        .order_by(sector_load.c.bucket_start)
    ).all()
    items = [TrafficBucket(*row) for row in rows]
    if width == BUCKETS["1h"]:
        items = _hourly(items)
    return SectorTraffic(sector_id, bucket.strip().lower(), start, end, items)


def _hourly(quarters: list[TrafficBucket]) -> list[TrafficBucket]:
    hours: dict[datetime, list[TrafficBucket]] = {}
    for quarter in quarters:
        hours.setdefault(
            quarter.bucket_start.replace(minute=0, second=0, microsecond=0), []
        ).append(quarter)
    return [
        TrafficBucket(
            bucket_start=hour,
            entries=sum(q.entries for q in found),
            peak=max(q.peak for q in found),
            # Quarters absent from a materialized hour had nobody inside.
            mean=round(sum(q.mean for q in found) / 4, 6),
        )
        for hour, found in hours.items()
    ]


def coverage_report(
    connection: Connection,
    start: datetime,
    end: datetime,
    *,
    sector_id: str | None,
    limit: int,
    offset: int,
) -> CoverageReport:
    """Coverage per sector summed over the hours starting in start..end, the sectors
    with the most flight minutes first."""
    flown = func.sum(sector_coverage.c.flight_minutes)
    statement = (
        select(
            sector_coverage.c.sector_id,
            func.count().label("hours"),
            func.sum(sector_coverage.c.staffed_minutes).label("staffed"),
            flown.label("flown"),
            func.sum(sector_coverage.c.covered_flight_minutes).label("covered"),
        )
        .where(sector_coverage.c.hour_start >= start, sector_coverage.c.hour_start < end)
        .group_by(sector_coverage.c.sector_id)
        .order_by(flown.desc(), sector_coverage.c.sector_id)
    )
    if sector_id is not None:
        statement = statement.where(sector_coverage.c.sector_id == sector_id)
    rows, total = fetch_page(connection, statement, limit, offset)
    items = [
        SectorCoverage(
            sector_id=row.sector_id,
            hours=row.hours,
            staffed_minutes=round(row.staffed, 3),
            flight_minutes=round(row.flown, 3),
            covered_flight_minutes=round(row.covered, 3),
            coverage_share=round(row.covered / row.flown, 4) if row.flown else None,
        )
        for row in rows
    ]
    return CoverageReport(items, total, limit, offset, start, end)


def sector_forecast(connection: Connection, sector_id: str) -> SectorForecast:
    """The newest stored forecast of flights entering the sector."""
    rows = connection.execute(
        select(
            traffic_forecasts.c.bucket_start,
            traffic_forecasts.c.expected,
            traffic_forecasts.c.low,
            traffic_forecasts.c.high,
            traffic_forecasts.c.issued_at,
        )
        .where(
            traffic_forecasts.c.target_kind == "sector",
            traffic_forecasts.c.target_id == sector_id,
            traffic_forecasts.c.metric == "entries",
        )
        .order_by(traffic_forecasts.c.bucket_start)
    ).all()
    issued = max((row.issued_at for row in rows), default=None)
    if issued is None:
        issued = connection.execute(
            select(func.max(traffic_forecasts.c.issued_at)).where(
                traffic_forecasts.c.target_kind == "sector"
            )
        ).scalar()
    return SectorForecast(
        sector_id=sector_id,
        metric="entries",
        issued_at=issued,
        items=[ForecastBucket(r.bucket_start, r.expected, r.low, r.high) for r in rows],
    )
