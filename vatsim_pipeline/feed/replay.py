"""Replay of recorded feed payloads, for the local feed server.

A folder of real `vatsim-data*.json` files becomes a feed again: one snapshot per step,
in `update_timestamp` order, staying on the last one at the end, as a stalled upstream
would. Every file is checked before anything is served, so a folder holding a file that
is not a data feed fails at once with that file's name. Payloads are read from disk when
their turn comes, so a day of recordings does not have to fit in memory.

When the folder holds `transceivers-data*.json` files, the i-th (by name) goes with the
i-th snapshot and the last one stays; otherwise transceivers are derived from the
snapshot: each pilot at its position, tuned to the nearest controller the airport tables
can place (or UNICOM), and each such controller at its place. Controllers the tables
cannot place get an empty list, as some stations have in the real feed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import orjson

from vatsim_pipeline.feed.airports import FEET_TO_M, locate
from vatsim_pipeline.feed.landing import payload_suffix, read_payload
from vatsim_pipeline.feed.parse import (
    PayloadError,
    RecordError,
    frequency_to_hz,
    update_timestamp_of,
)

UNICOM_HZ = 122_800_000


class ReplayError(ValueError):
    """A replay folder or file that cannot be served; `path` says which, `reason` why."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


@dataclass(frozen=True)
class Recording:
    """One recorded data-feed payload on disk, and the transceivers payload paired with it."""

    path: Path
    update_timestamp: datetime
    transceivers_path: Path | None


def _load(path: Path) -> object:
    try:
        return orjson.loads(read_payload(path))
    except OSError as error:
        raise ReplayError(path, f"cannot be read ({error.strerror or error})") from None
    except orjson.JSONDecodeError as error:
        raise ReplayError(path, f"is not a VATSIM feed: not JSON ({error})") from None


def _check_data_feed(path: Path) -> datetime:
    document = _load(path)
    try:
        timestamp = update_timestamp_of(document)
    except PayloadError as error:
        raise ReplayError(path, f"is not a VATSIM data feed: {error}") from None
    for section in ("pilots", "controllers"):
        if not isinstance(document.get(section), list):  # type: ignore[union-attr]
            raise ReplayError(path, f"is not a VATSIM data feed: it has no '{section}' list")
    return timestamp


def _payload_files(directory: Path, prefix: str) -> list[Path]:
    """Recorded or landed payloads of `prefix`, compressed or not, by name."""
    return sorted(p for p in directory.glob(f"{prefix}*") if payload_suffix(p.name))


def load_recordings(directory: Path) -> list[Recording]:
    """The recordings of `directory`, oldest first; `ReplayError` when it cannot be replayed."""
    if not directory.exists():
        raise ReplayError(directory, "no such directory")
    if not directory.is_dir():
        raise ReplayError(directory, "is not a directory")
    data_files = _payload_files(directory, "vatsim-data")
    if not data_files:
        raise ReplayError(directory, "holds no vatsim-data*.json payloads")
    transceiver_files = _payload_files(directory, "transceivers-data")
    for path in transceiver_files:
        if not isinstance(_load(path), list):
            raise ReplayError(path, "is not a VATSIM transceivers feed: not a JSON list")
    stamped = sorted((_check_data_feed(path), path.name, path) for path in data_files)
    return [
        Recording(
            path=path,
            update_timestamp=timestamp,
            transceivers_path=transceiver_files[min(index, len(transceiver_files) - 1)]
            if transceiver_files
            else None,
        )
        for index, (timestamp, _, path) in enumerate(stamped)
    ]


class Replay:
    """Serves recordings one per step, staying on the last; a feed source for the server."""

    def __init__(self, recordings: list[Recording]) -> None:
        if not recordings:
            raise ValueError("nothing to replay")
        self.recordings = recordings
        self.index = 0

    def step(self, seconds: float) -> None:
        """Move to the next recording (one per step, whatever `seconds` says)."""
        self.index = min(self.index + 1, len(self.recordings) - 1)

    def render(self) -> tuple[datetime, bytes, bytes]:
        """Update timestamp, data-feed bytes and transceivers bytes of the current recording."""
        recording = self.recordings[self.index]
        data = read_payload(recording.path)
        if recording.transceivers_path is not None:
            return recording.update_timestamp, data, read_payload(recording.transceivers_path)
        return recording.update_timestamp, data, derived_transceivers(data)


def _place(record: dict) -> tuple[float, float, float, int | None] | None:
    """Where a controller sits (lat, lon, radius nm) and its frequency in Hz, when known."""
    callsign = record.get("callsign")
    where = locate(callsign) if isinstance(callsign, str) else None
    frequency = record.get("frequency")
    if where is None or not isinstance(frequency, str):
        return None
    try:
        return (*where, frequency_to_hz(frequency))
    except RecordError:
        return None


def derived_transceivers(data: bytes) -> bytes:
    """A transceivers payload made up from a data-feed payload (see the module notes)."""
    document = orjson.loads(data)
    stations, placed = [], []
    for record in [*document.get("controllers", []), *(document.get("atis") or [])]:
        if not isinstance(record, dict) or not isinstance(record.get("callsign"), str):
            continue
        place = _place(record)
        radios = []
        if place is not None and place[3]:
            lat, lon, _, hz = place
            placed.append(place)
            radios.append(_radio(0, hz, lat, lon, 30.0))
        stations.append({"callsign": record["callsign"], "transceivers": radios})
    for pilot in document.get("pilots", []):
        try:
            lat, lon = float(pilot["latitude"]), float(pilot["longitude"])
            height = max(0.0, float(pilot.get("altitude") or 0) * FEET_TO_M)
            callsign = str(pilot["callsign"])
        except (KeyError, TypeError, ValueError):
            continue
        radio = _radio(1, _nearest(placed, lat, lon), lat, lon, height)
        stations.append({"callsign": callsign, "transceivers": [radio]})
    return orjson.dumps(stations)


def _nearest(placed: list, lat: float, lon: float) -> int:
    best, best_hz = math.inf, UNICOM_HZ
    for station_lat, station_lon, radius, hz in placed:
        dy = lat - station_lat
        dx = ((lon - station_lon + 540.0) % 360.0 - 180.0) * math.cos(math.radians(lat))
        distance = math.hypot(dx, dy) * 60.0
        if distance <= radius and distance < best:
            best, best_hz = distance, hz
    return best_hz


def _radio(number: int, hz: int, lat: float, lon: float, height_m: float) -> dict:
    return {
        "id": number,
        "frequency": hz,
        "latDeg": lat,
        "lonDeg": lon,
        "heightMslM": height_m,
        "heightAglM": height_m,
    }
