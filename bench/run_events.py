"""What Dagster records per ingest run: events, their bytes, and the run's executing time.

Runs the ingest job in process on the five recorded consecutive snapshots (with the
recorded VATSpy sectors stored, so that every run also locates its positions), with
Dagster's storage and the data tables in two scratch PostgreSQL databases that are dropped
at the end, then reads each run's event log back: events by type, the JSON bytes of its
event rows, and the time from `RUN_START` to `RUN_SUCCESS`; and, from Dagster's
tables, every event row per run, the check results the runs reported outside their own
event log (runless) included. What each run adds to Dagster's tables is measured after
the first round (which creates the asset and check rows once): each table's
`pg_total_relation_size` (heap, indexes, TOAST) before and after the other rounds, with a
VACUUM after every round (as autovacuum would, every 75 s of production: the rows Dagster
updates in place, in `runs` and `asset_keys`, then count once, not once per update), and
the `event_logs` bytes of those rounds by event type.

    .venv/bin/python bench/run_events.py [--rounds 3] [--storage pooled|postgres]
        [--record | --output FILE]

`--storage pooled` (the default) is the production profile's `PooledPostgresStorage`,
`postgres` dagster-postgres's own (a new connection for every storage call).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import uuid
from collections import Counter
from pathlib import Path

from dagster import DagsterEventType, DagsterInstance
from dagster_shared.serdes import serialize_value
from results_file import add_arguments, results_path, write_results
from scratch_database import create_database, drop_database, server_url
from sqlalchemy import create_engine, text

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY))

from vatsim_pipeline_tests.shared_data import sequence_files  # noqa: E402
from vatsim_pipeline_tests.storage.reads_support import real_sectors  # noqa: E402

QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
STORAGE = {
    "pooled": "storage:\n  custom:\n    module: vatsim_pipeline.dagster_storage.pooled_postgres\n"
    "    class: PooledPostgresStorage\n    config:\n      postgres_url: {url}\n",
    "postgres": "storage:\n  postgres:\n    postgres_url: {url}\n",
}


def run_figures(instance: DagsterInstance, run_id: str) -> dict:
    """Events by type, event JSON bytes and executing seconds of one finished run."""
    entries = instance.all_logs(run_id)
    types = Counter(e.dagster_event.event_type_value for e in entries if e.dagster_event)
    times = {
        e.dagster_event.event_type: e.timestamp
        for e in entries
        if e.dagster_event
        and e.dagster_event.event_type in (DagsterEventType.RUN_START, DagsterEventType.RUN_SUCCESS)
    }
    return {
        "events": len(entries),
        "bytes": sum(len(serialize_value(e)) for e in entries),
        "executing_s": times[DagsterEventType.RUN_SUCCESS] - times[DagsterEventType.RUN_START],
        "types": types,
    }


def vacuum(dagster_url: str) -> None:
    engine = create_engine(dagster_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("VACUUM"))
    engine.dispose()


def table_sizes(dagster_url: str) -> tuple[dict[str, int], int]:
    """Bytes of every table of Dagster's database after a VACUUM, and its newest event id."""
    vacuum(dagster_url)
    engine = create_engine(dagster_url)
    with engine.connect() as connection:
        sizes = dict(
            connection.execute(
                text(
                    "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c"
                    " JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " WHERE n.nspname = 'public' AND c.relkind = 'r'"
                )
            ).all()
        )
        newest = connection.scalar(text("SELECT coalesce(max(id), 0) FROM event_logs"))
    engine.dispose()
    return sizes, newest


def growth_per_run(dagster_url: str, before: tuple[dict[str, int], int], runs: int) -> dict:
    """Bytes per run by table (size deltas) and of `event_logs` rows by event type, since
    `before`, runless check results included."""
    sizes, _ = table_sizes(dagster_url)
    engine = create_engine(dagster_url)
    with engine.connect() as connection:
        types = connection.execute(
            text(
                "SELECT dagster_event_type, count(*), sum(length(event)) FROM event_logs"
                " WHERE id > :since GROUP BY 1 ORDER BY 3 DESC"
            ),
            {"since": before[1]},
        ).all()
    engine.dispose()
    tables = {
        name: round((size - before[0].get(name, 0)) / runs)
        for name, size in sorted(sizes.items(), key=lambda item: item[1], reverse=True)
        if size != before[0].get(name, 0)
    }
    return {
        "table_bytes_per_run": tables,
        "table_bytes_per_run_total": sum(tables.values()),
        "event_type_bytes_per_run": {
            str(name): {"rows": round(rows / runs, 1), "bytes": round(size / runs)}
            for name, rows, size in types
        },
    }


