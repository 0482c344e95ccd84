"""What storing one snapshot takes besides the snapshot, and what it reports back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class TableWrite:
    """What one snapshot did to one table.

    `inserted` counts new rows, `updated` existing rows whose `last_seen` advanced, and
    `unchanged` the rest (a repeated or late snapshot).
    """

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class LandedFiles:
    """Where the snapshot's payloads were landed, for `feed_snapshots`."""

    data_path: str | None = None
    data_sha256: str | None = None
    transceivers_path: str | None = None
    transceivers_sha256: str | None = None
    fetched_at: datetime | None = None
    transceivers_missing: str | None = None


@dataclass
class SnapshotWrite:
    """What storing one snapshot did, table by table."""

    update_timestamp: datetime
    new_snapshot: bool
    tables: dict[str, TableWrite] = field(default_factory=dict)
    rejected: int = 0
