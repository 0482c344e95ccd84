"""Archived positions, expanded from their runs to one row per connection and snapshot.

The archive holds `flight_positions` as stored: runs (`position_runs`), each row valid
from `observed_at` to `last_observed_at`. The snapshots a run spans are the recorded
ones (`feed_snapshots`, kept whole in the database), so reads of archived days expand
runs exactly as `position_snapshots` does in SQL and answer as before.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, select

from vatsim_pipeline.archive.layout import TIME
from vatsim_pipeline.archive.reader import flight_rows, window_table
from vatsim_pipeline.storage.archive_log import ArchivedDay
from vatsim_pipeline.storage.position_runs import RUN_SPAN
from vatsim_pipeline.storage.schema import feed_snapshots

RUN_END = "last_observed_at"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def recorded_between(connection: Connection, first: datetime, last: datetime) -> list[datetime]:
    """Recorded snapshots in [first, last], oldest first."""
    stamp = feed_snapshots.c.update_timestamp
    statement = select(stamp).where(stamp >= first, stamp <= last).order_by(stamp)
    return list(connection.execute(statement).scalars())


def _micros(moments: Sequence[datetime]) -> np.ndarray:
    return np.array(
        [(moment - EPOCH) // timedelta(microseconds=1) for moment in moments], dtype=np.int64
    )


def expand(runs: pa.Table, recorded: Sequence[datetime]) -> pa.Table:
    """One row per run and recorded snapshot it spans (without `last_observed_at`)."""
    stamps = _micros(recorded)
    start = runs.column("observed_at").cast(pa.int64())
    end = pc.coalesce(runs.column(RUN_END).cast(pa.int64()), start)
    first = np.searchsorted(stamps, start.to_numpy(), side="left")
    after = np.searchsorted(stamps, end.to_numpy(), side="right")
    counts = np.maximum(after - first, 0)
    row = np.repeat(np.arange(len(counts)), counts)
    within = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    times = pa.array(stamps[np.repeat(first, counts) + within], pa.int64()).cast(TIME)
    expanded = runs.drop_columns([RUN_END]).take(pa.array(row, pa.int64()))
    index = expanded.schema.get_field_index("observed_at")
    return expanded.set_column(index, "observed_at", times)


def archived_window(
    connection: Connection,
    days: Sequence[ArchivedDay],
    since: datetime,
    until: datetime,
    columns: Sequence[str],
) -> pa.Table:
    """Positions of these archived days observed in [since, until), as `window_table`
    gave them when the archive held one row per snapshot (`columns` with observed_at)."""
    wanted = list(dict.fromkeys([*columns, "observed_at", RUN_END]))
    runs = window_table(days, since - RUN_SPAN, until, wanted)
    if runs.num_rows == 0:
        return runs.select(list(columns)) if runs.num_columns else runs
    rows = expand(runs, recorded_between(connection, since - RUN_SPAN, until))
    times = rows.column("observed_at")
    keep = pc.and_(
        pc.greater_equal(times, pa.scalar(since, TIME)), pc.less(times, pa.scalar(until, TIME))
    )
    return rows.filter(keep).select(list(columns))


def archived_flight_rows(
    connection: Connection, days: Sequence[ArchivedDay], flight_id: int, columns: Sequence[str]
) -> list[tuple]:
    """One flight's archived positions as `flight_rows` gave them (by time); `columns`
    starts with observed_at."""
    assert columns[0] == "observed_at"
    runs = flight_rows(days, flight_id, [*columns, RUN_END])
    if not runs:
        return []
    ends = [row[-1] or row[0] for row in runs]
    recorded = recorded_between(connection, runs[0][0], max(ends))
    rows = []
    for run, end in zip(runs, ends, strict=True):
        values = run[1:-1]
        for moment in recorded[bisect_left(recorded, run[0]) : bisect_right(recorded, end)]:
            rows.append((moment, *values))
    return rows
