"""Daily partitions of the per-snapshot tables on PostgreSQL: all of their DDL lives here.

`flight_positions`, `transceivers` and `sector_assignments` gain millions of rows a day.
Partitioned by `observed_at`, one partition per UTC day (`flight_positions_p20261129`
holds [2026-11-29, 2026-11-30)), an old day leaves by dropping its partition, which frees
its space at once, where a DELETE of millions of rows leaves them for vacuum. Their keys
all contain `observed_at`, so unique constraints and `ON CONFLICT` work on the parent.

A row for a day without a partition cannot be stored, so writers call
`ensure_day_partitions` first. It runs in a short transaction of its own, serialised by
an advisory lock, because creating a partition briefly locks the parent; the days it has
seen are remembered per engine, so on the hot path it costs nothing.

A table left plain by an earlier version is converted in place by
`convert_plain_tables`: renamed to `<table>_legacy` and attached, rows untouched, as one
partition covering the days of its rows.

SQLite has no partitions: every function here does nothing there.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine, Table, text
from sqlalchemy.exc import OperationalError

from vatsim_pipeline.storage.schema import flight_positions, sector_assignments, transceivers

PARTITIONED: tuple[Table, ...] = (flight_positions, transceivers, sector_assignments)
PARTITIONED_NAMES = tuple(table.name for table in PARTITIONED)
# Any constant shared by every creator of partitions, distinct from the occupancy lock.
ADVISORY_LOCK_KEY = 0x9A27DA1
LEGACY_SUFFIX = "_legacy"
DEFAULT_LOCK_TIMEOUT_MS = 2_000
DEFAULT_AHEAD_DAYS = 3
LOCK_NOT_AVAILABLE = "55P03"
DEADLOCK_DETECTED = "40P01"
BOUNDS = text(
    r"""
    SELECT c.relname AS name,
           CAST(b.bounds[1] AS timestamptz) AS start,
           CAST(b.bounds[2] AS timestamptz) AS "end",
           pg_total_relation_size(c.oid) AS bytes
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    CROSS JOIN LATERAL regexp_match(
        pg_get_expr(c.relpartbound, c.oid), 'FROM \(''([^'']*)''\) TO \(''([^'']*)''\)'
    ) AS b(bounds)
    WHERE i.inhparent = to_regclass(:parent) AND b.bounds IS NOT NULL
    ORDER BY start, c.relname
    """
)

logger = logging.getLogger(__name__)

# Days whose partitions this process has seen, per engine.
_known_days: WeakKeyDictionary[Engine, set[date]] = WeakKeyDictionary()


@dataclass(frozen=True)
class Partition:
    """One partition of a partitioned table: rows with `start <= observed_at < end`."""

    table: str
    name: str
    start: datetime
    end: datetime
    bytes: int

    @property
    def first_day(self) -> date:
        return self.start.astimezone(UTC).date()

    @property
    def last_day(self) -> date:
        return (self.end.astimezone(UTC) - timedelta(microseconds=1)).date()


@dataclass(frozen=True)
class LegacyConversion:
    """A plain table converted by `convert_plain_tables`; `legacy` is None when it was
    empty and simply recreated."""

    table: str
    legacy: str | None = None
    first_day: date | None = None
    last_day: date | None = None

    def describe(self) -> str:
        if self.legacy is None:
            return f"{self.table}: empty plain table dropped and recreated partitioned"
        return (
            f"{self.table}: plain table converted to partitioned by day without copying rows; "
            f"its rows stay in partition {self.legacy} covering {self.first_day} .. "
            f"{self.last_day}, dropped by retention once that whole range is past"
        )


def partition_name(table: str, day: date) -> str:
    """`flight_positions_p20261129`."""
    return f"{table}_p{day:%Y%m%d}"


def day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def utc_day(moment: datetime) -> date:
    """The UTC day of an instant (naive instants are UTC, as everywhere in the schema)."""
    return moment.astimezone(UTC).date() if moment.tzinfo else moment.date()


def _quote(connection: Connection, name: str) -> str:
    return connection.dialect.identifier_preparer.quote(name)


def _relkind(connection: Connection, name: str) -> str | None:
    """'r' for a plain table, 'p' for a partitioned one, None when there is none."""
    return connection.execute(
        text("SELECT relkind FROM pg_class WHERE oid = to_regclass(:name)"), {"name": name}
    ).scalar()


def _missing_names(connection: Connection, names: list[str]) -> set[str]:
    rows = connection.execute(
        text(
            "SELECT name FROM unnest(CAST(:names AS text[])) AS name "
            "WHERE to_regclass(name) IS NULL"
        ),
        {"names": names},
    )
    return set(rows.scalars())


def table_partitions(connection: Connection, table: str) -> list[Partition]:
    """The partitions of `table` with their ranges and sizes, oldest first."""
    return [
        Partition(table=table, name=row.name, start=row.start, end=row.end, bytes=row.bytes)
        for row in connection.execute(BOUNDS, {"parent": table})
    ]


def list_partitions(engine: Engine) -> list[Partition]:
    """Every partition of the partitioned tables, oldest first per table; [] on SQLite."""
    if engine.dialect.name != "postgresql":
        return []
    with engine.connect() as connection:
        return [p for table in PARTITIONED_NAMES for p in table_partitions(connection, table)]


def _missing(connection: Connection, days: list[date]) -> tuple[list[tuple[str, date]], bool]:
    """The (table, day) partitions that `days` lack: those that exist neither by name nor
    inside another partition's range (a legacy one); and whether every table is
    partitioned (a plain one, not migrated yet, can have none)."""
    missing, complete = [], True
    for table in PARTITIONED_NAMES:
        if _relkind(connection, table) != "p":
            complete = False
            continue
        ranges = [(p.start, p.end) for p in table_partitions(connection, table)]
        for day in days:
            start, end = day_start(day), day_start(day + timedelta(days=1))
            if not any(low < end and start < high for low, high in ranges):
                missing.append((table, day))
    return missing, complete


def _create(connection: Connection, table: str, day: date) -> str:
    name = partition_name(table, day)
    start, end = day_start(day), day_start(day + timedelta(days=1))
    connection.execute(
        text(
            f"CREATE TABLE {_quote(connection, name)} PARTITION OF {_quote(connection, table)} "
            f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
        )
    )
    return name


def ensure_day_partitions(engine: Engine, days: Iterable[date]) -> list[str]:
    """Create any missing daily partitions of all three tables for these UTC days; returns
    the names created ([] on SQLite, and when all exist).

    Call it before, never inside, the transaction that writes the rows. Safe when several
    processes race: the creation runs under an advisory lock and checks again. Days seen
    are trusted from memory only from today on, since retention may drop earlier days.
    """
    if engine.dialect.name != "postgresql":
        return []
    known = _known_days.setdefault(engine, set())
    today = datetime.now(UTC).date()
    wanted = sorted({day for day in days if day not in known or day < today})
    if not wanted:
        return []
    names = [partition_name(table, day) for table in PARTITIONED_NAMES for day in wanted]
    with engine.connect() as connection:
        unnamed = _missing_names(connection, names)
    if not unnamed:
        known.update(wanted)
        return []
    with engine.begin() as connection:
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
        missing, complete = _missing(connection, wanted)
        created = [_create(connection, table, day) for table, day in missing]
    if complete:
        known.update(wanted)
    return created


def missing_day_partitions(engine: Engine, days: Iterable[date]) -> list[str]:
    """The names `ensure_day_partitions` would create now (for dry runs); [] on SQLite."""
    if engine.dialect.name != "postgresql":
        return []
    with engine.connect() as connection:
        missing, _ = _missing(connection, sorted(set(days)))
    return [partition_name(table, day) for table, day in missing]


def days_ahead(today: date, ahead: int) -> list[date]:
    """Today and the `ahead` days after it."""
    return [today + timedelta(days=offset) for offset in range(ahead + 1)]


class PartitionChanged(RuntimeError):
    """A partition that no longer holds the rows it was archived with."""


def drop_partition(
    engine: Engine,
    partition: Partition,
    lock_timeout_ms: int = DEFAULT_LOCK_TIMEOUT_MS,
    expected_rows: int | None = None,
) -> bool:
    """Drop one partition; False (nothing changed) when its parent stays locked longer than
    `lock_timeout_ms`.

    Dropping a partition takes an exclusive lock on the parent: queued behind a long
    reader it would block every writer, so it waits briefly and gives up instead. With
    `expected_rows` (the rows archived), the partition is first locked against writes and
    counted, and `PartitionChanged` is raised, nothing dropped, when rows were added since.
    """
    try:
        with engine.begin() as connection:
            connection.execute(text(f"SET LOCAL lock_timeout = {int(lock_timeout_ms)}"))
            name = _quote(connection, partition.name)
            if expected_rows is not None:
                connection.execute(text("SET LOCAL statement_timeout = 0"))
                connection.execute(text(f"LOCK TABLE {name} IN SHARE MODE"))
                found = connection.execute(text(f"SELECT count(*) FROM {name}")).scalar_one()
                if found != expected_rows:
                    raise PartitionChanged(
                        f"{partition.name}: holds {found:,} rows, {expected_rows:,} archived"
                    )
            connection.execute(text(f"DROP TABLE IF EXISTS {name}"))
    except OperationalError as error:
        if getattr(error.orig, "pgcode", None) in (LOCK_NOT_AVAILABLE, DEADLOCK_DETECTED):
            return False
        raise
    known = _known_days.get(engine)
    if known is not None:
        day = partition.first_day
        while day <= partition.last_day:
            known.discard(day)
            day += timedelta(days=1)
    return True


def _rename_constraints_and_indexes(connection: Connection, table: str) -> None:
    """Suffix the names of a table's constraints and indexes, so that the new parent can
    take the schema's names (index names are unique per schema)."""
    constraints = connection.execute(
        text("SELECT conname FROM pg_constraint WHERE conrelid = to_regclass(:t) ORDER BY 1"),
        {"t": table},
    ).scalars()
    for name in list(constraints):
        connection.execute(
            text(
                f"ALTER TABLE {_quote(connection, table)} RENAME CONSTRAINT "
                f"{_quote(connection, name)} TO {_quote(connection, name + LEGACY_SUFFIX)}"
            )
        )
    indexes = connection.execute(
        text(
            "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = to_regclass(:t) AND c.relname NOT LIKE :renamed ORDER BY 1"
        ),
        {"t": table, "renamed": f"%{LEGACY_SUFFIX}"},
    ).scalars()
    for name in list(indexes):
        connection.execute(
            text(
                f"ALTER INDEX {_quote(connection, name)} "
                f"RENAME TO {_quote(connection, name + LEGACY_SUFFIX)}"
            )
        )


