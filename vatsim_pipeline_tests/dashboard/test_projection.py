"""The Mercator paths the server draws for the page: exact to a world unit, unwrapped
across the antimeridian, and the shipped base map decoded whole."""

from __future__ import annotations

import re
from importlib.resources import files

import numpy as np
import orjson
import pytest

from vatsim_pipeline.dashboard.basemap import LAND, land_path
from vatsim_pipeline.dashboard.projection import WORLD, flat_rings_path, mercator


def points_of(path: str) -> list[np.ndarray]:
    """Absolute points of each ring of `M x y l dx dy ... z` path data."""
    rings = []
    for match in re.finditer(r"M(-?\d+) (-?\d+)l([-\d ]*)z", path):
        start = np.array([int(match[1]), int(match[2])])
        steps = np.array(match[3].split(), dtype=np.int64).reshape(-1, 2)
        rings.append(np.vstack([start, start + np.cumsum(steps, axis=0)]))
    return rings


def test_mercator_corners_and_equator():
    x, y = mercator(np.array([-180.0, 0.0, 180.0]), np.array([85.0, 0.0, -85.0]))
    assert x.tolist() == [0, WORLD / 2, WORLD]
    assert y[1] == pytest.approx(WORLD / 2)
    # 85 degrees is a sliver short of the square's edge.
    assert 0 < y[0] < WORLD * 0.002
    assert WORLD * 0.998 < y[2] < WORLD


def test_a_ring_is_exact_to_one_world_unit():
    ring = [8.5, 50.0, 9.0, 50.0, 9.0, 50.5, 8.5, 50.5, 8.5, 50.0]
    (points,) = points_of(flat_rings_path([ring]))
    x, y = mercator(np.array(ring[::2]), np.array(ring[1::2]))
    assert np.abs(points - np.column_stack([x, y])).max() <= 0.5 + 1e-9


def test_a_ring_across_the_antimeridian_continues_past_it():
    ring = [179.0, 10.0, -179.0, 10.0, -179.0, 11.0, 179.0, 11.0, 179.0, 10.0]
    (points,) = points_of(flat_rings_path([ring]))
    assert np.abs(np.diff(points[:, 0])).max() < WORLD / 100
    assert points[:, 0].max() > WORLD  # drawn east of +180, not across the map


def test_a_ring_starting_across_the_antimeridian_stays_on_the_map():
    # Starts at -179 (east of the line), then runs west of it: most of it lies near +170.
    ring = [-179.0, 60.0, 170.0, 60.0, 160.0, 50.0, 170.0, 50.0, -179.0, 60.0]
    (points,) = points_of(flat_rings_path([ring]))
    lons = points[:, 0] / WORLD * 360 - 180
    assert lons.min() == pytest.approx(160, abs=0.01)
    assert lons.max() == pytest.approx(181, abs=0.01)


def test_the_base_map_holds_every_ring_of_the_shipped_land():
    topology = orjson.loads((files("vatsim_pipeline.dashboard") / LAND).read_bytes())
    geometries = topology["objects"]["land"]["geometries"]
    rings = sum(
        len(polygon)
        for g in geometries
        for polygon in (g["arcs"] if g["type"] == "MultiPolygon" else [g["arcs"]])
    )
    drawn = points_of(land_path())
    assert len(drawn) == rings > 1000
    assert all(ring[:, 1].min() >= 0 and ring[:, 1].max() <= WORLD for ring in drawn)
