"""The parameters of the API's routes, declared once with every constraint the server
enforces (ranges, lengths, patterns), so that `/api/openapi.json` states exactly what is
accepted: a request the document allows is answered, one it refuses is a 400.

Route modules in other rooms reuse these (`Limit`, `Offset`, `Since`, ...) to take the
same values with the same words.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Path, Query

from vatsim_pipeline.storage.reads_base import BBOX_PATTERN, MAX_LIMIT, MAX_OFFSET
from vatsim_pipeline.storage.reads_sectors import KINDS
from vatsim_pipeline.storage.reads_window import TIME_HELP, TIME_PATTERN

AIRPORT_PATTERN = r"^[A-Za-z0-9]{1,8}$"
CALLSIGN_PATTERN = r"^[A-Za-z0-9_-]{1,32}$"
SECTOR_PATTERN = r"^[\x21-\x7e](?:[\x20-\x7e]{0,62}[\x21-\x7e])?$"
"""Printable ASCII, no space at either end: VATSpy and TRACON ids hold ':', '/', ' '."""

MISMATCH = "x-mismatch"
"""Schema keyword of a pattern's reason in words, for the 400 of a value that misses it."""


def _words(reason: str) -> dict[str, dict[str, str]]:
    return {"json_schema_extra": {MISMATCH: reason}}


AIRPORT = _words("is not an ICAO code (1 to 8 letters and digits)")
TIME = _words("is neither a duration (30s, 90m, 24h, 7d, 2w) nor an ISO time")
BBOX = _words("is not min_lat,min_lon,max_lat,max_lon in degrees (e.g. 35,-10,60,30)")
CALLSIGN = _words("is not a callsign (letters, digits, '_', '-') or a flight id")
SECTOR = _words("is not a sector id (printable ASCII, at most 64 characters)")

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip.")]
Departure = Annotated[
    str | None,
    Query(
        pattern=AIRPORT_PATTERN,
        **AIRPORT,
        description="Planned departure (ICAO).",
        examples=["EGLL"],
    ),
]
Arrival = Annotated[
    str | None,
    Query(
        pattern=AIRPORT_PATTERN, **AIRPORT, description="Planned arrival (ICAO).", examples=["KJFK"]
    ),
]
Since = Annotated[
    str | None,
    Query(
        pattern=TIME_PATTERN,
        **TIME,
        description=f"Start of the window: {TIME_HELP}. Default: 24 hours before `until`. "
        "A `since` after `until` is an empty window.",
        examples=["24h"],
    ),
]
Until = Annotated[
    str | None,
    Query(
        pattern=TIME_PATTERN,
        **TIME,
        description=f"End of the window: {TIME_HELP}. Default: the newest feed update.",
        examples=["2024-11-22T12:00:00Z"],
    ),
]
Callsign = Annotated[
    str,
    Path(
        pattern=CALLSIGN_PATTERN,
        **CALLSIGN,
        description="A callsign (the latest connection that used it) or, all digits, a flight id.",
        examples=["QFA63"],
    ),
]
SectorId = Annotated[
    str, Path(pattern=SECTOR_PATTERN, **SECTOR, description="Sector id.", examples=["EGTT"])
]
SectorFilter = Annotated[
    str | None,
    Query(
        pattern=SECTOR_PATTERN,
        **SECTOR,
        description="Sector id: flights whose latest position it covers (unknown: 404).",
        examples=["EGTT"],
    ),
]
Bbox = Annotated[
    str | None,
    Query(
        pattern=BBOX_PATTERN,
        **BBOX,
        description="min_lat,min_lon,max_lat,max_lon in degrees. Latitudes in either "
        "order; min_lon greater than max_lon is a box across the antimeridian.",
        examples=["35,-10,60,30"],
    ),
]
Kind = Annotated[
    Literal[KINDS] | None,
    Query(description="Only sectors of this kind."),
]
Geometry = Annotated[bool, Query(description="Include the GeoJSON boundary.")]
