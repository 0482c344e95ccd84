"""The forecast's activity scale (activity now over activity at the past times the
history answers from) holds at every minute, not only on a quarter hour."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
from sqlalchemy import Engine, insert

from vatsim_pipeline.analytics.forecast_frame import bucket_starts
from vatsim_pipeline.analytics.sector_forecaster import _activity_scale
from vatsim_pipeline.storage.schema import feed_snapshots

DAY = timedelta(days=1)


def _snapshot(at: pd.Timestamp, pilots: int) -> dict:
    return {
        "update_timestamp": at.to_pydatetime(),
        "stored_at": at.to_pydatetime(),
        "status": "stored",
        "pilots": pilots,
        "controllers": 0,
        "atis": 0,
        "prefiles": 0,
        "servers": 0,
        "transceiver_stations": 0,
        "transceivers": 0,
        "rejected": 0,
    }


@pytest.mark.parametrize("minute", [0, 7, 14])
def test_the_scale_compares_now_with_a_day_back_at_any_minute(engine: Engine, minute: int) -> None:
    now = pd.Timestamp("2026-12-07 12:00", tz="UTC") + timedelta(minutes=minute)
    with engine.begin() as connection:
        connection.execute(
            insert(feed_snapshots),
            [_snapshot(now, 300), _snapshot(now - DAY, 100), _snapshot(now - 2 * DAY, 200)],
        )
    # The history answers from one and two days back, for the horizon's buckets.
    history = pd.DataFrame(
        {"bucket_start": [start - lag for start in bucket_starts(now) for lag in (DAY, 2 * DAY)]}
    )

    with engine.connect() as connection:
        assert _activity_scale(connection, now, history) == pytest.approx(300 / 150)
        assert _activity_scale(connection, now, history.iloc[0:0]) == 1.0
