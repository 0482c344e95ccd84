"""Per stored snapshot: detect the anomalies of its connections and keep the `anomalies`
intervals a function of the stored snapshots, whatever order they arrive in.

1. Every flight seen at `t` is read with its previous stored position (see
   `anomaly_positions`). When `t` is its newest position and it did not stand still, the
   flags of `t` follow from that pair alone (`track.step`), and each flagged kind extends
   the interval last seen at the previous position or starts a new one. This is the
   common, in-order case: one query for the positions, one for the flights' rows.
2. Every other flight (a late snapshot, with positions after `t`; or standing still,
   where `frozen` needs how long) has its intervals rebuilt from its whole stored track
   and the stored rows brought to match: each new interval keeps the oldest stored row
   it overlaps (so its id and alert state survive a merge or an earlier start), the
   rest are inserted, unmatched rows deleted.
3. When `t` is the newest stored snapshot, every interval not seen in it ends
   (`ended_at` = `last_seen_at`); `stale_feed` intervals end at the first update after
   them. A snapshot fetched `stale_feed_s` after its update starts a `stale_feed`.

Writers are serialised (a PostgreSQL advisory lock; SQLite has one writer), because a
rebuild reads rows and then writes them.
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import (
    Connection,
    Engine,
    Row,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    update,
)

from vatsim_pipeline.analytics.anomalies import KINDS
from vatsim_pipeline.analytics.anomalies.duplicates import Connection as LiveConnection
from vatsim_pipeline.analytics.anomalies.duplicates import duplicates
from vatsim_pipeline.analytics.anomalies.stale_feed import stale_feed
from vatsim_pipeline.analytics.anomalies.thresholds import Thresholds
from vatsim_pipeline.analytics.anomalies.track import Flags, Interval, intervals, step, track_flags
from vatsim_pipeline.storage.anomalies import anomalies
from vatsim_pipeline.storage.anomaly_positions import (
    SnapshotPosition,
    chunks,
    flight_tracks,
    same_callsign_positions,
    snapshot_positions,
)
from vatsim_pipeline.storage.schema import feed_snapshots, flights

STALE_FEED = "stale_feed"
TRACK_KINDS = tuple(kind for kind in KINDS if kind != STALE_FEED)
# Any constant shared by every writer of `anomalies` ("A-NOMALIE" in hex-speak).
ADVISORY_LOCK_KEY = 0xA40A11E
INTERVAL_COLUMNS = ("started_at", "last_seen_at", "ended_at", "first_snapshot", "trigger")


@dataclass
class AnomalyWrite:
    """What detection did for one snapshot."""

    observed_at: datetime
    newest: bool = False
    flights: int = 0
    rebuilt: int = 0
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    closed: int = 0
    new_by_kind: Counter[str] = field(default_factory=Counter)
    elapsed_ms: float = 0.0
    cpu_ms: float = 0.0


@dataclass
class _Changes:
    """Row changes gathered for one snapshot, applied together."""

    inserts: list[dict] = field(default_factory=list)
    updates: list[dict] = field(default_factory=list)
    deletes: list[int] = field(default_factory=list)


def trigger_text(values: dict) -> str:
    return json.dumps(values, sort_keys=True, separators=(",", ":"))


def _ended(last_seen_at: datetime, newest: datetime) -> datetime | None:
    return None if last_seen_at >= newest else last_seen_at


def _new_row(connection: LiveConnection | None, interval: Interval, newest: datetime) -> dict:
    return {
        "kind": interval.kind,
        "flight_id": connection.flight_id if connection else None,
        "callsign": connection.callsign if connection else None,
        "cid": connection.cid if connection else None,
        "started_at": interval.started_at,
        "last_seen_at": interval.last_seen_at,
        "ended_at": _ended(interval.last_seen_at, newest),
        "first_snapshot": interval.started_at,
        "trigger": trigger_text(interval.trigger),
        "detected_at": datetime.now(UTC),
    }


def detect_snapshot(
    engine: Engine, observed_at: datetime, thresholds: Thresholds | None = None
) -> AnomalyWrite:
    """Detect the anomalies of the stored snapshot at `observed_at`, in one transaction."""
    thresholds = thresholds or Thresholds.from_env()
    started, cpu = time.perf_counter(), time.process_time()
    write = AnomalyWrite(observed_at)
    with engine.begin() as connection:
        _lock(connection)
        snapshot = connection.execute(
            select(feed_snapshots.c.fetched_at).where(
                feed_snapshots.c.update_timestamp == observed_at
            )
        ).first()
        newest = connection.scalar(select(func.max(feed_snapshots.c.update_timestamp)))
        if snapshot is not None:
            write.newest = observed_at >= newest
            _detect(connection, write, observed_at, newest, thresholds)
            stale = stale_feed(observed_at, snapshot.fetched_at, thresholds)
            if stale is not None and _insert_stale(connection, observed_at, stale):
                write.inserted += 1
                write.new_by_kind[STALE_FEED] += 1
            write.closed = _close(connection, observed_at, write.newest)
    write.elapsed_ms = round(1000 * (time.perf_counter() - started), 1)
    write.cpu_ms = round(1000 * (time.process_time() - cpu), 1)
    return write


def _detect(
    connection: Connection,
    write: AnomalyWrite,
    observed_at: datetime,
    newest: datetime,
    thresholds: Thresholds,
) -> None:
    seen = snapshot_positions(connection, observed_at)
    write.flights = len(seen)
    doubled = duplicates(position.connection for position in seen)
    stored = _rows_of(connection, observed_at)
    changes = _Changes()
    rebuild: list[SnapshotPosition] = []
    for position in seen:
        flight_id = position.connection.flight_id
        if position.later:
            rebuild.append(position)
            continue
        flags, held = step(
            position.previous, position.current, None, doubled.get(flight_id), thresholds
        )
        # Standing still: how long for needs the track before the previous position.
        if held is not None or not _append(
            changes, position, flags, stored.get(flight_id, []), newest
        ):
            rebuild.append(position)
    if rebuild:
        write.rebuilt = len(rebuild)
        _rebuild(connection, changes, rebuild, stored, newest, thresholds)
    _apply(connection, changes, write)


def _rows_of(connection: Connection, observed_at: datetime) -> dict[int, list[Row]]:
    """The stored rows of every flight connected at `observed_at`."""
    connected = select(flights.c.id).where(
        flights.c.first_seen <= observed_at, flights.c.last_seen >= observed_at
    )
    rows: dict[int, list[Row]] = defaultdict(list)
    for row in connection.execute(
        select(
            anomalies.c.id,
            anomalies.c.kind,
            anomalies.c.flight_id,
            *(anomalies.c[name] for name in INTERVAL_COLUMNS),
        ).where(anomalies.c.flight_id.in_(connected))
    ):
        rows[row.flight_id].append(row)
    return rows


def _append(
    changes: _Changes,
    position: SnapshotPosition,
    flags: Flags,
    rows: list[Row],
    newest: datetime,
) -> bool:
    """Extend or start the intervals of a flight's newest position; False when its stored
    rows disagree with the flags (thresholds changed since), so it must be rebuilt."""
    if not flags and not rows:
        return True
    observed_at = position.current.observed_at
    previous_at = position.previous.observed_at if position.previous else None
    pending_updates, pending_inserts = [], []
    for kind in TRACK_KINDS:
        of_kind = [row for row in rows if row.kind == kind]
        if any(row.started_at <= observed_at <= row.last_seen_at for row in of_kind):
            if kind not in flags:
                return False
            continue
        if kind not in flags:
            continue
        extended = next((row for row in of_kind if row.last_seen_at == previous_at), None)
        if extended is not None:
            pending_updates.append(
                _row_update(
                    extended, last_seen_at=observed_at, ended_at=_ended(observed_at, newest)
                )
            )
        else:
            interval = Interval(kind, observed_at, observed_at, flags[kind])
            pending_inserts.append(_new_row(position.connection, interval, newest))
    changes.updates.extend(pending_updates)
    changes.inserts.extend(pending_inserts)
    return True


def _row_update(row: Row, **values) -> dict:
    current = {name: getattr(row, name) for name in INTERVAL_COLUMNS}
    return {"row_id": row.id, **current, **values}


def _rebuild(
    connection: Connection,
    changes: _Changes,
    positions: list[SnapshotPosition],
    stored: dict[int, list[Row]],
    newest: datetime,
    thresholds: Thresholds,
) -> None:
    """Rebuild the intervals of these flights from their whole tracks."""
    tracks = flight_tracks(connection, [p.connection.flight_id for p in positions])
    namesakes = same_callsign_positions(
        connection,
        {p.connection.callsign for p in positions},
        min(track[0].observed_at for track in tracks.values()),
        max(track[-1].observed_at for track in tracks.values()),
    )
    for position in positions:
        flight_id = position.connection.flight_id
        doubled_at = {}
        for observed_at, live in namesakes.get(position.connection.callsign, {}).items():
            if len(live) > 1:
                found = duplicates(live).get(flight_id)
                if found is not None:
                    doubled_at[observed_at] = found
        track = tracks[flight_id]
        found_intervals = intervals(track, track_flags(track, doubled_at, thresholds))
        _reconcile(changes, position.connection, found_intervals, stored.get(flight_id, []), newest)


def _reconcile(
    changes: _Changes,
    connection: LiveConnection,
    found: Iterable[Interval],
    rows: list[Row],
    newest: datetime,
) -> None:
    """Bring a flight's stored rows to the intervals found, keeping rows that overlap."""
    used: set[int] = set()
    for interval in found:
        candidates = [
            row
            for row in rows
            if row.kind == interval.kind
            and row.id not in used
            and row.started_at <= interval.last_seen_at
            and row.last_seen_at >= interval.started_at
        ]
        wanted = _new_row(connection, interval, newest)
        if not candidates:
            changes.inserts.append(wanted)
            continue
        row = min(candidates, key=lambda r: r.id)
        used.add(row.id)
        values = {name: wanted[name] for name in INTERVAL_COLUMNS}
        if any(getattr(row, name) != value for name, value in values.items()):
            changes.updates.append({"row_id": row.id, **values})
    changes.deletes.extend(row.id for row in rows if row.kind in TRACK_KINDS and row.id not in used)


