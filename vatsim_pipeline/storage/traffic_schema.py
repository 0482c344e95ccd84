"""Tables of the airport traffic patterns: the VATSpy airport list, the movements
detected from tracks, and the hourly aggregates built from them.

Every aggregate row belongs to exactly one UTC hour (its bucket or the hour its
movements fell in), so that an hour's partition is replaced whole and a back-fill never
counts a movement twice.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, ForeignKey, Index, Integer, Table, Text

from vatsim_pipeline.storage.schema import Id, UTCDateTime, metadata

airports = Table(
    "airports",
    metadata,
    Column("icao", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("latitude", Float, nullable=False),
    Column("longitude", Float, nullable=False),
    Column("iata", Text),
    Column("fir", Text),
    Column("source", Text),
)

airport_movements = Table(
    "airport_movements",
    metadata,
    Column("flight_id", Id, ForeignKey("flights.id", ondelete="CASCADE"), primary_key=True),
    # departure (takeoff) or arrival (landing)
    Column("kind", Text, primary_key=True),
    Column("moved_at", UTCDateTime, primary_key=True),
    Column("airport", Text, nullable=False),
    # Where the flight was on the ground next to the movement, and how far that is from
    # the airport's VATSpy reference point.
    Column("latitude", Float, nullable=False),
    Column("longitude", Float, nullable=False),
    Column("distance_nm", Float, nullable=False),
    Index("ix_airport_movements_moved_at", "moved_at"),
    Index("ix_airport_movements_airport_moved_at", "airport", "moved_at"),
)

airport_traffic = Table(
    "airport_traffic",
    metadata,
    Column("airport", Text, primary_key=True),
    Column("bucket_start", UTCDateTime, primary_key=True),
    Column("departures", Integer, nullable=False),
    Column("arrivals", Integer, nullable=False),
    Index("ix_airport_traffic_bucket_start", "bucket_start"),
)

route_flights = Table(
    "route_flights",
    metadata,
    Column("hour_start", UTCDateTime, primary_key=True),
    Column("departure", Text, primary_key=True),
    Column("arrival", Text, primary_key=True),
    Column("flights", Integer, nullable=False),
)
