"""The airport forecast at one moment, fed from the database (the snapshot then, the
plans prefiled then, and the history of airport traffic), and the airport side of the
backtest (`forecast_backtest.FORECASTERS`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import Connection, Engine

from vatsim_pipeline.analytics.airport_forecast import (
    DAYS_BACK,
    RECENT_BUCKETS,
    WEEKS_BACK,
    airport_forecast,
)
from vatsim_pipeline.analytics.airport_patterns import airport_traffic
from vatsim_pipeline.analytics.forecast_frame import BUCKET, bucket_starts, empty_forecast
from vatsim_pipeline.analytics.movements import MovementSettings, movements_between, track_window
from vatsim_pipeline.storage.pattern_writes import last_movement_kinds
from vatsim_pipeline.storage.reads_airport_forecast import prefiles_at
from vatsim_pipeline.storage.reads_forecast import flights_at, newest_snapshot_at
from vatsim_pipeline.storage.reads_tracks import filed_frame, track_frame

HistoryReader = Callable[[Sequence[pd.Timestamp]], pd.DataFrame]
HOUR = timedelta(hours=1)
MEMORY = timedelta(days=2)


def history_times(now: pd.Timestamp) -> list[pd.Timestamp]:
    """Every bucket start the history may answer from for a forecast at `now`."""
    lags = [timedelta(weeks=w) for w in range(1, WEEKS_BACK + 1)]
    lags += [timedelta(days=d) for d in range(1, DAYS_BACK + 1)]
    times = {start - lag for start in bucket_starts(now) for lag in lags}
    times |= {now.floor(BUCKET) - BUCKET * k for k in range(1, RECENT_BUCKETS + 1)}
    return sorted(t for t in times if t + BUCKET <= now)


def forecast_airports_at(
    connection: Connection, now: pd.Timestamp, read_history: HistoryReader, airports: pd.DataFrame
) -> pd.DataFrame:
    """The forecast frame of every airport at `now`, from the newest snapshot by then."""
    snapshot = newest_snapshot_at(connection, now.to_pydatetime())
    if snapshot is None:
        return empty_forecast()
    return airport_forecast(
        now,
        flights_at(connection, snapshot),
        prefiles_at(connection, snapshot),
        read_history(history_times(now)),
        airports,
    )


class AirportForecaster:
    """Airport departures and arrivals for the backtest: the actual counts from the
    movements detected in the tracks (hour by hour, as the `airport_movements` asset
    does), forecasts from `forecast_airports_at` with that history before each anchor."""

    def __init__(self, engine: Engine, airports: pd.DataFrame, max_stay: timedelta) -> None:
        self.engine = engine
        self.airports = airports
        self.settings = MovementSettings.from_env()
        self.traffic = pd.DataFrame(columns=["airport", "bucket_start", "departures", "arrivals"])

    def _movements(self, start: datetime, end: datetime) -> pd.DataFrame:
        found, hour, before = [], start, {}
        while hour < end:
            with self.engine.connect() as connection:
                positions = track_frame(connection, *track_window(hour, hour + HOUR))
                ids = sorted(positions["flight_id"].unique().tolist())
                if not found:
                    before = last_movement_kinds(connection, ids, hour, hour - MEMORY)
                movements = movements_between(
                    positions,
                    self.airports,
                    self.settings,
                    filed_frame(connection, ids),
                    hour,
                    hour + HOUR,
                    before,
                )
            found.append(movements)
            for row in movements.itertuples(index=False):
                before[row.flight_id] = row.kind
            hour += HOUR
        return pd.concat(found, ignore_index=True)

    def actuals(self, start: datetime, end: datetime) -> pd.DataFrame:
        traffic = airport_traffic(self._movements(start, end))
        self.traffic = traffic
        long = traffic.melt(
            id_vars=["airport", "bucket_start"],
            value_vars=["departures", "arrivals"],
            var_name="metric",
            value_name="actual",
        )
        long = long[long["actual"] > 0]
        return pd.DataFrame(
            {
                "target_kind": "airport",
                "target_id": long["airport"].to_numpy(),
                "metric": long["metric"].to_numpy(),
                "bucket_start": pd.DatetimeIndex(long["bucket_start"]),
                "actual": long["actual"].astype(float).to_numpy(),
            }
        )

    def _history(self, anchor: pd.Timestamp) -> HistoryReader:
        def read(times: Sequence[pd.Timestamp]) -> pd.DataFrame:
            wanted = self.traffic[self.traffic["bucket_start"].isin(list(times))]
            return wanted[wanted["bucket_start"] + BUCKET <= anchor]

        return read

    def forecast(self, anchor: pd.Timestamp) -> pd.DataFrame:
        with self.engine.connect() as connection:
            return forecast_airports_at(connection, anchor, self._history(anchor), self.airports)
