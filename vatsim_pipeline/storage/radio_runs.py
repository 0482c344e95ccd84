"""Radios stored when they change: runs of unchanged values instead of a row per 15 s.

A row of `transceivers` stands for one radio `(callsign, transceiver_id)` present with the
same values (frequency, position, heights, linked flight or controller) in every recorded
snapshot from `observed_at` to `last_observed_at`, and in no other snapshot between them:
a run is extended only to the next recorded snapshot (`feed_snapshots`) after its last
one, never across a snapshot that lacked the radio (or all radios), and never across UTC
midnight, so that each run lies in one day partition. A controller's radios or a parked
aircraft's make one row for hours; a moving aircraft's radio still changes every snapshot.

A radio at exactly the position of a lower-numbered radio of its station in the same
snapshot (a pilot's COM2 beside COM1) stores no position: `position_of` names the
lowest-numbered such radio (`snapshot_rows.positions_of`), which holds the position
itself. Its run then lasts while its frequency and links stay, however the position moves.

`transceiver_snapshots` expands the runs back to one row per radio per recorded snapshot,
exactly what the feed said, a referring radio's position taken from the run of the radio
it names covering that snapshot: every reader of radios reads through it.

Writes keep that invariant whatever the order of delivery:

- in order (the snapshot is newer than every recorded one: the live pipeline), a run that
  ended at the previous recorded snapshot with equal values is extended, else a run
  begins; on PostgreSQL this is one statement over the staged radios (`extend_or_begin`);
- otherwise (a re-ingest, a back-fill, a dead-letter replay) the runs around the
  snapshot are read and mended: a run that spans it but disagrees is split around it, and
  the radio joins the run ending at the previous recorded snapshot and/or the one starting
  at the next, or begins its own (`write_radios`).

Writers are serialised (a PostgreSQL advisory lock, SQLite has one writer), since a write
reads the runs around its snapshot before changing them; all of it happens in the
snapshot's own transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    bindparam,
    case,
    delete,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy import update as sql_update

from vatsim_pipeline.storage.partitions import day_start, utc_day
from vatsim_pipeline.storage.schema import UTCDateTime, feed_snapshots, transceivers
from vatsim_pipeline.storage.write_report import TableWrite

KEY = ("callsign", "transceiver_id")
POSITION = ("latitude", "longitude", "height_msl_m", "height_agl_m")
LINKS = ("flight_id", "controller_id")
VALUES = ("frequency_hz", *POSITION, "position_of", *LINKS)
RADIO = (*KEY, *VALUES)
"""A radio as the writer takes it: its key, then its values (ids resolved)."""
SNAPSHOT_RADIO = (*KEY, "frequency_hz", *POSITION, *LINKS)
"""A radio as the feed gave it (`transceiver_snapshots`), its position resolved."""
# Any constant shared by every writer of radio runs ("RAD10" in hex-speak).
ADVISORY_LOCK_KEY = 0x7AD10

Key = tuple[str, int]


def _expanded():
    """Runs joined to the snapshots they cover. A radio with `position_of` takes each
    position value from the run of the radio it names covering the same snapshot: that
    radio's latest run begun by then, one backward probe of `ux_transceivers_run` per
    value (a join would match every run of the radio that day), made only for the
    referring rows (CASE evaluates its branch lazily) and not at all by a read that
    selects no position."""
    runs, owner = transceivers, transceivers.alias("owner")
    moment = feed_snapshots.c.update_timestamp

    def owners(name: str):
        return (
            select(owner.c[name])
            .where(
                owner.c.callsign == runs.c.callsign,
                owner.c.transceiver_id == runs.c.position_of,
                owner.c.observed_at <= moment,
            )
            .order_by(owner.c.observed_at.desc())
            .limit(1)
            .correlate(runs, feed_snapshots)
            .scalar_subquery()
        )

    own = runs.c.position_of.is_(None)
    return (
        select(
            moment.label("observed_at"),
            *(runs.c[name] for name in (*KEY, "frequency_hz")),
            *(case((own, runs.c[n]), else_=owners(n)).label(n) for n in POSITION),
            *(runs.c[name] for name in LINKS),
        )
        .select_from(
            runs.join(
                feed_snapshots,
                and_(moment >= runs.c.observed_at, moment <= runs.c.last_observed_at),
            )
        )
        .subquery("transceiver_snapshots")
    )


transceiver_snapshots = _expanded()
"""One row per radio per recorded snapshot (`observed_at`), as the feed listed it."""


@dataclass(frozen=True)
class Run:
    callsign: str
    transceiver_id: int
    first: datetime
    last: datetime
    values: tuple

    @property
    def key(self) -> Key:
        return (self.callsign, self.transceiver_id)


@dataclass
class RunChanges:
    """What a write does to the runs: applied deletes first, then updates, then inserts."""

    deleted: list[Run] = field(default_factory=list)
    new_last: list[tuple[Run, datetime]] = field(default_factory=list)
    new_first: list[tuple[Run, datetime]] = field(default_factory=list)
    inserted: list[Run] = field(default_factory=list)
    observed: int = 0
    """Radios of the snapshot not already stored with these values."""
    already: int = 0


@dataclass(frozen=True)
class Neighbours:
    """The recorded snapshots just before and after `moment`, within its UTC day (a run
    never crosses midnight, so one of another day is no neighbour of a run)."""

    moment: datetime
    previous: datetime | None
    following: datetime | None

    @property
    def day(self) -> date:
        return utc_day(self.moment)


def serialise_writers(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})


def _same_day(moment: datetime | None, day: date) -> datetime | None:
    return moment if moment is not None and utc_day(moment) == day else None


def neighbours(connection: Connection, moment: datetime) -> Neighbours:
    stamp = feed_snapshots.c.update_timestamp
    previous = connection.execute(select(func.max(stamp)).where(stamp < moment)).scalar()
    following = connection.execute(select(func.min(stamp)).where(stamp > moment)).scalar()
    day = utc_day(moment)
    return Neighbours(moment, _same_day(previous, day), _same_day(following, day))


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    return day_start(day), day_start(day + timedelta(days=1))


def _candidates(connection: Connection, around: Neighbours) -> dict[Key, list[Run]]:
    """The runs of the day that cover the snapshot, end at the previous recorded one or
    begin at the next: every run a write at `around.moment` can touch."""
    runs = transceivers
    start, end = _day_bounds(around.day)
    rows = connection.execute(
        select(runs.c.observed_at, runs.c.last_observed_at, *(runs.c[n] for n in RADIO)).where(
            runs.c.observed_at >= start,
            runs.c.observed_at < end,
            runs.c.observed_at <= (around.following or around.moment),
            runs.c.last_observed_at >= (around.previous or around.moment),
        )
    )
    found: dict[Key, list[Run]] = {}
    for first, last, callsign, transceiver_id, *values in rows:
        run = Run(callsign, transceiver_id, first, last, tuple(values))
        found.setdefault(run.key, []).append(run)
    return found


def plan(
    radios: dict[Key, tuple], candidates: dict[Key, list[Run]], around: Neighbours
) -> RunChanges:
    """The changes that make the runs say `radios` at `around.moment` and nothing else
    there, leaving every other snapshot's radios as they were."""
    changes = RunChanges()
    moment, previous, following = around.moment, around.previous, around.following
    for key in candidates.keys() | radios.keys():
        runs = candidates.get(key, [])
        values = radios.get(key)
        cover = next((run for run in runs if run.first <= moment <= run.last), None)
        if cover is not None:
            if cover.values == values:
                changes.already += 1
                continue
            # Split the run around the snapshot: what it said before and after stays.
            if cover.first < moment:
                changes.new_last.append((cover, previous))
            else:
                changes.deleted.append(cover)
            if cover.last > moment:
                changes.inserted.append(Run(*key, following, cover.last, cover.values))
            runs = [run for run in runs if run is not cover]
        if values is None:
            continue
        changes.observed += 1
        before = next(
            (r for r in runs if previous and r.last == previous and r.values == values), None
        )
        after = next(
            (r for r in runs if following and r.first == following and r.values == values), None
        )
        if before is not None and after is not None:
            changes.deleted.append(after)
            changes.new_last.append((before, after.last))
        elif before is not None:
            changes.new_last.append((before, moment))
        elif after is not None:
            changes.new_first.append((after, moment))
        else:
            changes.inserted.append(Run(*key, moment, moment, values))
    return changes


