"""Indexes on flight_positions.observed_at: none, BRIN or B-tree, and what each buys.

The positions' keys lead with `flight_id`, so a read of one snapshot or of a time window
across all flights (the forecast's state every minute, the analytics' track frames)
has no index to use unless one is on `observed_at`. This bench fills a scratch database
(`vp_bench_indexes_<pid>`, on `--url`, else `VATSIM_DATABASE_URL`, else the local
server) with `--snapshots` 15 s snapshots of `--pilots` pilots (as `bench/queries.py`
does), then for no index, a BRIN index and a B-tree index in turn: its build time, its
size on the day's partition, and p50/p95 over `--repeat` random reads of one snapshot
and of a one-hour window. It writes nothing and drops the database.

    .venv/bin/python bench/indexes.py --snapshots 1440
"""

from __future__ import annotations

import argparse
import os
import random
import time
from datetime import UTC, datetime, timedelta

from queries import STEP_S, Traffic, fill, percentile
from scratch_database import create_database, drop_database, server_url
from sqlalchemy import Engine, text

from vatsim_pipeline.storage.engine import make_engine, migrate
from vatsim_pipeline.storage.partitions import ensure_day_partitions

BRIN = "ix_flight_positions_observed_at_brin"
VARIANTS = {
    "none": None,
    "brin": f"CREATE INDEX {BRIN} ON flight_positions USING brin (observed_at)",
    "btree": "CREATE INDEX ix_bench_btree ON flight_positions (observed_at)",
}
READS = {
    "snapshot": "SELECT count(*) FROM flight_positions WHERE observed_at = :t",
    "hour": "SELECT count(*) FROM flight_positions WHERE observed_at >= :t AND observed_at < :u",
}


def _drop_time_indexes(engine: Engine) -> None:
    with engine.begin() as connection:
        for name in (BRIN, "ix_bench_btree"):
            connection.execute(text(f"DROP INDEX IF EXISTS {name}"))


def _index_kib(engine: Engine, partition: str) -> float:
    """Size of the partition's index on observed_at (whichever kind exists)."""
    with engine.connect() as connection:
        return connection.execute(
            text(
                "SELECT coalesce(sum(pg_relation_size(i.indexrelid)), 0) / 1024.0 FROM pg_index i "
                "JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE i.indrelid = to_regclass(:p) AND c.relname LIKE :n"
            ),
            {"p": partition, "n": f"{partition}_observed_at%"},
        ).scalar()


def _reads(engine: Engine, start: datetime, snapshots: int, repeat: int) -> dict:
    rng = random.Random(1)
    figures = {}
    with engine.connect() as connection:
        for name, sql in READS.items():
            times = []
            for _ in range(repeat):
                t = start + timedelta(seconds=STEP_S * rng.randrange(max(1, snapshots - 240)))
                began = time.perf_counter()
                connection.execute(text(sql), {"t": t, "u": t + timedelta(hours=1)}).scalar()
                times.append((time.perf_counter() - began) * 1000)
            figures[name] = (percentile(times, 0.5), percentile(times, 0.95))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pilots", type=int, default=1500)
    parser.add_argument("--snapshots", type=int, default=1440, help="15 s snapshots (1440)")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--url", help="PostgreSQL server (default $VATSIM_DATABASE_URL)")
    args = parser.parse_args()
    server = server_url("indexes.py", "VATSIM_DATABASE_URL", given=args.url)
    name = f"vp_bench_indexes_{os.getpid()}"
    create_database(server, name)
    url = server.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url, statement_timeout_ms=0)
    try:
        day = (datetime.now(UTC) - timedelta(days=1)).date()
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        migrate(engine)
        ensure_day_partitions(engine, [day])
        fill(
            engine, Traffic(args.pilots, 0, (args.snapshots - 1) * STEP_S, 5), start, args.snapshots
        )
        partition = f"flight_positions_p{day:%Y%m%d}"
        for variant, ddl in VARIANTS.items():
            _drop_time_indexes(engine)
            built = 0.0
            if ddl:
                began = time.perf_counter()
                with engine.begin() as connection:
                    connection.execute(text(ddl))
                built = time.perf_counter() - began
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("ANALYZE flight_positions"))
            reads = _reads(engine, start, args.snapshots, args.repeat)
            size = _index_kib(engine, partition)
            print(
                f"{variant:6} build {built:5.2f} s  size {size:9.0f} KiB  "
                + "  ".join(f"{k} p50 {v[0]:7.1f} ms p95 {v[1]:7.1f} ms" for k, v in reads.items()),
                flush=True,
            )
    finally:
        engine.dispose()
        drop_database(server, name)


if __name__ == "__main__":
    main()
