"""Reads of the `anomalies` table: listings for the CLI and the API, counts for the asset
checks and the events report, and the flights other analytics may leave out."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Collection
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, Row, Select, and_, func, or_, select, update

from vatsim_pipeline.analytics.anomalies import KINDS, POSITION_KINDS
from vatsim_pipeline.storage.anomalies import anomalies
from vatsim_pipeline.storage.reads_base import InvalidQuery, check_page, newest_update
from vatsim_pipeline.storage.reads_history import TimeArgument, resolve_window

ALERT_STATUSES = ("sent", "failed", "skipped")


def as_record(row: Row) -> dict:
    """An anomaly as JSON-ready values (times ISO, `trigger` parsed, `active` spelled out)."""
    record = {str(key): value for key, value in row._mapping.items()}
    for name in ("started_at", "last_seen_at", "ended_at", "first_snapshot", "alerted_at"):
        value = record.get(name)
        record[name] = value.isoformat() if value is not None else None
    record.pop("detected_at", None)
    record["trigger"] = json.loads(record["trigger"])
    record["active"] = record["ended_at"] is None
    return record


def anomaly_page(
    connection: Connection,
    *,
    since: TimeArgument = None,
    until: TimeArgument = None,
    kinds: Collection[str] = (),
    active: bool | None = None,
    limit: int = 100,
    offset: int = 0,
) -> dict:
    """The anomalies of a window as the CLI and the API answer: `since` and `until` are
    ISO times or durations before the newest update (default: its last 24 hours)."""
    check_page(limit, offset)
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise InvalidQuery("kind", f"{', '.join(unknown)} is not one of {', '.join(KINDS)}")
    start, end = resolve_window(since, until, newest_update(connection) or datetime.now(UTC))
    filters = {"since": start, "until": end, "kinds": kinds, "active": active}
    if start > end:  # an empty window
        total, items = 0, []
    else:
        total = connection.scalar(select(func.count()).select_from(_listing(**filters).subquery()))
        items = list_anomalies(connection, **filters, limit=limit, offset=offset)
    return {
        "since": start.isoformat(),
        "until": end.isoformat(),
        "total": total,
        "limit": limit,
        "offset": offset,
        "items": items,
    }


def _listing(
    *,
    since: datetime | None,
    until: datetime | None,
    kinds: Collection[str],
    active: bool | None,
) -> Select:
    query = select(anomalies)
    if since is not None:
        query = query.where(or_(anomalies.c.ended_at.is_(None), anomalies.c.ended_at >= since))
    if until is not None:
        query = query.where(anomalies.c.started_at <= until)
    if kinds:
        query = query.where(anomalies.c.kind.in_(sorted(kinds)))
    if active is True:
        query = query.where(anomalies.c.ended_at.is_(None))
    elif active is False:
        query = query.where(anomalies.c.ended_at.is_not(None))
    return query


def list_anomalies(
    connection: Connection,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    kinds: Collection[str] = (),
    active: bool | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict]:
    """Anomalies overlapping [since, until], newest start first; `active` filters on
    whether they are still seen in the newest snapshot."""
    query = _listing(since=since, until=until, kinds=kinds, active=active)
    query = (
        query.order_by(anomalies.c.started_at.desc(), anomalies.c.id).limit(limit).offset(offset)
    )
    return [as_record(row) for row in connection.execute(query)]


def active_counts(connection: Connection) -> Counter[str]:
    """Anomalies still seen in the newest snapshot, by kind."""
    rows = connection.execute(
        select(anomalies.c.kind, func.count())
        .where(anomalies.c.ended_at.is_(None))
        .group_by(anomalies.c.kind)
    )
    return Counter({kind: count for kind, count in rows})


def flights_with_anomalies(
    connection: Connection,
    since: datetime,
    until: datetime,
    kinds: Collection[str] = POSITION_KINDS,
) -> set[int]:
    """Flights with an anomaly of `kinds` overlapping [since, until]: by default those
    whose positions or speeds are not to be trusted (teleport, frozen), for analytics
    that count flights or average speeds to leave out."""
    rows = connection.scalars(
        select(anomalies.c.flight_id)
        .where(
            anomalies.c.kind.in_(sorted(kinds)),
            anomalies.c.flight_id.is_not(None),
            anomalies.c.started_at <= until,
            or_(anomalies.c.ended_at.is_(None), anomalies.c.ended_at >= since),
        )
        .distinct()
    )
    return set(rows)


def pending_alerts(connection: Connection, kinds: Collection[str], limit: int) -> list[dict]:
    """Anomalies of `kinds` not yet handled by the alert sensor, oldest first."""
    rows = connection.execute(
        select(anomalies)
        .where(anomalies.c.alert_status.is_(None), anomalies.c.kind.in_(sorted(kinds)))
        .order_by(anomalies.c.id)
        .limit(limit)
    )
    return [as_record(row) for row in rows]


def mark_alert(
    engine: Engine, anomaly_id: int, status: str, at: datetime, error: str | None = None
) -> None:
    """Record what became of an anomaly's alert (`sent`, `failed` or `skipped`)."""
    with engine.begin() as connection:
        connection.execute(
            update(anomalies)
            .where(anomalies.c.id == anomaly_id)
            .values(alert_status=status, alerted_at=at, alert_error=error)
        )


def alert_counts(connection: Connection, since: datetime, until: datetime) -> dict[str, int]:
    """Alerts sent, failed (could not be delivered) and skipped in [since, until]."""
    rows = connection.execute(
        select(anomalies.c.alert_status, func.count())
        .where(
            anomalies.c.alert_status.is_not(None),
            and_(anomalies.c.alerted_at >= since, anomalies.c.alerted_at <= until),
        )
        .group_by(anomalies.c.alert_status)
    )
    counts = dict.fromkeys(ALERT_STATUSES, 0)
    counts.update({status: count for status, count in rows})
    return counts
