"""The airport side of the forecast backtest over hours without a single movement (a new
database, a quiet night): no actuals, and a forecast of nothing, not a crash."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
from sqlalchemy import Engine, insert

from vatsim_pipeline.analytics.airport_forecaster import AirportForecaster
from vatsim_pipeline.storage.schema import feed_snapshots
from vatsim_pipeline_tests.analytics.test_sector_activity_scale import _snapshot


def test_hours_without_movements_forecast_nothing(engine: Engine) -> None:
    anchor = pd.Timestamp("2026-12-07 12:00", tz="UTC")
    with engine.begin() as connection:
        connection.execute(insert(feed_snapshots), [_snapshot(anchor, 0)])
    airports = pd.DataFrame({"icao": ["EGLL"], "latitude": [51.47], "longitude": [-0.46]})
    forecaster = AirportForecaster(engine, airports, timedelta(hours=2))

    start = (anchor - timedelta(hours=2)).to_pydatetime()
    actuals = forecaster.actuals(start, anchor.to_pydatetime())  # as the backtest asks
    forecast = forecaster.forecast(anchor)

    assert actuals.empty
    assert forecast.empty or float(forecast["expected"].sum()) == 0.0
