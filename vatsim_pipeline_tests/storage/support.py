"""Helpers for the storage tests.

Expectations come from the recorded payloads read with plain `json`, never from the
parser under test. Table dumps replace surrogate ids by natural keys, so that two
databases filled in different orders (and so with different ids) compare equal, and
list positions one per snapshot (expanded from their runs).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, delete, select

from vatsim_pipeline.feed.models import Snapshot
from vatsim_pipeline.feed.parse import parse_data_feed
from vatsim_pipeline.storage.position_runs import position_snapshots
from vatsim_pipeline.storage.schema import (
    controllers,
    feed_snapshots,
    flight_positions,
    flights,
    prefiles,
    rejected_records,
    transceivers,
)
from vatsim_pipeline.storage.writes import SnapshotWrite, write_snapshot

Key = tuple[int, str, datetime]
Dump = dict[str, list[tuple]]

DATA_TABLES = (
    transceivers,
    flight_positions,
    flights,
    controllers,
    prefiles,
    rejected_records,
    feed_snapshots,
)


@cache
def raw(path: Path) -> dict[str, Any]:
    """The payload as plain JSON (cached: tests must not mutate it)."""
    return json.loads(path.read_bytes())


@cache
def parsed(path: Path) -> Snapshot:
    """The parsed snapshot of a data feed (cached: tests must not mutate it)."""
    return parse_data_feed(path.read_bytes())


def iso(text: str) -> datetime:
    """A feed timestamp as aware UTC (Python 3.11 reads 7 digits, truncating to 6)."""
    return datetime.fromisoformat(text).astimezone(UTC)


def update_timestamp(path: Path) -> datetime:
    return iso(raw(path)["general"]["update_timestamp"])


def key_of(record: dict[str, Any]) -> Key:
    return (record["cid"], record["callsign"], iso(record["logon_time"]))


def pilot_keys(path: Path) -> set[Key]:
    return {key_of(pilot) for pilot in raw(path)["pilots"]}


def controller_keys(path: Path) -> set[Key]:
    document = raw(path)
    return {key_of(record) for record in document["controllers"] + (document.get("atis") or [])}


def ingest(engine: Engine, paths: Iterable[Path]) -> list[SnapshotWrite]:
    return [write_snapshot(engine, parsed(path)) for path in paths]


def clear(engine: Engine) -> None:
    """Empty every data table (children first), keeping the schema."""
    with engine.begin() as connection:
        for table in DATA_TABLES:
            connection.execute(delete(table))


def rows(engine: Engine, table: Table) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(select(table))]


def _sorted(values: Iterable[tuple]) -> list[tuple]:
    return sorted(values, key=repr)


def _without(table: Table, *names: str) -> list:
    return [column for column in table.columns if column.name not in names]


def dump(engine: Engine) -> Dump:
    """Every data table in full, ids replaced by the natural key they stand for."""
    flight_key = (flights.c.cid, flights.c.callsign, flights.c.logon_time)
    controller_key = (controllers.c.cid, controllers.c.callsign, controllers.c.logon_time)
    with engine.connect() as connection:

        def fetch(statement) -> list[tuple]:
            return _sorted(tuple(row) for row in connection.execute(statement))

        return {
            "flights": fetch(select(*_without(flights, "id"))),
            # Expanded from the runs: what was stored, however it is laid out.
            "flight_positions": fetch(
                select(*flight_key, *_without(position_snapshots, "flight_id")).join_from(
                    position_snapshots, flights, flights.c.id == position_snapshots.c.flight_id
                )
            ),
            "controllers": fetch(select(*_without(controllers, "id"))),
            "transceivers": fetch(
                select(
                    *_without(transceivers, "flight_id", "controller_id"),
                    *flight_key,
                    *controller_key,
                )
                .outerjoin(flights, flights.c.id == transceivers.c.flight_id)
                .outerjoin(controllers, controllers.c.id == transceivers.c.controller_id)
            ),
            "prefiles": fetch(select(*_without(prefiles, "id"))),
            "rejected_records": fetch(select(*_without(rejected_records, "id"))),
            "feed_snapshots": fetch(select(*_without(feed_snapshots, "id", "stored_at"))),
        }
