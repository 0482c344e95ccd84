"""Archive: a day of today's traffic written to Parquet, its size, and tracks read back.

It creates a fresh database `vp_bench_archive_<pid>` on the PostgreSQL server of `--url`
(else `VATSIM_DATABASE_URL`, else the local server), fills yesterday (UTC) with
`--pilots` concurrent pilots (1,500) over `--snapshots` 15 s snapshots (5,760: a day,
about 8.6 million positions) by COPY, exactly as `bench/queries.py` does, then:

1. times `--repeat` (200) track queries of random flights of the day from the tables, and
   `--moments` (20) moments of the day on the dashboard's map (`MapReads.flights`: every
   flight at a past moment, the playback's read);
2. runs table retention with the archive on (`VATSIM_ARCHIVE_DIR` = a scratch folder):
   the day is written to Parquet, verified, recorded and its partitions dropped; the CPU
   of this process (pyarrow: CSV parsing, encoding, zstd) and of the PostgreSQL backends
   that served it (COPY out) is measured with the wall time;
3. times the same track queries and moments again, now read from the archived day.

It prints bytes per position on disk, a year of today's traffic (3.1 billion positions)
extrapolated, and the last line
`archive bytes/position <b>  year <g> GiB  write cpu <s> s  track p95 <ms> ms (tables <ms> ms)
  moment p50 <ms> ms (tables <ms> ms)` (targets: at most 20 bytes, under 70 GiB, under 120 s
of CPU, track p95 under 100 ms; the moment has no target). The p95 is also printed as a
ratio to the tables' in the same run, which a loaded machine inflates alike.
Figures go to `$VATSIM_HOME/bench/archive.json` (`--record`: bench/results/, or
`--output`). The database and the scratch archive are removed at the end.

    .venv/bin/python bench/archive.py
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
from queries import STEP_S, Traffic, fill, percentile
from results_file import add_arguments, results_path, write_results
from scratch_database import create_database, drop_database, server_url
from sqlalchemy import Engine, text

from vatsim_pipeline.maintenance.table_retention import TableRetention, sweep_tables
from vatsim_pipeline.storage.engine import make_engine, migrate
from vatsim_pipeline.storage.partitions import PARTITIONED_NAMES, ensure_day_partitions
from vatsim_pipeline.storage.reads import QueryService
from vatsim_pipeline.storage.reads_map import MapReads

YEAR_POSITIONS = 3.1e9
TARGETS = {
    "bytes_per_position": 20.0,
    "year_gib": 70.0,
    "write_cpu_s": 120.0,
    "track_p95_ms": 100.0,
}
WARM_UP = 5


def backend_cpu_s(engine: Engine, database: str) -> float:
    """CPU seconds so far of the PostgreSQL backends connected to `database` (this
    machine's server; 0 for a backend that cannot be read)."""
    with engine.connect() as connection:
        pids = (
            connection.execute(
                text("SELECT pid FROM pg_stat_activity WHERE datname = :d"), {"d": database}
            )
            .scalars()
            .all()
        )
    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def track_times(service: QueryService, flights: list[int], repeat: int, seed: int) -> dict:
    """p50 / p95 / max of `repeat` track queries of random `flights`, after a warm-up."""
    rng = random.Random(seed)
    for flight in rng.sample(flights, min(WARM_UP, len(flights))):
        service.get_flight_track(flight)
    times, points = [], 0
    for _ in range(repeat):
        flight = rng.choice(flights)
        started = time.perf_counter()
        points += len(service.get_flight_track(flight).positions)
        times.append((time.perf_counter() - started) * 1000)
    return {
        "p50_ms": round(percentile(times, 0.50), 2),
        "p95_ms": round(percentile(times, 0.95), 2),
        "max_ms": round(max(times), 2),
        "positions_per_track": round(points / repeat),
    }


def moment_times(
    engine: Engine, day_start: datetime, snapshots: int, count: int, seed: int
) -> dict:
    """p50 / max of the map at `count` random moments of the day (seconds past a
    snapshot, as a slider gives them), after one warm-up."""
    reads = MapReads(engine, QueryService(engine).activity_window)
    rng = random.Random(seed)
    span_s = (snapshots - 1) * STEP_S
    moments = [day_start + timedelta(seconds=rng.uniform(60, span_s)) for _ in range(count + 1)]
    reads.flights(moments.pop())
    times, flights = [], 0
    for moment in moments:
        started = time.perf_counter()
        flights += len(reads.flights(moment).rows)
        times.append((time.perf_counter() - started) * 1000)
    return {
        "p50_ms": round(percentile(times, 0.50), 1),
        "max_ms": round(max(times), 1),
        "flights_per_moment": round(flights / count),
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pilots", type=int, default=1500, help="concurrent pilots (1500)")
    parser.add_argument("--snapshots", type=int, default=5760, help="15 s snapshots (5760)")
    parser.add_argument("--repeat", type=int, default=200, help="timed track queries (200)")
    parser.add_argument("--moments", type=int, default=20, help="timed map moments (20)")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--url", help="PostgreSQL server (default $VATSIM_DATABASE_URL)")
    add_arguments(parser)
    args = parser.parse_args()
    if min(args.pilots, args.snapshots, args.repeat, args.moments) < 1 or args.snapshots > 5760:
        parser.error("--pilots, --repeat and --moments must be 1 or more, --snapshots 1 to 5760")
    return args


def run(args: argparse.Namespace, url: str, name: str, archive: Path) -> dict:
    loader = make_engine(url, statement_timeout_ms=0)
    engine = make_engine(url)
    try:
        day = (datetime.now(UTC) - timedelta(days=1)).date()
        day_start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        migrate(loader)
        ensure_day_partitions(loader, [day])
        traffic = Traffic(args.pilots, 0, (args.snapshots - 1) * STEP_S, args.seed)
        print(f"filling {name}: {args.pilots:,} pilots, {args.snapshots:,} snapshots", flush=True)
        data = fill(loader, traffic, day_start, args.snapshots)
        flights = [s.id for s in traffic.sessions if s.last_s >= 0]
        service = QueryService(engine)
        tables = track_times(service, flights, args.repeat, args.seed)
        print(f"track from the tables: p95 {tables['p95_ms']} ms", flush=True)
        table_moments = moment_times(engine, day_start, args.snapshots, args.moments, args.seed)
        print(f"map moment from the tables: p50 {table_moments['p50_ms']} ms", flush=True)

        os.environ["VATSIM_ARCHIVE_DIR"] = str(archive)
        retention = TableRetention(
            days=dict.fromkeys(PARTITIONED_NAMES, 0), ahead_days=0, archive_dir=archive
        )
        server_before = backend_cpu_s(loader, name)
        cpu_before, wall_before = time.process_time(), time.perf_counter()
        sweep = sweep_tables(engine, retention, now=day_start + timedelta(days=1, hours=1))
        client_s = time.process_time() - cpu_before
        wall_s = time.perf_counter() - wall_before
        server_s = backend_cpu_s(loader, name) - server_before
        files = sorted(archive.rglob("*.parquet"))
        positions_file = next(p for p in files if p.name.startswith("flight_positions_"))
        archived = sweep.tables["flight_positions"].archived_rows
        assert archived == data["positions"], (archived, data["positions"])
        per_position = positions_file.stat().st_size / archived
        print(
            f"archived {archived:,} positions into {positions_file.stat().st_size / 2**20:.1f} "
            f"MiB in {wall_s:.1f} s (CPU: this process {client_s:.1f} s, PostgreSQL "
            f"{server_s:.1f} s); partitions dropped: {', '.join(sweep.partitions)}",
            flush=True,
        )
        archived_reads = track_times(QueryService(engine), flights, args.repeat, args.seed)
        print(f"track from the archive: p95 {archived_reads['p95_ms']} ms", flush=True)
        archived_moments = moment_times(engine, day_start, args.snapshots, args.moments, args.seed)
        print(f"map moment from the archive: p50 {archived_moments['p50_ms']} ms", flush=True)
    finally:
        engine.dispose()
        loader.dispose()
    return {
        "data": data,
        "archive": {
            "positions": archived,
            "positions_file_bytes": positions_file.stat().st_size,
            "bytes_per_position": round(per_position, 2),
            "year_gib": round(YEAR_POSITIONS * per_position / 2**30, 1),
            "write_wall_s": round(wall_s, 1),
            "write_cpu_client_s": round(client_s, 1),
            "write_cpu_server_s": round(server_s, 1),
            "write_cpu_s": round(client_s + server_s, 1),
        },
        "track_tables": tables,
        "track_archive": archived_reads,
        "track_p95_ratio": round(archived_reads["p95_ms"] / tables["p95_ms"], 2),
        "moment_tables": table_moments,
        "moment_archive": archived_moments,
    }


def main() -> None:
    args = parse_args()
    server = server_url("archive.py", "VATSIM_DATABASE_URL", given=args.url)
    name = f"vp_bench_archive_{os.getpid()}"
    url = server.set(database=name).render_as_string(hide_password=False)
    load = os.getloadavg()[0]
    create_database(server, name)
    try:
        with tempfile.TemporaryDirectory(prefix="vp-archive-") as folder:
            figures = run(args, url, name, Path(folder) / "archive")
    finally:
        drop_database(server, name)
    figures |= {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "parameters": {
            k: getattr(args, k) for k in ("pilots", "snapshots", "repeat", "moments", "seed")
        },
        "load_average_at_start": round(load, 2),
        "load_average_at_end": round(os.getloadavg()[0], 2),
        "targets": TARGETS,
    }
    print(f"figures written to {write_results(results_path('archive.json', args), figures)}")
    archive, track = figures["archive"], figures["track_archive"]
    print(
        f"archive bytes/position {archive['bytes_per_position']:.1f}  "
        f"year {archive['year_gib']:.1f} GiB  write cpu {archive['write_cpu_s']:.1f} s  "
        f"track p95 {track['p95_ms']:.1f} ms (tables {figures['track_tables']['p95_ms']:.1f} ms, "
        f"ratio {figures['track_p95_ratio']:.2f})  moment p50 "
        f"{figures['moment_archive']['p50_ms']:.0f} ms "
        f"(tables {figures['moment_tables']['p50_ms']:.0f} ms)"
    )


if __name__ == "__main__":
    main()
