"""Airport patterns: how long the airport assets and queries take on a day of today's
traffic, and pandas against SQL for their aggregation.

It fills a fresh PostgreSQL database exactly as `bench/queries.py` does (`--pilots`
concurrent pilots, 1,500, one position each every 15 s for `--snapshots` snapshots,
5,760: a day, about 8.6 million positions, flights taxiing out, climbing, cruising,
descending and taxiing in at real airports), stores the real VATSpy airports
(`--vatspy-dat`), then measures:

- one hourly partition of `airport_movements`, `airport_traffic` and `route_flights`
  materialized in process (three hours of the day; the issue's target for every pattern
  asset together is 10 s), and the steps of the movement hour: reading the tracks,
  detecting, writing;
- the day's back-fill of the three assets as one single-run materialization (target
  4 minutes for every pattern asset together);
- the 15-minute counts of an hour in SQL (GROUP BY on the stored movements) against the
  pandas path the asset uses (read the movements, `airport_traffic`);
- the airport forecast at the day's last snapshot: CPU seconds of the asset's body
  (history read, forecast computed and stored), target 2 s per minute;
- `traffic airport`, `movements`, `routes top` and `forecast airport` through their
  query functions, `--repeat` (200) calls each with random airports and windows: p50
  and p95 against the floor (`SELECT 1` round trip), target p95 50 ms.

The last line reads `airport-patterns hour <s> s  day <s> s  traffic p95 <ms> ms
movements p95 <ms> ms  routes p95 <ms> ms  forecast p95 <ms> ms  forecast-cpu <s> s`. Figures go to
`$VATSIM_HOME/bench/airport_patterns.json` (`--record`: bench/results/, or `--output`).

    .venv/bin/python bench/airport_patterns.py [--snapshots 5760] [--keep]
"""

from __future__ import annotations

import argparse
import os
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from queries import STEP_S, Traffic, fill, floor_ms, machine, percentile
from results_file import add_arguments, results_path, write_results
from scratch_database import create_database, drop_database, server_url
from sqlalchemy import Engine, text

from vatsim_pipeline.sectors.airports import read_airports
from vatsim_pipeline.storage.airport_storage import replace_airports
from vatsim_pipeline.storage.engine import make_engine, migrate
from vatsim_pipeline.storage.partitions import ensure_day_partitions

REPOSITORY = Path(__file__).resolve().parent.parent
HOUR = timedelta(hours=1)
SQL_TRAFFIC = """
SELECT airport,
       date_trunc('hour', moved_at)
         + floor(extract(minute FROM moved_at) / 15) * interval '15 minutes' AS bucket_start,
       count(*) FILTER (WHERE kind = 'departure') AS departures,
       count(*) FILTER (WHERE kind = 'arrival') AS arrivals
FROM airport_movements
WHERE moved_at >= :start AND moved_at < :end
GROUP BY 1, 2
"""


def movement_steps(engine: Engine, start: datetime) -> dict[str, float]:
    """Seconds of each step of one movement hour: read, detect, write."""
    from vatsim_pipeline.analytics.movements import (
        MovementSettings,
        movements_between,
        track_window,
    )
    from vatsim_pipeline.storage.airport_storage import airports_frame
    from vatsim_pipeline.storage.pattern_writes import last_movement_kinds, replace_window
    from vatsim_pipeline.storage.reads_tracks import filed_frame, track_frame
    from vatsim_pipeline.storage.traffic_schema import airport_movements

    end = start + HOUR
    with engine.begin() as connection:
        places = airports_frame(connection)
        mark = time.perf_counter()
        positions = track_frame(connection, *track_window(start, end))
        ids = sorted(positions["flight_id"].unique().tolist())
        filed = filed_frame(connection, ids)
        before = last_movement_kinds(connection, ids, start, start - timedelta(days=2))
        read = time.perf_counter()
        found = movements_between(positions, places, MovementSettings(), filed, start, end, before)
        detected = time.perf_counter()
        replace_window(connection, airport_movements, "moved_at", start, end, found)
        written = time.perf_counter()
    return {
        "positions": len(positions),
        "movements": len(found),
        "read_s": round(read - mark, 2),
        "detect_s": round(detected - read, 2),
        "write_s": round(written - detected, 2),
    }


def _assets():
    from vatsim_pipeline.defs.airport_pattern_assets import (
        airport_movements,
        airport_traffic,
        route_flights,
    )

    return [airport_movements, airport_traffic, route_flights]


