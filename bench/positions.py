"""Bytes per position of `flight_positions` stored as runs, against one row per snapshot.

Simulates `--minutes` of traffic at `--pilots` (the project's simulator, 15 s steps,
from 19:00 UTC, the busiest hour of its daily rhythm) and stores every snapshot through
`write_snapshot` into a scratch PostgreSQL database. Then it copies the same positions,
one row per snapshot (`position_snapshots`), into a table of the earlier layout (the
same columns without `last_observed_at`, the same unique key and BRIN index), vacuums
both and compares their size (heap, indexes, TOAST) per position.

Last line: `positions <n> rows <r> bytes/position runs <a> per-snapshot <b> ratio <a/b>`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select, text

from bench.results_file import add_arguments, results_path
from bench.scratch_database import create_database, drop_database, server_url
from vatsim_pipeline.feed.parse import parse_data_feed
from vatsim_pipeline.feed.simulator import Simulator
from vatsim_pipeline.storage.engine import make_engine, migrate
from vatsim_pipeline.storage.position_runs import position_snapshots
from vatsim_pipeline.storage.schema import flight_positions
from vatsim_pipeline.storage.writes import write_snapshot

STEP_S = 15.0
OLD_LAYOUT = """
    CREATE TABLE per_snapshot (
        flight_id bigint NOT NULL, observed_at timestamptz NOT NULL,
        latitude double precision NOT NULL, longitude double precision NOT NULL,
        altitude integer, groundspeed integer, heading smallint, transponder text,
        qnh_i_hg double precision, qnh_mb integer,
        UNIQUE (flight_id, observed_at)
    );
    CREATE INDEX ON per_snapshot USING brin (observed_at)
"""


def _size(connection, tables: list[str]) -> int:
    return sum(
        connection.execute(text("SELECT pg_total_relation_size(:t)"), {"t": t}).scalar_one()
        for t in tables
    )


def measure(url, pilots: int, minutes: float) -> dict:
    engine = make_engine(url.render_as_string(hide_password=False))
    migrate(engine)
    simulator = Simulator(
        pilots=pilots,
        controllers=pilots // 10,
        seed=7,
        start=datetime(2026, 12, 4, 19, tzinfo=UTC),
        daily_rhythm=True,
    )
    steps = int(minutes * 60 // STEP_S)
    write_ms = []
    for index in range(steps):
        if index:
            simulator.step(STEP_S)
        _, data, _ = simulator.render()
        snapshot = parse_data_feed(data)
        started = time.perf_counter()
        write_snapshot(engine, snapshot)
        write_ms.append(1000 * (time.perf_counter() - started))
    with engine.begin() as connection:
        connection.execute(text(OLD_LAYOUT))
        p = position_snapshots.c
        connection.execute(
            text(
                "INSERT INTO per_snapshot "
                + str(
                    select(*p).order_by(p.observed_at, p.flight_id).compile(dialect=engine.dialect)
                )
            )
        )
        positions = connection.scalar(select(func.count()).select_from(text("per_snapshot")))
        rows = connection.scalar(select(func.count()).select_from(flight_positions))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
        partitions = list(
            connection.execute(
                text(
                    "SELECT inhrelid::regclass::text FROM pg_inherits "
                    "WHERE inhparent = 'flight_positions'::regclass"
                )
            ).scalars()
        )
        runs_bytes = _size(connection, partitions)
        old_bytes = _size(connection, ["per_snapshot"])
    engine.dispose()
    write_ms.sort()
    return {
        "pilots": pilots,
        "snapshots": steps,
        "positions": positions,
        "rows": rows,
        "runs_bytes": runs_bytes,
        "per_snapshot_bytes": old_bytes,
        "runs_bytes_per_position": round(runs_bytes / positions, 1),
        "per_snapshot_bytes_per_position": round(old_bytes / positions, 1),
        "write_snapshot_median_ms": round(write_ms[len(write_ms) // 2], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pilots", type=int, default=1500)
    parser.add_argument("--minutes", type=float, default=30)
    add_arguments(parser)
    args = parser.parse_args()
    server = server_url("positions.py", "VATSIM_DATABASE_URL")
    name = f"vatsim_bench_positions_{uuid.uuid4().hex[:8]}"
    create_database(server, name)
    try:
        figures = measure(server.set(database=name), args.pilots, args.minutes)
    finally:
        drop_database(server, name)
    figures["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    path = results_path("positions.json", args)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=2) + "\n")
    a, b = figures["runs_bytes_per_position"], figures["per_snapshot_bytes_per_position"]
    print(
        f"positions {figures['positions']} rows {figures['rows']} "
        f"bytes/position runs {a} per-snapshot {b} ratio {round(a / b, 2)}"
    )


if __name__ == "__main__":
    main()
