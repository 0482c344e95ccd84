"""Retention of landed payloads: a day's files go once they are old and stored.

At today's traffic the landing directory grows by about 5,760 pairs of payloads a day
(gigabytes), so it cannot keep everything; but a landed payload is the only copy of a
snapshot until it is stored, and the dead-letter replay reads it. The rules:

- only day folders (`YYYY-MM-DD`) that ended more than `days` ago are looked at;
- a payload goes only when `feed_snapshots` holds its snapshot (the `update_timestamp`
  in its file name) and stored it more than `days` ago; a payload whose snapshot is not
  stored stays, whatever its age, and so does its day folder;
- files that are not payloads (an interrupted landing's temporary file, anything else)
  are left alone and counted, so a person can look at them;
- with an archive directory, the day's removable payloads are first written to
  `<archive>/YYYY-MM-DD.tar`, atomically and flushed to disk, and only then deleted.
  Payloads stay compressed: a landed `.json.zst` (or `.json.gz`) goes in byte for
  byte, a plain `.json` landed by an earlier version goes in as `.json.zst`; once
  decompressed (`feed.landing.read_payload`), each payload's SHA-256 matches
  `feed_snapshots`. The tar itself is not compressed again (its members are). A day
  whose payloads are archived in several passes (because some were stored late) gets
  `YYYY-MM-DD.1.tar`, `.2`, and so on: an archive is never rewritten. Archives of
  earlier versions (`YYYY-MM-DD.tar.gz`, plain members) are left as they are;
- empty day folders are removed.

A dry run changes nothing and reports what a real run would remove.
"""

from __future__ import annotations

import io
import os
import tarfile
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from vatsim_pipeline.feed.landing import (
    DATA_PREFIX,
    PLAIN_SUFFIX,
    TRANSCEIVERS_PREFIX,
    ZSTD_SUFFIX,
    compress,
    stamp_of,
)
from vatsim_pipeline.maintenance import format_bytes, stored_snapshots

DEFAULT_DAYS = 7.0
DAY_FORMAT = "%Y-%m-%d"
PREFIXES = (DATA_PREFIX, TRANSCEIVERS_PREFIX)


@dataclass(frozen=True)
class LandingRetention:
    """How long stored payloads stay, and where they are archived (None: deleted)."""

    days: float = DEFAULT_DAYS
    archive_dir: Path | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> LandingRetention:
        """`VATSIM_LANDING_RETENTION_DAYS` (default 7), `VATSIM_LANDING_ARCHIVE_DIR`."""
        env = os.environ if env is None else env
        archive = env.get("VATSIM_LANDING_ARCHIVE_DIR")
        return cls(
            days=float(env.get("VATSIM_LANDING_RETENTION_DAYS") or DEFAULT_DAYS),
            archive_dir=Path(archive).expanduser().resolve() if archive else None,
        )


@dataclass
class LandingSweep:
    """What one pass removed (or, in a dry run, would remove) and what it kept."""

    dry_run: bool
    archiving: bool
    files: int = 0
    bytes: int = 0
    oldest: datetime | None = None
    newest: datetime | None = None
    days_removed: int = 0
    archives: list[str] = field(default_factory=list)
    archive_bytes: int = 0
    held_unstored: int = 0
    held_recent: int = 0
    other_files: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "archiving": self.archiving,
            "files": self.files,
            "bytes": self.bytes,
            "oldest": self.oldest.isoformat() if self.oldest else None,
            "newest": self.newest.isoformat() if self.newest else None,
            "days_removed": self.days_removed,
            "archives": list(self.archives),
            "archive_bytes": self.archive_bytes,
            "held_unstored": self.held_unstored,
            "held_recent": self.held_recent,
            "other_files": self.other_files,
        }

    def describe(self) -> str:
        """One line: what was (or would be) removed, archived and kept."""
        verb = "would remove" if self.dry_run else "removed"
        what = f"{verb} {self.files:,} landed payload(s) ({format_bytes(self.bytes)}"
        if self.files:
            what += f", {self.oldest.isoformat()} .. {self.newest.isoformat()}"
        what += ")"
        if self.archiving and self.archives:
            what += f", archived into {len(self.archives)} file(s)"
            if not self.dry_run:
                what += f" of {format_bytes(self.archive_bytes)}"
        what += f", {self.days_removed} day folder(s)"
        kept = [
            f"{self.held_unstored:,} held: snapshot not stored",
            f"{self.held_recent:,} held: stored too recently",
        ]
        if self.other_files:
            kept.append(f"{self.other_files:,} other file(s) left alone")
        return f"{what}; {'; '.join(kept)}"

    def add_removed(self, payloads: list[_Payload]) -> None:
        self.files += len(payloads)
        self.bytes += sum(p.size for p in payloads)
        stamps = [p.stamp for p in payloads]
        if stamps:
            self.oldest = min(stamps[0], self.oldest or stamps[0])
            self.newest = max(stamps[-1], self.newest or stamps[-1])


