"""Tables of the sector traffic patterns and forecasts (issue 9, sector half).

Each hourly asset owns the rows of its hour: a materialization deletes the hour's rows
and inserts the new ones in one transaction, so re-materializing or back-filling an hour
never counts anything twice.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, Table, Text

from vatsim_pipeline.storage.schema import UTCDateTime, flight_sector_occupancy, metadata

sector_parents = Table(
    "sector_parents",
    metadata,
    Column("sector_id", Text, primary_key=True),
    Column("parent_id", Text, primary_key=True),
)

sector_load = Table(
    "sector_load",
    metadata,
    Column("sector_id", Text, primary_key=True),
    Column("bucket_start", UTCDateTime, primary_key=True),
    Column("entries", Integer, nullable=False),
    Column("peak", Integer, nullable=False),
    Column("mean", Float, nullable=False),
    Index("ix_sector_load_bucket_start", "bucket_start"),
)

sector_coverage = Table(
    "sector_coverage",
    metadata,
    Column("sector_id", Text, primary_key=True),
    Column("hour_start", UTCDateTime, primary_key=True),
    Column("staffed_minutes", Float, nullable=False),
    Column("flight_minutes", Float, nullable=False),
    Column("covered_flight_minutes", Float, nullable=False),
    Index("ix_sector_coverage_hour_start", "hour_start"),
)

# The newest forecast of each target: the forecast frame of `analytics.forecast_frame`.
traffic_forecasts = Table(
    "traffic_forecasts",
    metadata,
    Column("target_kind", Text, primary_key=True),
    Column("target_id", Text, primary_key=True),
    Column("metric", Text, primary_key=True),
    Column("bucket_start", UTCDateTime, primary_key=True),
    Column("expected", Float, nullable=False),
    Column("low", Float, nullable=False),
    Column("high", Float, nullable=False),
    Column("issued_at", UTCDateTime, nullable=False),
)

# The stays overlapping an hour, for every sector at once: those entered shortly before
# it are found by this range (the stays of one sector have their own indexes).
Index("ix_flight_sector_occupancy_entered_at", flight_sector_occupancy.c.entered_at)
