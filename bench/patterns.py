"""Patterns: how long the traffic-pattern assets and queries take on a day of today's
traffic, and how much CPU a forecast refresh costs.

It fills a fresh PostgreSQL database exactly as `bench/queries.py` does (a day of
`--pilots` concurrent pilots, 1,500: about 8.6 million positions and their sector
visits, plus `--history-days` earlier days of flights and visits), replaces its
stand-in sectors by the real VATSpy and simaware ones and stores the VATSpy airports
(`--sectors-dir`, the recorded files), adds `--controllers` (150) controller sessions
staffing sectors, then measures:

- one hourly partition of the sector assets (`sector_load`, `sector_coverage`), then of
  every asset of the `traffic_patterns` group (the airport ones included), materialized
  in process, two hours each, target 10 s;
- a day's back-fill: `dagster asset materialize --partition-range` over the 24 hours of
  the day, as one run in a new process (as a user runs it), of the sector assets (and
  of every pattern asset with `--backfill-all`), target 4 minutes;
- the aggregation of one hour in SQL (flight-seconds per sector and quarter, its TRACONs
  rolled up by a join on `sector_parents`) against the pandas path the assets use;
- `traffic sector`, `controllers coverage` and `forecast sector` through the query
  service, `--repeat` (200) calls each with random sectors and windows: p50 and p95
  against the floor (`SELECT 1`), target p95 50 ms;
- the forecast refresh at the day's last snapshot: CPU seconds of the whole asset body
  in a fresh process (sector boundaries parsed, the forecast computed and stored), target
  2 s per minute.

The last line reads `patterns hour <s> s  (sector <s> s)  sector day <s> s  traffic p95
<ms> ms  forecast p95 <ms> ms  forecast-cpu <s> s`. Figures go to `$VATSIM_HOME/bench/patterns.json`
(`--record`: bench/results/, or `--output`).

    .venv/bin/python bench/patterns.py
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from queries import STEP_S, Traffic, fill, floor_ms, machine, percentile
from results_file import add_arguments, results_path, write_results
from scratch_database import create_database, drop_database, server_url
from sqlalchemy import Engine, insert, select, text

from vatsim_pipeline.sectors.airports import read_airports
from vatsim_pipeline.sectors.boundaries import load_sectors
from vatsim_pipeline.storage.airport_storage import replace_airports
from vatsim_pipeline.storage.engine import make_engine, migrate
from vatsim_pipeline.storage.partitions import ensure_day_partitions
from vatsim_pipeline.storage.reads import QueryService
from vatsim_pipeline.storage.schema import controller_sectors, controllers, sectors
from vatsim_pipeline.storage.sector_writes import replace_sectors

REPOSITORY = Path(__file__).resolve().parent.parent
SECTOR_ASSETS = ("sector_load", "sector_coverage")
TARGETS = {"hour_s": 10.0, "day_s": 240.0, "query_p95_ms": 50.0, "forecast_cpu_s": 2.0}
SQL_HOUR = """
WITH stays AS (
  SELECT o.sector_id, o.entered_at, COALESCE(o.exited_at, f.last_seen) AS left_at
  FROM flight_sector_occupancy o JOIN flights f ON f.id = o.flight_id
  WHERE o.entered_at >= :start - interval '24 hours' AND o.entered_at < :end
    AND COALESCE(o.exited_at, f.last_seen) >= :start
), rolled AS (
  SELECT sector_id, entered_at, left_at FROM stays
  UNION ALL
  SELECT p.parent_id, s.entered_at, s.left_at FROM stays s
  JOIN sector_parents p ON p.sector_id = s.sector_id
), quarters AS (
  SELECT generate_series(:start, :end - interval '15 minutes', interval '15 minutes') AS q
)
SELECT r.sector_id, q.q,
  SUM(EXTRACT(EPOCH FROM LEAST(r.left_at, q.q + interval '15 minutes')
      - GREATEST(r.entered_at, q.q))) / 900 AS mean,
  COUNT(*) FILTER (WHERE r.entered_at >= q.q AND r.entered_at < q.q + interval '15 minutes')
FROM rolled r JOIN quarters q
  ON r.entered_at < q.q + interval '15 minutes' AND r.left_at > q.q
