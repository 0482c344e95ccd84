"""Bulk, idempotent writes of one parsed snapshot, in one transaction.

Re-ingesting a snapshot changes nothing, and a snapshot that arrives after a newer one
never moves `last_seen` or the latest state backwards: every upsert compares the
snapshot's time with what the row already holds, and `first_seen` only moves earlier.

PostgreSQL takes the COPY path (`postgres_writes`), any other database the SQLAlchemy
Core path (`core_writes`); both store the same rows (`snapshot_rows`) and report the
same counts.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from vatsim_pipeline.feed.models import Snapshot
from vatsim_pipeline.storage import core_writes, postgres_writes
from vatsim_pipeline.storage.assignment_runs import split_at_late_snapshot
from vatsim_pipeline.storage.partitions import ensure_day_partitions, utc_day
from vatsim_pipeline.storage.schema import feed_snapshots, rejected_records
from vatsim_pipeline.storage.snapshot_rows import REJECTED_COLUMNS, snapshot_rows
from vatsim_pipeline.storage.write_report import LandedFiles, SnapshotWrite, TableWrite

__all__ = ["LandedFiles", "SnapshotWrite", "TableWrite", "write_snapshot"]


def _feed_snapshot_row(snapshot: Snapshot, landed: LandedFiles) -> dict:
    return {
        "update_timestamp": snapshot.update_timestamp,
        "fetched_at": landed.fetched_at,
        "stored_at": datetime.now(UTC),
        "status": "stored",
        "connected_clients": snapshot.connected_clients,
        **snapshot.counts(),
        "data_path": landed.data_path,
        "data_sha256": landed.data_sha256,
        "transceivers_path": landed.transceivers_path,
        "transceivers_sha256": landed.transceivers_sha256,
        "transceivers_missing": landed.transceivers_missing,
    }


def write_snapshot(
    engine: Engine, snapshot: Snapshot, landed: LandedFiles | None = None
) -> SnapshotWrite:
    """Store one parsed snapshot in one transaction; safe to repeat, in any order.

    The day's partitions are made sure of first, in a transaction of their own, so that
    a snapshot of any day (a replay from years ago) stores, and the brief lock that
    creating one takes is not held for the whole write.
    """
    ts = snapshot.update_timestamp
    ensure_day_partitions(engine, [utc_day(ts)])
    rows = snapshot_rows(snapshot)
    path = postgres_writes if engine.dialect.name == "postgresql" else core_writes
    with engine.begin() as connection:
        # First, so that its lock (taken only when the snapshot is late) comes before any
        # row lock: runs of sector assignments spanning a snapshot recorded late are cut.
        split_at_late_snapshot(connection, ts)
        tables = path.write_rows(connection, rows, ts)
        core_writes.insert_new(
            connection,
            rejected_records,
            [
                {"update_timestamp": ts, **dict(zip(REJECTED_COLUMNS, row, strict=True))}
                for row in rows.rejected
            ],
        )
        stored = core_writes.insert_new(
            connection, feed_snapshots, [_feed_snapshot_row(snapshot, landed or LandedFiles())]
        )
    return SnapshotWrite(
        update_timestamp=ts, new_snapshot=stored == 1, tables=tables, rejected=len(rows.rejected)
    )
