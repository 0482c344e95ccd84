"""The backtest's scoring: gaps are never scored, and a forecast equal to what happened
scores 0 (the forecast against persistence on simulated traffic is in
`defs/test_forecast_assets.py`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd

from vatsim_pipeline.analytics.forecast_backtest import (
    backtest,
    observed_spans,
)

START = datetime(2026, 3, 6, 6, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return START + timedelta(minutes=minutes)


class Known:
    """A forecaster that knows the future: its error must be zero."""

    def __init__(self, actual: pd.DataFrame) -> None:
        self.actual = actual

    def actuals(self, start, end) -> pd.DataFrame:
        return self.actual

    def forecast(self, anchor) -> pd.DataFrame:
        return self.actual.rename(columns={"actual": "expected"}).assign(low=0.0, high=0.0)


def test_scoring_skips_gaps_and_a_perfect_forecast_scores_zero() -> None:
    every_minute = [at(m) for m in range(0, 181)]
    gap = [t for t in every_minute if not at(60) < t < at(100)]
    assert observed_spans(gap, timedelta(minutes=5)) == [(at(0), at(60)), (at(100), at(180))]
    buckets = pd.date_range(START, periods=12, freq="15min")
    actual = pd.DataFrame(
        {
            "target_kind": "sector",
            "target_id": "EDGG",
            "metric": "entries",
            "bucket_start": buckets,
            "actual": [float(k % 3) for k in range(12)],
        }
    )
    whole = backtest([Known(actual)], every_minute)
    # Anchors 06:15 to 08:45: up to 07:00 with two hours ahead, then fewer buckets.
    assert (whole.mae, whole.anchors, whole.scored) == (0.0, 11, 4 * 8 + 7 + 6 + 5 + 4 + 3 + 2 + 1)
    assert whole.persistence_mae > 0
    gapped = backtest([Known(actual)], gap)
    # 07:00-07:40 unrecorded: the anchors 07:15 to 07:45 lack the quarter before them,
    # and the buckets 07:00 to 07:45 are never scored (three in each of the first four
    # horizons).
    assert (gapped.anchors, gapped.scored) == (8, 4 * 5 + 4 + 3 + 2 + 1)
