"""Forecast refresh: the CPU of one `forecast_refresh` run (the sector and the airport
forecast, every minute), as the warm launcher runs it.

It fills a fresh PostgreSQL database (`vp_bench_forecast_<pid>` on the server of
`--url`, else `VATSIM_DATABASE_URL`, else the local server): the real VATSpy/simaware
sectors and VATSpy airports of `--sectors-dir`, `--hours` (3) of simulated traffic of
`--pilots` (1,500) and `--controllers` (150) from `--start`, a snapshot every `--step-s`
(60) stored and located through the ingest run's storage functions, every complete hour
of the `traffic_patterns` assets (`sector_load`, `airport_traffic`, ...), and
`--history-days` (28) earlier days of `sector_load` and `airport_traffic` rows copied
from those hours onto the same hours and the hours after them (the forecast's two-hour
horizon), so that the forecasts read the weeks of history they read in production. Then,
like the warm launcher's zygote, this process imports the definitions and fills the run
workers' caches (`warm_up_run_worker`), and forks one worker per run, `--runs` (5)
times: each materializes `sector_forecast` and `airport_forecast` in process at the
newest snapshot. Per run it reports the worker's whole CPU (its rusage: Dagster's run
included), each asset's `cpu_s`, and a digest of the stored `traffic_forecasts` values
(the same inputs must give the same digest, also across code versions). The first run
finds the sector tree not yet computed; the others are the steady state of every minute.

The last line reads `forecast-refresh run <s> s  sector <s> s  airport <s> s  rows <n>
digest <hex>` (medians of the steady runs). `--keep` keeps the database and `--reuse
NAME` measures a kept one again (to compare code versions on the same data). Figures
go to `$VATSIM_HOME/bench/forecast_refresh.json` (`--record`: bench/results/, or
`--output`).

    .venv/bin/python bench/forecast_refresh.py
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from queries import machine
from recorded_release import store_recorded_release
from results_file import add_arguments, results_path, write_results
from scratch_database import create_database, drop_database, server_url
from sqlalchemy import Engine, text

from vatsim_pipeline.feed.simulator import Simulator
from vatsim_pipeline.storage.engine import make_engine, migrate
from vatsim_pipeline.storage.occupancy_writes import sector_set
from vatsim_pipeline.storage.partitions import ensure_day_partitions
from vatsim_pipeline.storage.simulated_history import store_simulated

REPOSITORY = Path(__file__).resolve().parent.parent
HISTORY_TABLES = {
    "sector_load": "sector_id, bucket_start, entries, peak, mean",
    "airport_traffic": "airport, bucket_start, departures, arrivals",
}
DIGEST_SQL = (
    "SELECT target_kind, target_id, metric, bucket_start, expected, low, high, issued_at "
    "FROM traffic_forecasts ORDER BY target_kind, target_id, metric, bucket_start"
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pilots", type=int, default=1500, help="pilots (1500)")
    parser.add_argument("--controllers", type=int, default=150, help="controllers (150)")
    parser.add_argument("--hours", type=float, default=3.0, help="simulated hours (3)")
    parser.add_argument("--step-s", type=float, default=60.0, help="seconds per snapshot (60)")
    parser.add_argument("--start", default="2026-03-06T06:00", help="first snapshot (UTC)")
    parser.add_argument("--history-days", type=int, default=28, help="earlier days (28)")
    parser.add_argument("--runs", type=int, default=5, help="forecast runs (5)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--sectors-dir", type=Path, default=REPOSITORY.parent / "shared/data/vatsim"
    )
    parser.add_argument("--url", help="PostgreSQL server (default $VATSIM_DATABASE_URL)")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--reuse", metavar="NAME", help="measure a kept database again")
    add_arguments(parser)
    args = parser.parse_args()
    if args.runs < 2:
        parser.error("--runs must be at least 2 (the first is the cold one)")
    return args


def fill(url: str, args: argparse.Namespace, start: datetime) -> dict:
    """Sectors, airports, the simulated hours, their pattern hours and the copied days."""
    engine = make_engine(url, statement_timeout_ms=0)
    migrate(engine)
    end = start + timedelta(hours=args.hours)
    ensure_day_partitions(engine, [start.date(), end.date()])
    store_recorded_release(engine, args.sectors_dir)
    simulator = Simulator(
        pilots=args.pilots, controllers=args.controllers, seed=args.seed, start=start
    )
    mark = time.perf_counter()
    steps = int(args.hours * 3600 / args.step_s)
    store_simulated(engine, simulator, steps, args.step_s, sector_set(engine))
    figures = {"simulate_s": round(time.perf_counter() - mark, 1), "snapshots": steps}
    hours = [start + timedelta(hours=h) for h in range(int(args.hours))]
    mark = time.perf_counter()
    materialize_patterns(url, hours)
    figures["patterns_s"] = round(time.perf_counter() - mark, 1)
    with engine.begin() as connection:
        for table, columns in HISTORY_TABLES.items():
            shifted = columns.replace(
                "bucket_start", "bucket_start - make_interval(days => d, hours => -h * :span)"
            )
            connection.execute(
                text(
                    f"INSERT INTO {table} ({columns}) SELECT {shifted} FROM {table}, "
                    "generate_series(1, :days) AS d, generate_series(0, 1) AS h"
                ),
                {"days": args.history_days, "span": len(hours)},
            )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
        for table in HISTORY_TABLES:
            figures[f"{table}_rows"] = connection.execute(
                text(f"SELECT count(*) FROM {table}")
            ).scalar_one()
    engine.dispose()
    return figures


def materialize_patterns(url: str, hours: list[datetime]) -> None:
    """Every `traffic_patterns` asset for each hour, in this process."""
    from dagster import DagsterInstance, materialize

    from vatsim_pipeline.definitions import build_definitions
    from vatsim_pipeline.defs.pattern_partitions import TRAFFIC_PATTERNS_GROUP

    os.environ["VATSIM_DATABASE_URL"] = url
    defs = build_definitions()
    assets = [
        a for a in defs.assets
        if getattr(a, "group_names_by_key", {})
        and set(a.group_names_by_key.values()) == {TRAFFIC_PATTERNS_GROUP}
    ]  # fmt: skip
    with DagsterInstance.ephemeral() as instance:
        for hour in hours:
            key = hour.strftime("%Y-%m-%d-%H:%M")
            result = materialize(assets, partition_key=key, resources=defs.resources,
                                 instance=instance)  # fmt: skip
            if not result.success:
                raise SystemExit(f"bench/forecast_refresh.py: the patterns of {key} failed")


def run_worker(reply: int) -> None:
    """In a forked worker: materialize both forecasts, write their metadata to `reply`."""
    from dagster import DagsterInstance, materialize

    from vatsim_pipeline.definitions import build_definitions
    from vatsim_pipeline.defs.airport_forecast_assets import airport_forecast
    from vatsim_pipeline.defs.forecast_assets import sector_forecast

    with DagsterInstance.ephemeral() as instance:
        result = materialize(
            [sector_forecast, airport_forecast],
            resources=build_definitions().resources,
            instance=instance,
        )
    found = {
        event.asset_key.to_user_string(): {
            k: v.value for k, v in event.materialization.metadata.items()
        }
        for event in result.get_asset_materialization_events()
    }
    os.write(reply, json.dumps({"success": result.success, "assets": found}).encode())


def forked_run() -> dict:
    """One run in a worker forked from this (warm) process: its metadata and CPU."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        code = 1
        try:
            run_worker(write)
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read) as pipe:
        reply = pipe.read()
    _, status, usage = os.wait4(pid, 0)
    if status != 0 or not reply or not json.loads(reply)["success"]:
        raise SystemExit(f"bench/forecast_refresh.py: a forecast run failed ({status})")
    found = json.loads(reply)["assets"]
    return {
        "worker_cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
        "sector_cpu_s": found["sector_forecast"]["cpu_s"],
        "airport_cpu_s": found["airport_forecast"]["cpu_s"],
        "rows": sum(asset["rows_written"] for asset in found.values()),
    }