def _apply(connection: Connection, changes: _Changes, write: AnomalyWrite) -> None:
    for chunk in chunks(changes.deletes):
        connection.execute(delete(anomalies).where(anomalies.c.id.in_(chunk)))
    if changes.updates:
        connection.execute(
            update(anomalies)
            .where(anomalies.c.id == bindparam("row_id"))
            .values({name: bindparam(name) for name in INTERVAL_COLUMNS}),
            changes.updates,
        )
    if changes.inserts:
        connection.execute(insert(anomalies), changes.inserts)
    write.deleted += len(changes.deletes)
    write.updated += len(changes.updates)
    write.inserted += len(changes.inserts)
    write.new_by_kind.update(row["kind"] for row in changes.inserts)


def _insert_stale(connection: Connection, update_timestamp: datetime, values: dict) -> int:
    """Start a `stale_feed` at `update_timestamp` unless one is there; 1 when inserted."""
    exists = connection.scalar(
        select(anomalies.c.id).where(
            anomalies.c.kind == STALE_FEED, anomalies.c.started_at == update_timestamp
        )
    )
    if exists is not None:
        return 0
    moved_at = connection.scalar(
        select(func.min(feed_snapshots.c.update_timestamp)).where(
            feed_snapshots.c.update_timestamp > update_timestamp
        )
    )
    interval = Interval(STALE_FEED, update_timestamp, update_timestamp, values)
    row = _new_row(None, interval, update_timestamp)
    row["ended_at"] = moved_at
    connection.execute(insert(anomalies), [row])
    return 1