def _at_run():
    """A run by its key: the radio and its first snapshot."""
    runs = transceivers
    return and_(
        runs.c.callsign == bindparam("k_callsign"),
        runs.c.transceiver_id == bindparam("k_transceiver_id"),
        runs.c.observed_at == bindparam("k_first", type_=UTCDateTime),
    )


def _key_params(run: Run) -> dict:
    return {
        "k_callsign": run.callsign,
        "k_transceiver_id": run.transceiver_id,
        "k_first": run.first,
    }


def apply(connection: Connection, changes: RunChanges) -> None:
    runs = transceivers
    where = _at_run()
    if changes.deleted:
        connection.execute(delete(runs).where(where), [_key_params(r) for r in changes.deleted])
    if changes.new_last:
        connection.execute(
            sql_update(runs).where(where).values(last_observed_at=bindparam("v_last")),
            [{**_key_params(run), "v_last": last} for run, last in changes.new_last],
        )
    if changes.new_first:
        connection.execute(
            sql_update(runs).where(where).values(observed_at=bindparam("v_first")),
            [{**_key_params(run), "v_first": first} for run, first in changes.new_first],
        )
    if changes.inserted:
        connection.execute(
            runs.insert(),
            [
                {
                    "observed_at": run.first,
                    "last_observed_at": run.last,
                    "callsign": run.callsign,
                    "transceiver_id": run.transceiver_id,
                    **dict(zip(VALUES, run.values, strict=True)),
                }
                for run in changes.inserted
            ],
        )


