"""The forecasts tested on stored history: at an anchor every 15 minutes, forecast the
next two hours from what was known then, and compare with what happened.

The score is the mean absolute error over every (target, metric, bucket) of every
anchor, against persistence, which predicts for every bucket the count of the 15
minutes before the anchor. Targets are those with any count in the window or any
forecast; a bucket is scored only when the recording covers it without a gap longer
than `max_gap` (nor the persistence bucket, nor the anchor's own snapshot), so gaps
never pass for quiet traffic.

A forecaster is anything with `actuals(start, end)` (counts per target, metric and
bucket: columns `target_kind`, `target_id`, `metric`, `bucket_start`, `actual`) and
`forecast(anchor)` (the forecast frame of `forecast_frame`). `FORECASTERS` lists them;
the airport forecaster joins by one line there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Protocol

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from vatsim_pipeline.analytics.airport_forecaster import AirportForecaster
from vatsim_pipeline.analytics.forecast_frame import BUCKET, HORIZON
from vatsim_pipeline.analytics.sector_forecaster import forecast_at
from vatsim_pipeline.analytics.sector_load import sector_load
from vatsim_pipeline.analytics.stays import stays_frame
from vatsim_pipeline.sectors.locate import SectorIndex
from vatsim_pipeline.storage.occupancy_writes import sector_set
from vatsim_pipeline.storage.sector_patterns import stays_overlapping, stored_sector_parents

KEY = ["target_kind", "target_id", "metric", "bucket_start"]
DEFAULT_MAX_GAP = timedelta(minutes=5)
HOUR = timedelta(hours=1)


class Forecaster(Protocol):
    def actuals(self, start: datetime, end: datetime) -> pd.DataFrame: ...

    def forecast(self, anchor: pd.Timestamp) -> pd.DataFrame: ...


class SectorForecaster:
    """Sector entries: actual counts from the stays (as `sector_load` computes them),
    forecasts from `sector_forecaster` with the history before each anchor."""

    def __init__(self, engine: Engine, airports: pd.DataFrame, max_stay: timedelta) -> None:
        self.engine = engine
        self.airports = airports
        self.max_stay = max_stay
        self.parents = stored_sector_parents(engine)
        found = sector_set(engine)
        self.index: SectorIndex | None = found.index if found else None
        self.loads = pd.DataFrame(columns=["sector_id", "bucket_start", "entries"])

    def actuals(self, start: datetime, end: datetime) -> pd.DataFrame:
        frames = []
        hour = start
        while hour < end:
            with self.engine.connect() as connection:
                stays = stays_frame(stays_overlapping(connection, hour, hour + HOUR, self.max_stay))
            frames.append(sector_load(stays, self.parents, hour, hour + HOUR))
            hour += HOUR
        loads = pd.concat(frames, ignore_index=True)
        loads = loads[
            (loads["bucket_start"] >= pd.Timestamp(start))
            & (loads["bucket_start"] < pd.Timestamp(end))
        ]
        self.loads = loads[["sector_id", "bucket_start", "entries"]]
        return pd.DataFrame(
            {
                "target_kind": "sector",
                "target_id": loads["sector_id"],
                "metric": "entries",
                "bucket_start": loads["bucket_start"],
                "actual": loads["entries"].astype(float),
            }
        )

    def _history(self, anchor: pd.Timestamp) -> Callable:
        def read(times) -> pd.DataFrame:
            wanted = self.loads[self.loads["bucket_start"].isin(list(times))]
            return wanted[wanted["bucket_start"] + BUCKET <= anchor]

        return read

    def forecast(self, anchor: pd.Timestamp) -> pd.DataFrame:
        if self.index is None:
            raise ValueError("no sectors stored: load them first (vatsim-pipeline sectors load)")
        with self.engine.connect() as connection:
            return forecast_at(
                connection,
                anchor,
                read_history=self._history(anchor),
                airports=self.airports,
                locate=self.index.locate_many,
                parents=self.parents,
            )


FORECASTERS: list[Callable[[Engine, pd.DataFrame, timedelta], Forecaster]] = [
    SectorForecaster,
    AirportForecaster,
]


@dataclass(frozen=True)
class BacktestResult:
    """The score of a backtest and how much it rests on."""

    mae: float
    persistence_mae: float
    anchors: int
    scored: int

    @property
    def ratio(self) -> float:
        return self.mae / self.persistence_mae if self.persistence_mae else float("nan")

    def line(self) -> str:
        return (
            f"forecast-backtest mae {self.mae:.4f} persistence-mae {self.persistence_mae:.4f} "
            f"ratio {self.ratio:.4f}"
        )


def observed_spans(times: list[datetime], max_gap: timedelta) -> list[tuple[datetime, datetime]]:
    """The stretches of time the recording covers: consecutive snapshots no further
    apart than `max_gap`."""
    spans: list[tuple[datetime, datetime]] = []
    for earlier, later in pairwise(times):
        if later - earlier <= max_gap:
            if spans and spans[-1][1] == earlier:
                spans[-1] = (spans[-1][0], later)
            else:
                spans.append((earlier, later))
    return spans


def _covered(spans: list[tuple[datetime, datetime]], start: datetime, end: datetime) -> bool:
    return any(lo <= start and end <= hi for lo, hi in spans)


def anchors(start: datetime, end: datetime) -> Iterator[pd.Timestamp]:
    """Every 15-minute boundary from one bucket after `start` while a bucket ahead of it
    still ends by `end` (buckets past `end` are not scored)."""
    anchor = pd.Timestamp(start).ceil(BUCKET) + BUCKET
    while anchor + BUCKET <= pd.Timestamp(end):
        yield anchor
        anchor += BUCKET


def backtest(
    forecasters: list[Forecaster],
    times: list[datetime],
    *,
    max_gap: timedelta = DEFAULT_MAX_GAP,
    score_from: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BacktestResult:
    """Score the forecasters over the window of the snapshot `times` (anchors from
    `score_from` only, when given: the history before it still counts)."""
    if len(times) < 2:
        raise ValueError("the window holds fewer than two snapshots")
    start, end = pd.Timestamp(times[0]).floor(BUCKET), pd.Timestamp(times[-1]).ceil(BUCKET)
    spans = observed_spans(times, max_gap)
    actual = pd.concat([f.actuals(start, end) for f in forecasters], ignore_index=True)
    targets = actual[["target_kind", "target_id", "metric"]].drop_duplicates()
    moments = [
        anchor
        for anchor in anchors(start, end)
        if score_from is None or anchor >= pd.Timestamp(score_from)
    ]
    errors, baseline = [], []
    for number, anchor in enumerate(moments, start=1):
        if progress:
            progress(number, len(moments))
        if not _covered(spans, anchor - BUCKET, anchor):
            continue
        forecast = pd.concat([f.forecast(anchor) for f in forecasters], ignore_index=True)
        scored = _score(anchor, forecast, actual, targets, spans)
        if scored is not None:
            errors.append(scored[0])
            baseline.append(scored[1])
    if not errors:
        return BacktestResult(float("nan"), float("nan"), 0, 0)
    forecast_errors, persistence_errors = np.concatenate(errors), np.concatenate(baseline)
    return BacktestResult(
        mae=float(forecast_errors.mean()),
        persistence_mae=float(persistence_errors.mean()),
        anchors=len(errors),
        scored=len(forecast_errors),
    )


def _score(anchor, forecast, actual, targets, spans):
    """Absolute errors of the forecast and of persistence at one anchor, over the
    observed buckets of its horizon."""
    buckets = [
        anchor + BUCKET * k
        for k in range(int(HORIZON / BUCKET))
        if _covered(spans, anchor + BUCKET * k, anchor + BUCKET * (k + 1))
    ]  # past the recording's end, no span covers a bucket
    if not buckets:
        return None
    grid = targets.merge(pd.DataFrame({"bucket_start": buckets}), how="cross")
    seen = actual.set_index(KEY)["actual"]
    last = actual[actual["bucket_start"] == anchor - BUCKET].set_index(KEY[:3])["actual"]
    predicted = (
        forecast.set_index(KEY)["expected"] if not forecast.empty else pd.Series(dtype=float)
    )
    keys = pd.MultiIndex.from_frame(grid[KEY])
    truth = seen.reindex(keys, fill_value=0.0).to_numpy()
    guess = predicted.reindex(keys, fill_value=0.0).to_numpy()
    same = last.reindex(pd.MultiIndex.from_frame(grid[KEY[:3]]), fill_value=0.0).to_numpy()
    return np.abs(guess - truth), np.abs(same - truth)
