"""Flights' stays in sectors as frames: rolled up to every sector above the one located,
merged per flight, and clipped to a window.

A stay frame has the columns `flight_id`, `sector_id`, `entered_at`, `exited_at` (UTC
timestamps; a stay still open ends at the flight's last position). Occupancy records the
most specific sector of each position only, so a flight moving from a TRACON into the
FIR around it leaves the TRACON at the instant it enters the FIR's own airspace: for the
FIR it is one stay, not an exit and an entry. `rolled_up` therefore lists every stay
under each sector above it, and `merged` joins the stays of one flight in one sector
that touch or overlap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

STAY_COLUMNS = ["flight_id", "sector_id", "entered_at", "exited_at"]


def empty_stays() -> pd.DataFrame:
    """A stay frame without rows, with the right dtypes."""
    return pd.DataFrame(
        {
            "flight_id": pd.Series(dtype="int64"),
            "sector_id": pd.Series(dtype="object"),
            "entered_at": pd.Series(dtype="datetime64[ns, UTC]"),
            "exited_at": pd.Series(dtype="datetime64[ns, UTC]"),
        }
    )


def stays_frame(rows: Sequence[tuple]) -> pd.DataFrame:
    """A stay frame from (flight_id, sector_id, entered_at, exited_at) rows."""
    if not rows:
        return empty_stays()
    frame = pd.DataFrame.from_records(rows, columns=STAY_COLUMNS)
    frame["flight_id"] = frame["flight_id"].astype("int64")
    for column in ("entered_at", "exited_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def rolled_up(stays: pd.DataFrame, parents: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """Each stay once for its own sector and once for every sector above it."""
    if stays.empty:
        return stays
    targets = {s: [s, *parents.get(s, ())] for s in stays["sector_id"].unique()}
    expanded = stays.assign(sector_id=stays["sector_id"].map(targets)).explode("sector_id")
    return expanded.reset_index(drop=True)


def merged(stays: pd.DataFrame) -> pd.DataFrame:
    """The stays of each flight in each sector joined where they touch or overlap."""
    if stays.empty:
        return stays
    ordered = stays.sort_values(["sector_id", "flight_id", "entered_at"], kind="stable")
    keys = ordered[["sector_id", "flight_id"]]
    same_pair = (keys == keys.shift()).all(axis=1).to_numpy()
    # The latest exit so far within the pair: a stay starting after it starts anew.
    reach = ordered.groupby(["sector_id", "flight_id"], sort=False)["exited_at"].cummax()
    new_stay = ~same_pair | (ordered["entered_at"].to_numpy() > reach.shift().to_numpy())
    result = (
        ordered.assign(_stay=np.cumsum(new_stay))
        .groupby("_stay", sort=False)
        .agg(
            flight_id=("flight_id", "first"),
            sector_id=("sector_id", "first"),
            entered_at=("entered_at", "min"),
            exited_at=("exited_at", "max"),
        )
    )
    return result.reset_index(drop=True)


def seconds_since(values: pd.Series, origin: pd.Timestamp) -> np.ndarray:
    """Seconds from `origin` to each timestamp, as floats."""
    return (values - origin).dt.total_seconds().to_numpy()
