"""How long storing one snapshot takes on PostgreSQL, beside the COPY floor.

Ingests the largest recorded payload (1,706 pilots) with a transceivers feed derived from
it, through `write_snapshot` (every table, key and index), and compares it with COPY of
the same rows into plain tables that have no key and no index: the least any writer
has to spend. All of it happens in a scratch schema `vatsim_bench` that is dropped at
the end, so the data tables of the database are never touched.

    VATSIM_DATABASE_URL=postgresql+psycopg2://postgres@127.0.0.1:5432/test \\
        .venv/bin/python bench/ingest.py
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from results_file import add_arguments, results_path, write_results
from sqlalchemy import Engine, event, text

from vatsim_pipeline.feed.models import Snapshot
from vatsim_pipeline.feed.parse import parse_data_feed, parse_transceivers
from vatsim_pipeline.storage.copy_csv import copy_rows
from vatsim_pipeline.storage.engine import make_engine, migrate
from vatsim_pipeline.storage.schema import (
    controllers,
    flight_positions,
    flights,
    metadata,
    prefiles,
    transceivers,
)
from vatsim_pipeline.storage.writes import write_snapshot

REPOSITORY = Path(__file__).resolve().parent.parent
PAYLOAD = "vatsim-data_20230312T172418Z.json"
SCHEMA = "vatsim_bench"
APPLICATION = "vatsim-bench"
REPETITIONS = 7
REPETITIONS_10X = 3
PILOTS_10X = 15_000
UNICOM_HZ = 122_800_000
FLOOR_TABLES = (flights, flight_positions, controllers, transceivers, prefiles)

try:
    from vatsim_pipeline_tests.shared_data import shared_data
except ImportError:

    def shared_data(*parts: str) -> Path:
        """Same rule as the tests: `VATSIM_TEST_DATA`, else ../shared/data/vatsim."""
        root = os.environ.get("VATSIM_TEST_DATA") or REPOSITORY.parent / "shared/data/vatsim"
        path = Path(root).joinpath(*parts)
        if not path.exists():
            raise SystemExit(f"{path}: recorded VATSIM data not found (set VATSIM_TEST_DATA)")
        return path


def database_url() -> str:
    url = os.environ.get("VATSIM_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        raise SystemExit("bench/ingest.py: set VATSIM_DATABASE_URL to a PostgreSQL URL")
    return url


def bench_engine(url: str) -> Engine:
    """A migrated engine whose every session works in the scratch schema."""
    with make_engine(url).begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {SCHEMA}"))
    engine = make_engine(url)

    @event.listens_for(engine, "connect")
    def _search_path(dbapi_connection, _record) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SET search_path TO {SCHEMA}")
            cursor.execute(f"SET application_name TO '{APPLICATION}'")
        dbapi_connection.commit()

    migrate(engine)
    return engine


def derived_transceivers(document: dict) -> list[dict]:
    """A transceivers feed consistent with the data feed, the same on every run.

    One radio per pilot at its position, on UNICOM or on a controller's frequency; two
    radios per controller and one per ATIS around a fixed point of its own.
    """
    frequencies = [
        round(float(c["frequency"]) * 1e6)
        for c in document["controllers"]
        if c.get("frequency") and c["frequency"] != "199.998"
    ]
    stations = []
    for index, pilot in enumerate(document["pilots"]):
        height = max(pilot["altitude"], 0) * 0.3048
        tuned = UNICOM_HZ if index % 3 == 0 else frequencies[index % len(frequencies)]
        radio = {"id": 0, "frequency": tuned, "latDeg": pilot["latitude"]}
        radio |= {"lonDeg": pilot["longitude"], "heightMslM": height, "heightAglM": height}
        stations.append({"callsign": pilot["callsign"], "transceivers": [radio]})
    for controller in document["controllers"] + document["atis"]:
        place = random.Random(controller["callsign"])
        lat, lon = place.uniform(-60, 70), place.uniform(-179, 179)
        offsets = (-0.2, 0.2) if controller in document["controllers"] else (0.0,)
        hz = round(float(controller["frequency"]) * 1e6)
        radios = [
            {"id": i, "frequency": hz, "latDeg": lat + d, "lonDeg": lon}
            | {"heightMslM": 30.0, "heightAglM": 30.0}
            for i, d in enumerate(offsets)
        ]
        stations.append({"callsign": controller["callsign"], "transceivers": radios})
    return stations


def tenfold(document: dict) -> dict:
    """The feed with its pilots replicated to 15,000, each copy a distinct connection."""
    jitter = random.Random(10)
    pilots = []
    for copy in range(math.ceil(PILOTS_10X / len(document["pilots"]))):
        for pilot in document["pilots"]:
            lat = max(-90.0, min(90.0, pilot["latitude"] + jitter.uniform(-0.5, 0.5)))
            lon = (pilot["longitude"] + jitter.uniform(-0.5, 0.5) + 540.0) % 360.0 - 180.0
            pilots.append(
                pilot
                | {
                    "cid": pilot["cid"] + copy * 10_000_000,
                    "callsign": f"{pilot['callsign']}{'' if copy == 0 else f'X{copy}'}",
                    "latitude": lat,
                    "longitude": lon,
                }
            )
    return document | {"pilots": pilots[:PILOTS_10X]}


def parse(document: dict) -> Snapshot:
    snapshot = parse_data_feed(orjson.dumps(document))
    parse_transceivers(orjson.dumps(derived_transceivers(document)), snapshot)
    return snapshot


def truncate(engine: Engine, tables: Iterable[str]) -> None:
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY"))


DATA_TABLES = [table.name for table in metadata.sorted_tables if table.name != "sectors"]


def _server_pids(engine: Engine) -> list[int]:
    with engine.connect() as connection:
        statement = text("SELECT pid FROM pg_stat_activity WHERE application_name = :name")
        return list(connection.execute(statement, {"name": APPLICATION}).scalars())


def _server_cpu_ms(pids: list[int]) -> float | None:
    """CPU time of the benchmark's server processes; None when the server is not local."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        ticks += int(fields[11]) + int(fields[12])  # utime + stime
    return 1000 * ticks / os.sysconf("SC_CLK_TCK")


