"""Retention of the per-snapshot tables: `flight_positions`, `transceivers` and
`sector_assignments` each gain millions of rows a day, so old days go.

The rule is the same on both backends, by whole UTC days: a table kept `days` days loses
every row of each day that lies wholly before `now - days`, that is every row with
`observed_at` before the start of the UTC day of `now - days`. `keep` keeps a table
whole. Sessions (`flights`, `controllers`) and `flight_summaries` are never touched.

- PostgreSQL drops the table's day partitions whose range ends at or before that
  cutoff (a partition converted from an earlier plain table goes once its whole range
  has). A drop waits at most a moment for its lock: a drop that would queue behind a long
  reader, and so hold up every writer, is deferred, reported, and retried next pass.
  Partitions for today and the next `ahead_days` days are created on the way.
- SQLite deletes in batches of `batch` rows, each its own transaction, so the single
  write lock is never held long and ingest keeps running. The file does not shrink (its
  pages are reused), so no bytes are reported freed.

With `VATSIM_ARCHIVE_DIR` set, a day leaves the database only once it is in the Parquet
archive (`vatsim_pipeline.archive`): each day is written to its file, the file's row
count checked, the day recorded in `archived_days`, and then the partition is dropped
only if it still holds exactly the rows archived (else the drop waits for the next pass,
which archives the new rows too); on SQLite only the rows archived are deleted. A day
that cannot be archived stays in the database and the failure is raised.

A dry run changes nothing and reports what a real run would remove and create, and, with
the archive on, the day files it would write first.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, func, literal_column, select, text

from vatsim_pipeline.archive.layout import archive_dir_from_env, relative_path
from vatsim_pipeline.archive.writer import WrittenDay, archive_day
from vatsim_pipeline.maintenance import format_bytes
from vatsim_pipeline.storage.partitions import (
    DEFAULT_AHEAD_DAYS,
    DEFAULT_LOCK_TIMEOUT_MS,
    PARTITIONED,
    Partition,
    PartitionChanged,
    day_start,
    days_ahead,
    drop_partition,
    ensure_day_partitions,
    list_partitions,
    missing_day_partitions,
    utc_day,
)

DEFAULT_DAYS = 30
DEFAULT_BATCH = 10_000
KEEP = "keep"
DAYS_VARIABLE = "VATSIM_TABLE_RETENTION_DAYS"
AHEAD_VARIABLE = "VATSIM_PARTITIONS_AHEAD_DAYS"
TABLES: dict[str, Table] = {table.name: table for table in PARTITIONED}


def table_variable(table: str) -> str:
    """`VATSIM_RETENTION_DAYS_FLIGHT_POSITIONS`, the override for one table."""
    return f"VATSIM_RETENTION_DAYS_{table.upper()}"


class RetentionSettingError(ValueError):
    """A retention variable whose value is not a number of days."""


def _whole_days(variable: str, value: str, *, allow_keep: bool) -> int | None:
    cleaned = value.strip().lower()
    if allow_keep and cleaned == KEEP:
        return None
    try:
        days = int(cleaned)
    except ValueError:
        days = -1
    if days < 0:
        wanted = "a whole number of days >= 0" + (" or 'keep'" if allow_keep else "")
        raise RetentionSettingError(f"{variable}={value!r}: expected {wanted}")
    return days


@dataclass(frozen=True)
class TableRetention:
    """Days each table keeps (None: kept whole), and partitions created ahead."""

    days: Mapping[str, int | None] = field(
        default_factory=lambda: dict.fromkeys(TABLES, DEFAULT_DAYS)
    )
    ahead_days: int = DEFAULT_AHEAD_DAYS
    batch: int = DEFAULT_BATCH
    lock_timeout_ms: int = DEFAULT_LOCK_TIMEOUT_MS
    archive_dir: Path | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> TableRetention:
        """`VATSIM_TABLE_RETENTION_DAYS` (30, or `keep`) for every table, overridden per
        table by `VATSIM_RETENTION_DAYS_<TABLE>`; `VATSIM_PARTITIONS_AHEAD_DAYS` (3);
        `VATSIM_ARCHIVE_DIR` (unset: days are deleted, not archived). A bad value raises
        `RetentionSettingError` naming the variable and the value."""
        env = os.environ if env is None else env
        default = env.get(DAYS_VARIABLE) or str(DEFAULT_DAYS)
        default_days = _whole_days(DAYS_VARIABLE, default, allow_keep=True)
        days = {}
        for table in TABLES:
            variable = table_variable(table)
            value = env.get(variable)
            days[table] = _whole_days(variable, value, allow_keep=True) if value else default_days
        ahead = _whole_days(
            AHEAD_VARIABLE, env.get(AHEAD_VARIABLE) or str(DEFAULT_AHEAD_DAYS), allow_keep=False
        )
        try:
            archive_dir = archive_dir_from_env(env)
        except ValueError as error:
            raise RetentionSettingError(str(error)) from error
        return cls(days=days, ahead_days=ahead, archive_dir=archive_dir)

    def cutoff(self, table: str, now: datetime) -> datetime | None:
        """Rows before this instant (the start of the UTC day of `now - days`) go; None
        when the table is kept whole."""
        days = self.days.get(table)
        if days is None:
            return None
        return day_start(utc_day(now - timedelta(days=days)))


@dataclass
class TableSweep:
    """What one pass removed from one table (or, in a dry run, would remove)."""

    table: str
    days: int | None
    cutoff: datetime | None
    rows: int = 0
    bytes: int = 0
    partitions: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)
    batches: int = 0
    archived: list[str] = field(default_factory=list)
    archived_rows: int = 0
    archive_bytes: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "retention_days": KEEP if self.days is None else self.days,
            "cutoff": self.cutoff.isoformat() if self.cutoff else None,
            "rows": self.rows,
            "bytes": self.bytes,
            "partitions": list(self.partitions),
            "deferred": list(self.deferred),
            "batches": self.batches,
            "archived": list(self.archived),
            "archived_rows": self.archived_rows,
            "archive_bytes": self.archive_bytes,
        }

    def add_archived(self, written: WrittenDay) -> None:
        self.archived.append(written.archived.path)
        self.archived_rows += written.database_rows
        self.archive_bytes += written.archived.bytes

    def add_would_archive(self, day: date, rows: int) -> None:
        """A dry run's day that a real pass would write to the archive first."""
        self.archived.append(relative_path(self.table, day))
        self.archived_rows += rows


