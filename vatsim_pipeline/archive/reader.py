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

from vatsim_pipeline.archive.layout import ARCHIVE_VARIABLE, SCHEMAS, archive_dir_from_env
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


def column_values(column: pa.ChunkedArray) -> list:
    """A column as Python values; times as aware UTC datetimes, built from integer
    microseconds (pyarrow's own conversion looks the time zone up for every value)."""
    if pa.types.is_timestamp(column.type):
        return [
            None if micros is None else EPOCH + timedelta(microseconds=micros)
            for micros in column.cast(pa.int64()).to_pylist()
        ]
    return column.to_pylist()


class _OpenFile:
    """A file with its footer read once, and each row group's range of a column (from the
    statistics the writer stores for the sort keys), computed on first use."""

    def __init__(self, path: str) -> None:
        self.parquet = pq.ParquetFile(path, page_checksum_verification=True)
        self._ranges: dict[str, list[tuple | None]] = {}

    def _range(self, column: str) -> list[tuple | None]:
        """(min, max) of `column` per row group; None where there are no statistics (the
        group is then read, never skipped)."""
        if column not in self._ranges:
            metadata = self.parquet.metadata
            index = self.parquet.schema_arrow.get_field_index(column)
            ranges: list[tuple | None] = []
            for group in range(metadata.num_row_groups):
                statistics = metadata.row_group(group).column(index).statistics
                known = statistics is not None and statistics.has_min_max
                ranges.append((statistics.min, statistics.max) if known else None)
            self._ranges[column] = ranges
        return self._ranges[column]

    def groups_of(self, flight_id: int) -> list[int]:
        """Row groups that may hold rows of this flight."""
        return [
            i
            for i, bounds in enumerate(self._range("flight_id"))
            if bounds is None or bounds[0] <= flight_id <= bounds[1]
        ]

    def groups_between(self, since: datetime, until: datetime) -> list[int]:
        """Row groups that may hold a row observed in [since, until)."""
        return [
            i
            for i, bounds in enumerate(self._range("observed_at"))
            if bounds is None or (bounds[0] < until and bounds[1] >= since)
        ]


@lru_cache(maxsize=OPEN_FILES)
def _opened(path: str, modified_ns: int) -> _OpenFile:
    """The file, once per version of it (a file rewritten by a merge has a new
    modification time, and so a new entry)."""
    return _OpenFile(path)


def _open(path: Path) -> _OpenFile:
    return _opened(str(path), path.stat().st_mtime_ns)


def _present(opened: _OpenFile, columns: Sequence[str]) -> list[str]:
    """The columns of `columns` the file holds: a file written before a column was added
    to its layout lacks it (`last_observed_at` before runs)."""
    names = set(opened.parquet.schema_arrow.names)
    return [name for name in columns if name in names]


def _completed(table: pa.Table, columns: Sequence[str], layout: pa.Schema) -> pa.Table:
    """`table` with every column of `columns` it lacks added as nulls of the layout's
    type: a row of a file from before runs is a run of one snapshot (NULL end)."""
    for name in columns:
        if name not in table.column_names:
            table = table.append_column(name, pa.nulls(table.num_rows, layout.field(name).type))
    return table.select(list(columns))


def _read_flight(path: Path, flight_id: int, columns: Sequence[str], layout: pa.Schema) -> pa.Table:
    """The flight's rows of one file: only the row groups whose flight_id range holds it
    (the rows are sorted by flight, so one or two of a day's thousand)."""
    opened = _open(path)
    groups = opened.groups_of(flight_id)
    if not groups:
        return pa.table({name: [] for name in columns})
    table = opened.parquet.read_row_groups(
        groups, columns=_present(opened, [*columns, "flight_id"]), use_threads=False
    )
    table = table.filter(pc.equal(table.column("flight_id"), flight_id))
    return _completed(table, columns, layout)


def _read_window(
    path: Path, since: datetime, until: datetime, columns: Sequence[str], layout: pa.Schema
) -> pa.Table:
    """The rows of one file observed in [since, until): only the row groups whose
    observed_at range meets the window, through the cached footer."""
    opened = _open(path)
    wanted = list(dict.fromkeys([*columns, "observed_at"]))
    groups = opened.groups_between(since, until)
    table = opened.parquet.read_row_groups(groups, columns=_present(opened, wanted))
    when = table.column("observed_at")
    inside = pc.and_(
        pc.greater_equal(when, pa.scalar(since, when.type)),
        pc.less(when, pa.scalar(until, when.type)),
    )
    return _completed(table.filter(inside), columns, layout)


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
            table = _read_flight(path, flight_id, columns, SCHEMAS[day.table])
        except FileNotFoundError as error:
            raise ArchiveUnavailable(
                f"{path}: archived {day.table} of {day.day} is missing"
            ) from error
        except (OSError, ValueError) as error:
            raise ArchiveUnavailable(
                f"{path}: archived {day.table} of {day.day} cannot be read: {error}"
            ) from error
        rows.extend(zip(*(column_values(table.column(name)) for name in columns), strict=True))
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
    tables = []
    for day in days:
        path = _path(archive_dir, day)
        try:
            tables.append(_read_window(path, since, until, columns, SCHEMAS[day.table]))
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