def materialize_hours(url: str, keys: list[str]) -> list[float]:
    """Seconds to materialize each hour of `keys`, the three assets, in this process."""
    from dagster import DagsterInstance, materialize

    from vatsim_pipeline.defs.resources import DatabaseResource

    seconds = []
    with DagsterInstance.ephemeral() as instance:
        for key in keys:
            mark = time.perf_counter()
            result = materialize(
                _assets(),
                partition_key=key,
                resources={"database": DatabaseResource(url=url)},
                instance=instance,
            )
            seconds.append(round(time.perf_counter() - mark, 2))
            if not result.success:
                raise SystemExit(f"bench/airport_patterns.py: materializing {key} failed")
    return seconds


def backfill_day(url: str, first: str, last: str) -> float:
    """Seconds for the day as one single-run back-fill of the three assets."""
    from dagster import DagsterInstance, materialize

    from vatsim_pipeline.defs.resources import DatabaseResource

    with DagsterInstance.ephemeral() as instance:
        mark = time.perf_counter()
        result = materialize(
            _assets(),
            resources={"database": DatabaseResource(url=url)},
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": first,
                "dagster/asset_partition_range_end": last,
            },
        )
        seconds = time.perf_counter() - mark
    if not result.success:
        raise SystemExit("bench/airport_patterns.py: the back-fill failed")
    return round(seconds, 1)


def sql_against_pandas(engine: Engine, start: datetime) -> dict:
    """The 15-minute counts of one hour in SQL against the asset's pandas path."""
    from vatsim_pipeline.analytics.airport_patterns import airport_traffic
    from vatsim_pipeline.storage.pattern_writes import movements_frame

    timings: dict[str, list[float]] = {"sql_s": [], "pandas_s": []}
    for _ in range(5):
        mark = time.perf_counter()
        with engine.connect() as connection:
            rows = connection.execute(text(SQL_TRAFFIC), {"start": start, "end": start + HOUR})
            sql_rows = rows.all()
        timings["sql_s"].append(time.perf_counter() - mark)
        mark = time.perf_counter()
        with engine.connect() as connection:
            counts = airport_traffic(movements_frame(connection, start, start + HOUR))
        timings["pandas_s"].append(time.perf_counter() - mark)
    return {
        **{name: round(min(values), 4) for name, values in timings.items()},
        "sql_rows": len(sql_rows),
        "pandas_rows": len(counts),
    }


def forecast_cpu(engine: Engine) -> dict:
    """CPU seconds of one airport forecast at the newest snapshot (the body of the
    `airport_forecast` asset, stored history read, forecast stored), best of three."""
    import pandas as pd

    from vatsim_pipeline.analytics.airport_forecaster import forecast_airports_at
    from vatsim_pipeline.storage.airport_storage import airports_frame
    from vatsim_pipeline.storage.forecast_writes import replace_forecast
    from vatsim_pipeline.storage.reads_airport_forecast import stored_airport_traffic
    from vatsim_pipeline.storage.reads_base import newest_update

    seconds, rows = [], 0
    for _ in range(3):
        mark = time.process_time()
        with engine.connect() as connection:
            newest = newest_update(connection)
            frame = forecast_airports_at(
                connection,
                pd.Timestamp(newest),
                lambda times, c=connection: stored_airport_traffic(
                    c, [t.to_pydatetime() for t in times]
                ),
                airports_frame(connection),
            )
        rows = replace_forecast(engine, "airport", frame, newest)
        seconds.append(time.process_time() - mark)
    return {"cpu_s": round(min(seconds), 3), "rows": rows}