@dataclass
class TableRetentionSweep:
    """What one pass of table retention did (or, in a dry run, would do)."""

    dry_run: bool
    backend: str
    tables: dict[str, TableSweep] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(sweep.rows for sweep in self.tables.values())

    @property
    def bytes(self) -> int:
        return sum(sweep.bytes for sweep in self.tables.values())

    @property
    def partitions(self) -> list[str]:
        return [name for sweep in self.tables.values() for name in sweep.partitions]

    @property
    def deferred(self) -> list[str]:
        return [name for sweep in self.tables.values() for name in sweep.deferred]

    @property
    def archived(self) -> list[str]:
        return [path for sweep in self.tables.values() for path in sweep.archived]

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "backend": self.backend,
            "archived": self.archived,
            "rows": self.rows,
            "bytes": self.bytes,
            "partitions_dropped": self.partitions,
            "drops_deferred": self.deferred,
            "partitions_created": list(self.created),
            "tables": {name: sweep.as_dict() for name, sweep in self.tables.items()},
        }

    def describe(self) -> str:
        """One line: rows (and partitions) removed per table, bytes, created, deferred."""
        verb = "would remove" if self.dry_run else "removed"
        removed = [
            f"{name} {sweep.rows:,}"
            for name, sweep in self.tables.items()
            if sweep.days is not None
        ]
        what = f"{verb} {self.rows:,} row(s)"
        if removed:
            what += f" ({', '.join(removed)})"
        if self.backend == "postgresql":
            what += f" in {len(self.partitions)} partition(s), {format_bytes(self.bytes)}"
            what += f"; {'would create' if self.dry_run else 'created'}"
            what += f" {len(self.created)} partition(s) ahead"
            if self.deferred:
                what += f"; {len(self.deferred)} drop(s) deferred (lock timeout): "
                what += ", ".join(self.deferred)
        if self.archived:
            archived_rows = sum(sweep.archived_rows for sweep in self.tables.values())
            verb = "would archive" if self.dry_run else "archived"
            what += f"; {verb} {len(self.archived)} day file(s) first ({archived_rows:,} row(s))"
            if self.dry_run:
                what += ": " + ", ".join(self.archived)
        kept = [name for name, sweep in self.tables.items() if sweep.days is None]
        if kept:
            what += f"; kept whole: {', '.join(kept)}"
        return what