def record_stale_feed(
    engine: Engine, update_timestamp: datetime, seen_at: datetime, thresholds: Thresholds
) -> bool:
    """Record that the feed still served `update_timestamp` at `seen_at` (the feed sensor's
    last fetch); True when that started a new `stale_feed` interval."""
    values = stale_feed(update_timestamp, seen_at, thresholds)
    if values is None:
        return False
    with engine.begin() as connection:
        _lock(connection)
        return _insert_stale(connection, update_timestamp, values) == 1


def _lock(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})


def _close(connection: Connection, observed_at: datetime, newest: bool) -> int:
    """End what the snapshot shows has ended; returns how many rows it ended."""
    closed = connection.execute(
        update(anomalies)
        .where(
            anomalies.c.kind == STALE_FEED,
            anomalies.c.started_at < observed_at,
            or_(anomalies.c.ended_at.is_(None), anomalies.c.ended_at > observed_at),
        )
        .values(ended_at=observed_at)
    ).rowcount
    if newest:
        closed += connection.execute(
            update(anomalies)
            .where(
                anomalies.c.ended_at.is_(None),
                anomalies.c.flight_id.is_not(None),
                anomalies.c.last_seen_at < observed_at,
            )
            .values(ended_at=anomalies.c.last_seen_at)
        ).rowcount
    return closed
