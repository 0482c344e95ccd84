"""Takeoffs and landings detected from flight tracks, matched to VATSpy airports.

A track is a flight connection's positions, one per feed update (15 s). Each position is
*on the ground* when its ground speed is at most `ground_kt`. A departure is a ground
position followed, through positions that are all less than `max_gap_s` apart, by one
that is *airborne*: at least `airborne_kt` and `climb_ft` above that ground position.
An arrival is the same read backwards: an airborne position followed, without a gap, by
a ground position that it was `climb_ft` above. The movement's time is that of the
first position after the ground (departure: the take-off roll or the climb), or of the
first position after the last airborne one that is within `touchdown_ft` of the ground
(arrival: on the runway), so it is at most one feed update from the real moment. Its
place is the ground position, matched to the flight's filed departure or arrival
airport when one of them is within `airport_nm` (a heliport or airstrip can lie nearer
to a big airport's runway than its own reference point: St George Hospital, YXSG, at
Sydney), else to the nearest VATSpy airport within `airport_nm`.

What this rules out, by construction:
- a connection that starts or ends in the air has no ground position on that side, so
  no movement there;
- a data gap longer than `max_gap_s` between the ground and the air ends the search, so
  a gap never invents a movement (the flight was seen on the ground, then in the air,
  but not when it left);
- a paused simulator (ground speed 0 at altitude) is not on the ground of an airport:
  the ground position must be lower than `ground_max_ft`, and airborne is measured from
  it;
- a flight's movements alternate: after a departure the next one kept is an arrival,
  and the other way round. When a gap hid a landing, the next takeoff is dropped rather
  than recorded as a second takeoff in a row.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

EARTH_RADIUS_NM = 3440.065
POSITION_COLUMNS = ("flight_id", "observed_at", "latitude", "longitude", "altitude", "groundspeed")
MOVEMENT_COLUMNS = (
    "flight_id",
    "kind",
    "moved_at",
    "airport",
    "latitude",
    "longitude",
    "distance_nm",
)
DEPARTURE, ARRIVAL = "departure", "arrival"
CHUNK = 128  # points matched to airports at once


@dataclass(frozen=True)
class MovementSettings:
    """Thresholds of movement detection; see the README for where each default comes from.

    - `ground_kt` 40: aircraft taxi at 30 kt at most, light aircraft lift off above 50.
    - `airborne_kt` 50: a light aircraft's climb speed into a 20 kt wind; jets fly
      at 130 kt and more.
    - `climb_ft` 200: well above the scatter of a parked aircraft's reported altitude,
      and reached within 30 s of liftoff at any climb rate.
    - `airport_nm` 5: the runway ends of the largest airports (KDEN, KDFW, EHAM) lie
      within 3 nm of their VATSpy reference point.
    - `touchdown_ft` 50: the scatter of the altitude an aircraft reports on the runway.
    - `max_gap_s` 120: eight missed 15 s updates; a longer gap leaves the moment unknown.
    - `ground_max_ft` 15000: above the highest airport served (14,472 ft), below cruise.
    """

    ground_kt: float = 40.0
    airborne_kt: float = 50.0
    climb_ft: float = 200.0
    touchdown_ft: float = 50.0
    airport_nm: float = 5.0
    max_gap_s: float = 120.0
    ground_max_ft: float = 15000.0

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> MovementSettings:
        """Defaults, overridden by `VATSIM_MOVEMENT_<NAME>` (e.g. `VATSIM_MOVEMENT_GROUND_KT`)."""
        env = dict(os.environ if env is None else env)
        values = {}
        for name, default in cls().__dict__.items():
            raw = env.get(f"VATSIM_MOVEMENT_{name.upper()}")
            if raw is None or not raw.strip():
                values[name] = default
                continue
            try:
                values[name] = float(raw)
            except ValueError:
                raise ValueError(
                    f"VATSIM_MOVEMENT_{name.upper()}: {raw!r} is not a number"
                ) from None
            if values[name] <= 0:
                raise ValueError(f"VATSIM_MOVEMENT_{name.upper()}: must be positive")
        return cls(**values)


def _candidates(positions: pd.DataFrame, settings: MovementSettings) -> pd.DataFrame:
    """Every departure and arrival of the tracks, before airport matching: flight_id, kind,
    moved_at, and the ground position's latitude/longitude."""
    frame = positions.sort_values(["flight_id", "observed_at"], kind="stable")
    flight = frame["flight_id"].to_numpy()
    # Naive UTC datetime64 values: converting an aware column by iterating its
    # timestamps cost more than the whole detection.
    moments = frame["observed_at"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
    seconds = moments.astype("datetime64[ns]").astype(np.int64) / 1e9
    speed = frame["groundspeed"].fillna(0).to_numpy(dtype=float)
    height = frame["altitude"].fillna(0).to_numpy(dtype=float)
    ground = (speed <= settings.ground_kt) & (height <= settings.ground_max_ft)
    fast = speed >= settings.airborne_kt
    same = np.zeros(len(frame), dtype=bool)  # row i continues row i-1's track, no gap
    same[1:] = (flight[1:] == flight[:-1]) & (np.diff(seconds) <= settings.max_gap_s)
    found: list[tuple[int, str, int, int]] = []
    # Leaving the ground: ground at i, not ground at i+1 of the same track.
    for i in np.flatnonzero(ground[:-1] & ~ground[1:] & same[1:]):
        j = i + 1
        while j < len(frame) and same[j] and not ground[j]:
            if fast[j] and height[j] >= height[i] + settings.climb_ft:
                found.append((flight[i], DEPARTURE, i + 1, i))
                break
            j += 1
    # Reaching the ground: ground at j, not ground at j-1 of the same track.
    for j in np.flatnonzero(ground[1:] & ~ground[:-1] & same[1:]) + 1:
        k = j - 1
        while k >= 0 and not ground[k]:
            if fast[k] and height[k] >= height[j] + settings.climb_ft:
                down = k + 1
                while height[down] > height[j] + settings.touchdown_ft:
                    down += 1
                found.append((flight[j], ARRIVAL, down, j))
                break
            if not same[k]:
                break
            k -= 1
    rows = np.array([row[2:] for row in found], dtype=np.int64).reshape(-1, 2)
    return pd.DataFrame(
        {
            "flight_id": np.array([row[0] for row in found], dtype=np.int64),
            "kind": [row[1] for row in found],
            "moved_at": pd.to_datetime(moments[rows[:, 0]], utc=True),
            "latitude": frame["latitude"].to_numpy(dtype=float)[rows[:, 1]],
            "longitude": frame["longitude"].to_numpy(dtype=float)[rows[:, 1]],
        }
    )


def _unit_vectors(latitude: np.ndarray, longitude: np.ndarray) -> np.ndarray:
    lat, lon = np.radians(latitude), np.radians(longitude)
    return np.column_stack((np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)))