GROUP BY r.sector_id, q.q
"""


def add_controllers(engine: Engine, day_start: datetime, count: int, seed: int) -> int:
    """`count` controllers on duty at any time of the day, in sessions of 1 to 3 hours,
    each staffing one stored FIR or TRACON."""
    rng = random.Random(seed)
    with engine.connect() as connection:
        ids = list(connection.scalars(select(sectors.c.id).where(sectors.c.kind != "uir")))
    rows, links, cid = [], [], 900_000
    for slot in range(count):
        t = -rng.uniform(0, 3 * 3600)
        while t < 86_400:
            length = rng.uniform(3600, 3 * 3600)
            cid += 1
            start = day_start + timedelta(seconds=t)
            end = start + timedelta(seconds=length)
            rows.append(
                {"cid": cid, "callsign": f"BENCH{slot}_CTR", "logon_time": start,
                 "kind": "controller", "facility": 6, "first_seen": start, "last_seen": end,
                 "status": "offline" if end < day_start + timedelta(days=1) else "active"}
            )  # fmt: skip
            links.append(rng.choice(ids))
            t += length + rng.uniform(0, 1800)
    with engine.begin() as connection:
        for row, sector in zip(rows, links, strict=True):
            controller = connection.execute(
                insert(controllers).values(row).returning(controllers.c.id)
            ).scalar_one()
            connection.execute(
                insert(controller_sectors).values(controller_id=controller, sector_id=sector)
            )
    return len(rows)


def hour_keys(day_start: datetime) -> list[str]:
    return [(day_start + timedelta(hours=h)).strftime("%Y-%m-%d-%H:%M") for h in range(24)]


def pattern_assets(only: tuple[str, ...] | None = None) -> list:
    """The assets of the traffic-patterns group (those named in `only`, when given)."""
    from vatsim_pipeline.definitions import build_definitions
    from vatsim_pipeline.defs.pattern_partitions import TRAFFIC_PATTERNS_GROUP

    return [
        a for a in build_definitions().assets
        if getattr(a, "group_names_by_key", {})
        and set(a.group_names_by_key.values()) == {TRAFFIC_PATTERNS_GROUP}
        and (only is None or {k.to_user_string() for k in a.keys} <= set(only))
    ]  # fmt: skip


def materialize_hours(url: str, keys: list[str], only: tuple[str, ...] | None) -> list[float]:
    """Seconds to materialize each hour of `keys`, the pattern assets (or `only` those), in
    this process."""
    from dagster import DagsterInstance, materialize

    os.environ["VATSIM_DATABASE_URL"] = url
    from vatsim_pipeline.definitions import build_definitions

    defs = build_definitions()
    assets = pattern_assets(only)
    seconds = []
    with DagsterInstance.ephemeral() as instance:
        for key in keys:
            mark = time.perf_counter()
            result = materialize(
                assets, partition_key=key, resources=defs.resources, instance=instance
            )
            seconds.append(round(time.perf_counter() - mark, 2))
            if not result.success:
                raise SystemExit(f"bench/patterns.py: materializing {key} failed")
    return seconds


def backfill_day(url: str, keys: list[str], only: tuple[str, ...] | None) -> float:
    """Seconds for `dagster asset materialize --partition-range` over the day, one run."""
    selected = sorted(k.to_user_string() for a in pattern_assets(only) for k in a.keys)
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "VATSIM_DATABASE_URL": url, "DAGSTER_HOME": home}
        mark = time.perf_counter()
        done = subprocess.run(
            [str(Path(sys.executable).parent / "dagster"), "asset", "materialize", "-m",
             "vatsim_pipeline.definitions", "--select", ",".join(selected),
             "--partition-range", f"{keys[0]}...{keys[-1]}"],
            cwd=REPOSITORY, env=env, capture_output=True, text=True, timeout=3600,
        )  # fmt: skip
        seconds = time.perf_counter() - mark
    if done.returncode != 0:
        raise SystemExit(f"bench/patterns.py: the back-fill failed:\n{done.stderr[-3000:]}")
    return round(seconds, 1)


def sql_against_pandas(engine: Engine, start: datetime) -> dict:
    """One hour aggregated in SQL (without merging a flight's touching stays, which SQL
    does not do simply) against the pandas path of the `sector_load` asset."""
    from vatsim_pipeline.analytics.sector_load import sector_load
    from vatsim_pipeline.analytics.stays import stays_frame
    from vatsim_pipeline.storage.sector_patterns import (
        max_stay,
        stays_overlapping,
        stored_sector_parents,
    )

    parents = stored_sector_parents(engine)
    end = start + timedelta(hours=1)
    timings: dict[str, list[float]] = {"sql_s": [], "pandas_s": [], "pandas_read_s": []}
    for _ in range(3):
        mark = time.perf_counter()
        with engine.connect() as connection:
            sql_rows = connection.execute(text(SQL_HOUR), {"start": start, "end": end}).all()
        timings["sql_s"].append(time.perf_counter() - mark)
        mark = time.perf_counter()
        with engine.connect() as connection:
            stays = stays_frame(stays_overlapping(connection, start, end, max_stay()))
        timings["pandas_read_s"].append(time.perf_counter() - mark)
        load = sector_load(stays, parents, start, end)
        timings["pandas_s"].append(time.perf_counter() - mark)
    return {
        **{name: round(min(values), 3) for name, values in timings.items()},
        "sql_rows": len(sql_rows),
        "pandas_rows": int((load["mean"] > 0).sum()),
    }


def time_queries(engine: Engine, day_start: datetime, repeat: int, seed: int) -> dict:
    rng = random.Random(seed)
    service = QueryService(engine)
    with engine.connect() as connection:
        busy = list(connection.scalars(text("SELECT DISTINCT sector_id FROM sector_load")))
        forecast = (
            list(connection.scalars(text("SELECT DISTINCT target_id FROM traffic_forecasts")))
            or busy
        )

    def traffic():
        start = day_start + timedelta(hours=rng.uniform(0, 18))
        length = timedelta(hours=rng.uniform(1, 24))
        service.get_sector_traffic(rng.choice(busy), since=start, until=start + length,
                                   bucket=rng.choice(["15m", "1h"]))  # fmt: skip

    def coverage():
        start = day_start + timedelta(hours=rng.uniform(0, 18))
        service.get_coverage(since=start, until=start + timedelta(hours=rng.uniform(1, 24)))

    calls = {
        "traffic": traffic,
        "coverage": coverage,
        "forecast": lambda: service.get_sector_forecast(rng.choice(forecast)),
    }
    figures = {}
    for name, call in calls.items():
        for _ in range(5):
            call()
        samples = []
        for _ in range(repeat):
            mark = time.perf_counter()
            call()
            samples.append((time.perf_counter() - mark) * 1000)
        figures[name] = {
            "p50_ms": round(percentile(samples, 0.5), 2),
            "p95_ms": round(percentile(samples, 0.95), 2),
            "max_ms": round(max(samples), 2),
        }
    figures["floor_p50_ms"] = round(percentile(floor_ms(engine, repeat), 0.5), 3)
    return figures


def forecast_cpu(url: str) -> dict:
    """CPU seconds of the forecast asset's body in a fresh process, as each minute's run."""
    code = (
        "import time, os\n"
        "from dagster import materialize, DagsterInstance\n"
        "from vatsim_pipeline.definitions import build_definitions\n"
        "from vatsim_pipeline.defs.forecast_assets import sector_forecast\n"
        "with DagsterInstance.ephemeral() as instance:\n"
        "    result = materialize([sector_forecast], resources=build_definitions().resources,"
        " instance=instance)\n"
        "    event = result.get_asset_materialization_events()[0]\n"
        "    meta = event.materialization.metadata\n"
        "    print(meta['cpu_s'].value, meta['sectors_forecast'].value,"
        " meta['rows_written'].value)\n"
    )
    runs = []
    for _ in range(3):
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=REPOSITORY, capture_output=True, text=True,
            env={**os.environ, "VATSIM_DATABASE_URL": url}, timeout=600,
        )  # fmt: skip
        if done.returncode != 0:
            raise SystemExit(f"bench/patterns.py: the forecast failed:\n{done.stderr[-3000:]}")
        cpu, sectors_forecast, rows = done.stdout.split()[-3:]
        runs.append(float(cpu))
    return {"cpu_s": runs, "sectors_forecast": int(sectors_forecast), "rows": int(rows)}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pilots", type=int, default=1500, help="concurrent pilots (1500)")
    parser.add_argument("--snapshots", type=int, default=5760, help="15 s snapshots (5760)")
    parser.add_argument("--history-days", type=int, default=1, help="earlier days (1)")
    parser.add_argument("--controllers", type=int, default=150, help="controllers on duty")
    parser.add_argument("--repeat", type=int, default=200, help="timed calls per query (200)")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument(
        "--sectors-dir", type=Path, default=REPOSITORY.parent / "shared/data/vatsim"
    )
    parser.add_argument("--url", help="PostgreSQL server (default $VATSIM_DATABASE_URL)")
    parser.add_argument(
        "--backfill-all", action="store_true", help="also back-fill a day of every pattern asset"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--reuse", metavar="NAME", help="measure a kept database again")
    add_arguments(parser)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    server = server_url("patterns.py", "VATSIM_DATABASE_URL", given=args.url)
    name = args.reuse or f"vp_bench_patterns_{os.getpid()}"
    url = server.set(database=name).render_as_string(hide_password=False)
    day = (datetime.now(UTC) - timedelta(days=1)).date()
    day_start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    keys = hour_keys(day_start)
    if not args.reuse:
        create_database(server, name)
    loader = make_engine(url, statement_timeout_ms=0)
    engine = make_engine(url)
    figures: dict = {}
    try:
        if not args.reuse:
            migrate(loader)
            end_s = (args.snapshots - 1) * STEP_S
            last_day = (day_start + timedelta(seconds=end_s)).date()
            ensure_day_partitions(
                loader, [day + timedelta(days=n) for n in range((last_day - day).days + 1)]
            )
            traffic = Traffic(args.pilots, -86_400 * args.history_days, end_s, args.seed)
            figures["data"] = fill(loader, traffic, day_start, args.snapshots)
            real = load_sectors(
                args.sectors_dir / "VATSpy.dat",
                args.sectors_dir / "Boundaries.geojson.gz",
                tracon=args.sectors_dir / "TRACONBoundaries.geojson",
            )
            replace_sectors(loader, real, "bench")
            replace_airports(loader, read_airports(args.sectors_dir / "VATSpy.dat"), "bench")
            figures["data"]["controller_sessions"] = add_controllers(
                loader, day_start, args.controllers, args.seed
            )
            with loader.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM ANALYZE"))
        from vatsim_pipeline.storage.sector_patterns import stored_sector_parents

        mark = time.perf_counter()
        stored_sector_parents(engine)
        figures["sector_tree_s"] = round(time.perf_counter() - mark, 2)
        print(f"sector tree: {figures['sector_tree_s']} s", flush=True)
        figures["sector_hours_s"] = materialize_hours(url, [keys[10], keys[11]], SECTOR_ASSETS)
        print(f"one hour of the sector assets: {figures['sector_hours_s']} s", flush=True)
        figures["hours_s"] = materialize_hours(url, [keys[12], keys[13]], None)
        print(f"one hour of every pattern asset: {figures['hours_s']} s", flush=True)
        figures["sql_against_pandas"] = sql_against_pandas(engine, day_start + timedelta(hours=12))
        print(
            f"one hour of sector load, SQL against pandas: {figures['sql_against_pandas']}",
            flush=True,
        )
        figures["sector_day_s"] = backfill_day(url, keys, SECTOR_ASSETS)
        print(f"a day's back-fill of the sector assets: {figures['sector_day_s']} s", flush=True)
        if args.backfill_all:
            figures["day_s"] = backfill_day(url, keys, None)
            print(f"a day's back-fill of every pattern asset: {figures['day_s']} s", flush=True)
        figures["forecast"] = forecast_cpu(url)
        print(f"forecast refresh: {figures['forecast']}", flush=True)
        figures["queries"] = time_queries(engine, day_start, args.repeat, args.seed + 1)
        print(f"queries: {figures['queries']}", flush=True)
    finally:
        engine.dispose()
        loader.dispose()
        if args.keep or args.reuse:
            print(f"kept: {url}")
        else:
            drop_database(server, name)
    figures |= {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "parameters": {
            k: getattr(args, k)
            for k in ("pilots", "snapshots", "history_days", "controllers", "repeat", "seed")
        },
        "machine": machine(),
        "targets": TARGETS,
    }
    written = write_results(results_path("patterns.json", args), figures)
    print(f"figures written to {written}")
    queries = figures["queries"]
    print(
        f"patterns hour {max(figures['hours_s']):.1f} s  "
        f"(sector {max(figures['sector_hours_s']):.1f} s)  "
        f"sector day {figures['sector_day_s']:.0f} s  "
        f"traffic p95 {queries['traffic']['p95_ms']:.1f} ms  "
        f"forecast p95 {queries['forecast']['p95_ms']:.1f} ms  "
        f"forecast-cpu {max(figures['forecast']['cpu_s']):.2f} s"
    )


if __name__ == "__main__":
    main()