def _count(engine: Engine, partition: Partition) -> int:
    """Exact rows of a partition; without a time limit, as a large legacy one takes a
    while, and a count blocks no one."""
    name = engine.dialect.identifier_preparer.quote(partition.name)
    with engine.begin() as connection:
        connection.execute(text("SET LOCAL statement_timeout = 0"))
        return connection.execute(text(f"SELECT count(*) FROM {name}")).scalar_one()


def _drop_partitions(
    engine: Engine,
    partitions: list[Partition],
    retention: TableRetention,
    sweep: TableRetentionSweep,
) -> None:
    for partition in partitions:
        table = sweep.tables[partition.table]
        if table.cutoff is None or partition.end > table.cutoff:
            continue
        rows = _count(engine, partition)
        if sweep.dry_run:
            if retention.archive_dir is not None:
                _would_archive(engine, partition, rows, table)
            dropped = True
        elif retention.archive_dir is None:
            dropped = drop_partition(engine, partition, retention.lock_timeout_ms)
        else:
            dropped = _archive_and_drop(engine, partition, retention, table)
        if dropped:
            table.rows += rows
            table.bytes += partition.bytes
            table.partitions.append(partition.name)
        else:
            table.deferred.append(partition.name)


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _rows_of_day(engine: Engine, table: Table, day: date) -> int:
    with engine.connect() as connection:
        return connection.execute(
            select(func.count())
            .select_from(table)
            .where(
                table.c.observed_at >= day_start(day),
                table.c.observed_at < day_start(day + timedelta(days=1)),
            )
        ).scalar_one()


def _would_archive(engine: Engine, partition: Partition, rows: int, sweep: TableSweep) -> None:
    """The day files a real pass would write for this partition: each of its days that
    holds rows (a one-day partition's rows are already counted)."""
    days = _days(partition.first_day, partition.last_day)
    for day in days:
        count = rows if len(days) == 1 else _rows_of_day(engine, TABLES[partition.table], day)
        if count:
            sweep.add_would_archive(day, count)


def _archive_and_drop(
    engine: Engine, partition: Partition, retention: TableRetention, sweep: TableSweep
) -> bool:
    """Archive every day of the partition, then drop it if it still holds exactly the
    rows archived; False when the drop is deferred (locked, or rows added meanwhile)."""
    archived_rows = 0
    for day in _days(partition.first_day, partition.last_day):
        written = archive_day(engine, partition.table, day, retention.archive_dir)
        if written is not None:
            sweep.add_archived(written)
            archived_rows += written.database_rows
    try:
        return drop_partition(engine, partition, retention.lock_timeout_ms, archived_rows)
    except PartitionChanged:
        return False


def _delete_batches(
    engine: Engine, table: Table, cutoff: datetime, batch: int, sweep: TableSweep
) -> None:
    """Delete rows before `cutoff`, `batch` rows per transaction, through the index on
    `observed_at`."""
    rowid = literal_column("rowid")
    doomed = select(rowid).select_from(table).where(table.c.observed_at < cutoff).limit(batch)
    _delete_in_batches(
        engine, table.delete().where(rowid.in_(doomed.scalar_subquery())), batch, sweep
    )