def measure(engine: Engine, action: Callable[[], object]) -> dict[str, float | None]:
    """Wall time of `action`, and the CPU it cost here and (if local) in the server.

    On a shared machine wall time grows with everybody else's load; CPU time much less.
    """
    pids = _server_pids(engine)
    server, client, wall = _server_cpu_ms(pids), time.process_time(), time.perf_counter()
    action()
    wall, client = time.perf_counter() - wall, time.process_time() - client
    after = _server_cpu_ms(pids)
    return {
        "wall": 1000 * wall,
        "client_cpu": 1000 * client,
        "server_cpu": None if server is None or after is None else after - server,
    }


def ingest_runs(engine: Engine, snapshot: Snapshot, repetitions: int) -> dict[str, list[dict]]:
    """`inserts`: into empty tables; `steady`: the same flights seen again 15 s later."""
    later = replace(snapshot, update_timestamp=snapshot.update_timestamp + timedelta(seconds=15))
    runs: dict[str, list[dict]] = {"inserts": [], "steady": []}
    for _ in range(repetitions):
        truncate(engine, DATA_TABLES)
        runs["inserts"].append(measure(engine, lambda: write_snapshot(engine, snapshot)))
        runs["steady"].append(measure(engine, lambda: write_snapshot(engine, later)))
    return runs


def _centre(radios: list) -> dict[str, float]:
    if not radios:
        return {}
    return {
        "latitude": sum(r.latitude for r in radios) / len(radios),
        "longitude": sum(r.longitude for r in radios) / len(radios),
    }


def floor_rows(snapshot: Snapshot) -> dict[str, list[tuple]]:
    """The rows `write_snapshot` stores, as plain tuples in each table's column order."""
    ts = snapshot.update_timestamp
    fixed = {
        "first_seen": ts,
        "last_seen": ts,
        "observed_at": ts,
        "last_observed_at": ts,
        "status": "active",
    }

    def row(table, index: int, *sources: object, **values: object) -> tuple:
        out = []
        for column in table.columns:
            name = column.name
            value = values.get(name, fixed.get(name))
            if name == "id":
                value = index + 1
            for source in sources:
                if value is None and source is not None and hasattr(source, name):
                    value = getattr(source, name)
            out.append(value)
        return tuple(out)

    flight_id = {p.callsign: i + 1 for i, p in enumerate(snapshot.pilots)}
    controller_id = {c.callsign: i + 1 for i, c in enumerate(snapshot.controllers)}
    radios: dict[str, list] = {}
    for radio in snapshot.transceivers:
        radios.setdefault(radio.callsign, []).append(radio)
    return {
        "flights": [row(flights, i, p, p.flight_plan) for i, p in enumerate(snapshot.pilots)],
        "flight_positions": [
            row(flight_positions, i, p, flight_id=i + 1) for i, p in enumerate(snapshot.pilots)
        ],
        "controllers": [
            row(controllers, i, c, **_centre(radios.get(c.callsign, [])))
            for i, c in enumerate(snapshot.controllers)
        ],
        "transceivers": [
            row(
                transceivers,
                i,
                r,
                flight_id=flight_id.get(r.callsign),
                controller_id=controller_id.get(r.callsign),
            )
            for i, r in enumerate(snapshot.transceivers)
        ],
        "prefiles": [row(prefiles, i, p, p.flight_plan) for i, p in enumerate(snapshot.prefiles)],
    }


