"""Flights entering each sector in the next two hours, per 15 minutes, with a band.

Three parts, added:

1. **Airborne flights** (ground speed at least 50 kt) are flown ahead every 2 minutes:
   along the great circle to their filed destination at their present ground speed,
   stopping there; without a known destination, straight on along their heading. Each
   sampled point is located in its most specific sector and rolled up to every sector
   above it; a flight enters a sector at the first sample inside it after one outside.
2. **Flights waiting on the ground** with a filed plan (at their departure airport, not
   their arrival) take off `departure_delay` from now (15 minutes by default) and fly
   to their destination at their filed cruise speed (400 kt when none is filed).
3. **Flights not connected yet** (and prefiled ones): the entries history shows at the
   same weekday and time (the mean of the same quarter-hour on the same weekday in past
   weeks; without such weeks, on past days; without any, the last hour's rate), times
   the share of entries made by flights connected less than the lead time before (so
   the near buckets, which flights connected now dominate, take little of it), times
   the activity now against the activity of those past times (pilots connected plus
   prefiles filed, clipped to 0.5..2).

The band is Poisson around the sum plus a relative model error (`forecast_frame`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
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

EARTH_RADIUS_NM = 3440.065
AIRBORNE_KT = 50
STEP = timedelta(minutes=2)
DEFAULT_CRUISE_KT = 400.0
DEFAULT_DEPARTURE_DELAY = timedelta(minutes=15)
WEEKS_BACK = 4
DAYS_BACK = 6
SCALE_LIMITS = (0.5, 2.0)

Locator = Callable[[np.ndarray, np.ndarray], Sequence[str | None]]


@dataclass(frozen=True)
class ForecastInputs:
    """Everything a sector forecast at `now` reads.

    `flights`: one row per connected pilot at `now` with `flight_id`, `latitude`,
    `longitude`, `groundspeed`, `heading`, `departure`, `arrival`, `cruise_tas`.
    `airports`: `icao`, `latitude`, `longitude`.
    `history`: past `sector_load` rows (`sector_id`, `bucket_start`, `entries`), all
    before `now`.
    `connect_share`: per lead time in minutes (index), the share of entries made by
    flights connected less than that long before (see `connect_share`).
    `activity_scale`: activity now over activity at the history's times (1 when unknown).
    """

    now: pd.Timestamp
    flights: pd.DataFrame
    airports: pd.DataFrame
    history: pd.DataFrame
    connect_share: pd.Series
    activity_scale: float = 1.0
    departure_delay: timedelta = DEFAULT_DEPARTURE_DELAY


def _unit(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    phi, lam = np.radians(lat), np.radians(lon)
    return np.stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)], axis=-1)


def _lat_lon(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y, z = vectors[..., 0], vectors[..., 1], vectors[..., 2]
    return np.degrees(np.arctan2(z, np.hypot(x, y))), np.degrees(np.arctan2(y, x))


def _ahead(lat: np.ndarray, lon: np.ndarray, heading: np.ndarray, nm: np.ndarray):
    """The point `nm` ahead along an initial `heading` (degrees)."""
    delta = nm / EARTH_RADIUS_NM
    phi, lam, theta = np.radians(lat), np.radians(lon), np.radians(heading)
    phi2 = np.arcsin(np.sin(phi) * np.cos(delta) + np.cos(phi) * np.sin(delta) * np.cos(theta))
    lam2 = lam + np.arctan2(
        np.sin(theta) * np.sin(delta) * np.cos(phi), np.cos(delta) - np.sin(phi) * np.sin(phi2)
    )
    return np.degrees(phi2), (np.degrees(lam2) + 540.0) % 360.0 - 180.0


def _tas(values: pd.Series) -> np.ndarray:
    """Filed cruise speeds in knots; unreadable or implausible ones take the default."""
    speeds = pd.to_numeric(values.astype("string").str.extract(r"(\d+)")[0], errors="coerce")
    speeds = speeds.where((speeds >= 80) & (speeds <= 700))
    return speeds.fillna(DEFAULT_CRUISE_KT).to_numpy(dtype=float)


def _paths(inputs: ForecastInputs, steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(flight_ids, latitudes, longitudes): every flight's position at sample 0..steps,
    shape (flights, steps + 1)."""
    flights = inputs.flights
    airports = inputs.airports.drop_duplicates("icao")
    coords = airports.set_index("icao")[["latitude", "longitude"]].astype(float)
    arrival = coords.reindex(flights["arrival"].fillna("").str.upper())
    departure = coords.reindex(flights["departure"].fillna("").str.upper())
    lat = flights["latitude"].to_numpy(dtype=float)
    lon = flights["longitude"].to_numpy(dtype=float)
    speed = flights["groundspeed"].fillna(0).to_numpy(dtype=float)
    heading = flights["heading"].fillna(0).to_numpy(dtype=float)
    arr_lat = arrival["latitude"].to_numpy(dtype=float)
    arr_lon = arrival["longitude"].to_numpy(dtype=float)
    dep_lat = departure["latitude"].to_numpy(dtype=float)
    dep_lon = departure["longitude"].to_numpy(dtype=float)
    has_arrival = ~np.isnan(arr_lat)
    airborne = speed >= AIRBORNE_KT
    here = _unit(lat, lon)
    to_arrival = np.where(
        has_arrival, _distance(here, _unit(np.nan_to_num(arr_lat), np.nan_to_num(arr_lon))), np.inf
    )
    to_departure = np.where(
        ~np.isnan(dep_lat),
        _distance(here, _unit(np.nan_to_num(dep_lat), np.nan_to_num(dep_lon))),
        np.inf,
    )
    waiting = ~airborne & has_arrival & (to_departure < to_arrival)
    straight = airborne & ~has_arrival
    target_lat = np.where(has_arrival, arr_lat, lat)
    target_lon = np.where(has_arrival, arr_lon, lon)
    horizon_h = steps * STEP.total_seconds() / 3600
    ahead_lat, ahead_lon = _ahead(lat, lon, heading, speed * horizon_h)
    target_lat = np.where(straight, ahead_lat, target_lat)
    target_lon = np.where(straight, ahead_lon, target_lon)
    velocity = np.where(waiting, _tas(flights["cruise_tas"]), speed)
    delay_h = np.where(waiting, inputs.departure_delay.total_seconds() / 3600, 0.0)
    moving = airborne | waiting
    start, end = here, _unit(target_lat, target_lon)
    total = np.where(straight, np.maximum(speed * horizon_h, 1e-9), _distance(start, end))
    hours = np.arange(steps + 1) * STEP.total_seconds() / 3600
    flown = np.clip(velocity[:, None] * (hours[None, :] - delay_h[:, None]), 0, None)
    fraction = np.where(moving[:, None], np.clip(flown / np.maximum(total, 1e-9)[:, None], 0, 1), 0)
    points = _slerp(start, end, fraction)
    lats, lons = _lat_lon(points)
    return flights["flight_id"].to_numpy(), lats, lons