def measure(rounds: int, dagster_url: str) -> tuple[list[dict], dict]:
    """`rounds` passes over the recorded sequence, each into emptied data tables; and
    what the rounds after the first added to Dagster's tables per run."""
    from vatsim_pipeline.definitions import build_definitions
    from vatsim_pipeline.defs.ingest_job import ingest_run_config, ingest_tags
    from vatsim_pipeline.feed.client import snapshot_timestamp
    from vatsim_pipeline.storage.engine import make_engine, migrate
    from vatsim_pipeline.storage.schema import metadata
    from vatsim_pipeline.storage.sector_writes import replace_sectors

    engine = make_engine(os.environ["VATSIM_DATABASE_URL"])
    sectors = real_sectors()
    job = build_definitions().resolve_job_def("ingest_snapshot")
    figures = []
    before = None
    with DagsterInstance.get() as instance:
        for round_ in range(rounds):
            if round_ == 1:
                before = table_sizes(dagster_url)
            elif round_ > 1:
                vacuum(dagster_url)
            metadata.drop_all(engine)
            migrate(engine)
            replace_sectors(engine, sectors, "bench")
            for path in sequence_files():
                result = job.execute_in_process(
                    run_config={**ingest_run_config(str(path), None), **QUIET},
                    instance=instance,
                    tags=ingest_tags(snapshot_timestamp(path.read_bytes())),
                )
                figures.append(run_figures(instance, result.run_id))
    engine.dispose()
    measured = len(figures) - len(figures) // rounds
    return figures, growth_per_run(dagster_url, before, measured)


def stored_per_run(dagster_url: str, runs: int) -> tuple[float, float]:
    """Rows of `event_logs` and their bytes, per run, as Dagster's tables hold them."""
    engine = create_engine(dagster_url)
    with engine.connect() as connection:
        rows, size = connection.execute(
            text("SELECT count(*), sum(octet_length(event)) FROM event_logs")
        ).one()
    engine.dispose()
    return rows / runs, size / runs


def summary(figures: list[dict], stored: tuple[float, float]) -> dict:
    executing = sorted(f["executing_s"] for f in figures)
    return {
        "runs": len(figures),
        "events_p50": statistics.median(f["events"] for f in figures),
        "event_bytes_p50": statistics.median(f["bytes"] for f in figures),
        "event_rows_per_run": round(stored[0], 1),
        "event_row_bytes_per_run": round(stored[1]),
        "executing_s_p50": round(statistics.median(executing), 3),
        "executing_s_p95": round(
            executing[min(len(executing) - 1, round(0.95 * (len(executing) - 1)))], 3
        ),
        "event_types_last_run": dict(figures[-1]["types"].most_common()),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def report(results: dict) -> None:
    print(f"{results['runs']} ingest runs, load {results['load_average_1m']}")
    print(f"events per run    p50 {results['events_p50']:.0f}")
    print(f"event bytes/run   p50 {results['event_bytes_p50']:,.0f}")
    print(
        f"event_logs rows/run {results['event_rows_per_run']:.1f}  "
        f"bytes/run {results['event_row_bytes_per_run']:,} (runless included)"
    )
    print(
        f"executing s       p50 {results['executing_s_p50']:.2f}  "
        f"p95 {results['executing_s_p95']:.2f}"
    )
    print("event types of the last run:")
    for name, count in results["event_types_last_run"].items():
        print(f"  {count:3d} {name}")
    print(
        f"Dagster's tables, bytes/run (rounds 2 on, a VACUUM after each): "
        f"{results['table_bytes_per_run_total']:,}"
    )
    for name, size in results["table_bytes_per_run"].items():
        print(f"  {size:8,} {name}")
    print("event_logs bytes/run by event type (rounds 2 on, runless included):")
    for name, figures in results["event_type_bytes_per_run"].items():
        print(f"  {figures['bytes']:8,} {figures['rows']:5.1f} rows  {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rounds", type=int, default=3, help="passes over the 5 snapshots (at least 2)"
    )
    parser.add_argument("--storage", choices=sorted(STORAGE), default="pooled")
    add_arguments(parser)
    args = parser.parse_args()
    if args.rounds < 2:
        parser.error("--rounds: at least 2 (the first creates the asset and check rows)")
    server = server_url("run_events.py", "VATSIM_BENCH_POSTGRES_URL")
    names = [f"vatsim_bench_events_{uuid.uuid4().hex[:8]}_{role}" for role in ("dg", "data")]
    for name in names:
        create_database(server, name)
    try:
        with tempfile.TemporaryDirectory() as home:
            dagster_url = server.set(database=names[0]).render_as_string(hide_password=False)
            Path(home, "dagster.yaml").write_text(
                "telemetry:\n  enabled: false\n" + STORAGE[args.storage].format(url=dagster_url)
            )
            os.environ["DAGSTER_HOME"] = home
            os.environ["VATSIM_DATABASE_URL"] = server.set(database=names[1]).render_as_string(
                hide_password=False
            )
            os.environ["VATSIM_LANDING_DIR"] = str(Path(home, "landing"))
            figures, growth = measure(args.rounds, dagster_url)
            results = summary(figures, stored_per_run(dagster_url, len(figures))) | growth
            results["storage"] = args.storage
    finally:
        for name in names:
            drop_database(server, name)
    report(results)
    written = write_results(results_path("run_events.json", args), results)
    print(f"figures written to {written}")


if __name__ == "__main__":
    main()
