"""Keeping a long-running deployment bounded: landed payload retention and archiving
(`landing_retention`) and pruning of old Dagster runs (`prune_runs`). Plain functions over
a landing directory, a data engine and a Dagster instance; the maintenance job in
`vatsim_pipeline.defs.maintenance_assets` and `vatsim-pipeline prune` call them.

Both ask the database before removing anything. Landing retention asks whether a
payload's snapshot is stored: `stored_snapshots` answers in batches, so a year of
history costs a few hundred small queries rather than one enormous `IN` list. Run
pruning asks whether a failed run's snapshot is finished (stored and located), as the
dead letters do (`storage.snapshot_completion`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Engine, select

from vatsim_pipeline.storage.schema import feed_snapshots

LOOKUP_BATCH = 500


def stored_snapshots(
    engine: Engine, stamps: Iterable[datetime], batch: int = LOOKUP_BATCH
) -> dict[datetime, datetime]:
    """`update_timestamp -> stored_at` for those of `stamps` that `feed_snapshots` holds."""
    ordered = sorted(set(stamps))
    found: dict[datetime, datetime] = {}
    with engine.connect() as connection:
        for start in range(0, len(ordered), batch):
            rows = connection.execute(
                select(feed_snapshots.c.update_timestamp, feed_snapshots.c.stored_at).where(
                    feed_snapshots.c.update_timestamp.in_(ordered[start : start + batch])
                )
            )
            found.update((row.update_timestamp, row.stored_at) for row in rows)
    return found


def format_bytes(size: float) -> str:
    """`812 B`, `4.2 MB`, `23.4 GB`: decimal units, as disk tools print them."""
    units = ("B", "kB", "MB", "GB")
    power = 0
    while abs(size) >= 1000 and power < len(units) - 1:
        size /= 1000
        power += 1
    return f"{size:.0f} B" if power == 0 else f"{size:.1f} {units[power]}"
