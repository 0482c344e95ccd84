"""Controller queries: the controller and ATIS connections active now."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select

from vatsim_pipeline.storage.reads_base import ActiveController, Page, fetch_page
from vatsim_pipeline.storage.schema import controllers

STATION_KINDS = ("controller", "atis")

ACTIVE_COLUMNS = (
    controllers.c.id,
    controllers.c.cid,
    controllers.c.callsign,
    controllers.c.kind,
    controllers.c.frequency,
    controllers.c.facility,
    controllers.c.rating,
    controllers.c.atis_code,
    controllers.c.latitude.label("lat"),
    controllers.c.longitude.label("lon"),
    controllers.c.logon_time,
    controllers.c.first_seen,
    controllers.c.last_seen,
)


def _active(cutoff: datetime, kinds: tuple[str, ...]):
    return select(*ACTIVE_COLUMNS).where(
        controllers.c.status == "active",
        controllers.c.last_seen >= cutoff,
        controllers.c.kind.in_(kinds),
    )


def active_controllers(
    connection: Connection, cutoff: datetime | None, *, limit: int, offset: int
) -> Page[ActiveController]:
    """Controllers and ATIS stations last seen at or after `cutoff`, by callsign."""
    if cutoff is None:
        return Page(items=[], total=0, limit=limit, offset=offset)
    statement = _active(cutoff, STATION_KINDS).order_by(controllers.c.callsign, controllers.c.id)
    rows, total = fetch_page(connection, statement, limit, offset)
    return Page(
        items=[ActiveController(**row._mapping) for row in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


def active_positions(
    connection: Connection, cutoff: datetime | None
) -> list[tuple[str, int | None]]:
    """(callsign, facility) of every active controller (not ATIS): who may staff a sector."""
    if cutoff is None:
        return []
    statement = (
        select(controllers.c.callsign, controllers.c.facility)
        .where(
            controllers.c.status == "active",
            controllers.c.last_seen >= cutoff,
            controllers.c.kind == "controller",
        )
        .order_by(controllers.c.callsign)
    )
    return [(row.callsign, row.facility) for row in connection.execute(statement)]
