"""The landing directory: payloads are safe on disk before any run starts.

Each write goes to a temporary file in the same directory, is flushed to disk, then
renamed into place, so a reader never sees half a payload and a crash leaves either the
whole file or none.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path


@dataclass(frozen=True)
class LandedSnapshot:
    """The landed payloads of one feed update; small enough to pass between steps."""

    update_timestamp: datetime
    data_path: str
    data_sha256: str
    transceivers_path: str | None = None
    transceivers_sha256: str | None = None
    fetched_at: datetime | None = None


def sha256_of(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def stamp(update_timestamp: datetime) -> str:
    """`2024-11-22T12:48:40.116824Z` as a file-name-safe `20241122T124840.116824Z`."""
    return update_timestamp.strftime("%Y%m%dT%H%M%S.%fZ")


def write_atomically(path: Path, payload: bytes) -> None:
    """Write `payload` to `path` so that it appears whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(payload)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def land(
    landing_dir: Path,
    update_timestamp: datetime,
    data: bytes,
    transceivers: bytes | None,
    fetched_at: datetime | None = None,
) -> LandedSnapshot:
    """Land a snapshot's payloads under `landing_dir/YYYY-MM-DD/`."""
    day = landing_dir / update_timestamp.strftime("%Y-%m-%d")
    name = stamp(update_timestamp)
    data_path = day / f"vatsim-data_{name}.json"
    write_atomically(data_path, data)
    transceivers_path = None
    if transceivers is not None:
        transceivers_path = day / f"transceivers-data_{name}.json"
        write_atomically(transceivers_path, transceivers)
    return LandedSnapshot(
        update_timestamp=update_timestamp,
        data_path=str(data_path),
        data_sha256=sha256_of(data),
        transceivers_path=str(transceivers_path) if transceivers_path else None,
        transceivers_sha256=sha256_of(transceivers) if transceivers is not None else None,
        fetched_at=fetched_at,
    )
