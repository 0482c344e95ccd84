"""The airport forecast: departures and arrivals of every airport for the next two hours
in 15-minute buckets, with a low/high band (the shared frame of `forecast_frame`).

Three sources, added up per airport, metric and bucket:

1. **Seen now.** A flight in the air toward its filed arrival lands after its distance
   at its ground speed (at least `MIN_AIR_KT`, slowed by `DESCENT_FACTOR` for the
   approach). A flight on the ground away from its destination arrives after a
   departure allowance (`TAXI_OUT_MIN`) and its distance at its filed cruise speed. A
   flight on the ground at its filed departure takes off within the next
   `DEPARTURE_SPREAD_MIN` minutes (spread evenly: pilots connect 5 to 40 minutes before
   they roll), sooner (`TAXI_SPREAD_MIN`) when it is already taxiing.
2. **Prefiled.** A plan not yet flown departs at its `deptime` and arrives `enroute_time`
   later, weighted by `PREFILE_WEIGHT` (not every plan is flown, nor on time).
3. **Not visible yet.** The flights that have not connected yet, from the history: the
   same weekday and quarter hour of the past `WEEKS_BACK` weeks, else the same quarter
   hour of the past `DAYS_BACK` days, else the mean of the last hour. It is weighted by
   the share of movements that are not visible yet that far ahead: arrivals grow
   invisible over `ARRIVAL_HORIZON_MIN` minutes (a flight is seen from its gate), departures
   over `DEPARTURE_HORIZON_MIN` (a pilot connects shortly before departing).
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd

from vatsim_pipeline.analytics.forecast_frame import (
    BUCKET,
    FORECAST_COLUMNS,
    bucket_starts,
    empty_forecast,
    with_band,
)
from vatsim_pipeline.analytics.movements import EARTH_RADIUS_NM

MIN_AIR_KT = 140.0
DESCENT_FACTOR = 1.08
GROUND_KT = 50.0
AT_AIRPORT_NM = 5.0
TAXI_OUT_MIN = 20.0
DEFAULT_CRUISE_KT = 420.0
DEPARTURE_SPREAD_MIN = 30.0
TAXI_SPREAD_MIN = 10.0
PREFILE_WEIGHT = 0.5
ARRIVAL_HORIZON_MIN = 240.0
DEPARTURE_HORIZON_MIN = 45.0
WEEKS_BACK = 4
DAYS_BACK = 7
RECENT_BUCKETS = 4
METRICS = ("departures", "arrivals")


def _distance_nm(lat1, lon1, lat2, lon2) -> np.ndarray:
    lat1, lon1, lat2, lon2 = (
        np.radians(np.asarray(v, dtype=float)) for v in (lat1, lon1, lat2, lon2)
    )
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_NM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def _hhmm_minutes(text: object) -> float | None:
    """Minutes of an `HHMM` text of a flight plan, None when it is not one."""
    value = str(text or "").strip()
    if len(value) != 4 or not value.isdigit():
        return None
    hours, minutes = int(value[:2]), int(value[2:])
    return None if minutes > 59 else hours * 60.0 + minutes


def _spread(airport, metric, start: pd.Timestamp, minutes: float, weight) -> pd.DataFrame:
    """Events spread evenly over `minutes` from `start` (one per row), as shares per
    bucket: airport, metric, bucket_start, count."""
    rows = []
    width = BUCKET / timedelta(minutes=1)
    for code, moment, share in zip(airport, start, weight, strict=True):
        end = moment + pd.Timedelta(minutes=minutes)
        bucket = moment.floor(BUCKET)
        while bucket < end:
            overlap = min(end, bucket + BUCKET) - max(moment, bucket)
            rows.append((code, metric, bucket, share * overlap / pd.Timedelta(minutes=minutes)))
            bucket += pd.Timedelta(minutes=width)
    return pd.DataFrame(rows, columns=["airport", "metric", "bucket_start", "count"])


def _at(airport, metric, moments, weight) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "airport": list(airport),
            "metric": metric,
            "bucket_start": pd.DatetimeIndex(moments).floor(BUCKET),
            "count": list(weight),
        }
    )


def seen_movements(
    now: pd.Timestamp, flights: pd.DataFrame, airports: pd.DataFrame
) -> pd.DataFrame:
    """Expected movements of the connected flights (columns of `reads_forecast.flights_at`):
    airport, metric, bucket_start, count (fractions where a moment is spread)."""
    where = airports.drop_duplicates("icao").set_index("icao")[["latitude", "longitude"]]
    frame = flights.copy()
    for column in ("departure", "arrival"):
        frame[column] = frame[column].fillna("").astype(str).str.strip().str.upper()
    speed = pd.to_numeric(frame["groundspeed"], errors="coerce").fillna(0.0).to_numpy()
    parts = []

    to = frame[frame["arrival"].isin(where.index)]
    if not to.empty:
        goal = where.loc[to["arrival"]]
        dist = _distance_nm(to["latitude"], to["longitude"], goal["latitude"], goal["longitude"])
        gs = pd.to_numeric(to["groundspeed"], errors="coerce").fillna(0.0).to_numpy()
        cruise = pd.to_numeric(to["cruise_tas"], errors="coerce").fillna(DEFAULT_CRUISE_KT)
        cruise = cruise.clip(lower=MIN_AIR_KT).to_numpy()
        flying = gs >= GROUND_KT
        minutes = np.where(
            flying,
            dist / np.maximum(gs, MIN_AIR_KT) * 60 * DESCENT_FACTOR,
            TAXI_OUT_MIN + dist / cruise * 60 * DESCENT_FACTOR,
        )
        coming = flying | (dist > AT_AIRPORT_NM)
        moments = now + pd.to_timedelta(minutes[coming], unit="min")
        parts.append(_at(to["arrival"][coming], "arrivals", moments, np.ones(coming.sum())))

    ground = frame[(speed < GROUND_KT) & frame["departure"].isin(where.index)]
    if not ground.empty:
        home = where.loc[ground["departure"]]
        dist = _distance_nm(
            ground["latitude"], ground["longitude"], home["latitude"], home["longitude"]
        )
        waiting = ground[dist <= AT_AIRPORT_NM]
        taxiing = pd.to_numeric(waiting["groundspeed"], errors="coerce").fillna(0.0) > 3
        for rows, minutes in (
            (waiting[~taxiing], DEPARTURE_SPREAD_MIN),
            (waiting[taxiing], TAXI_SPREAD_MIN),
        ):
            if not rows.empty:
                starts = [now] * len(rows)
                parts.append(
                    _spread(rows["departure"], "departures", starts, minutes, [1.0] * len(rows))
                )
    return _sum(parts)


def prefiled_movements(now: pd.Timestamp, prefiles: pd.DataFrame) -> pd.DataFrame:
    """Expected movements of plans not flown yet (departure, arrival, deptime,
    enroute_time): departure at the next `deptime` (up to a bucket late), arrival after
    `enroute_time`, each weighted by `PREFILE_WEIGHT`."""
    rows = []
    midnight = now.floor("D")
    for plan in prefiles.itertuples(index=False):
        departs = _hhmm_minutes(plan.deptime)
        if departs is None:
            continue
        moment = midnight + pd.Timedelta(minutes=departs)
        if moment < now - BUCKET:
            moment += pd.Timedelta(days=1)
        moment = max(moment, now)
        if plan.departure:
            rows.append((str(plan.departure).upper(), "departures", moment, PREFILE_WEIGHT))
        enroute = _hhmm_minutes(plan.enroute_time)
        if plan.arrival and enroute is not None:
            landing = moment + pd.Timedelta(minutes=enroute)
            rows.append((str(plan.arrival).upper(), "arrivals", landing, PREFILE_WEIGHT))
    frame = pd.DataFrame(rows, columns=["airport", "metric", "moment", "count"])
    frame["bucket_start"] = pd.DatetimeIndex(frame["moment"]).floor(BUCKET)
    return _sum([frame.drop(columns="moment")])


def _sum(parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if not p.empty]
    if not parts:
        return pd.DataFrame(columns=["airport", "metric", "bucket_start", "count"])
    return (
        pd.concat(parts)
        .groupby(["airport", "metric", "bucket_start"], as_index=False)["count"]
        .sum()
    )


def history_baseline(now: pd.Timestamp, history: pd.DataFrame) -> pd.DataFrame:
    """The movements to expect per airport, metric and bucket of the horizon from
    `history` (airport, bucket_start, departures, arrivals; only buckets ended by `now`
    are used): same weekday, else same time of day, else the last hour's mean. A past
    bucket counts as recorded when any airport had a movement in it."""
    columns = ["airport", "metric", "bucket_start", "base"]
    if history.empty:
        return pd.DataFrame(columns=columns)
    history = history.assign(bucket_start=pd.to_datetime(history["bucket_start"], utc=True))
    past = history[history["bucket_start"] + BUCKET <= now]
    if past.empty:
        return pd.DataFrame(columns=columns)
    long = past.melt(
        id_vars=["airport", "bucket_start"],
        value_vars=list(METRICS),
        var_name="metric",
        value_name="count",
    )
    recorded = set(past["bucket_start"])
    totals = long.groupby(["airport", "metric", "bucket_start"])["count"].sum()
    rows = []
    recent = [
        t
        for t in (now.floor(BUCKET) - BUCKET * k for k in range(1, RECENT_BUCKETS + 1))
        if t in recorded
    ]
    for start in bucket_starts(now):
        for lags in (
            [timedelta(weeks=w) for w in range(1, WEEKS_BACK + 1)],
            [timedelta(days=d) for d in range(1, DAYS_BACK + 1)],
        ):
            times = [start - lag for lag in lags if start - lag in recorded]
            if times:
                break
        else:
            times = recent
        if not times:
            continue
        picked = totals[totals.index.get_level_values("bucket_start").isin(times)]
        mean = picked.groupby(level=["airport", "metric"]).sum() / len(times)
        for (airport, metric), value in mean.items():
            rows.append((airport, metric, start, float(value)))
    return pd.DataFrame(rows, columns=columns)


def _unseen_share(metric: pd.Series, lead_minutes: np.ndarray) -> np.ndarray:
    horizon = np.where(metric == "arrivals", ARRIVAL_HORIZON_MIN, DEPARTURE_HORIZON_MIN)
    return np.clip(lead_minutes / horizon, 0.0, 1.0)


def airport_forecast(
    now: pd.Timestamp,
    flights: pd.DataFrame,
    prefiles: pd.DataFrame,
    history: pd.DataFrame,
    airports: pd.DataFrame,
) -> pd.DataFrame:
    """The forecast frame of every airport with something expected in the next two
    hours from `now` (see the module docstring for the sources)."""
    starts = bucket_starts(now)
    seen = _sum([seen_movements(now, flights, airports), prefiled_movements(now, prefiles)])
    seen = seen[seen["bucket_start"].isin(starts)]
    base = history_baseline(now, history)
    merged = seen.merge(base, on=["airport", "metric", "bucket_start"], how="outer")
    if merged.empty:
        return empty_forecast()
    for column in ("count", "base"):
        merged[column] = pd.to_numeric(merged[column], errors="coerce").fillna(0.0)
    middle = merged["bucket_start"] + BUCKET / 2
    lead = ((middle - now) / pd.Timedelta(minutes=1)).to_numpy(dtype=float)
    expected = merged["count"].to_numpy(dtype=float) + _unseen_share(
        merged["metric"], lead
    ) * merged["base"].to_numpy(dtype=float)
    frame = pd.DataFrame(
        {
            "target_kind": "airport",
            "target_id": merged["airport"].to_numpy(),
            "metric": merged["metric"].to_numpy(),
            "bucket_start": pd.DatetimeIndex(merged["bucket_start"]),
            "expected": expected,
        }
    )
    frame = frame[frame["expected"] > 0]
    banded = with_band(frame.assign(low=0.0, high=0.0))
    ordered = banded.sort_values(["target_id", "metric", "bucket_start"], kind="stable")
    return ordered.reset_index(drop=True)[FORECAST_COLUMNS]