def _delete_in_batches(engine: Engine, statement, batch: int, sweep: TableSweep) -> None:
    """Run a delete limited to `batch` rows, each in its own transaction, until it deletes
    fewer."""
    while True:
        with engine.begin() as connection:
            deleted = connection.execute(statement).rowcount
        if deleted:
            sweep.rows += deleted
            sweep.batches += 1
        if deleted < batch:
            return


def _days_before(engine: Engine, table: Table, cutoff: datetime) -> list[date]:
    """The UTC days from the table's oldest row before `cutoff` to the cutoff's eve."""
    with engine.connect() as connection:
        oldest = connection.execute(
            select(func.min(table.c.observed_at)).where(table.c.observed_at < cutoff)
        ).scalar()
    if oldest is None:
        return []
    return _days(utc_day(oldest), utc_day(cutoff - timedelta(microseconds=1)))


def _archive_then_delete(
    engine: Engine, table: Table, retention: TableRetention, sweep: TableSweep
) -> None:
    """Archive each day before the cutoff that has rows, then delete the rows archived
    (those up to the highest rowid the archive read), batch by batch."""
    rowid = literal_column("rowid")
    for day in _days_before(engine, table, sweep.cutoff):
        written = archive_day(engine, table.name, day, retention.archive_dir)
        if written is None:
            continue
        sweep.add_archived(written)
        start, end = day_start(day), day_start(day + timedelta(days=1))
        doomed = (
            select(rowid)
            .select_from(table)
            .where(
                table.c.observed_at >= start, table.c.observed_at < end, rowid <= written.max_rowid
            )
            .limit(retention.batch)
        )
        _delete_in_batches(
            engine,
            table.delete().where(rowid.in_(doomed.scalar_subquery())),
            retention.batch,
            sweep,
        )


def _sweep_sqlite(engine: Engine, retention: TableRetention, sweep: TableRetentionSweep) -> None:
    for name, table_sweep in sweep.tables.items():
        if table_sweep.cutoff is None:
            continue
        table = TABLES[name]
        if not sweep.dry_run and retention.archive_dir is not None:
            _archive_then_delete(engine, table, retention, table_sweep)
            continue
        if sweep.dry_run:
            with engine.connect() as connection:
                table_sweep.rows = connection.execute(
                    select(func.count())
                    .select_from(table)
                    .where(table.c.observed_at < table_sweep.cutoff)
                ).scalar_one()
            if retention.archive_dir is not None and table_sweep.rows:
                for day in _days_before(engine, table, table_sweep.cutoff):
                    count = _rows_of_day(engine, table, day)
                    if count:
                        table_sweep.add_would_archive(day, count)
            continue
        _delete_batches(engine, table, table_sweep.cutoff, retention.batch, table_sweep)


def sweep_tables(
    engine: Engine,
    retention: TableRetention | None = None,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
) -> TableRetentionSweep:
    """Remove the rows of the days each table no longer keeps, and on PostgreSQL create
    the partitions of today and the days ahead; see the module's rules."""
    retention = retention or TableRetention.from_env()
    now = now or datetime.now(UTC)
    sweep = TableRetentionSweep(dry_run=dry_run, backend=engine.dialect.name)
    for name in TABLES:
        days = retention.days.get(name)
        sweep.tables[name] = TableSweep(name, days, retention.cutoff(name, now))
    if engine.dialect.name != "postgresql":
        _sweep_sqlite(engine, retention, sweep)
        return sweep
    ahead = days_ahead(utc_day(now), retention.ahead_days)
    if dry_run:
        sweep.created = missing_day_partitions(engine, ahead)
    else:
        sweep.created = ensure_day_partitions(engine, ahead)
    _drop_partitions(engine, list_partitions(engine), retention, sweep)
    return sweep
