"""Writing one table-day of the database to its Parquet file, exactly and atomically.

The rows are read in one consistent snapshot (PostgreSQL: a REPEATABLE READ transaction
streaming `COPY ... TO STDOUT`; SQLite: one read transaction, bounded by the highest
`rowid` seen, so that rows written meanwhile are left for the next pass), sorted by
connection and time, and written to a temporary file beside the final one. The file is
flushed to disk and its row count read back from its footer; only when that count is
the count read from the database does it replace the day's file and get recorded in
`archived_days`. A day archived before (a late replay stored rows for a day already
archived and dropped) is merged: the old file's rows and the new ones, each key once.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from sqlalchemy import Engine, func, literal_column, select, text

from vatsim_pipeline.archive.layout import (
    COMPRESSION,
    COMPRESSION_LEVEL,
    KEYS,
    ROW_GROUP_ROWS,
    SCHEMAS,
    SORT_KEYS,
    SPLIT_FLOATS,
    STATISTICS,
    relative_path,
)
from vatsim_pipeline.storage.archive_log import (
    ArchivedDay,
    archived_day,
    record_archived_day,
)
from vatsim_pipeline.storage.partitions import PARTITIONED, day_start

TABLES = {table.name: table for table in PARTITIONED}
SQLITE_CHUNK = 50_000
CSV_BLOCK_BYTES = 16 << 20


class ArchiveVerificationError(RuntimeError):
    """A written file whose row count is not the count read from the database."""


@dataclass(frozen=True)
class WrittenDay:
    """A table-day safely in the archive, and which database rows it holds: on SQLite
    those up to `max_rowid`, on PostgreSQL `database_rows` rows of the day."""

    archived: ArchivedDay
    database_rows: int
    max_rowid: int | None = None


def _window(day: date) -> tuple[datetime, datetime]:
    return day_start(day), day_start(day + timedelta(days=1))


def _writer(path: Path, schema: pa.Schema) -> pq.ParquetWriter:
    split = [name for name in schema.names if name in SPLIT_FLOATS]
    encodings = dict.fromkeys(split, "BYTE_STREAM_SPLIT")
    encodings["observed_at"] = "DELTA_BINARY_PACKED"
    return pq.ParquetWriter(
        path,
        schema,
        compression=COMPRESSION,
        compression_level=COMPRESSION_LEVEL,
        use_dictionary=[name for name in schema.names if name not in encodings],
        column_encoding=encodings,
        write_statistics=[name for name in schema.names if name in STATISTICS],
        # A CRC per page: a damaged page is refused by the reader, never read as values.
        write_page_checksum=True,
    )


def _postgres_select(table: str, start: datetime, end: datetime) -> str:
    """The day's rows, times as integer microseconds (exact), in archive order."""
    columns = [
        f"(extract(epoch from {field.name}) * 1000000)::bigint"
        if pa.types.is_timestamp(field.type)
        else field.name
        for field in SCHEMAS[table]
    ]
    return (
        f"SELECT {', '.join(columns)} FROM {table} "
        f"WHERE observed_at >= '{start.isoformat()}' AND observed_at < '{end.isoformat()}' "
        f"ORDER BY {', '.join(SORT_KEYS[table])}"
    )


