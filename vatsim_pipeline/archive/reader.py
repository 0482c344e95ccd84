"""Reading archived days back: one flight's rows, and checking every file.

A read never skips a day quietly: a day recorded in `archived_days` whose file is
missing or unreadable raises `ArchiveUnavailable`, naming the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
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


OPEN_FILES = 64
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _values(column: pa.ChunkedArray) -> list:
    """A column as Python values; times as aware UTC datetimes, built from integer
    microseconds (pyarrow's own conversion looks the time zone up for every value)."""
    if pa.types.is_timestamp(column.type):
        return [
            None if micros is None else EPOCH + timedelta(microseconds=micros)
            for micros in column.cast(pa.int64()).to_pylist()
        ]
    return column.to_pylist()


@lru_cache(maxsize=OPEN_FILES)
def _opened(path: str, modified_ns: int) -> tuple[pq.ParquetFile, list[tuple[int, int]]]:
    """The file, its footer read once, and each row group's flight_id range (a file
    rewritten by a merge has a new modification time, and so a new entry)."""
    parquet = pq.ParquetFile(path)
    column = parquet.schema_arrow.get_field_index("flight_id")
    ranges = []
    for index in range(parquet.metadata.num_row_groups):
        statistics = parquet.metadata.row_group(index).column(column).statistics
        ranges.append((statistics.min, statistics.max))
    return parquet, ranges


def _read_flight(path: Path, flight_id: int, columns: Sequence[str]) -> pa.Table:
    """The flight's rows of one file: only the row groups whose flight_id range holds it
    (the rows are sorted by flight, so one or two of a day's hundred)."""
    parquet, ranges = _opened(str(path), path.stat().st_mtime_ns)
    groups = [i for i, (low, high) in enumerate(ranges) if low <= flight_id <= high]
    if not groups:
        return pa.table({name: [] for name in columns})
    table = parquet.read_row_groups(groups, columns=[*columns, "flight_id"], use_threads=False)
    return table.filter(pc.equal(table.column("flight_id"), flight_id))


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
            table = _read_flight(path, flight_id, columns)
        except FileNotFoundError as error:
            raise ArchiveUnavailable(
                f"{path}: archived {day.table} of {day.day} is missing"
            ) from error
        except (OSError, ValueError) as error:
            raise ArchiveUnavailable(
                f"{path}: archived {day.table} of {day.day} cannot be read: {error}"
            ) from error
        rows.extend(zip(*(_values(table.column(name)) for name in columns), strict=True))
    return rows


def window_table(
    days: Sequence[ArchivedDay],
    since: datetime,
    until: datetime,
    columns: Sequence[str],
    archive_dir: Path | None = None,
) -> pa.Table:
    """Every row of these archived days observed in [since, until), as one Arrow table
    of `columns` (files in day order, each sorted by connection and time)."""
    archive_dir = archive_dir if archive_dir is not None else archive_dir_from_env()
    window = [("observed_at", ">=", since), ("observed_at", "<", until)]
    tables = []
    for day in days:
        path = _path(archive_dir, day)
        try:
            tables.append(pq.read_table(path, columns=list(columns), filters=window))
        except FileNotFoundError as error:
            raise ArchiveUnavailable(
                f"{path}: archived {day.table} of {day.day} is missing"
            ) from error
        except (OSError, ValueError) as error:
            raise ArchiveUnavailable(
                f"{path}: archived {day.table} of {day.day} cannot be read: {error}"
            ) from error
    return pa.concat_tables(tables) if tables else pa.table({})


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
