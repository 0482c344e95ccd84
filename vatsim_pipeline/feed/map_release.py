"""A map-data release of the simulator's world, in the shape of VATSIM's own, so that the
local feed server can announce and serve sector boundaries and the offline pipeline
loads its sectors through the same download path as the live release.

Origin (licence): everything is generated here from the simulator's tables in
`feed/airports.py` (airport reference points and FIR label points, facts); no boundary
file of VATSpy or simaware is shipped or copied. Each FIR of the table is a circle of its
radius around its label point, each airport's TRACON a circle of its approach radius
(60 nm): rough shapes, but the simulated traffic flies inside them and the simulated
controllers' callsigns staff them, which is all the demo needs.

- `VATSpy.dat`: an `[Airports]` line `ICAO|name|lat|lon|IATA|FIR|0` per airport (the
  FIR is the nearest centre covering it), a `[FIRs]` line `ICAO|name|callsign
  prefix|boundary id` per FIR centre (`EGTT|London Control|LON_S|EGTT-S`); no UIRs.
- `Boundaries.geojson`: one Polygon feature per boundary id, properties as strings.
- `TRACONBoundaries.geojson`: one feature per airport, `id` and `prefix` its callsign
  prefix (`JFK`), staffed by its APP and DEP positions.

The release's commit is a digest of the three files, so it changes only when they do.
"""

from __future__ import annotations

import functools
import hashlib
from collections import Counter
from dataclasses import dataclass

import orjson

from vatsim_pipeline.feed.airports import AIRPORTS, FIRS, Airport, Fir, distance_nm, offset

ANNOUNCE_PATH = "/api/map_data/"
FILES_PATH = "/map_data/"
VATSPY_DAT = "VATSpy.dat"
BOUNDARIES = "Boundaries.geojson"
TRACONS = "TRACONBoundaries.geojson"
TRACON_RADIUS_NM = 60.0
CIRCLE_POINTS = 72


@dataclass(frozen=True)
class MapRelease:
    """The three files of one release, as served, and the commit that names them."""

    commit: str
    files: dict[str, bytes]

    def announcement(self, base_url: str) -> dict[str, str]:
        """What `GET /api/map_data/` answers, like api.vatsim.net, with this server's URLs."""
        files = base_url.rstrip("/") + FILES_PATH
        return {
            "current_commit_hash": self.commit,
            "vatspy_dat_url": files + VATSPY_DAT,
            "fir_boundaries_geojson_url": files + BOUNDARIES,
        }


def _circle(latitude: float, longitude: float, radius_nm: float) -> list[list[float]]:
    """A closed ring of `CIRCLE_POINTS` points `radius_nm` around a point, [lon, lat]."""
    ring = []
    for step in range(CIRCLE_POINTS):
        lat, lon = offset(latitude, longitude, 360.0 * step / CIRCLE_POINTS, radius_nm)
        ring.append([round(lon, 4), round(lat, 4)])
    return [*ring, ring[0]]


def _feature(properties: dict[str, str], ring: list[list[float]]) -> dict:
    return {
        "type": "Feature",
        "properties": properties,
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


def _boundary_ids() -> dict[Fir, str]:
    """A FIR's own ICAO, or `ICAO-<part>` when several centres share it (EGTT-S, EGTT-C)."""
    shared = Counter(fir.icao for fir in FIRS)
    ids = {}
    for fir in FIRS:
        part = fir.callsign.removesuffix("_CTR").rsplit("_", 1)[-1]
        ids[fir] = fir.icao if shared[fir.icao] == 1 else f"{fir.icao}-{part}"
    return ids


def _airport_line(airport: Airport, ids: dict[Fir, str]) -> str:
    """`ICAO|name|lat|lon|IATA|FIR|0`: the IATA code where the callsign prefix is one
    (JFK), the FIR whose circle holds the airport, nearest centre first."""
    iata = airport.prefix if len(airport.prefix) == 3 else ""
    around = sorted(
        (distance_nm(airport.latitude, airport.longitude, fir.latitude, fir.longitude), ids[fir])
        for fir in FIRS
    )
    fir = next((fir_id for miles, fir_id in around if miles <= _radius(fir_id, ids)), "")
    return f"{airport.icao}|{airport.name}|{airport.latitude}|{airport.longitude}|{iata}|{fir}|0"


def _radius(fir_id: str, ids: dict[Fir, str]) -> float:
    return next(fir.radius_nm for fir, given in ids.items() if given == fir_id)


def _vatspy_dat(ids: dict[Fir, str]) -> bytes:
    lines = [
        "; VATSpy.dat of the vatsim-pipeline simulator's world, generated from",
        "; vatsim_pipeline/feed/airports.py (FIR centres as circles); not VATSpy data.",
        "[Countries]",
        "[Airports]",
        *(_airport_line(airport, ids) for airport in AIRPORTS),
        "[FIRs]",
        *(f"{fir.icao}|{fir.name}|{fir.callsign.removesuffix('_CTR')}|{ids[fir]}" for fir in FIRS),
        "[UIRs]",
        "[IDL]",
    ]
    return ("\n".join(lines) + "\n").encode()


def _boundaries(ids: dict[Fir, str]) -> bytes:
    features = [
        _feature(
            {
                "id": ids[fir],
                "oceanic": "0",
                "label_lon": str(fir.longitude),
                "label_lat": str(fir.latitude),
                "region": "SIM",
                "division": "SIM",
            },
            _circle(fir.latitude, fir.longitude, fir.radius_nm),
        )
        for fir in FIRS
    ]
    return orjson.dumps({"type": "FeatureCollection", "features": features})


def _tracons() -> bytes:
    features = [
        _feature(
            {"id": airport.prefix, "prefix": [airport.prefix], "name": f"{airport.name} Approach"},
            _circle(airport.latitude, airport.longitude, TRACON_RADIUS_NM),
        )
        for airport in AIRPORTS
    ]
    return orjson.dumps({"type": "FeatureCollection", "features": features})


@functools.cache
def simulated_release() -> MapRelease:
    """The release of the simulator's world (built once per process)."""
    ids = _boundary_ids()
    files = {VATSPY_DAT: _vatspy_dat(ids), BOUNDARIES: _boundaries(ids), TRACONS: _tracons()}
    digest = hashlib.sha256()
    for name, body in files.items():
        digest.update(name.encode() + b"\0" + body)
    return MapRelease(commit=f"sim-{digest.hexdigest()[:12]}", files=files)