def time_queries(engine: Engine, day_start: datetime, repeat: int, seed: int) -> dict:
    """p50/p95 of the three airport queries with random airports and windows."""
    from vatsim_pipeline.storage.reads_airports import AirportQueries

    queries = AirportQueries(engine, timedelta(days=30))
    with engine.connect() as connection:
        busy = [
            row[0]
            for row in connection.execute(
                text(
                    "SELECT airport FROM airport_movements GROUP BY airport "
                    "ORDER BY count(*) DESC LIMIT 50"
                )
            )
        ]
    if not busy:
        raise SystemExit("bench/airport_patterns.py: no movements were detected")
    rng = random.Random(seed)

    def window() -> tuple[str, str]:
        hours = rng.randint(1, 24)
        end = day_start + timedelta(hours=rng.randint(hours, 24))
        return (end - timedelta(hours=hours)).isoformat(), end.isoformat()

    calls: dict[str, Callable[[], object]] = {
        "traffic": lambda: queries.traffic(rng.choice(busy), *window(), rng.choice(["15m", "1h"])),
        "movements": lambda: queries.movements(rng.choice(busy), *window(), limit=100),
        "routes": lambda: queries.routes(*window(), limit=rng.choice([10, 50, 100])),
        "forecast": lambda: queries.forecast(rng.choice(busy)),
    }
    floor = percentile(floor_ms(engine, repeat), 0.5)
    figures = {"floor_p50_ms": round(floor, 2)}
    for name, call in calls.items():
        for _ in range(5):
            call()
        times = []
        for _ in range(repeat):
            mark = time.perf_counter()
            call()
            times.append(1000 * (time.perf_counter() - mark))
        p50, p95 = percentile(times, 0.5), percentile(times, 0.95)
        figures[name] = {
            "p50_ms": round(p50, 2),
            "p95_ms": round(p95, 2),
            "p50_over_floor": round(p50 / floor, 1),
        }
    return figures


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="PostgreSQL server (default: VATSIM_DATABASE_URL).")
    parser.add_argument("--pilots", type=int, default=1500)
    parser.add_argument("--snapshots", type=int, default=5760)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--vatspy-dat",
        default=str(REPOSITORY.parent / "shared/data/vatsim/VATSpy.dat"),
        help="VATSpy.dat whose airports movements are matched to.",
    )
    parser.add_argument("--keep", action="store_true", help="Keep the database.")
    add_arguments(parser)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    server = server_url("airport_patterns.py", "VATSIM_DATABASE_URL", given=args.url)
    name = f"vp_bench_airports_{os.getpid()}"
    url = server.set(database=name).render_as_string(hide_password=False)
    load = os.getloadavg()
    create_database(server, name)
    loader = make_engine(url, statement_timeout_ms=0)
    engine = make_engine(url)
    try:
        day = (datetime.now(UTC) - timedelta(days=1)).date()
        day_start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        end_s = (args.snapshots - 1) * STEP_S
        migrate(loader)
        last_day = (day_start + timedelta(seconds=end_s)).date()
        ensure_day_partitions(
            loader, [day + timedelta(days=n) for n in range((last_day - day).days + 1)]
        )
        data = fill(loader, Traffic(args.pilots, 0, end_s, args.seed), day_start, args.snapshots)
        stored = replace_airports(loader, read_airports(Path(args.vatspy_dat)), "bench")
        print(f"airports: {stored:,}", flush=True)
        hours = max(1, args.snapshots * STEP_S // 3600)
        keys = [(day_start + timedelta(hours=h)).strftime("%Y-%m-%d-%H:%M") for h in range(hours)]
        middle = day_start + timedelta(hours=hours // 2)
        steps = movement_steps(engine, middle)
        print(f"movement hour steps: {steps}", flush=True)
        hour_s = materialize_hours(url, keys[hours // 2 : hours // 2 + 3])
        print(f"one hour, three assets: {hour_s} s", flush=True)
        day_s = backfill_day(url, keys[0], keys[-1])
        print(f"back-fill of {len(keys)} hours: {day_s} s", flush=True)
        aggregation = sql_against_pandas(engine, middle)
        print(f"15-minute counts of an hour: {aggregation}", flush=True)
        forecast = forecast_cpu(engine)
        print(f"airport forecast: {forecast}", flush=True)
        figures = time_queries(engine, day_start, args.repeat, args.seed + 1)
        print(f"queries: {figures}", flush=True)
    finally:
        engine.dispose()
        loader.dispose()
        if args.keep:
            print(f"kept: {url}")
        else:
            drop_database(server, name)
    results = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "parameters": {"pilots": args.pilots, "snapshots": args.snapshots, "repeat": args.repeat},
        "machine": machine() | {"load_average_at_start": round(load[0], 2)},
        "data": data,
        "movement_hour_steps": steps,
        "hour_s": hour_s,
        "day_backfill_s": day_s,
        "hours_backfilled": len(keys),
        "traffic_aggregation": aggregation,
        "forecast": forecast,
        "queries": figures,
    }
    written = write_results(results_path("airport_patterns.json", args), results)
    print(f"figures written to {written}")
    print(
        f"airport-patterns hour {max(hour_s):.1f} s  day {day_s:.1f} s  "
        f"traffic p95 {figures['traffic']['p95_ms']:.1f} ms  "
        f"movements p95 {figures['movements']['p95_ms']:.1f} ms  "
        f"routes p95 {figures['routes']['p95_ms']:.1f} ms  "
        f"forecast p95 {figures['forecast']['p95_ms']:.1f} ms  "
        f"forecast-cpu {forecast['cpu_s']:.2f} s"
    )


if __name__ == "__main__":
    main()
