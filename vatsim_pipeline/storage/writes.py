"""Bulk, idempotent writes of one parsed snapshot, in one transaction.

Re-ingesting a snapshot changes nothing, and a snapshot that arrives after a newer one
never moves `last_seen` or the latest state backwards: every upsert compares the
snapshot's time with what the row already holds.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table, case, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from vatsim_pipeline.feed.models import FLIGHT_PLAN_FIELDS, FlightPlan, Snapshot, Transceiver
from vatsim_pipeline.storage.schema import (
    controllers,
    feed_snapshots,
    flight_positions,
    flights,
    prefiles,
    rejected_records,
    transceivers,
)

ConnectionKey = tuple[int, str, datetime]


@dataclass
class TableWrite:
    """What one snapshot did to one table."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class LandedFiles:
    """Where the snapshot's payloads were landed, for `feed_snapshots`."""

    data_path: str | None = None
    data_sha256: str | None = None
    transceivers_path: str | None = None
    transceivers_sha256: str | None = None
    fetched_at: datetime | None = None


@dataclass
class SnapshotWrite:
    """What storing one snapshot did, table by table."""

    update_timestamp: datetime
    new_snapshot: bool
    tables: dict[str, TableWrite] = field(default_factory=dict)
    rejected: int = 0


def _insert(connection: Connection, table: Table):
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def _plan_values(plan: FlightPlan | None) -> dict[str, Any]:
    if plan is None:
        return dict.fromkeys(FLIGHT_PLAN_FIELDS)
    return asdict(plan)


def _latest_wins(table: Table, excluded, columns: Iterable[str]) -> dict[str, Any]:
    """SET clauses that keep the row's values unless the incoming snapshot is newer."""
    newer = excluded.last_seen > table.c.last_seen
    sets: dict[str, Any] = {
        name: case((newer, excluded[name]), else_=table.c[name]) for name in columns
    }
    sets["first_seen"] = case(
        (excluded.first_seen < table.c.first_seen, excluded.first_seen),
        else_=table.c.first_seen,
    )
    sets["last_seen"] = case((newer, excluded.last_seen), else_=table.c.last_seen)
    return sets


def _upsert_connections(
    connection: Connection,
    table: Table,
    rows: list[dict[str, Any]],
    keys: Sequence[str],
    seen_at: datetime,
) -> tuple[dict[tuple, int], TableWrite]:
    """Upsert connection rows keyed by `keys`; returns their ids and what changed."""
    result = TableWrite()
    if not rows:
        return {}, result
    callsigns = sorted({row["callsign"] for row in rows})
    key_columns = [table.c[k] for k in keys]
    existing = {
        tuple(row[:-2]): (row[-2], row[-1])
        for row in connection.execute(
            select(*key_columns, table.c.id, table.c.last_seen).where(
                table.c.callsign.in_(callsigns)
            )
        )
    }
    ids: dict[tuple, int] = {}
    to_write = []
    for row in rows:
        key = tuple(row[k] for k in keys)
        known = existing.get(key)
        if known is None:
            result.inserted += 1
            to_write.append(row)
        else:
            ids[key] = known[0]
            if seen_at > known[1]:
                result.updated += 1
                to_write.append(row)
            else:
                result.unchanged += 1
                if seen_at < known[1]:
                    to_write.append(row)
    if to_write:
        statement = _insert(connection, table)
        state_columns = [c for c in rows[0] if c not in (*keys, "first_seen", "last_seen")]
        statement = statement.on_conflict_do_update(
            index_elements=list(keys),
            set_=_latest_wins(table, statement.excluded, state_columns),
            where=or_(
                statement.excluded.last_seen > table.c.last_seen,
                statement.excluded.first_seen < table.c.first_seen,
            ),
        ).returning(*key_columns, table.c.id)
        for row in connection.execute(statement, to_write):
            ids[tuple(row[:-1])] = row[-1]
    return ids, result