def copy_floor_runs(engine: Engine, snapshot: Snapshot, repetitions: int) -> list[dict]:
    """COPY the same rows into key-less, index-less tables, and commit.

    It uses the storage layer's own CSV encoder, so that the ratio measures what keys,
    indexes, upserts and links add to moving the rows, not a difference of encoders.
    """
    rows = floor_rows(snapshot)
    with engine.begin() as connection:
        for table in FLOOR_TABLES:
            connection.execute(text(f"DROP TABLE IF EXISTS floor_{table.name}"))
            connection.execute(text(f"CREATE TABLE floor_{table.name} (LIKE {table.name})"))

    def copy_all() -> None:
        with engine.begin() as connection:
            for table in FLOOR_TABLES:
                columns = [column.name for column in table.columns]
                copy_rows(connection, f"floor_{table.name}", columns, rows[table.name])

    runs = []
    for _ in range(repetitions):
        truncate(engine, [f"floor_{table.name}" for table in FLOOR_TABLES])
        runs.append(measure(engine, copy_all))
    return runs


def median(runs: list[dict], key: str = "wall") -> float | None:
    values = [run[key] for run in runs]
    return None if None in values else round(statistics.median(values), 1)


def _rounded(runs: list[dict]) -> list[int]:
    return sorted(round(run["wall"]) for run in runs)


def _cpu(runs: list[dict]) -> str:
    server = median(runs, "server_cpu")
    return f"cpu: client {median(runs, 'client_cpu')} ms + server {server} ms"


def _figures(runs: list[dict]) -> dict:
    return {
        "median": median(runs),
        "client_cpu_median": median(runs, "client_cpu"),
        "server_cpu_median": median(runs, "server_cpu"),
        "runs": [{key: value and round(value, 1) for key, value in run.items()} for run in runs],
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    url = database_url()
    load = os.getloadavg()
    document = json.loads(shared_data(PAYLOAD).read_bytes())
    started = time.perf_counter()
    snapshot = parse(document)
    parse_ms = 1000 * (time.perf_counter() - started)
    counts = snapshot.counts()
    print(
        f"parse {parse_ms:.1f} ms  ({counts['pilots']} pilots, "
        f"{counts['controllers'] + counts['atis']} controllers and ATIS, "
        f"{counts['prefiles']} prefiles, {counts['transceivers']} transceivers)"
    )
    engine = bench_engine(url)
    try:
        runs = ingest_runs(engine, snapshot, REPETITIONS)
        floor = copy_floor_runs(engine, snapshot, REPETITIONS)
        big = parse(tenfold(document))
        runs_10x = ingest_runs(engine, big, REPETITIONS_10X)
        floor_10x = copy_floor_runs(engine, big, REPETITIONS_10X)
        with engine.connect() as connection:
            server = connection.execute(text("SHOW server_version")).scalar_one()
    finally:
        with engine.begin() as connection:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        engine.dispose()

    ingest, steady, copy = median(runs["inserts"]), median(runs["steady"]), median(floor)
    print(f"ingest-inserts {ingest} ms  (into empty tables; {_cpu(runs['inserts'])})")
    print(f"ingest-steady {steady} ms  (flights seen again; {_cpu(runs['steady'])})")
    print(f"copy-floor {copy} ms  ({_cpu(floor)})")
    print(f"copy-floor-10x {median(floor_10x)} ms  ({_cpu(floor_10x)})")
    print(f"load average {load[0]:.1f} at start, {os.getloadavg()[0]:.1f} at end")
    print(f"ingest-10x {median(runs_10x['steady'])} ms  ({_cpu(runs_10x['steady'])})")
    ratio = round(steady / copy, 2)
    written = write_results(
        results_path("ingest.json", args),
        {
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "payload": PAYLOAD,
            "postgresql": server,
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_at_start": round(load[0], 2),
            "load_average_at_end": round(os.getloadavg()[0], 2),
            "rows": counts,
            "parse_ms": round(parse_ms, 1),
            "ingest_inserts_ms": _figures(runs["inserts"]),
            "ingest_steady_ms": _figures(runs["steady"]),
            "copy_floor_ms": _figures(floor),
            "ratio": ratio,
            "pilots_10x": len(big.pilots),
            "ingest_10x_steady_ms": _figures(runs_10x["steady"]),
            "ingest_10x_inserts_ms": _figures(runs_10x["inserts"]),
            "copy_floor_10x_ms": _figures(floor_10x),
        },
    )
    print(f"figures written to {written}")
    print(f"ingest {steady} ms  copy-floor {copy} ms  ratio {ratio}")


if __name__ == "__main__":
    sys.exit(main())
