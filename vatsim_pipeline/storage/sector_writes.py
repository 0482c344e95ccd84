"""The stored sector set: replaced as a whole in one transaction, read back as `Sector`s.

Every row is serialised before the transaction opens, so a release that cannot be
stored fails with the previous sectors untouched, and a failure inside the transaction
rolls back to them. Unchanged rows are not rewritten, so storing the same release twice
changes nothing, not even `updated_at`.

The table has one `callsign_prefix` column: all prefixes are kept there, comma-separated;
`suffix` holds a TRACON's position suffix and `members` a UIR's FIR ids (comma-separated),
so that staffing can be rebuilt from the table alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import shapely
from sqlalchemy import Connection, Engine, select
from sqlalchemy.dialects import postgresql, sqlite

from vatsim_pipeline.sectors.boundaries import Sector
from vatsim_pipeline.storage.schema import sectors as sectors_table

COMPARED = (
    "name",
    "callsign_prefix",
    "kind",
    "oceanic",
    "region",
    "division",
    "min_lat",
    "min_lon",
    "max_lat",
    "max_lon",
    "geometry",
    "source",
    "suffix",
    "members",
)
DELETE_CHUNK = 500


def sector_row(sector: Sector, source: str) -> dict[str, Any]:
    """The table row of one sector; `source` labels the load it came from."""
    min_lat, min_lon, max_lat, max_lon = sector.bbox
    return {
        "id": sector.id,
        "name": sector.name,
        "callsign_prefix": ",".join(sector.prefixes) or None,
        "kind": sector.kind,
        "oceanic": sector.oceanic,
        "region": sector.region,
        "division": sector.division,
        "min_lat": min_lat,
        "min_lon": min_lon,
        "max_lat": max_lat,
        "max_lon": max_lon,
        "geometry": shapely.to_geojson(sector.geometry),
        "source": source,
        "suffix": sector.suffix,
        "members": ",".join(sector.members) or None,
    }


def _upsert(connection: Connection, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(sectors_table)
    statement = statement.on_conflict_do_update(
        index_elements=["id"],
        set_={name: statement.excluded[name] for name in (*COMPARED, "updated_at")},
    )
    connection.execute(statement, rows)


def replace_sectors(engine: Engine, sectors: Iterable[Sector], source: str) -> dict[str, int]:
    """Make the stored sectors exactly `sectors`: insert new ids, update changed ones,
    delete ids no longer present, all in one transaction.

    An empty set is refused: it would delete every sector, which is never what a failed
    download or an empty file should do.
    """
    rows = [sector_row(sector, source) for sector in sectors]
    ids = [row["id"] for row in rows]
    if not rows:
        raise ValueError("refusing to replace the stored sectors with an empty set")
    if len(set(ids)) != len(ids):
        raise ValueError("sector ids must be unique")
    now = datetime.now(UTC)
    with engine.begin() as connection:
        columns = [sectors_table.c.id, *(sectors_table.c[name] for name in COMPARED)]
        stored = {row.id: row._mapping for row in connection.execute(select(*columns))}
        inserted = [row for row in rows if row["id"] not in stored]
        updated = [
            row
            for row in rows
            if row["id"] in stored and any(row[c] != stored[row["id"]][c] for c in COMPARED)
        ]
        _upsert(connection, [{**row, "updated_at": now} for row in inserted + updated])
        gone = sorted(stored.keys() - set(ids))
        for start in range(0, len(gone), DELETE_CHUNK):
            chunk = gone[start : start + DELETE_CHUNK]
            connection.execute(sectors_table.delete().where(sectors_table.c.id.in_(chunk)))
    return {"inserted": len(inserted), "updated": len(updated), "deleted": len(gone)}


def load_sector_rows(engine: Engine) -> list[Sector]:
    """The stored sectors, ordered by id; `source` is the load's label."""
    with engine.connect() as connection:
        rows = connection.execute(select(sectors_table).order_by(sectors_table.c.id)).all()
    return [
        Sector(
            id=row.id,
            name=row.name,
            kind=row.kind,
            geometry=shapely.from_geojson(row.geometry),
            prefixes=tuple(row.callsign_prefix.split(",")) if row.callsign_prefix else (),
            suffix=row.suffix,
            members=tuple(row.members.split(",")) if row.members else (),
            oceanic=bool(row.oceanic),
            region=row.region,
            division=row.division,
            source=row.source,
        )
        for row in rows
    ]
