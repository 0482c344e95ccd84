"""Reading archived days back: one flight's rows, and checking every file.

A read never skips a day quietly: a day recorded in `archived_days` whose file is
missing or unreadable raises `ArchiveUnavailable`, naming the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from vatsim_pipeline.archive.layout import ARCHIVE_VARIABLE, archive_dir_from_env
from vatsim_pipeline.storage.archive_log import ArchivedDay


class ArchiveUnavailable(RuntimeError):
    """An archived day that cannot be read: no archive folder set, file missing, damaged."""


def _path(archive_dir: Path | None, day: ArchivedDay) -> Path:
    if archive_dir is None:
        raise ArchiveUnavailable(
            f"{day.table} of {day.day} is archived but {ARCHIVE_VARIABLE} is not set"
        )
    return archive_dir / day.path


def flight_rows(
    days: Sequence[ArchivedDay],
    flight_id: int,
    columns: Sequence[str],
    archive_dir: Path | None = None,
) -> list[tuple]:
    """The rows (as tuples of `columns`, times as aware UTC datetimes) of one flight in
    these archived days, in file order (by time). Reads only the row groups whose
    statistics can hold the flight."""
    archive_dir = archive_dir if archive_dir is not None else archive_dir_from_env()
    rows: list[tuple] = []
    for day in days:
        path = _path(archive_dir, day)
        try:
            table = pq.read_table(
                path, columns=list(columns), filters=[("flight_id", "=", flight_id)]
            )
        except FileNotFoundError as error:
            raise ArchiveUnavailable(
                f"{path}: archived {day.table} of {day.day} is missing"
            ) from error
        except (OSError, ValueError) as error:
            raise ArchiveUnavailable(
                f"{path}: archived {day.table} of {day.day} cannot be read: {error}"
            ) from error
        rows.extend(zip(*(table.column(name).to_pylist() for name in columns), strict=True))
    return rows


@dataclass(frozen=True)
class FileProblem:
    """An archived day whose file is not what `archived_days` says."""

    day: ArchivedDay
    path: Path
    reason: str

    def describe(self) -> str:
        return f"{self.path}: {self.reason}"


def check_files(days: Sequence[ArchivedDay], archive_dir: Path | None) -> list[FileProblem]:
    """Every recorded day whose file is missing, unreadable, or of another row count
    (reads each footer, not the data)."""
    problems = []
    for day in days:
        path = (archive_dir or Path(ARCHIVE_VARIABLE)) / day.path
        if archive_dir is None:
            problems.append(FileProblem(day, path, f"{ARCHIVE_VARIABLE} is not set"))
            continue
        try:
            found = pq.ParquetFile(path).metadata.num_rows
        except FileNotFoundError:
            problems.append(FileProblem(day, path, "missing"))
            continue
        except (OSError, ValueError) as error:
            problems.append(FileProblem(day, path, f"unreadable ({error})"))
            continue
        if found != day.rows:
            problems.append(
                FileProblem(day, path, f"holds {found:,} rows, {day.rows:,} were archived")
            )
    return problems