def _insert_new(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> int:
    """Insert append-only rows, skipping those already stored; returns rows inserted."""
    if not rows:
        return 0
    statement = _insert(connection, table).on_conflict_do_nothing()
    return connection.execute(statement, rows).rowcount


def _centre(radios: list[Transceiver]) -> tuple[float, float]:
    """Mean position of a station's radios on the sphere (safe across the antimeridian)."""
    x = y = z = 0.0
    for radio in radios:
        lat, lon = math.radians(radio.latitude), math.radians(radio.longitude)
        x += math.cos(lat) * math.cos(lon)
        y += math.cos(lat) * math.sin(lon)
        z += math.sin(lat)
    lon = math.degrees(math.atan2(y, x))
    lat = math.degrees(math.atan2(z, math.hypot(x, y)))
    return round(lat, 6), round(lon, 6)


def _flight_rows(snapshot: Snapshot) -> list[dict[str, Any]]:
    ts = snapshot.update_timestamp
    rows = []
    for pilot in snapshot.pilots:
        row = {
            "cid": pilot.cid,
            "callsign": pilot.callsign,
            "logon_time": pilot.logon_time,
            "name": pilot.name,
            "server": pilot.server,
            "pilot_rating": pilot.pilot_rating,
            "military_rating": pilot.military_rating,
            **_plan_values(pilot.flight_plan),
            "latitude": pilot.latitude,
            "longitude": pilot.longitude,
            "altitude": pilot.altitude,
            "groundspeed": pilot.groundspeed,
            "heading": pilot.heading,
            "transponder": pilot.transponder,
            "qnh_i_hg": pilot.qnh_i_hg,
            "qnh_mb": pilot.qnh_mb,
            "last_updated": pilot.last_updated,
            "first_seen": ts,
            "last_seen": ts,
        }
        rows.append(row)
    return rows


def _controller_rows(snapshot: Snapshot) -> list[dict[str, Any]]:
    ts = snapshot.update_timestamp
    radios: dict[str, list[Transceiver]] = {}
    for radio in snapshot.transceivers:
        radios.setdefault(radio.callsign, []).append(radio)
    rows = []
    for controller in snapshot.controllers:
        station = radios.get(controller.callsign)
        lat, lon = _centre(station) if station else (None, None)
        rows.append(
            {
                "cid": controller.cid,
                "callsign": controller.callsign,
                "logon_time": controller.logon_time,
                "kind": controller.kind,
                "name": controller.name,
                "server": controller.server,
                "frequency": controller.frequency,
                "frequency_hz": controller.frequency_hz,
                "facility": controller.facility,
                "rating": controller.rating,
                "visual_range": controller.visual_range,
                "atis_code": controller.atis_code,
                "text_atis": controller.text_atis,
                "latitude": lat,
                "longitude": lon,
                "last_updated": controller.last_updated,
                "first_seen": ts,
                "last_seen": ts,
            }
        )
    return rows


def _dedupe(rows: list[dict[str, Any]], keys: Sequence[str]) -> list[dict[str, Any]]:
    """One row per key: a feed that lists a connection twice keeps the last entry."""
    return list({tuple(row[k] for k in keys): row for row in rows}.values())


CONNECTION_KEY = ("cid", "callsign", "logon_time")


def write_snapshot(
    engine: Engine, snapshot: Snapshot, landed: LandedFiles | None = None
) -> SnapshotWrite:
    """Store one parsed snapshot in one transaction; safe to repeat, in any order."""
    landed = landed or LandedFiles()
    ts = snapshot.update_timestamp
    write = SnapshotWrite(update_timestamp=ts, new_snapshot=False, rejected=len(snapshot.rejected))
    with engine.begin() as connection:
        flight_rows = _dedupe(_flight_rows(snapshot), CONNECTION_KEY)
        flight_ids, write.tables["flights"] = _upsert_connections(
            connection, flights, flight_rows, CONNECTION_KEY, ts
        )
        positions = [
            {
                "flight_id": flight_ids[(row["cid"], row["callsign"], row["logon_time"])],
                "observed_at": ts,
                "latitude": row["latitude"],
                "longitude": row["longitude"],
                "altitude": row["altitude"],
                "groundspeed": row["groundspeed"],
                "heading": row["heading"],
                "transponder": row["transponder"],
                "qnh_i_hg": row["qnh_i_hg"],
                "qnh_mb": row["qnh_mb"],
            }
            for row in flight_rows
        ]
        inserted = _insert_new(connection, flight_positions, positions)
        write.tables["flight_positions"] = TableWrite(
            inserted=inserted, unchanged=len(positions) - inserted
        )

        controller_rows = _dedupe(_controller_rows(snapshot), CONNECTION_KEY)
        controller_ids, write.tables["controllers"] = _upsert_connections(
            connection, controllers, controller_rows, CONNECTION_KEY, ts
        )

        flight_by_callsign = {key[1]: fid for key, fid in flight_ids.items()}
        controller_by_callsign = {key[1]: cid for key, cid in controller_ids.items()}
        radio_rows = [
            {
                "observed_at": ts,
                "callsign": radio.callsign,
                "transceiver_id": radio.transceiver_id,
                "frequency_hz": radio.frequency_hz,
                "latitude": radio.latitude,
                "longitude": radio.longitude,
                "height_msl_m": radio.height_msl_m,
                "height_agl_m": radio.height_agl_m,
                "flight_id": flight_by_callsign.get(radio.callsign),
                "controller_id": controller_by_callsign.get(radio.callsign),
            }
            for radio in snapshot.transceivers
        ]
        inserted = _insert_new(connection, transceivers, radio_rows)
        write.tables["transceivers"] = TableWrite(
            inserted=inserted, unchanged=len(radio_rows) - inserted
        )

        prefile_rows = _dedupe(
            [
                {
                    "cid": prefile.cid,
                    "callsign": prefile.callsign,
                    "name": prefile.name,
                    **_plan_values(prefile.flight_plan),
                    "last_updated": prefile.last_updated,
                    "first_seen": ts,
                    "last_seen": ts,
                }
                for prefile in snapshot.prefiles
            ],
            ("cid", "callsign"),
        )
        _, write.tables["prefiles"] = _upsert_connections(
            connection, prefiles, prefile_rows, ("cid", "callsign"), ts
        )

        _insert_new(
            connection,
            rejected_records,
            [
                {
                    "update_timestamp": ts,
                    "section": rejected.section,
                    "record_index": rejected.index,
                    "callsign": rejected.callsign,
                    "reason": rejected.reason,
                    "record": rejected.raw,
                }
                for rejected in snapshot.rejected
            ],
        )
        counts = snapshot.counts()
        write.new_snapshot = (
            _insert_new(
                connection,
                feed_snapshots,
                [
                    {
                        "update_timestamp": ts,
                        "fetched_at": landed.fetched_at,
                        "stored_at": datetime.now(UTC),
                        "status": "stored",
                        "connected_clients": snapshot.connected_clients,
                        **counts,
                        "data_path": landed.data_path,
                        "data_sha256": landed.data_sha256,
                        "transceivers_path": landed.transceivers_path,
                        "transceivers_sha256": landed.transceivers_sha256,
                    }
                ],
            )
            == 1
        )
    return write
