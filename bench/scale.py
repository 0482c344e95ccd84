"""Scale: what storing one snapshot costs at 1x, 5x and 10x today's traffic, and whether
the cost per row stays flat.

Today's traffic is about 1,500 pilots and 150 controllers. For each factor the traffic
simulator (`vatsim_pipeline.feed.simulator`) runs that many pilots and controllers; the
first snapshots fill the empty tables, then `--snapshots` steady-state snapshots (the
same flights seen again 15 s later, as all day long) are timed: parsing both payloads
(`parse_data_feed`, `parse_transceivers`) and `write_snapshot` into PostgreSQL, i.e.
what an ingest run does besides starting. Each figure is a median. The `anomalies`
columns time anomaly detection of the same snapshot (`detect_snapshot`, which the ingest
run does next): its wall time and the CPU time of this process, and CPU microseconds
per pilot, whose growth from 1x to 10x says whether its per-row cost stays flat.

It works in a fresh database `vp_scale_<random>` on the PostgreSQL server of
`VATSIM_BENCH_POSTGRES_URL` (else `VATSIM_DATABASE_URL`, else the local server), dropped
at the end: no existing table is touched.

    .venv/bin/python bench/scale.py
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
import uuid
from datetime import UTC, datetime

from results_file import add_arguments, results_path, write_results
from scratch_database import create_database, drop_database, server_url
from sqlalchemy import text

from vatsim_pipeline.feed.parse import parse_data_feed, parse_transceivers
from vatsim_pipeline.feed.simulator import Simulator
from vatsim_pipeline.storage.anomaly_writes import detect_snapshot
from vatsim_pipeline.storage.engine import make_engine, migrate
from vatsim_pipeline.storage.schema import metadata
from vatsim_pipeline.storage.writes import write_snapshot

TODAY = {"pilots": 1500, "controllers": 150}
FACTORS = (1, 5, 10)
WARM_UP_SNAPSHOTS = 2
STEP_S = 15.0


def _truncate(engine) -> None:
    names = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


def measure_factor(engine, factor: int, snapshots: int, seed: int) -> dict:
    """Median parse, write and total milliseconds of steady-state snapshots at `factor`."""
    simulator = Simulator(
        pilots=TODAY["pilots"] * factor, controllers=TODAY["controllers"] * factor, seed=seed
    )
    _truncate(engine)
    runs = {"parse": [], "write": [], "total": [], "anomalies": [], "anomalies_cpu": []}
    rows = []
    for index in range(WARM_UP_SNAPSHOTS + snapshots):
        simulator.step(STEP_S)
        _, data, radios = simulator.render()
        started = time.perf_counter()
        snapshot = parse_data_feed(data)
        parse_transceivers(radios, snapshot)
        parsed = time.perf_counter()
        write_snapshot(engine, snapshot)
        written = time.perf_counter()
        cpu = time.process_time()
        detect_snapshot(engine, snapshot.update_timestamp)
        detected, detected_cpu = time.perf_counter(), time.process_time()
        if index < WARM_UP_SNAPSHOTS:
            continue
        counts = snapshot.counts()
        rows.append(
            counts["pilots"] * 2  # the flight and its position
            + counts["controllers"]
            + counts["atis"]
            + counts["prefiles"]
            + counts["transceivers"]
        )
        runs["parse"].append(1000 * (parsed - started))
        runs["write"].append(1000 * (written - parsed))
        runs["total"].append(1000 * (written - started))
        runs["anomalies"].append(1000 * (detected - written))
        runs["anomalies_cpu"].append(1000 * (detected_cpu - cpu))
    medians = {name: round(statistics.median(values), 1) for name, values in runs.items()}
    row_count = round(statistics.median(rows))
    return {
        "factor": factor,
        "pilots": simulator.target_pilots,
        "controllers": simulator.target_controllers,
        "rows_per_snapshot": row_count,
        "payload_bytes": len(data) + len(radios),
        "median_ms": medians,
        "ms_per_1000_rows": round(1000 * medians["total"] / row_count, 2),
        "anomaly_cpu_us_per_pilot": round(1000 * medians["anomalies_cpu"] / counts["pilots"], 2),
        "runs_ms": {name: [round(v, 1) for v in values] for name, values in runs.items()},
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--snapshots", type=int, default=5, help="timed snapshots each (5)")
    parser.add_argument("--seed", type=int, default=11)
    add_arguments(parser)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    admin = server_url("scale.py", "VATSIM_BENCH_POSTGRES_URL", "VATSIM_DATABASE_URL")
    name = f"vp_scale_{uuid.uuid4().hex[:10]}"
    create_database(admin, name)
    engine = make_engine(admin.set(database=name).render_as_string(hide_password=False))
    try:
        migrate(engine)
        with engine.connect() as connection:
            server = connection.execute(text("SHOW server_version")).scalar_one()
        figures = []
        for factor in FACTORS:
            figure = measure_factor(engine, factor, args.snapshots, args.seed)
            figures.append(figure)
            medians = figure["median_ms"]
            print(
                f"{factor:>2}x  {figure['pilots']:>6,} pilots  {figure['rows_per_snapshot']:>7,} "
                f"rows  parse {medians['parse']:>7.1f} ms  write {medians['write']:>7.1f} ms  "
                f"total {medians['total']:>7.1f} ms  {figure['ms_per_1000_rows']:.2f} ms per "
                f"1,000 rows  (runs {[round(v) for v in figure['runs_ms']['total']]})  "
                f"anomalies {medians['anomalies']:.1f} ms, {medians['anomalies_cpu']:.1f} ms CPU "
                f"({figure['anomaly_cpu_us_per_pilot']:.1f} us per pilot)"
            )
    finally:
        engine.dispose()
        drop_database(admin, name)
    growth = round(figures[-1]["ms_per_1000_rows"] / figures[0]["ms_per_1000_rows"], 2)
    anomaly_growth = round(
        figures[-1]["anomaly_cpu_us_per_pilot"] / figures[0]["anomaly_cpu_us_per_pilot"], 2
    )
    written = write_results(
        results_path("scale.json", args),
        {
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "postgresql": server,
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average": os.getloadavg(),
            "snapshots_timed": args.snapshots,
            "factors": figures,
            "per_row_growth": growth,
            "anomaly_per_pilot_growth": anomaly_growth,
        },
    )
    print(f"figures written to {written}")
    totals = {figure["factor"]: figure["median_ms"]["total"] for figure in figures}
    print(
        f"scale 1x {totals[1]:.0f} ms  5x {totals[5]:.0f} ms  10x {totals[10]:.0f} ms  "
        f"per-row growth {growth}"
    )
    cpu = {figure["factor"]: figure["median_ms"]["anomalies_cpu"] for figure in figures}
    print(
        f"anomalies CPU 1x {cpu[1]:.1f} ms  10x {cpu[10]:.1f} ms  per-pilot growth {anomaly_growth}"
    )


if __name__ == "__main__":
    main()
