"""Airport departures and arrivals per 15 minutes, from the detected movements."""

from __future__ import annotations

import pandas as pd

BUCKET = "15min"
TRAFFIC_COLUMNS = ["airport", "bucket_start", "departures", "arrivals"]


def airport_traffic(movements: pd.DataFrame) -> pd.DataFrame:
    """One row per airport and 15-minute bucket that had a movement: departures and
    arrivals counted from `movements` (airport, kind, moved_at); empty buckets are left
    out (a reader fills them with zeros)."""
    if movements.empty:  # typed like a full one: readers compare and add to bucket_start
        return pd.DataFrame(
            {
                "airport": pd.Series(dtype=object),
                "bucket_start": pd.Series(dtype="datetime64[ns, UTC]"),
                "departures": pd.Series(dtype="int64"),
                "arrivals": pd.Series(dtype="int64"),
            }
        )[TRAFFIC_COLUMNS]
    frame = movements.assign(bucket_start=movements["moved_at"].dt.floor(BUCKET))
    counts = frame.groupby(["airport", "bucket_start", "kind"]).size().unstack("kind", fill_value=0)
    counts = counts.reindex(columns=["departure", "arrival"], fill_value=0)
    counts.columns = ["departures", "arrivals"]
    return counts.reset_index()[TRAFFIC_COLUMNS].sort_values(["airport", "bucket_start"])
