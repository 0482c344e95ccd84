"""The landing directory: payloads are safe on disk before any run starts.

Each write goes to a temporary file in the same directory, is flushed to disk, then
renamed into place, so a reader never sees half a payload and a crash leaves either the
whole file or none. A landed file's modification time is the moment it was fetched, so
that `fetched_at` survives with the file (a run requested later, a replay).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
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
    # Why the radios are missing when the transceivers feed could not give them.
    transceivers_missing: str | None = None


def sha256_of(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


STAMP_FORMAT = "%Y%m%dT%H%M%S.%fZ"
DATA_PREFIX = "vatsim-data_"
TRANSCEIVERS_PREFIX = "transceivers-data_"


def stamp(update_timestamp: datetime) -> str:
    """`2024-11-22T12:48:40.116824Z` as a file-name-safe `20241122T124840.116824Z`."""
    return update_timestamp.strftime(STAMP_FORMAT)


@dataclass(frozen=True)
class LandedFile:
    """A data payload found in the landing directory, with its transceivers if any."""

    update_timestamp: datetime
    data_path: str
    transceivers_path: str | None
    fetched_at: datetime | None = None


def modified_at(path: str | Path) -> datetime | None:
    """A file's modification time (for a landed payload: when it was fetched)."""
    try:
        return datetime.fromtimestamp(Path(path).stat().st_mtime, UTC)
    except OSError:
        return None


def landed_after(landing_dir: Path, after: datetime) -> list[LandedFile]:
    """Landed payloads newer than `after`, oldest first.

    Only the day folders from `after`'s day onwards are listed, so this stays cheap
    however long the landing directory's history is.
    """
    first_day = after.strftime("%Y-%m-%d")
    days = sorted(d for d in landing_dir.glob("????-??-??") if d.is_dir() and d.name >= first_day)
    found = []
    for day in days:
        for path in day.glob(f"{DATA_PREFIX}*.json"):
            try:
                when = datetime.strptime(
                    path.name.removeprefix(DATA_PREFIX).removesuffix(".json"), STAMP_FORMAT
                ).replace(tzinfo=UTC)
            except ValueError:
                continue
            if when > after:
                radios = path.with_name(path.name.replace(DATA_PREFIX, TRANSCEIVERS_PREFIX, 1))
                found.append(
                    LandedFile(
                        when,
                        str(path),
                        str(radios) if radios.exists() else None,
                        modified_at(path),
                    )
                )
    return sorted(found, key=lambda f: f.update_timestamp)


def write_atomically(path: Path, payload: bytes, modified: datetime | None = None) -> None:
    """Write `payload` to `path` so that it appears whole or not at all, modified at
    `modified` when given."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(payload)
            file.flush()
            os.fsync(file.fileno())
        if modified is not None:
            os.utime(temporary, (modified.timestamp(), modified.timestamp()))
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
    """Land a snapshot's payloads under `landing_dir/YYYY-MM-DD/`.

    The transceivers go first: a data payload on disk is what the sensor requests a run
    for, so it must not appear before its radios.
    """
    day = landing_dir / update_timestamp.strftime("%Y-%m-%d")
    name = stamp(update_timestamp)
    data_path = day / f"{DATA_PREFIX}{name}.json"
    transceivers_path = None
    if transceivers is not None:
        transceivers_path = day / f"{TRANSCEIVERS_PREFIX}{name}.json"
        write_atomically(transceivers_path, transceivers, fetched_at)
    write_atomically(data_path, data, fetched_at)
    return LandedSnapshot(
        update_timestamp=update_timestamp,
        data_path=str(data_path),
        data_sha256=sha256_of(data),
        transceivers_path=str(transceivers_path) if transceivers_path else None,
        transceivers_sha256=sha256_of(transceivers) if transceivers is not None else None,
        fetched_at=fetched_at,
    )


PROBE_NAME = ".write-probe"


def probe(landing_dir: Path) -> None:
    """Write and remove a small file in `landing_dir`; raises the `OSError` of a folder
    that cannot take a payload (read-only, immutable, full)."""
    path = landing_dir / PROBE_NAME
    write_atomically(path, b"probe\n")
    path.unlink()
