"""The sector forecast beats persistence on simulated traffic (both databases), and the
scoring itself: gaps are never scored, and a forecast equal to what happened scores 0."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
from sqlalchemy import Engine

from vatsim_pipeline.analytics.forecast_backtest import (
    SectorForecaster,
    anchors,
    backtest,
    observed_spans,
)
from vatsim_pipeline.feed.airports import AIRPORTS
from vatsim_pipeline.storage.reads_forecast import snapshot_times
from vatsim_pipeline_tests.analytics.simulated import simulate_into

START = datetime(2026, 3, 6, 6, 0, tzinfo=UTC)
SIMULATOR_AIRPORTS = pd.DataFrame(
    [(a.icao, a.latitude, a.longitude) for a in AIRPORTS], columns=["icao", "latitude", "longitude"]
)


def at(minutes: float) -> datetime:
    return START + timedelta(minutes=minutes)


def test_the_forecast_beats_persistence_on_simulated_traffic(engine: Engine) -> None:
    simulate_into(engine, START, 4.5, pilots=100, controllers=20, step_s=120)
    with engine.connect() as connection:
        times = snapshot_times(connection, START, START + timedelta(days=1))
    forecaster = SectorForecaster(engine, SIMULATOR_AIRPORTS, timedelta(hours=24))
    result = backtest([forecaster], times)
    assert result.anchors == len(list(anchors(times[0], times[-1]))) >= 8
    assert result.scored > 1000
    assert 0 < result.mae < result.persistence_mae
    assert result.ratio < 1
    assert result.line() == (
        f"forecast-backtest mae {result.mae:.4f} persistence-mae "
        f"{result.persistence_mae:.4f} ratio {result.mae / result.persistence_mae:.4f}"
    )


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
