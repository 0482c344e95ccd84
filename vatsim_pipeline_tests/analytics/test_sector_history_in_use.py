"""The sector forecast reads only the history bucket starts it uses (`history_in_use`):
per horizon bucket its stored weekly lags, else its stored daily lags, else the last
hour's quarters; the expectation and the activity scale come out the same as from
every candidate start."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
from sqlalchemy import Engine, insert

from vatsim_pipeline.analytics.forecast_frame import bucket_starts
from vatsim_pipeline.analytics.sector_forecast import history_expectation
from vatsim_pipeline.analytics.sector_forecaster import _activity_scale, history_in_use
from vatsim_pipeline.storage.schema import feed_snapshots
from vatsim_pipeline_tests.analytics.test_sector_activity_scale import _snapshot

DAY, WEEK = timedelta(days=1), timedelta(weeks=1)
NOW = pd.Timestamp("2026-12-07 12:07", tz="UTC")


def _history() -> tuple[pd.DataFrame, list[pd.Timestamp]]:
    """Rows of two sectors: buckets 0-3 with weeks 1 and 3 back (and days 1 and 2, not
    used), buckets 4-6 with days 1 and 2 only, bucket 7 with nothing (the last hour's
    11:15 and 11:45 answer it); and the starts in use."""
    starts = bucket_starts(NOW)
    weekly = [start - lag for start in starts[:4] for lag in (WEEK, 3 * WEEK)]
    daily = [start - lag for start in starts[4:7] for lag in (DAY, 2 * DAY)]
    recent = [
        pd.Timestamp("2026-12-07 11:15", tz="UTC"),
        pd.Timestamp("2026-12-07 11:45", tz="UTC"),
    ]
    unused = [start - lag for start in starts[:4] for lag in (DAY, 2 * DAY)]
    unused.append(pd.Timestamp("2026-12-04 12:05", tz="UTC"))  # no candidate start
    held = weekly + daily + recent + unused
    rows = [
        (sector, at, 3 * k + len(sector)) for k, at in enumerate(held) for sector in ("F", "F1")
    ]
    history = pd.DataFrame(rows, columns=["sector_id", "bucket_start", "entries"])
    return history, sorted(weekly + daily + recent)


def test_only_the_starts_in_use_are_read_and_they_give_the_same_figures(engine: Engine) -> None:
    history, in_use = _history()
    used = history_in_use(NOW, set(history["bucket_start"]))
    assert used == in_use
    pruned = history[history["bucket_start"].isin(used)]
    assert len(pruned) < len(history)
    expected = history_expectation(history, NOW)
    assert history_expectation(pruned, NOW).equals(expected)
    assert sorted(expected["bucket"].unique()) == list(range(8))

    with engine.begin() as connection:
        connection.execute(
            insert(feed_snapshots),
            [_snapshot(NOW, 300), _snapshot(NOW - WEEK, 100), _snapshot(NOW - 3 * WEEK, 200),
             _snapshot(NOW - DAY, 1000), _snapshot(NOW - 2 * DAY, 1000)],
        )  # fmt: skip
    with engine.connect() as connection:
        scale = _activity_scale(connection, NOW, history)
        assert _activity_scale(connection, NOW, pruned) == scale == pytest.approx(300 / 150)


def test_without_history_nothing_is_read() -> None:
    assert history_in_use(NOW, set()) == []