def write_radios(
    connection: Connection, radios: Iterable[Sequence], moment: datetime
) -> TableWrite:
    """Store the radios (`RADIO` order, ids resolved) of the snapshot at `moment`."""
    serialise_writers(connection)
    return _write_locked(connection, radios, moment)


def is_newest(connection: Connection, moment: datetime) -> tuple[bool, datetime | None]:
    """Whether `moment` is newer than every recorded snapshot, and the newest one."""
    newest = connection.execute(select(func.max(feed_snapshots.c.update_timestamp))).scalar()
    return newest is None or newest < moment, newest


def extend_or_begin_sql(staged_radios: str) -> str:
    """PostgreSQL, a snapshot newer than every recorded one: extend each staged radio's
    run that ended at the previous snapshot with equal values, begin a run for the rest.

    `staged_radios` selects the snapshot's radios with `RADIO` columns. The latest run of
    each radio is found by a backward scan of the run index (one probe per radio),
    within the day's partition; `%(previous)s` NULL (a new day) extends nothing. The
    runs to extend are MATERIALIZED: inlined, the planner joins the update on the radio
    alone, which matches every run of the radio that day (a seq scan of the partition).
    """
    equal = " AND ".join(f"l.{name} IS NOT DISTINCT FROM s.{name}" for name in VALUES)
    listed = ", ".join(RADIO)
    return f"""
        WITH staged AS ({staged_radios}),
        extendable AS MATERIALIZED (
            SELECT s.callsign, s.transceiver_id, l.observed_at
            FROM staged s
            CROSS JOIN LATERAL (
                SELECT t.* FROM transceivers t
                WHERE t.callsign = s.callsign AND t.transceiver_id = s.transceiver_id
                  AND t.observed_at >= %(day_start)s AND t.observed_at < %(day_end)s
                ORDER BY t.observed_at DESC LIMIT 1
            ) l
            WHERE l.last_observed_at = %(previous)s AND {equal}
        ),
        extended AS (
            UPDATE transceivers t SET last_observed_at = %(seen_at)s
            FROM extendable e
            WHERE t.callsign = e.callsign AND t.transceiver_id = e.transceiver_id
              AND t.observed_at = e.observed_at
              AND t.observed_at >= %(day_start)s AND t.observed_at < %(day_end)s
            RETURNING t.callsign, t.transceiver_id
        )
        INSERT INTO transceivers (observed_at, last_observed_at, {listed})
        SELECT %(seen_at)s, %(seen_at)s, {", ".join(f"s.{n}" for n in RADIO)} FROM staged s
        WHERE NOT EXISTS (
            SELECT 1 FROM extended e
            WHERE e.callsign = s.callsign AND e.transceiver_id = s.transceiver_id
        )
    """


def write_staged_postgres(
    connection: Connection, staged_radios: str, total: int, moment: datetime
) -> TableWrite:
    """The PostgreSQL write of the radios staged for the snapshot at `moment`."""
    serialise_writers(connection)
    newest, latest = is_newest(connection, moment)
    if not newest:
        radios = connection.exec_driver_sql(staged_radios).all()
        return _write_locked(connection, radios, moment)
    if not total:
        return TableWrite()
    start, end = _day_bounds(utc_day(moment))
    connection.exec_driver_sql(
        extend_or_begin_sql(staged_radios),
        {
            "seen_at": moment,
            "previous": _same_day(latest, utc_day(moment)),
            "day_start": start,
            "day_end": end,
        },
    )
    return TableWrite(inserted=total)


def _write_locked(
    connection: Connection, radios: Iterable[Sequence], moment: datetime
) -> TableWrite:
    by_key = {tuple(radio[:2]): tuple(radio[2:]) for radio in radios}
    around = neighbours(connection, moment)
    changes = plan(by_key, _candidates(connection, around), around)
    apply(connection, changes)
    return TableWrite(inserted=changes.observed, unchanged=changes.already)


def _null_safe_equal(dialect: str, left: str, right: str) -> str:
    return f"{left} IS {right}" if dialect == "sqlite" else f"{left} IS NOT DISTINCT FROM {right}"


def _utc_date(dialect: str, column: str) -> str:
    return f"date({column})" if dialect == "sqlite" else f"({column} AT TIME ZONE 'UTC')::date"