def nearest_airports(
    latitude: np.ndarray, longitude: np.ndarray, airports: pd.DataFrame, within_nm: float
) -> tuple[np.ndarray, np.ndarray]:
    """Index into `airports` (icao, latitude, longitude) of the nearest airport to each
    point and its distance in nm; -1 where none is within `within_nm`.

    The points are taken in latitude order, `CHUNK` at a time, each chunk against the
    airports of its latitude band only, compared by chord length of unit vectors
    (monotonic in great-circle distance): a few small matrix products however many
    points and airports there are."""
    count = len(latitude)
    index = np.full(count, -1, dtype=np.int64)
    distance = np.full(count, np.inf)
    if not count or airports.empty:
        return index, distance
    band_deg = within_nm / 60.0 + 0.01
    lats = airports["latitude"].to_numpy(dtype=float)
    order = np.argsort(lats)
    sorted_lats = lats[order]
    vectors = _unit_vectors(lats, airports["longitude"].to_numpy(dtype=float))[order]
    points = _unit_vectors(np.asarray(latitude, float), np.asarray(longitude, float))
    by_latitude = np.argsort(latitude)
    for start in range(0, count, CHUNK):
        chunk = by_latitude[start : start + CHUNK]
        low, high = np.searchsorted(
            sorted_lats, [latitude[chunk].min() - band_deg, latitude[chunk].max() + band_deg]
        )
        if low == high:
            continue
        chord = np.linalg.norm(points[chunk, None, :] - vectors[None, low:high, :], axis=2)
        best = np.argmin(chord, axis=1)
        nm = (
            2 * EARTH_RADIUS_NM * np.arcsin(np.minimum(1.0, chord[np.arange(len(chunk)), best] / 2))
        )
        near = nm <= within_nm
        index[chunk[near]] = order[low + best[near]]
        distance[chunk[near]] = nm[near]
    return index, distance


def _alternate(movements: pd.DataFrame, before: Mapping[int, str] | None) -> pd.DataFrame:
    """Keep a movement only when it differs in kind from the flight's previous kept one
    (or, first, from its movement `before`, the last one stored before these tracks)."""
    keep = []
    previous: dict[int, str] = dict(before or {})
    for row in movements.itertuples(index=False):
        if previous.get(row.flight_id) != row.kind:
            keep.append(True)
            previous[row.flight_id] = row.kind
        else:
            keep.append(False)
    return movements[np.array(keep, dtype=bool)]


