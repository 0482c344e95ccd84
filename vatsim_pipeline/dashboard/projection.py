"""Web Mercator paths for the map, computed on the server once per sector set and base
map, so that the page turns each into a canvas `Path2D` with one native parse instead of
a hundred thousand `lineTo` calls (about half a second in software rendering).

Coordinates are "world units": the Mercator square is `WORLD` units wide (about 38 m a
unit at the equator), rounded to whole units, written as SVG path data with relative
moves (`M x y l dx dy ... z`), which keeps the numbers short. The page's
`lib/geo.js` projects flights with the same formula and constant.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

WORLD = 1 << 20
MAX_LAT = 85.0


def mercator(lons: np.ndarray, lats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Longitudes/latitudes (degrees) to world units; latitudes clamped to +-85."""
    phi = np.radians(np.clip(lats, -MAX_LAT, MAX_LAT))
    x = (lons + 180.0) / 360.0 * WORLD
    y = (0.5 - np.log(np.tan(np.pi / 4 + phi / 2)) / (2 * np.pi)) * WORLD
    return x, y


def ring_path(lons: np.ndarray, lats: np.ndarray) -> str:
    """One closed ring as SVG path data. A ring cut at the antimeridian (a jump of more
    than 180 degrees) is unwrapped to continue past +-180 instead of striking across
    the map, then moved by whole turns so that its middle lies within +-180 (Eurasia,
    starting at Chukotka, would otherwise unwind one world to the west)."""
    if len(lons) < 3:
        return ""
    unwrapped = np.unwrap(lons, period=360.0)
    middle = (unwrapped.min() + unwrapped.max()) / 2
    x, y = mercator(unwrapped - 360.0 * np.round(middle / 360.0), lats)
    xi = np.rint(x).astype(np.int64)
    yi = np.rint(y).astype(np.int64)
    deltas = np.column_stack((np.diff(xi), np.diff(yi)))
    deltas = deltas[(deltas != 0).any(axis=1)]
    steps = " ".join(map(str, deltas.ravel().tolist()))
    return f"M{xi[0]} {yi[0]}l{steps}z"


def rings_path(rings: Iterable[tuple[np.ndarray, np.ndarray]]) -> str:
    """Several rings (lons, lats) as one path."""
    return "".join(ring_path(lons, lats) for lons, lats in rings)


def flat_rings_path(rings: Iterable[list[float]]) -> str:
    """Rings given as flat [lon, lat, lon, lat, ...] lists as one path."""
    parts = []
    for flat in rings:
        pairs = np.asarray(flat, dtype=float).reshape(-1, 2)
        parts.append(ring_path(pairs[:, 0], pairs[:, 1]))
    return "".join(parts)
