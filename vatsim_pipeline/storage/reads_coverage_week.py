"""ATC coverage by hour of the week for the dashboard's heat map: the `sector_coverage`
rows of a window (one per sector and hour, written by the hourly `sector_coverage`
asset) folded into weekday x hour cells.

A cell's share is the flight minutes flown under ATC over all flight minutes of its hours
(sums, so a busy hour weighs more than a quiet one); without a sector, every sector's
rows are summed, nested sectors included, which weighs the airspace where sectors nest
more but keeps the share a share.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, func, select

from vatsim_pipeline.storage.pattern_tables import sector_coverage
from vatsim_pipeline.storage.reads_base import NotFound, newest_update
from vatsim_pipeline.storage.reads_history import TimeArgument, resolve_window, sector_known
from vatsim_pipeline.storage.reads_patterns import check_window, retention_limit

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class CoverageWeek:
    """`share[weekday][hour]` (None where nothing was flown) and the flight minutes of
    each cell; weekday 0 is Monday, hours are UTC."""

    since: datetime
    until: datetime
    sector: str | None
    share: list[list[float | None]]
    flight_minutes: list[list[float]]


def coverage_week(
    connection: Connection, since: TimeArgument, until: TimeArgument, sector: str | None
) -> CoverageWeek:
    """Coverage of the hours starting in since..until (default: the 24 hours up to the
    newest update), by weekday and hour; one sector when `sector` (unknown: NotFound).
    The window follows `/api/controllers/coverage` (no longer than the retention)."""
    start, end = resolve_window(since, until, newest_update(connection) or datetime.now(UTC))
    check_window(start, end, retention_limit())
    if sector is not None and not sector_known(connection, sector):
        raise NotFound(f"sector {sector!r}: not found")
    statement = (
        select(
            sector_coverage.c.hour_start,
            func.sum(sector_coverage.c.flight_minutes).label("flown"),
            func.sum(sector_coverage.c.covered_flight_minutes).label("covered"),
        )
        .where(sector_coverage.c.hour_start >= start, sector_coverage.c.hour_start < end)
        .group_by(sector_coverage.c.hour_start)
    )
    if sector is not None:
        statement = statement.where(sector_coverage.c.sector_id == sector)
    flown = [[0.0] * 24 for _ in WEEKDAYS]
    covered = [[0.0] * 24 for _ in WEEKDAYS]
    for row in connection.execute(statement):
        day, hour = row.hour_start.weekday(), row.hour_start.hour
        flown[day][hour] += row.flown or 0.0
        covered[day][hour] += row.covered or 0.0
    share = [
        [round(c / f, 4) if f > 0 else None for c, f in zip(cov, fl, strict=True)]
        for cov, fl in zip(covered, flown, strict=True)
    ]
    return CoverageWeek(
        since=start,
        until=end,
        sector=sector,
        share=share,
        flight_minutes=[[round(f, 1) for f in day] for day in flown],
    )
