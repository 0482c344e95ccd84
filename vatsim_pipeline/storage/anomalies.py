"""The `anomalies` table: one row per anomaly interval, not per snapshot.

A row is one kind on one connection (`flight_id`, `callsign`, `cid`; all null for the
feed-wide `stale_feed`) from `started_at`, the first snapshot it was seen in
(`first_snapshot`), to `last_seen_at`, the last; `ended_at` is null while it is still
seen in the newest stored snapshot, else `last_seen_at` (for `stale_feed`: the first
update after the feed moved again). `trigger` holds the values that raised it (JSON).
The alert columns say whether the webhook was told (see `vatsim_pipeline.alerts`).
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, Table, Text, UniqueConstraint

from vatsim_pipeline.storage.schema import Id, UTCDateTime, metadata

anomalies = Table(
    "anomalies",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", Text, nullable=False),
    Column("flight_id", Id, ForeignKey("flights.id", ondelete="CASCADE")),
    Column("callsign", Text),
    Column("cid", Integer),
    Column("started_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime),
    Column("first_snapshot", UTCDateTime, nullable=False),
    Column("trigger", Text, nullable=False),
    Column("detected_at", UTCDateTime, nullable=False),
    # Null until the alert sensor handles it; then `sent`, `failed` or `skipped`.
    Column("alert_status", Text),
    Column("alerted_at", UTCDateTime),
    Column("alert_error", Text),
    UniqueConstraint("flight_id", "kind", "started_at", name="uq_anomalies_interval"),
    Index("ix_anomalies_started_at", "started_at"),
    Index("ix_anomalies_ended_at", "ended_at"),
    Index("ix_anomalies_alert", "alert_status", "id"),
)
