"""What the soak needs to measure a database's growth the way a deployment would see it.

A deployment's PostgreSQL runs autovacuum (on by default), which makes the space of
updated and deleted rows reusable about once a minute; tables rewritten in place (the
`flights` row of every connection each 15 s, the forecasts replaced every minute) then
stop growing at a few times their live size. This machine's test server runs with
`autovacuum = off`, where the same tables would grow without bound and a soak would
extrapolate that into "growth per day". `VacuumLoop` stands in for autovacuum's default
cadence in the soak's own scratch database only, and `table_sizes` names the tables that
grew, so the data line can be read table by table.
"""

from __future__ import annotations

import threading

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, Engine

AUTOVACUUM_NAPTIME_S = 60.0  # PostgreSQL's default `autovacuum_naptime`


def autovacuum_on(engine: Engine) -> bool:
    with engine.connect() as connection:
        return connection.scalar(text("SHOW autovacuum")) == "on"


class VacuumLoop(threading.Thread):
    """`VACUUM` the whole scratch database every `every_s` until stopped (plain VACUUM:
    no lock that blocks writers, nothing rewritten; what autovacuum does)."""

    def __init__(self, url: URL, stop: threading.Event, every_s: float = AUTOVACUUM_NAPTIME_S):
        super().__init__(name="vacuum-loop", daemon=True)
        self.engine = create_engine(url, isolation_level="AUTOCOMMIT")
        self.stop_event = stop
        self.every_s = every_s
        self.passes = 0
        self.errors: list[str] = []

    def run(self) -> None:
        while not self.stop_event.wait(self.every_s):
            try:
                with self.engine.connect() as connection:
                    connection.execute(text("VACUUM"))
                self.passes += 1
            except Exception as error:  # reported with the figures, never fatal
                self.errors.append(f"{type(error).__name__}: {error}".splitlines()[0])
        self.engine.dispose()


def table_sizes(engine: Engine) -> dict[str, int]:
    """Bytes of every table of the schema with its indexes and TOAST, a partitioned
    table's day partitions counted under the parent's name."""
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT coalesce(parent.relname, c.relname) AS name,"
                " sum(pg_total_relation_size(c.oid)) AS size"
                " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " LEFT JOIN pg_inherits i ON i.inhrelid = c.oid"
                " LEFT JOIN pg_class parent ON parent.oid = i.inhparent"
                " WHERE n.nspname = 'public' AND c.relkind = 'r'"
                " GROUP BY 1"
            )
        ).all()
    return {row.name: int(row.size) for row in rows}


def grown(before: dict[str, int], after: dict[str, int], days: float, top: int = 8) -> dict:
    """The `top` tables that grew most, in bytes per day, largest first."""
    growth = {name: after[name] - before.get(name, 0) for name in after}
    largest = sorted(growth.items(), key=lambda item: item[1], reverse=True)[:top]
    return {name: round(size / days) for name, size in largest if size > 0}