def _merge_sql(dialect: str) -> str:
    """Runs to make of the single-snapshot rows: (radio, first, last) of each stretch of
    rows at consecutive recorded snapshots of one day with equal values (such a table
    predates `position_of`: every row holds its own position)."""
    same = " AND ".join(
        _null_safe_equal(dialect, f"lag(t.{name}) OVER w", f"t.{name}")
        for name in SNAPSHOT_RADIO[len(KEY) :]
    )
    previous_day, this_day = _utc_date(dialect, "s.previous"), _utc_date(dialect, "t.observed_at")
    return f"""
        CREATE TEMP TABLE radio_run_merge AS
        WITH snapshots AS (
            SELECT update_timestamp,
                   lag(update_timestamp) OVER (ORDER BY update_timestamp) AS previous
            FROM feed_snapshots
        ),
        marked AS (
            SELECT t.callsign, t.transceiver_id, t.observed_at,
                   CASE WHEN lag(t.observed_at) OVER w = s.previous
                         AND {previous_day} = {this_day}
                         AND {same}
                        THEN 0 ELSE 1 END AS starts
            FROM transceivers t JOIN snapshots s ON s.update_timestamp = t.observed_at
            WINDOW w AS (PARTITION BY t.callsign, t.transceiver_id ORDER BY t.observed_at)
        ),
        numbered AS (
            SELECT callsign, transceiver_id, observed_at,
                   sum(starts) OVER (
                       PARTITION BY callsign, transceiver_id ORDER BY observed_at
                       ROWS UNBOUNDED PRECEDING
                   ) AS run
            FROM marked
        )
        SELECT callsign, transceiver_id, min(observed_at) AS first_at, max(observed_at) AS last_at
        FROM numbered GROUP BY callsign, transceiver_id, run HAVING count(*) > 1
    """


_MERGE_POSTGRES = (
    "UPDATE transceivers t SET last_observed_at = m.last_at FROM radio_run_merge m "
    "WHERE t.callsign = m.callsign AND t.transceiver_id = m.transceiver_id "
    "AND t.observed_at = m.first_at",
    "DELETE FROM transceivers t USING radio_run_merge m "
    "WHERE t.callsign = m.callsign AND t.transceiver_id = m.transceiver_id "
    "AND t.observed_at > m.first_at AND t.observed_at <= m.last_at",
    "ALTER TABLE transceivers ALTER COLUMN last_observed_at SET NOT NULL",
    # The runs' key (`ux_transceivers_run`, created by migrate) replaces it.
    "ALTER TABLE transceivers DROP CONSTRAINT IF EXISTS uq_transceivers_radio",
)
_SAME_RUN_SQLITE = (
    "m.callsign = transceivers.callsign AND m.transceiver_id = transceivers.transceiver_id"
)
_MERGE_SQLITE = (
    "CREATE INDEX radio_run_merge_key ON radio_run_merge (callsign, transceiver_id, first_at)",
    "UPDATE transceivers SET last_observed_at = (SELECT m.last_at FROM radio_run_merge m "
    f"WHERE {_SAME_RUN_SQLITE} AND m.first_at = transceivers.observed_at) "
    f"WHERE EXISTS (SELECT 1 FROM radio_run_merge m WHERE {_SAME_RUN_SQLITE} "
    "AND m.first_at = transceivers.observed_at)",
    f"DELETE FROM transceivers WHERE EXISTS (SELECT 1 FROM radio_run_merge m "
    f"WHERE {_SAME_RUN_SQLITE} AND transceivers.observed_at > m.first_at "
    "AND transceivers.observed_at <= m.last_at)",
)


def convert_snapshot_rows(engine: Engine) -> bool:
    """Turn a `transceivers` table of an earlier version (a row per radio per snapshot)
    into runs, in one transaction, without losing a row: each row first becomes a run of
    its own snapshot, then the rows of each stretch of consecutive recorded snapshots with
    equal values merge into the first. True when it converted.

    (SQLite keeps the old unique constraint, which a table rebuild alone could drop; it
    still holds for runs.)
    """
    inspector = inspect(engine)
    if not inspector.has_table(transceivers.name):
        return False
    if "last_observed_at" in {c["name"] for c in inspector.get_columns(transceivers.name)}:
        return False
    dialect = engine.dialect.name
    column = "timestamptz" if dialect == "postgresql" else "DATETIME"
    with engine.begin() as connection:
        if dialect == "postgresql":
            connection.execute(text("SET LOCAL statement_timeout = 0"))
        connection.execute(text(f"ALTER TABLE transceivers ADD COLUMN last_observed_at {column}"))
        connection.execute(text("UPDATE transceivers SET last_observed_at = observed_at"))
        connection.execute(text(_merge_sql(dialect)))
        for statement in _MERGE_POSTGRES if dialect == "postgresql" else _MERGE_SQLITE:
            connection.execute(text(statement))
        connection.execute(text("DROP TABLE radio_run_merge"))
    return True
