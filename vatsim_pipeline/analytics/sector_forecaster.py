"""The sector forecast at one moment, fed from the database: the snapshot then, the
history of entries (stored `sector_load` rows live, or a frame the backtest computed),
recent entry delays and the network's activity."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import timedelta

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from vatsim_pipeline.analytics.forecast_frame import BUCKET, bucket_starts
from vatsim_pipeline.analytics.sector_forecast import (
    DAYS_BACK,
    WEEKS_BACK,
    ForecastInputs,
    Locator,
    bucket_leads,
    connect_share,
    sector_forecast,
)
from vatsim_pipeline.storage.reads_forecast import (
    activity_at,
    entry_delays,
    flights_at,
    newest_snapshot_at,
)

DELAY_WINDOW = timedelta(hours=2)
HistoryReader = Callable[[Sequence[pd.Timestamp]], pd.DataFrame]


def history_times(now: pd.Timestamp) -> list[pd.Timestamp]:
    """Every bucket start the history expectation may look at for a forecast at `now`."""
    starts = bucket_starts(now)
    lags = [timedelta(weeks=w) for w in range(1, WEEKS_BACK + 1)]
    lags += [timedelta(days=d) for d in range(1, DAYS_BACK + 1)]
    times = {start - lag for start in starts for lag in lags}
    times |= {now.floor(BUCKET) - BUCKET * k for k in range(1, 5)}
    return sorted(t for t in times if t + BUCKET <= now)


def history_in_use(now: pd.Timestamp, stored: Collection[pd.Timestamp]) -> list[pd.Timestamp]:
    """The bucket starts of `history_times(now)` whose rows the forecast at `now` reads,
    given which of them hold rows (`stored`): per horizon bucket its stored weekly lags,
    else its stored daily lags, else the last hour's quarters (`history_expectation` and
    `_activity_scale` look at nothing else, so their figures are the same from these rows
    alone). With four weeks of history that is 32 bucket starts of 84, about 40% of the
    rows."""
    held = set(history_times(now)).intersection(stored)
    used: set[pd.Timestamp] = set()
    for start in bucket_starts(now):
        weekly = [start - timedelta(weeks=w) for w in range(1, WEEKS_BACK + 1)]
        daily = [start - timedelta(days=d) for d in range(1, DAYS_BACK + 1)]
        lags = [t for t in weekly if t in held] or [t for t in daily if t in held]
        used.update(lags or (now.floor(BUCKET) - BUCKET * k for k in range(1, 5)))
    return sorted(used & held)


def _activity_scale(connection: Connection, now: pd.Timestamp, history: pd.DataFrame) -> float:
    """Activity now over the mean activity at the past times the history answers from:
    a week back (or a day back) counts when the history holds any of the horizon's buckets
    that far back, as the expectation reads them, whatever the minute of `now`."""
    observed = set(history["bucket_start"].unique()) if not history.empty else set()
    starts = bucket_starts(now)

    def answered(lag: timedelta) -> bool:
        return any(start - lag in observed for start in starts)

    weekly = [timedelta(weeks=w) for w in range(1, WEEKS_BACK + 1)]
    daily = [timedelta(days=d) for d in range(1, DAYS_BACK + 1)]
    lags = [lag for lag in weekly if answered(lag)] or [lag for lag in daily if answered(lag)]
    if not lags:
        return 1.0
    current, *past = activity_at(connection, [now, *(now - lag for lag in lags)])
    past = [value for value in past if value]
    if not current or not past:
        return 1.0
    return float(current / np.mean(past))


def forecast_at(
    connection: Connection,
    now: pd.Timestamp,
    *,
    read_history: HistoryReader,
    airports: pd.DataFrame,
    locate: Locator,
    parents: Mapping[str, Sequence[str]],
    departure_delay: timedelta | None = None,
) -> pd.DataFrame:
    """The sector forecast frame at `now` from the newest snapshot at or before it."""
    observed = newest_snapshot_at(connection, now.to_pydatetime())
    flights = (
        flights_at(connection, observed) if observed is not None else flights_at(connection, now)
    )
    history = read_history(history_times(now))
    leads = bucket_leads(now)
    delays = entry_delays(connection, (now - DELAY_WINDOW).to_pydatetime(), now.to_pydatetime())
    inputs = ForecastInputs(
        now=now,
        flights=flights,
        airports=airports,
        history=history,
        connect_share=connect_share(delays, leads),
        activity_scale=_activity_scale(connection, now, history),
        **({"departure_delay": departure_delay} if departure_delay else {}),
    )
    return sector_forecast(inputs, locate, parents)