def _distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Great-circle distance in nautical miles between unit vectors."""
    cross = np.linalg.norm(np.cross(a, b), axis=-1)
    return EARTH_RADIUS_NM * np.arctan2(cross, np.sum(a * b, axis=-1))


def _slerp(a: np.ndarray, b: np.ndarray, fraction: np.ndarray) -> np.ndarray:
    """Points at `fraction` (flights, samples) of the way along each great circle a->b."""
    omega = np.arctan2(np.linalg.norm(np.cross(a, b), axis=-1), np.sum(a * b, axis=-1))
    omega = omega[:, None]
    small = omega < 1e-9
    sin_omega = np.where(small, 1.0, np.sin(omega))
    wa = np.where(small, 1 - fraction, np.sin((1 - fraction) * omega) / sin_omega)
    wb = np.where(small, fraction, np.sin(fraction * omega) / sin_omega)
    points = wa[..., None] * a[:, None, :] + wb[..., None] * b[:, None, :]
    return points / np.linalg.norm(points, axis=-1, keepdims=True)


def _locate_distinct(locate: Locator, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """`locate` of every point, asking once per distinct point: a flight standing still
    (on the ground, waiting) repeats its position at every sample, a third of them."""
    points = np.empty(len(lats), dtype=complex)  # one sortable value per point, exact
    points.real, points.imag = lats, lons
    distinct, inverse = np.unique(points, return_inverse=True)
    found = np.asarray(locate(distinct.real, distinct.imag), dtype=object)
    return found[inverse.reshape(-1)]


def _rolled_up(
    located: np.ndarray, parents: Mapping[str, Sequence[str]]
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(sample, target, names): each located sample once per sector it counts for (its
    own, then every sector above it), as integer codes into the sorted `names`.

    Done on integers: exploding and sorting the sector ids as strings in pandas took
    about a third of the forecast's CPU after locating."""
    codes, found = pd.factorize(located)  # None (outside every sector) is -1
    chains = [[sector, *parents.get(sector, ())] for sector in found]
    names = sorted({name for chain in chains for name in chain})
    number = {name: code for code, name in enumerate(names)}
    lengths = np.array([len(chain) for chain in chains], dtype=np.int64)
    members = np.array([number[name] for chain in chains for name in chain], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    sample = np.flatnonzero(codes >= 0)
    counts = lengths[codes[sample]]
    rows = np.repeat(sample, counts)
    within = np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)
    return rows, members[np.repeat(offsets[codes[sample]], counts) + within], names


