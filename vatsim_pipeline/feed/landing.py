"""The landing directory: payloads are safe on disk before any run starts.

Each write goes to a temporary file in the same directory, is flushed to disk, then
renamed into place, so a reader never sees half a payload and a crash leaves either the
whole file or none. A landed file's modification time is the moment it was fetched, so
that `fetched_at` survives with the file (a run requested later, a replay).

Payloads land compressed with zstd (`.json.zst`, with a frame checksum so that a damaged
file is refused, not half-read), at level 11 with a minimum match of 6 bytes instead of
5. Measured (docs/performance.md) on snapshots of today's traffic: zstd-12 stored a day
in 1.01 GiB for 55-63 ms of CPU per snapshot; the JSON's matches are long (keys, repeated
values), so asking for 6 bytes at least finds as good matches with fewer short, costly
ones: 0.99 GiB a day for slightly less CPU than level 12, where level 13 reaches 0.98 for
twice the CPU. Each file is one ordinary zstd frame that any zstd reads on its own.
`read_payload` reads any landed or recorded file, `.json.zst`, `.json.gz` or plain
`.json` (landed by earlier versions), so every reader (runs, replays, `ingest`,
retention) goes through it. The SHA-256 recorded for a payload
is that of its JSON, whatever its file's compression.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import zstandard


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
ZSTD_SUFFIX = ".json.zst"
GZIP_SUFFIX = ".json.gz"
PLAIN_SUFFIX = ".json"
# Longest first: `.json.zst` must not be taken for a `.json` file with a strange stamp.
PAYLOAD_SUFFIXES = (ZSTD_SUFFIX, GZIP_SUFFIX, PLAIN_SUFFIX)
ZSTD_LEVEL = 11
ZSTD_MIN_MATCH = 6


class DamagedPayloadFile(OSError):
    """A compressed payload file that does not decompress (truncated, corrupt)."""


LANDING_PARAMETERS = zstandard.ZstdCompressionParameters.from_level(
    ZSTD_LEVEL, min_match=ZSTD_MIN_MATCH, write_checksum=True
)


def compress(payload: bytes) -> bytes:
    """One zstd frame with the payload's size and a checksum."""
    return zstandard.ZstdCompressor(compression_params=LANDING_PARAMETERS).compress(payload)


def payload_suffix(name: str) -> str | None:
    """The payload suffix a file name ends with (`.json.zst`, `.json.gz`, `.json`)."""
    return next((suffix for suffix in PAYLOAD_SUFFIXES if name.endswith(suffix)), None)


def decode_payload(name: str, content: bytes) -> bytes:
    """The JSON of a payload file's `content`, decompressed according to its `name`."""
    try:
        if name.endswith(ZSTD_SUFFIX):
            return zstandard.ZstdDecompressor().decompress(content)
        if name.endswith(GZIP_SUFFIX):
            return gzip.decompress(content)
    except (zstandard.ZstdError, EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise DamagedPayloadFile(f"{name}: damaged compressed payload ({error})") from error
    return content


def read_payload(path: str | Path) -> bytes:
    """The JSON of a landed or recorded payload file, compressed or not."""
    path = Path(path)
    return decode_payload(path.name, path.read_bytes())


def stamp_of(name: str, prefix: str) -> datetime | None:
    """The update a landed file of this prefix belongs to, from its name; None for any
    other file."""
    suffix = payload_suffix(name)
    if suffix is None or not name.startswith(prefix):
        return None
    try:
        moment = datetime.strptime(name[len(prefix) : -len(suffix)], STAMP_FORMAT)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC)


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
    # Stamps are fixed-width, so names sort as their times do: a day's thousands of older
    # payloads are passed over by comparing names, without parsing each (every tick).
    newer_than = f"{DATA_PREFIX}{stamp(after)}"
    found = []
    for day in days:
        for path in day.glob(f"{DATA_PREFIX}*"):
            if path.name <= newer_than:
                continue
            when = stamp_of(path.name, DATA_PREFIX)
            if when is not None and when > after:
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
    """Land a snapshot's payloads, compressed, under `landing_dir/YYYY-MM-DD/`.

    The transceivers go first: a data payload on disk is what the sensor requests a run
    for, so it must not appear before its radios.
    """
    day = landing_dir / update_timestamp.strftime("%Y-%m-%d")
    name = stamp(update_timestamp)
    data_path = day / f"{DATA_PREFIX}{name}{ZSTD_SUFFIX}"
    transceivers_path = None
    if transceivers is not None:
        transceivers_path = day / f"{TRANSCEIVERS_PREFIX}{name}{ZSTD_SUFFIX}"
        write_atomically(transceivers_path, compress(transceivers), fetched_at)
    write_atomically(data_path, compress(data), fetched_at)
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