def digest(engine: Engine) -> str:
    """SHA-256 (16 hex digits) of every stored forecast value, in key order."""
    sha = hashlib.sha256()
    with engine.connect() as connection:
        for row in connection.execute(text(DIGEST_SQL)):
            sha.update(repr(tuple(row)).encode())
    return sha.hexdigest()[:16]


def measure(url: str, runs: int) -> dict:
    """`runs` forecast runs, each forked from this process after the zygote's warm-up."""
    os.environ["VATSIM_DATABASE_URL"] = url
    import vatsim_pipeline.definitions as definitions

    definitions.defs.get_repository_def().get_all_jobs()
    definitions.warm_up_run_worker()
    engine = make_engine(url)
    with engine.begin() as connection:  # the first run computes the sector tree
        connection.execute(text("DELETE FROM maintenance_log WHERE task = 'sector_parents'"))
    engine.dispose()
    measured, digests = [], []
    for _ in range(runs):
        measured.append(forked_run())
        digests.append(digest(engine))
        engine.dispose()
        definitions.warm_up_run_worker()
        print(f"run: {measured[-1]}  digest {digests[-1]}", flush=True)
    if len(set(digests)) != 1:
        raise SystemExit(f"bench/forecast_refresh.py: the same inputs gave {set(digests)}")
    steady = measured[1:]
    return {
        "runs": measured,
        "digest": digests[0],
        "steady": {
            key: round(statistics.median(r[key] for r in steady), 3)
            for key in ("worker_cpu_s", "sector_cpu_s", "airport_cpu_s")
        },
    }


def main() -> None:
    args = parse_args()
    server = server_url("forecast_refresh.py", "VATSIM_DATABASE_URL", given=args.url)
    name = args.reuse or f"vp_bench_forecast_{os.getpid()}"
    url = server.set(database=name).render_as_string(hide_password=False)
    start = datetime.fromisoformat(args.start).replace(tzinfo=UTC)
    figures: dict = {}
    if not args.reuse:
        create_database(server, name)
    try:
        if not args.reuse:
            figures["data"] = fill(url, args, start)
            print(f"data: {figures['data']}", flush=True)
        figures["forecast"] = measure(url, args.runs)
    finally:
        if args.keep or args.reuse:
            print(f"kept: {name}")
        else:
            drop_database(server, name)
    figures |= {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "parameters": {k: str(v) for k, v in vars(args).items()},
        "machine": machine(),
    }
    written = write_results(results_path("forecast_refresh.json", args), figures)
    print(f"figures written to {written}")
    forecast = figures["forecast"]
    steady = forecast["steady"]
    print(
        f"forecast-refresh run {steady['worker_cpu_s']:.2f} s  "
        f"sector {steady['sector_cpu_s']:.2f} s  airport {steady['airport_cpu_s']:.2f} s  "
        f"rows {forecast['runs'][-1]['rows']}  digest {forecast['digest']}"
    )


if __name__ == "__main__":
    sys.exit(main())