def projected_entries(
    inputs: ForecastInputs, locate: Locator, parents: Mapping[str, Sequence[str]]
) -> pd.DataFrame:
    """Entries per (sector, bucket index) of the connected flights flown ahead."""
    buckets = len(bucket_starts(inputs.now))
    lead = (bucket_starts(inputs.now)[0] - inputs.now).total_seconds()
    steps = int((lead + buckets * BUCKET.total_seconds()) // STEP.total_seconds())
    if inputs.flights.empty:
        return pd.DataFrame(columns=["sector_id", "bucket", "entries"])
    _, lats, lons = _paths(inputs, steps)
    located = _locate_distinct(locate, lats.ravel(), lons.ravel())
    rows, target, names = _rolled_up(located, parents)
    flight, step = np.divmod(rows, steps + 1)
    # Each (flight, sector) run of consecutive samples, in step order (stable: a sector
    # listed twice for a sample counts as the original's exploded rows did).
    order = np.argsort((flight * len(names) + target) * (steps + 1) + step, kind="stable")
    flight, target, step = flight[order], target[order], step[order]
    continued = np.zeros(len(step), dtype=bool)
    continued[1:] = (flight[1:] == flight[:-1]) & (target[1:] == target[:-1])
    continued[1:] &= np.diff(step) == 1
    entered = ~continued & (step > 0)
    # An entry seen at sample k happened since sample k-1: count it at the midpoint.
    seconds = (step[entered] - 0.5) * STEP.total_seconds() - lead
    bucket = np.floor(seconds / BUCKET.total_seconds()).astype(int)
    inside = (bucket >= 0) & (bucket < buckets)
    cells = np.bincount(
        target[entered][inside] * buckets + bucket[inside], minlength=len(names) * buckets
    )
    occupied = np.flatnonzero(cells)
    return pd.DataFrame(
        {
            "sector_id": np.asarray(names, dtype=object)[occupied // buckets],
            "bucket": occupied % buckets,
            "entries": cells[occupied],
        }
    )


def history_expectation(history: pd.DataFrame, now: pd.Timestamp) -> pd.DataFrame:
    """Expected entries per (sector, bucket index) from the history: the same quarter-hour
    on the same weekday in past weeks, else on past days, else the last hour's rate."""
    starts = bucket_starts(now)
    if history.empty:
        return pd.DataFrame(columns=["sector_id", "bucket", "entries"])
    observed = set(history["bucket_start"].unique())
    table = history.set_index(["bucket_start", "sector_id"])["entries"]
    frames = []
    for index, start in enumerate(starts):
        weekly = [start - timedelta(weeks=w) for w in range(1, WEEKS_BACK + 1)]
        daily = [start - timedelta(days=d) for d in range(1, DAYS_BACK + 1)]
        lags = [t for t in weekly if t in observed] or [t for t in daily if t in observed]
        if lags:
            rows = table[table.index.get_level_values(0).isin(lags)]
            mean = rows.groupby(level=1).sum() / len(lags)
        else:
            recent = [now.floor(BUCKET) - BUCKET * k for k in range(1, 5)]
            rows = table[table.index.get_level_values(0).isin(recent)]
            mean = rows.groupby(level=1).sum() / len(recent)
        frames.append(
            pd.DataFrame({"sector_id": mean.index, "bucket": index, "entries": mean.values})
        )
    return pd.concat(frames, ignore_index=True)


def bucket_leads(now: pd.Timestamp) -> list[float]:
    """Minutes from `now` to the middle of each bucket of the horizon."""
    starts = bucket_starts(now)
    return [(start - now).total_seconds() / 60 + BUCKET.total_seconds() / 120 for start in starts]


def connect_share(delays: pd.Series, leads: Sequence[float]) -> pd.Series:
    """Share of entries made by flights connected less than each lead (minutes) before
    the entry, from the delays (minutes from connecting to entering) of recent entries."""
    values = np.sort(delays.dropna().to_numpy(dtype=float))
    if len(values) == 0:
        return pd.Series(np.ones(len(leads)), index=list(leads))
    return pd.Series(np.searchsorted(values, leads, side="left") / len(values), index=list(leads))


def sector_forecast(
    inputs: ForecastInputs, locate: Locator, parents: Mapping[str, Sequence[str]]
) -> pd.DataFrame:
    """The forecast frame of every sector with expected entries in the next two hours."""
    starts = bucket_starts(inputs.now)
    leads = bucket_leads(inputs.now)
    share = connect_share(pd.Series(dtype=float), leads)  # without recent entries: all new
    if not inputs.connect_share.empty:
        share = inputs.connect_share.reindex(leads, method="nearest")
    projected = projected_entries(inputs, locate, parents)
    expected = history_expectation(inputs.history, inputs.now)
    scale = float(np.clip(inputs.activity_scale, *SCALE_LIMITS))
    if not expected.empty:
        expected = expected.assign(
            entries=expected["entries"]
            * share.to_numpy()[expected["bucket"].to_numpy(dtype=int)]
            * scale
        )
    total = pd.concat([projected, expected], ignore_index=True)
    if total.empty:
        return empty_forecast()
    total = total.groupby(["sector_id", "bucket"], as_index=False)["entries"].sum()
    sectors = total["sector_id"].unique()
    grid = pd.MultiIndex.from_product(
        [sorted(sectors), range(len(starts))], names=["sector_id", "bucket"]
    )
    values = total.set_index(["sector_id", "bucket"])["entries"].reindex(grid, fill_value=0.0)
    frame = values.reset_index().rename(columns={"entries": "expected"})
    frame = frame.assign(
        target_kind="sector",
        target_id=frame["sector_id"],
        metric="entries",
        bucket_start=starts[frame["bucket"].to_numpy()],
    )
    return with_band(frame)[FORECAST_COLUMNS]