@dataclass(frozen=True)
class _Payload:
    path: Path
    stamp: datetime
    size: int


def _stamp_of(name: str) -> datetime | None:
    """The snapshot a landed file belongs to, from its name; None for any other file."""
    return next(
        (moment for prefix in PREFIXES if (moment := stamp_of(name, prefix)) is not None), None
    )


def _expired_days(landing_dir: Path, cutoff: datetime) -> Iterator[Path]:
    """Day folders whose whole day lies before `cutoff`, oldest first."""
    for folder in sorted(landing_dir.glob("????-??-??")):
        try:
            day = datetime.strptime(folder.name, DAY_FORMAT).replace(tzinfo=UTC)
        except ValueError:
            continue
        if folder.is_dir() and day + timedelta(days=1) <= cutoff:
            yield folder


def _listing(folder: Path) -> tuple[list[_Payload], int]:
    payloads, others = [], 0
    for path in folder.iterdir():
        stamp = _stamp_of(path.name) if path.is_file() else None
        if stamp is None:
            others += 1
        else:
            payloads.append(_Payload(path, stamp, path.stat().st_size))
    return sorted(payloads, key=lambda p: (p.stamp, p.path.name)), others


def _archive_path(archive_dir: Path, day: str) -> Path:
    """`<day>.tar`, or the first free `<day>.<n>.tar`: archives are never rewritten."""
    path, number = archive_dir / f"{day}.tar", 0
    while path.exists():
        number += 1
        path = archive_dir / f"{day}.{number}.tar"
    return path


def _add_compressed(archive: tarfile.TarFile, day: str, file: Path) -> None:
    """Add a landed file as `<day>/<name>`, compressing a plain `.json` into `.json.zst`."""
    if not file.name.endswith(PLAIN_SUFFIX):
        archive.add(file, arcname=f"{day}/{file.name}", recursive=False)
        return
    content = compress(file.read_bytes())
    member = tarfile.TarInfo(f"{day}/{file.name.removesuffix(PLAIN_SUFFIX)}{ZSTD_SUFFIX}")
    member.size, member.mtime, member.mode = len(content), int(file.stat().st_mtime), 0o644
    archive.addfile(member, io.BytesIO(content))


def write_archive(path: Path, day: str, files: list[Path]) -> int:
    """Write `files` as compressed `<day>/<name>` members of a tar at `path`, appearing
    whole or not at all; returns its size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as raw:
            with tarfile.open(fileobj=raw, mode="w") as archive:
                for file in files:
                    _add_compressed(archive, day, file)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path.stat().st_size


def _sweep_day(
    folder: Path,
    engine: Engine,
    retention: LandingRetention,
    cutoff: datetime,
    sweep: LandingSweep,
) -> None:
    payloads, others = _listing(folder)
    stored = stored_snapshots(engine, (p.stamp for p in payloads))
    removable = []
    for payload in payloads:
        stored_at = stored.get(payload.stamp)
        if stored_at is None:
            sweep.held_unstored += 1
        elif stored_at > cutoff:
            sweep.held_recent += 1
        else:
            removable.append(payload)
    sweep.other_files += others
    if removable and retention.archive_dir is not None:
        archive = _archive_path(retention.archive_dir, folder.name)
        if not sweep.dry_run:
            sweep.archive_bytes += write_archive(archive, folder.name, [p.path for p in removable])
        sweep.archives.append(str(archive))
    if not sweep.dry_run:
        for payload in removable:
            payload.path.unlink(missing_ok=True)
    sweep.add_removed(removable)
    if len(removable) == len(payloads) and not others:
        if not sweep.dry_run:
            folder.rmdir()
        sweep.days_removed += 1


def sweep_landing(
    landing_dir: Path,
    engine: Engine,
    retention: LandingRetention | None = None,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
) -> LandingSweep:
    """Remove (or archive, then remove) the stored payloads of days older than the
    retention, day by day, oldest first; see the module's rules."""
    retention = retention or LandingRetention.from_env()
    cutoff = (now or datetime.now(UTC)) - timedelta(days=retention.days)
    sweep = LandingSweep(dry_run=dry_run, archiving=retention.archive_dir is not None)
    if landing_dir.is_dir():
        for folder in _expired_days(landing_dir, cutoff):
            _sweep_day(folder, engine, retention, cutoff, sweep)
    return sweep
