"""The forecast frame shared by the sector and airport forecasts: one row per target,
metric and 15-minute bucket, with the expected count and a low/high band.

Columns: `target_kind` ('airport' | 'sector'), `target_id`, `metric` ('departures' |
'arrivals' | 'entries'), `bucket_start` (UTC), `expected`, `low`, `high`.
"""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import pandas as pd

FORECAST_COLUMNS = ["target_kind", "target_id", "metric", "bucket_start", "expected", "low", "high"]
BUCKET = timedelta(minutes=15)
HORIZON = timedelta(hours=2)
# The band holds 80% of outcomes when counts are Poisson around `expected`, widened by a
# relative model error (the normal approximation, floored at zero).
BAND_Z = 1.2816
MODEL_ERROR = 0.25


def empty_forecast() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "target_kind": pd.Series(dtype="object"),
            "target_id": pd.Series(dtype="object"),
            "metric": pd.Series(dtype="object"),
            "bucket_start": pd.Series(dtype="datetime64[ns, UTC]"),
            "expected": pd.Series(dtype="float64"),
            "low": pd.Series(dtype="float64"),
            "high": pd.Series(dtype="float64"),
        }
    )


def with_band(frame: pd.DataFrame) -> pd.DataFrame:
    """`low` and `high` around `expected`: Poisson spread plus the model error."""
    expected = frame["expected"].to_numpy(dtype=float)
    spread = BAND_Z * np.sqrt(expected + (MODEL_ERROR * expected) ** 2)
    return frame.assign(
        expected=np.round(expected, 4),
        low=np.round(np.maximum(0.0, expected - spread), 4),
        high=np.round(expected + spread, 4),
    )


def bucket_starts(now: pd.Timestamp) -> pd.DatetimeIndex:
    """The buckets of the horizon: from the first 15-minute boundary at or after `now`,
    for two hours."""
    first = now.ceil(BUCKET)
    return pd.date_range(first, periods=math.ceil(HORIZON / BUCKET), freq=BUCKET)
