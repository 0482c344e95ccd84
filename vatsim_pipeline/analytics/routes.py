"""City pairs: how many flights took off for each filed departure and arrival.

A flight counts once, in the hour of its detected takeoff, under the airports of its
flight plan: a connection that drops and comes back in the air has no takeoff of its
own, so a reconnection never counts twice, and a flight without a plan (or with one
airport missing, or the same at both ends) counts in no pair.
"""

from __future__ import annotations

import pandas as pd

ROUTE_COLUMNS = ["hour_start", "departure", "arrival", "flights"]


def route_flights(movements: pd.DataFrame) -> pd.DataFrame:
    """Flights per hour and city pair from `movements` (kind, moved_at, departure,
    arrival as filed), one row per pair that had one."""
    takeoffs = movements[movements["kind"] == "departure"]
    departure = takeoffs["departure"].fillna("").str.strip().str.upper()
    arrival = takeoffs["arrival"].fillna("").str.strip().str.upper()
    valid = (departure != "") & (arrival != "") & (departure != arrival)
    if not valid.any():
        return pd.DataFrame({name: [] for name in ROUTE_COLUMNS})
    pairs = pd.DataFrame(
        {
            "hour_start": takeoffs["moved_at"][valid].dt.floor("h"),
            "departure": departure[valid],
            "arrival": arrival[valid],
        }
    )
    counted = pairs.groupby(["hour_start", "departure", "arrival"]).size()
    return counted.rename("flights").reset_index()[ROUTE_COLUMNS]