def _distance_nm(lat1, lon1, lat2, lon2) -> np.ndarray:
    chord = np.linalg.norm(_unit_vectors(lat1, lon1) - _unit_vectors(lat2, lon2), axis=1)
    return 2 * EARTH_RADIUS_NM * np.arcsin(np.minimum(1.0, chord / 2))


def _prefer_filed(
    found: pd.DataFrame,
    index: np.ndarray,
    distance: np.ndarray,
    airports: pd.DataFrame,
    filed: pd.DataFrame,
    within_nm: float,
) -> None:
    """Replace, in place, the nearest airport by a filed one within `within_nm`."""
    row_of = pd.Series(np.arange(len(airports)), index=airports["icao"].to_numpy())
    row_of = row_of[~row_of.index.duplicated()]
    plans = filed.drop_duplicates("flight_id").set_index("flight_id")
    for column in ("arrival", "departure"):
        codes = found["flight_id"].map(plans[column]) if column in plans else None
        if codes is None:
            continue
        rows = codes.map(row_of).to_numpy(dtype=float)
        known = ~np.isnan(rows)
        rows = np.where(known, rows, 0).astype(np.int64)
        nm = np.where(
            known,
            _distance_nm(
                found["latitude"].to_numpy(),
                found["longitude"].to_numpy(),
                airports["latitude"].to_numpy(dtype=float)[rows],
                airports["longitude"].to_numpy(dtype=float)[rows],
            ),
            np.inf,
        )
        better = known & (nm <= within_nm)
        index[better], distance[better] = rows[better], nm[better]


def detect_movements(
    positions: pd.DataFrame,
    airports: pd.DataFrame,
    settings: MovementSettings,
    filed: pd.DataFrame | None = None,
    before: Mapping[int, str] | None = None,
) -> pd.DataFrame:
    """Departures and arrivals of the tracks in `positions` (columns `POSITION_COLUMNS`,
    any order) at the airports of `airports` (icao, latitude, longitude), preferring the
    airports `filed` (flight_id, departure, arrival) in the flights' plans: one row per
    movement with `MOVEMENT_COLUMNS`, ordered by flight and time. `before` holds the kind
    of each flight's last movement before these tracks, where one is known."""
    if positions.empty:
        return pd.DataFrame({name: [] for name in MOVEMENT_COLUMNS})
    found = _candidates(positions, settings)
    index, distance = nearest_airports(
        found["latitude"].to_numpy(), found["longitude"].to_numpy(), airports, settings.airport_nm
    )
    if filed is not None and not filed.empty and not found.empty:
        _prefer_filed(found, index, distance, airports, filed, settings.airport_nm)
    matched = index >= 0
    found = found[matched].assign(
        airport=airports["icao"].to_numpy()[index[matched]],
        distance_nm=np.round(distance[matched], 3),
    )
    # An arrival and the next departure never share a moment; sort departures last on
    # ties so that the order is the same however the positions came in.
    found = found.sort_values(["flight_id", "moved_at", "kind"], kind="stable")
    return _alternate(found, before).reset_index(drop=True)[list(MOVEMENT_COLUMNS)]


# How far around an hour its movements are read from: far enough back for the ground
# position before a takeoff (`max_gap_s` at most), far enough ahead for the ground
# position after a landing roll-out. Which movement came last before the window is read
# from the stored movements instead (`before`), so the window stays short.
LOOKBACK = pd.Timedelta(minutes=20)
LOOKAHEAD = pd.Timedelta(minutes=10)


def track_window(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The positions to read for the movements of [start, end)."""
    return start - LOOKBACK.to_pytimedelta(), end + LOOKAHEAD.to_pytimedelta()


def movements_between(
    positions: pd.DataFrame,
    airports: pd.DataFrame,
    settings: MovementSettings,
    filed: pd.DataFrame | None,
    start: datetime,
    end: datetime,
    before: Mapping[int, str] | None = None,
) -> pd.DataFrame:
    """The movements of [start, end) detected from the positions of `track_window`, each
    flight's movements alternating from its last one stored before the window (`before`):
    the same positions and earlier hours always give the same rows, so an hour computed
    alone equals the same hour computed within a day (hours are computed in order)."""
    found = detect_movements(positions, airports, settings, filed, before)
    moment = found["moved_at"]
    return found[(moment >= start) & (moment < end)].reset_index(drop=True)