def _csv_batches(path: Path, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    """Record batches of PostgreSQL's CSV, with the archive's types (none when empty)."""
    if path.stat().st_size == 0:
        return
    read_types = {
        field.name: pa.int64() if pa.types.is_timestamp(field.type) else field.type
        for field in schema
    }
    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(column_names=schema.names, block_size=CSV_BLOCK_BYTES),
        convert_options=pacsv.ConvertOptions(
            column_types=read_types,
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )
    for batch in reader:
        yield pa.RecordBatch.from_arrays(
            [column.cast(schema.field(i).type) for i, column in enumerate(batch.columns)],
            schema=schema,
        )


def _write_postgres(engine: Engine, table: str, day: date, target: Path) -> int:
    schema = SCHEMAS[table]
    start, end = _window(day)
    with tempfile.NamedTemporaryFile(
        dir=target.parent, prefix=f".{target.name}.", suffix=".csv"
    ) as dump:
        with engine.connect() as connection:
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
            with connection.begin():
                connection.execute(text("SET LOCAL statement_timeout = 0"))
                cursor = connection.connection.driver_connection.cursor()
                cursor.copy_expert(
                    f"COPY ({_postgres_select(table, start, end)}) TO STDOUT WITH (FORMAT csv)",
                    dump,
                )
        dump.flush()
        rows = 0
        with _writer(target, schema) as writer:
            for batch in _csv_batches(Path(dump.name), schema):
                writer.write_batch(batch, row_group_size=ROW_GROUP_ROWS)
                rows += batch.num_rows
    return rows


def _sqlite_rows(engine: Engine, table: str, day: date) -> tuple[pa.Table, int | None]:
    """The day's rows up to the highest rowid seen, in archive order, and that rowid."""
    schema, source = SCHEMAS[table], TABLES[table]
    start, end = _window(day)
    rowid = literal_column("rowid")
    in_day = (source.c.observed_at >= start, source.c.observed_at < end)
    batches = []
    with engine.connect() as connection, connection.begin():
        max_rowid = connection.execute(select(func.max(rowid)).where(*in_day)).scalar()
        if max_rowid is None:
            return schema.empty_table(), None
        result = connection.execution_options(yield_per=SQLITE_CHUNK).execute(
            select(*(source.c[name] for name in schema.names))
            .where(*in_day, rowid <= max_rowid)
            .order_by(*(source.c[name] for name in SORT_KEYS[table]))
        )
        for chunk in result.partitions():
            columns = list(zip(*chunk, strict=True))
            batches.append(
                pa.record_batch(
                    [
                        pa.array(values, field.type)
                        for values, field in zip(columns, schema, strict=True)
                    ],
                    schema=schema,
                )
            )
    return pa.Table.from_batches(batches, schema=schema), max_rowid


def _merge(old: pa.Table, new: pa.Table, table: str) -> pa.Table:
    """The rows of both, each key once (the new row wins), in archive order; a column
    the old file lacks (written before the layout had it) is NULL in its rows."""
    keys = list(KEYS[table])
    kept = old.join(new.select(keys), keys=keys, join_type="left anti")
    for field in new.schema:
        if field.name not in kept.column_names:
            kept = kept.append_column(field.name, pa.nulls(kept.num_rows, field.type))
    merged = pa.concat_tables([kept.select(new.schema.names).cast(new.schema), new])
    return merged.sort_by([(name, "ascending") for name in SORT_KEYS[table]])


def _fsync_dir(folder: Path) -> None:
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _verified(path: Path, expected: int) -> int:
    """Flush the file to disk and check the row count in its footer."""
    with open(path, "rb") as file:
        os.fsync(file.fileno())
    found = pq.ParquetFile(path).metadata.num_rows
    if found != expected:
        raise ArchiveVerificationError(
            f"{path}: holds {found:,} rows where the database gave {expected:,}; not archived"
        )
    return path.stat().st_size


def archive_day(
    engine: Engine, table: str, day: date, archive_dir: Path, *, now: datetime | None = None
) -> WrittenDay | None:
    """Write (or merge into) the day's Parquet file and record it; None when the database
    holds no row of that day. Raises, leaving the previous file and record as they were,
    when anything fails."""
    relative = relative_path(table, day)
    target = archive_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(handle)
    temporary = Path(name)
    try:
        with engine.connect() as connection:
            previous = archived_day(connection, table, day)
        max_rowid = None
        if engine.dialect.name == "postgresql" and previous is None:
            database_rows = _write_postgres(engine, table, day, temporary)
            expected = database_rows
        else:
            fresh, max_rowid = _load(engine, table, day)
            database_rows = fresh.num_rows
            if previous is not None and target.exists():
                fresh = _merge(pq.read_table(target), fresh, table)
            expected = fresh.num_rows
            with _writer(temporary, SCHEMAS[table]) as writer:
                writer.write_table(fresh, row_group_size=ROW_GROUP_ROWS)
        if database_rows == 0:
            return None
        size = _verified(temporary, expected)
        os.replace(temporary, target)
        _fsync_dir(target.parent)
    finally:
        temporary.unlink(missing_ok=True)
    archived = ArchivedDay(table, day, relative, expected, size)
    record_archived_day(engine, archived, now or datetime.now(UTC))
    return WrittenDay(archived, database_rows, max_rowid)


def _load(engine: Engine, table: str, day: date) -> tuple[pa.Table, int | None]:
    """The day's database rows as one table (for merges, and on SQLite)."""
    if engine.dialect.name != "postgresql":
        return _sqlite_rows(engine, table, day)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "day.parquet"
        _write_postgres(engine, table, day, path)
        return pq.read_table(path), None
