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
    # Anchors 06:15 to 07:00: each with two hours ahead inside the three recorded.
    assert (whole.mae, whole.anchors, whole.scored) == (0.0, 4, 4 * 8)
    assert whole.persistence_mae > 0
    gapped = backtest([Known(actual)], gap)
    # Every anchor still sees the quarter before it; the three buckets from 07:00 to
    # 07:45 (07:00-07:40 unrecorded) lie in every horizon and are never scored.
    assert gapped.anchors == 4 and gapped.scored == whole.scored - 4 * 3
