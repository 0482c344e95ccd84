"""The base map: land from the vendored Natural Earth data (npm `world-atlas` 2.0.2,
`static/vendor/world-atlas/`, public domain data, ISC-licensed packaging) as one
Mercator path (see `projection`), decoded from TopoJSON once per process."""

from __future__ import annotations

from functools import cache
from importlib.resources import files

import numpy as np
import orjson

from vatsim_pipeline.dashboard.projection import rings_path

LAND = "static/vendor/world-atlas/land-50m.json"


def _arcs(topology: dict) -> list[np.ndarray]:
    """The arcs as absolute lon/lat arrays (quantized, delta-encoded in the file)."""
    scale = np.asarray(topology["transform"]["scale"], dtype=float)
    translate = np.asarray(topology["transform"]["translate"], dtype=float)
    return [
        np.cumsum(np.asarray(arc, dtype=float), axis=0) * scale + translate
        for arc in topology["arcs"]
    ]


def _ring(arcs: list[np.ndarray], indices: list[int]) -> np.ndarray:
    """A ring from arc indices (negative: the arc reversed, `~index`); consecutive arcs
    share their joining point, kept once."""
    parts = []
    for n, index in enumerate(indices):
        arc = arcs[~index][::-1] if index < 0 else arcs[index]
        parts.append(arc if n == 0 else arc[1:])
    return np.concatenate(parts)


def topology_path(topology: dict, name: str) -> str:
    """Every polygon ring of one TopoJSON object as one Mercator path."""
    arcs = _arcs(topology)
    rings = []
    for geometry in topology["objects"][name]["geometries"]:
        if geometry.get("type") == "Polygon":
            polygons = [geometry["arcs"]]
        elif geometry.get("type") == "MultiPolygon":
            polygons = geometry["arcs"]
        else:
            continue
        for polygon in polygons:
            for indices in polygon:
                ring = _ring(arcs, indices)
                rings.append((ring[:, 0], ring[:, 1]))
    return rings_path(rings)


@cache
def land_path() -> str:
    """The land of the world as one Mercator path."""
    topology = orjson.loads((files("vatsim_pipeline.dashboard") / LAND).read_bytes())
    return topology_path(topology, "land")