def _convert(connection: Connection, table: Table) -> LegacyConversion | None:
    """Convert the plain table, or None when another process converted it first."""
    name = _quote(connection, table.name)
    # Reading the range and validating the attach scan the table once; no time limit.
    connection.execute(text("SET LOCAL statement_timeout = 0"))
    connection.execute(text(f"LOCK TABLE {name} IN ACCESS EXCLUSIVE MODE"))
    if _relkind(connection, table.name) != "r":
        return None
    first, last = connection.execute(
        text(f"SELECT min(observed_at), max(observed_at) FROM {name}")
    ).one()
    if first is None:
        connection.execute(text(f"DROP TABLE {name}"))
        table.create(connection)
        return LegacyConversion(table.name)
    legacy = table.name + LEGACY_SUFFIX
    _rename_constraints_and_indexes(connection, table.name)
    connection.execute(text(f"ALTER TABLE {name} RENAME TO {_quote(connection, legacy)}"))
    table.create(connection)
    first_day, last_day = utc_day(first), utc_day(last)
    start, end = day_start(first_day), day_start(last_day + timedelta(days=1))
    connection.execute(
        text(
            f"ALTER TABLE {name} ATTACH PARTITION {_quote(connection, legacy)} "
            f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
        )
    )
    return LegacyConversion(table.name, legacy, first_day, last_day)


def convert_plain_tables(engine: Engine) -> list[LegacyConversion]:
    """Make the per-snapshot tables that an earlier version created plain partitioned,
    one table per transaction, keeping their rows where they are; logs each conversion.

    The plain table's columns must already match the schema (migrate adds missing ones
    first), since a partition has exactly its parent's columns.
    """
    if engine.dialect.name != "postgresql":
        return []
    done = []
    for table in PARTITIONED:
        with engine.begin() as connection:
            if _relkind(connection, table.name) != "r":
                continue
            conversion = _convert(connection, table)
        if conversion is None:
            continue
        logger.warning("migrate: %s", conversion.describe())
        done.append(conversion)
    return done
