"""Storage growth: what a day of today's traffic adds to the data tables, per table.

Deterministic and independent of the machine's load (unlike `soak.py`, which measures
the same growth from outside, with the Dagster daemon): the traffic simulator
(1,500 pilots, 150 controllers, fixed seed and start) is stepped 15 s at a time and each
snapshot goes through the ingest run's own write path: `write_snapshot` (every table, one
transaction), `update_occupancy` (sector assignments and intervals, against the recorded
VATSpy/simaware sectors of ../shared/data/vatsim), `detect_snapshot` (anomalies), and
every minute `end_sessions` (the session lifecycle schedule).

Autovacuum is switched off for the scratch tables and replaced by a plain `VACUUM` of
every data table every `--vacuum-every` snapshots (4: one minute, autovacuum's naptime),
which is what autovacuum does at best with its default thresholds on tables updated every
15 s; so the dead row versions that `flights` and `controllers` keep between vacuums are
counted as they are in production, and every run gives the same figures.

After `--warm-up` snapshots (and a VACUUM) the size of every data table
(`pg_total_relation_size`: heap, indexes and TOAST, summed over its day partitions) is
taken, then again after `--snapshots` more (default 240: one hour) and a VACUUM; the
growth is extrapolated to a day (x 5,760 / snapshots). Bytes per position divide the whole
growth by the pilot positions the feed reported in the window (pilots x snapshots), so it
stays comparable whatever the tables hold.

It works in a fresh database `vp_storage_<random>` on the server of
`VATSIM_BENCH_POSTGRES_URL` (else `VATSIM_DATABASE_URL`, else the local server), dropped
at the end unless `--keep`. Last line: `storage data <x> GiB/day (target 1.5)`.

    .venv/bin/python bench/storage.py                      # one hour, about 3 minutes
    .venv/bin/python bench/storage.py --snapshots 40 --warm-up 4   # a smoke run
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

from results_file import add_arguments, results_path, write_results
from scratch_database import create_database, drop_database, server_url
from sqlalchemy import Engine, text

from vatsim_pipeline.feed.landing import DATA_PREFIX, TRANSCEIVERS_PREFIX, ZSTD_SUFFIX, stamp
from vatsim_pipeline.feed.models import Snapshot
from vatsim_pipeline.feed.parse import parse_data_feed, parse_transceivers
from vatsim_pipeline.feed.simulator import Simulator
from vatsim_pipeline.sectors.sources import given_files
from vatsim_pipeline.storage.anomaly_writes import detect_snapshot
from vatsim_pipeline.storage.engine import make_engine, migrate
from vatsim_pipeline.storage.occupancy_writes import sector_set, update_occupancy
from vatsim_pipeline.storage.schema import metadata
from vatsim_pipeline.storage.sector_writes import replace_sectors
from vatsim_pipeline.storage.sessions import DEFAULT_TIMEOUT_S, end_sessions
from vatsim_pipeline.storage.writes import LandedFiles, write_snapshot

STEP_S = 15.0
SNAPSHOTS_PER_DAY = round(86_400 / STEP_S)
START = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
TARGET_GIB_PER_DAY = 1.5
GIB = 1024**3
LANDING = "/var/lib/vatsim/landing"  # only the text of the paths in feed_snapshots
VACUUM_NOTE = "plain VACUUM of every data table every {n} snapshots, autovacuum off"

try:
    from vatsim_pipeline_tests.shared_data import shared_data
except ImportError:  # a checkout without the tests
    shared_data = None


def load_recorded_sectors(engine: Engine) -> int:
    """Store the recorded VATSpy release (with simaware TRACONs), as `sectors load` does."""
    if shared_data is None:
        raise SystemExit("bench/storage.py: needs vatsim_pipeline_tests (the recorded sectors)")
    try:
        files = given_files(
            shared_data("VATSpy.dat"),
            shared_data("Boundaries.geojson.gz"),
            shared_data("TRACONBoundaries.geojson"),
        )
    except FileNotFoundError as error:
        raise SystemExit(f"bench/storage.py: {error}") from error
    loaded = files.load()
    replace_sectors(engine, loaded, files.label)
    return len(loaded)


def landed(snapshot: Snapshot, data: bytes, radios: bytes) -> LandedFiles:
    """What the sensor would have recorded for these payloads (paths, digests, fetch time)."""
    ts = snapshot.update_timestamp
    folder = f"{LANDING}/{ts:%Y-%m-%d}/"
    return LandedFiles(
        data_path=f"{folder}{DATA_PREFIX}{stamp(ts)}{ZSTD_SUFFIX}",
        data_sha256=hashlib.sha256(data).hexdigest(),
        transceivers_path=f"{folder}{TRANSCEIVERS_PREFIX}{stamp(ts)}{ZSTD_SUFFIX}",
        transceivers_sha256=hashlib.sha256(radios).hexdigest(),
        fetched_at=ts + timedelta(seconds=2),
    )


def data_relations(engine: Engine) -> list[str]:
    """Every heap of the data tables: plain tables and the day partitions of the others."""
    with engine.connect() as connection:
        return list(
            connection.execute(
                text(
                    "SELECT c.relname FROM pg_class c"
                    " JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " LEFT JOIN pg_inherits i ON i.inhrelid = c.oid"
                    " LEFT JOIN pg_class parent ON parent.oid = i.inhparent"
                    " WHERE n.nspname = 'public' AND c.relkind = 'r'"
                    " AND (c.relname = ANY(:names) OR parent.relname = ANY(:names))"
                    " ORDER BY c.relname"
                ),
                {"names": sorted(metadata.tables)},
            ).scalars()
        )


def vacuum(engine: Engine) -> None:
    """What autovacuum would do: a plain VACUUM (space reusable, no rewrite), and keep the
    real autovacuum off every heap, including partitions created since the last call."""
    relations = data_relations(engine)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for name in relations:
            connection.execute(
                text(
                    f'ALTER TABLE "{name}" SET (autovacuum_enabled = false, '
                    "toast.autovacuum_enabled = false)"
                )
            )
        connection.execute(text("VACUUM " + ", ".join(f'"{name}"' for name in relations)))


def table_sizes(engine: Engine) -> dict[str, dict[str, int]]:
    """Bytes (heap, indexes, TOAST) and rows of each data table, partitions summed."""
    with engine.connect() as connection:
        sizes = dict(
            connection.execute(
                text(
                    "SELECT coalesce(parent.relname, c.relname), sum(pg_total_relation_size(c.oid))"
                    " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " LEFT JOIN pg_inherits i ON i.inhrelid = c.oid"
                    " LEFT JOIN pg_class parent ON parent.oid = i.inhparent"
                    " WHERE n.nspname = 'public' AND c.relkind = 'r'"
                    " AND coalesce(parent.relname, c.relname) = ANY(:names)"
                    " GROUP BY 1"
                ),
                {"names": sorted(metadata.tables)},
            ).all()
        )
        return {
            name: {
                "bytes": int(size),
                "rows": connection.scalar(text(f'SELECT count(*) FROM "{name}"')),
            }
            for name, size in sorted(sizes.items())
        }


def store_snapshots(engine: Engine, simulator: Simulator, count: int, vacuum_every: int) -> dict:
    """Step, render, parse and store `count` snapshots as an ingest run does."""
    sectors = sector_set(engine)
    positions = radios = 0
    started, cpu = time.perf_counter(), time.process_time()
    for index in range(1, count + 1):
        simulator.step(STEP_S)
        _, data, radio_feed = simulator.render()
        snapshot = parse_data_feed(data)
        parse_transceivers(radio_feed, snapshot)
        write_snapshot(engine, snapshot, landed(snapshot, data, radio_feed))
        update_occupancy(engine, snapshot.update_timestamp, sectors)
        detect_snapshot(engine, snapshot.update_timestamp)
        positions += len(snapshot.pilots)
        radios += len(snapshot.transceivers)
        if index % vacuum_every == 0:
            end_sessions(engine, DEFAULT_TIMEOUT_S)
            vacuum(engine)
    return {
        "positions": positions,
        "radios": radios,
        "wall_s": round(time.perf_counter() - started, 1),
        "cpu_s": round(time.process_time() - cpu, 1),
    }


def growth(before: dict, after: dict, snapshots: int, positions: int) -> dict:
    """Per table: bytes and rows added, per day and per row, and per position overall."""
    scale = SNAPSHOTS_PER_DAY / snapshots
    tables = {}
    for name, end in after.items():
        start = before.get(name, {"bytes": 0, "rows": 0})
        added, rows = end["bytes"] - start["bytes"], end["rows"] - start["rows"]
        tables[name] = {
            "bytes_before": start["bytes"],
            "bytes_after": end["bytes"],
            "rows_after": end["rows"],
            "bytes_per_day": round(added * scale),
            "rows_per_day": round(rows * scale),
            "bytes_per_row": round(added / rows, 1) if rows > 0 else None,
        }
    total = sum(figure["bytes_per_day"] for figure in tables.values())
    return {
        "tables": tables,
        "bytes_per_day": total,
        "gib_per_day": round(total / GIB, 3),
        "bytes_per_position": round(total / (positions * scale), 1),
    }


def print_growth(figures: dict) -> None:
    print(f"{'table':<28} {'MiB/day':>9} {'rows/day':>12} {'bytes/row':>10}")
    ordered = sorted(figures["tables"].items(), key=lambda item: -item[1]["bytes_per_day"])
    for name, figure in ordered:
        if figure["bytes_per_day"] == 0 and figure["rows_per_day"] == 0:
            continue
        per_row = figure["bytes_per_row"]
        print(
            f"{name:<28} {figure['bytes_per_day'] / 2**20:>9.1f} {figure['rows_per_day']:>12,} "
            f"{'-' if per_row is None else f'{per_row:.1f}':>10}"
        )
    print(
        f"{'total':<28} {figures['bytes_per_day'] / 2**20:>9.1f}   "
        f"({figures['bytes_per_position']} bytes per position)"
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--snapshots", type=int, default=240, help="measured (240: an hour)")
    parser.add_argument("--warm-up", type=int, default=8, help="stored before measuring (8)")
    parser.add_argument("--vacuum-every", type=int, default=4, help="snapshots (4: a minute)")
    parser.add_argument("--pilots", type=int, default=1500)
    parser.add_argument("--controllers", type=int, default=150)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    add_arguments(parser)
    args = parser.parse_args()
    if args.snapshots < 1 or args.warm_up < 1 or args.vacuum_every < 1:
        parser.error("--snapshots, --warm-up and --vacuum-every must be at least 1")
    return args


def main() -> None:
    args = parse_args()
    admin = server_url("storage.py", "VATSIM_BENCH_POSTGRES_URL", "VATSIM_DATABASE_URL")
    name = f"vp_storage_{uuid.uuid4().hex[:10]}"
    create_database(admin, name)
    engine = make_engine(admin.set(database=name).render_as_string(hide_password=False))
    try:
        migrate(engine)
        sector_count = load_recorded_sectors(engine)
        with engine.connect() as connection:
            server = connection.execute(text("SHOW server_version")).scalar_one()
        simulator = Simulator(
            pilots=args.pilots, controllers=args.controllers, seed=args.seed, start=START
        )
        store_snapshots(engine, simulator, args.warm_up, args.vacuum_every)
        vacuum(engine)
        before = table_sizes(engine)
        window = store_snapshots(engine, simulator, args.snapshots, args.vacuum_every)
        vacuum(engine)
        after = table_sizes(engine)
    finally:
        engine.dispose()
        if args.keep:
            print(f"kept database {name}")
        else:
            drop_database(admin, name)
    figures = growth(before, after, args.snapshots, window["positions"])
    note = VACUUM_NOTE.format(n=args.vacuum_every)
    print(
        f"{args.snapshots} snapshots after {args.warm_up} of warm-up, {args.pilots} pilots, "
        f"{args.controllers} controllers, {sector_count} sectors; {note}; "
        f"stored in {window['wall_s']} s ({window['cpu_s']} s CPU here)"
    )
    print_growth(figures)
    written = write_results(
        results_path("storage.json", args),
        {
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "postgresql": server,
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "pilots": args.pilots,
            "controllers": args.controllers,
            "seed": args.seed,
            "start": START.isoformat(),
            "snapshots": args.snapshots,
            "warm_up": args.warm_up,
            "vacuum": note,
            "window": window,
            **figures,
        },
    )
    print(f"figures written to {written}")
    print(f"storage data {figures['gib_per_day']:.2f} GiB/day (target {TARGET_GIB_PER_DAY})")


if __name__ == "__main__":
    sys.exit(main())
