"""The sector forecast locates each distinct sampled point once: the answer per point
must be what locating every point gives, in the same order, on the real sectors."""

from __future__ import annotations

import numpy as np

from vatsim_pipeline.analytics.sector_forecast import _locate_distinct
from vatsim_pipeline_tests.analytics.simulated import sectors_and_index


def test_locating_distinct_points_answers_every_point_as_locating_each() -> None:
    index = sectors_and_index()[1].index
    rng = np.random.default_rng(3)
    moving_lat, moving_lon = rng.uniform(-60, 70, 500), rng.uniform(-180, 180, 500)
    # Flights standing still repeat their point (a gate at Frankfurt, one at Atlanta,
    # one on the antimeridian), interleaved with moving ones; -0.0 and 0.0 both occur.
    still_lat = np.tile([50.033, 33.640, -17.0, 0.0, -0.0], 100)
    still_lon = np.tile([8.570, -84.427, 180.0, -0.0, 0.0], 100)
    lats = np.ravel(np.column_stack([moving_lat, still_lat]))
    lons = np.ravel(np.column_stack([moving_lon, still_lon]))
    found = _locate_distinct(index.locate_many, lats, lons)
    assert list(found) == index.locate_many(lats, lons)
    assert list(found[1:4:2]) == ["TRACON:EDDF", "TRACON:A80:ATL"]
    assert None in set(found) and len(set(found)) > 100
