"""Sector load per bucket (15 minutes by default): flights entering, and the peak and
mean number of flights inside at once.

- A sector counts the flights of every sector inside it (see `sectors.containment`):
  stays are rolled up and merged per flight first (`analytics.stays`), so that a flight
  crossing from a TRACON into its FIR neither enters the FIR twice nor leaves it.
- `entries`: merged stays that begin inside the bucket. A flight that connects inside
  a sector enters it at its first position.
- `mean`: flight-seconds inside the sector during the bucket over the bucket's length.
- `peak`: the most flights inside at any instant of the bucket (exits at an instant are
  counted before entries at the same instant: one flight replacing another is one).

Every sector with a stay in the window gets a row for every bucket of the window, zeros
included; a sector without any has no rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from vatsim_pipeline.analytics.stays import merged, rolled_up, seconds_since

BUCKET = timedelta(minutes=15)
LOAD_COLUMNS = ["sector_id", "bucket_start", "entries", "peak", "mean"]


def empty_load() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "sector_id": pd.Series(dtype="object"),
            "bucket_start": pd.Series(dtype="datetime64[ns, UTC]"),
            "entries": pd.Series(dtype="int64"),
            "peak": pd.Series(dtype="int64"),
            "mean": pd.Series(dtype="float64"),
        }
    )


def sector_load(
    stays: pd.DataFrame,
    parents: Mapping[str, Sequence[str]],
    start: datetime,
    end: datetime,
    bucket: timedelta = BUCKET,
) -> pd.DataFrame:
    """Load of every sector in start..end (a whole number of buckets), ordered by
    sector and bucket; `stays` must hold every stay overlapping the window, including
    those touching its start (a stay left at `start` may continue in a sector above)."""
    origin = pd.Timestamp(start)
    width = bucket.total_seconds()
    buckets = round((end - start).total_seconds() / width)
    stays = merged(rolled_up(stays, parents))
    if stays.empty:
        return empty_load()
    enter = seconds_since(stays["entered_at"], origin)
    leave = seconds_since(stays["exited_at"], origin)
    total = buckets * width
    inside = (enter < total) & ((leave > 0) | (enter >= 0))
    stays, enter, leave = stays[inside], enter[inside], leave[inside]
    if stays.empty:
        return empty_load()
    sector_ids, sector_at = np.unique(
        stays["sector_id"].to_numpy(dtype=object), return_inverse=True
    )
    cells = len(sector_ids) * buckets

    entered = (enter >= 0) & (enter < total)
    entries = np.bincount(
        sector_at[entered] * buckets + (enter[entered] // width).astype(int), minlength=cells
    )

    seconds = np.zeros(cells)
    lo, hi = np.clip(enter, 0, total), np.clip(leave, 0, total)
    for b in range(buckets):
        overlap = np.clip(np.minimum(hi, (b + 1) * width) - np.maximum(lo, b * width), 0, None)
        seconds += np.bincount(sector_at * buckets + b, weights=overlap, minlength=cells)

    peak = _peaks(sector_at, lo, hi, len(sector_ids), buckets, width)
    frame = pd.DataFrame(
        {
            "sector_id": np.repeat(sector_ids, buckets),
            "bucket_start": np.tile(
                pd.date_range(origin, periods=buckets, freq=bucket).to_numpy(), len(sector_ids)
            ),
            "entries": entries.astype("int64"),
            "peak": peak.astype("int64"),
            "mean": np.round(seconds / width, 6),
        }
    )
    frame["bucket_start"] = pd.to_datetime(frame["bucket_start"], utc=True)
    return frame[LOAD_COLUMNS]


def _peaks(
    sector_at: np.ndarray, lo: np.ndarray, hi: np.ndarray, sectors: int, buckets: int, width: float
) -> np.ndarray:
    """The most stays open at once per (sector, bucket), by a sweep over entry (+1) and
    exit (-1) events plus a zero event at each bucket start, exits first at equal times."""
    open_ = hi > lo
    starts = np.arange(buckets) * width
    times = np.concatenate([lo[open_], hi[open_], np.tile(starts, sectors)])
    deltas = np.concatenate(
        [np.ones(open_.sum()), -np.ones(open_.sum()), np.zeros(sectors * buckets)]
    )
    owners = np.concatenate(
        [sector_at[open_], sector_at[open_], np.repeat(np.arange(sectors), buckets)]
    )
    order = np.lexsort((deltas, times, owners))
    times, deltas, owners = times[order], deltas[order], owners[order]
    running = np.cumsum(deltas)
    # The running count restarts per sector: subtract the total before its first event.
    first = np.searchsorted(owners, np.arange(sectors))
    offsets = np.concatenate([[0.0], running])[first]
    running = running - offsets[owners]
    in_bucket = np.minimum((times // width).astype(int), buckets - 1)
    keep = times < buckets * width
    cells = owners[keep] * buckets + in_bucket[keep]
    peak = np.zeros(sectors * buckets)
    np.maximum.at(peak, cells, running[keep])
    return peak
