"""Dashboard: how fast the page renders and refreshes, what a refresh costs on the
wire, and how `/api/flights` holds under a steady load.

It builds the `bench/queries.py` database (a fresh PostgreSQL database filled by COPY
with a day of 1,500 concurrent pilots; `--snapshots` shortens the day), replaces its
synthetic sectors with the real VATSpy and simaware set (~1,900 boundaries, from
`../shared/data/vatsim` or `VATSIM_TEST_DATA`), locates the newest snapshot's positions
in them with the project's occupancy step, and starts `vatsim-pipeline serve` on it, as
a user would. The floor is the same server and page over an empty migrated database,
measured in the same run, so each figure is also printed as a ratio to it:

- `first-render`: a new browser context (no cache) opens `/` until the page marks itself
  ready (every view drawn with data), from navigation start (median of `--renders`, 5);
  target under 2 s;
- `refresh`: main-thread time of one refresh (Chrome's TaskDuration around
  `window.dashboard.refresh()`, median of `--refreshes`, 10); target under 300 ms;
- `live-map bytes`: compressed bytes of the map's data per refresh (flights and status,
  as received); target under 300 KB;
- `flights p95`: `/api/flights` under `wrk` (Debian's package, installed with apt-get if
  missing) at about 100 requests/s (5 connections each waiting 40 ms between requests)
  for `--seconds` (20); target under 50 ms. Its floor is a static file of the same
  server under the same load.

The browser is Debian's chromium (`/usr/bin/chromium`, installed if missing) under
Playwright. Figures go to `$VATSIM_HOME/bench/dashboard.json` (git-ignored; see
`results_file.py`), or `--output`; the last line has the form
`dashboard first-render <ms> ms  refresh <ms> ms  live-map <KB> KB  flights p95 <ms> ms`.

    .venv/bin/python bench/dashboard.py
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from queries import STEP_S, Traffic, fill
from results_file import add_arguments, results_path, write_results
from scratch_database import create_database, drop_database, server_url
from sqlalchemy import delete, func, select

from vatsim_pipeline.sectors.boundaries import load_sectors
from vatsim_pipeline.storage.engine import make_engine, migrate
from vatsim_pipeline.storage.occupancy_writes import sector_set, update_occupancy
from vatsim_pipeline.storage.partitions import ensure_day_partitions
from vatsim_pipeline.storage.schema import feed_snapshots, sectors
from vatsim_pipeline.storage.sector_writes import replace_sectors

REPOSITORY = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("VATSIM_BENCH_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WRK_CONNECTIONS = 5
WRK_DELAY_MS = 40
WRK_SCRIPT = f"""
function delay() return {WRK_DELAY_MS} end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %.3f %.3f %.3f\\n", summary.requests,
    summary.duration, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency.max / 1000))
end
"""
LIVE_MAP = ("/api/dashboard/map/flights", "/api/dashboard/map/status")


def shared_data(name: str) -> Path:
    root = Path(os.environ.get("VATSIM_TEST_DATA") or REPOSITORY.parent / "shared/data/vatsim")
    path = root / name
    if not path.exists():
        raise SystemExit(f"bench/dashboard.py: {path}: recorded data not found (VATSIM_TEST_DATA)")
    return path


def ensure_tools() -> None:
    """Debian's chromium and wrk, installed with apt-get when missing."""
    missing = [p for p, tool in ((CHROMIUM, "chromium"), ("wrk", "wrk")) if not shutil.which(p)]
    if missing:
        packages = ["chromium" if p == CHROMIUM else p for p in missing]
        print(f"installing {', '.join(packages)} (apt-get)", flush=True)
        subprocess.run(["apt-get", "update", "-q"], check=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-q", *packages],
            check=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )


def build(url: str, snapshots: int, pilots: int, seed: int) -> dict:
    """The queries.py day, then the real sectors and the newest positions located."""
    loader = make_engine(url, statement_timeout_ms=0)
    try:
        day = (datetime.now(UTC) - timedelta(days=1)).date()
        day_start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        end_s = (snapshots - 1) * STEP_S
        migrate(loader)
        last_day = (day_start + timedelta(seconds=end_s)).date()
        ensure_day_partitions(
            loader, [day + timedelta(days=n) for n in range((last_day - day).days + 1)]
        )
        data = fill(loader, Traffic(pilots, 0, end_s, seed), day_start, snapshots)
        with loader.begin() as connection:
            connection.execute(delete(sectors))
        started = time.perf_counter()
        stored = load_sectors(
            shared_data("VATSpy.dat"),
            shared_data("Boundaries.geojson.gz"),
            tracon=shared_data("TRACONBoundaries.geojson"),
        )
        replace_sectors(loader, stored, "bench")
        with loader.connect() as connection:
            newest = connection.execute(
                select(func.max(feed_snapshots.c.update_timestamp))
            ).scalar()
        located = update_occupancy(loader, newest, sector_set(loader))
        print(
            f"sectors: {len(stored):,} real boundaries; {located.assigned:,} newest positions "
            f"located, {time.perf_counter() - started:.0f} s",
            flush=True,
        )
        return data | {"sectors": len(stored)}
    finally:
        loader.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serving(url: str) -> Iterator[str]:
    """`vatsim-pipeline serve` over the database, until the block ends."""
    port = free_port()
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "vatsim-pipeline"), "serve", "--port", str(port)],
            env={**os.environ, "VATSIM_DATABASE_URL": url},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    requests.get(base + "/api/status", timeout=5)
                    break
                except requests.ConnectionError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        log.seek(0)
                        output = log.read().decode()
                        raise SystemExit(f"serve did not start:\n{output}") from None
                    time.sleep(0.2)
            # Warm the caches a long-running server holds (sector paths, staffing rules).
            for path in ("/", "/api/dashboard/map/sectors", "/api/dashboard/map/land", *LIVE_MAP):
                requests.get(base + path, timeout=60).raise_for_status()
            yield base
        finally:
            process.terminate()
            process.wait(10)


def measure_page(base: str, renders: int, refreshes: int) -> dict:
    """First renders, refresh main-thread times and live-map bytes in chromium."""
    from playwright.sync_api import sync_playwright

    figures: dict = {"first_render_ms": [], "refresh_task_ms": [], "live_map_bytes": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            for _ in range(renders):
                context = browser.new_context(viewport={"width": 1400, "height": 900})
                page = context.new_page()
                page.goto(base + "/")
                page.wait_for_selector("body[data-ready=true]", timeout=60_000)
                figures["first_render_ms"].append(page.evaluate("window.dashboard.firstRenderMs"))
                figures["flights_drawn"] = int(
                    page.get_attribute("canvas.top", "data-flights-drawn")
                )
                figures["sectors_drawn"] = int(
                    page.get_attribute("canvas.top", "data-sectors-drawn")
                )
                context.close()
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            page = context.new_page()
            page.goto(base + "/")
            page.wait_for_selector("body[data-ready=true]", timeout=60_000)
            cdp = context.new_cdp_session(page)
            cdp.send("Performance.enable")
            for _ in range(refreshes):
                page.evaluate("performance.clearResourceTimings()")
                before = _task_seconds(cdp)
                page.evaluate("window.dashboard.refresh()")
                # Let the frame the refresh scheduled be painted and counted.
                page.evaluate(
                    "new Promise((done) => requestAnimationFrame(() => setTimeout(done)))"
                )
                figures["refresh_task_ms"].append(1000 * (_task_seconds(cdp) - before))
                figures["live_map_bytes"].append(
                    page.evaluate(
                        "(paths) => performance.getEntriesByType('resource')"
                        ".filter((e) => paths.some((p) => e.name.includes(p)))"
                        ".reduce((n, e) => n + e.encodedBodySize, 0)",
                        list(LIVE_MAP),
                    )
                )
            context.close()
        finally:
            browser.close()
    return figures


def _task_seconds(cdp) -> float:
    metrics = cdp.send("Performance.getMetrics")["metrics"]
    return next(m["value"] for m in metrics if m["name"] == "TaskDuration")


def wrk(url: str, seconds: int) -> dict:
    """p50/p95/max latency (ms) and the rate achieved, from wrk's own histogram."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(WRK_SCRIPT)
        script.flush()
        output = subprocess.run(
            ["wrk", "-t1", f"-c{WRK_CONNECTIONS}", f"-d{seconds}s", "-s", script.name, url],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    line = next(line for line in output.splitlines() if line.startswith("RESULT"))
    count, duration_us, p50, p95, most = line.split()[1:]
    return {
        "requests": int(count),
        "rate_per_s": round(int(count) / (int(duration_us) / 1e6), 1),
        "p50_ms": float(p50),
        "p95_ms": float(p95),
        "max_ms": float(most),
    }


def summary(values: list[float]) -> dict:
    return {"median": round(statistics.median(values), 1), "max": round(max(values), 1)}


def run(base: str, args: argparse.Namespace) -> dict:
    page = measure_page(base, args.renders, args.refreshes)
    return {
        "first_render_ms": summary(page["first_render_ms"]),
        "refresh_task_ms": summary(page["refresh_task_ms"]),
        "live_map_bytes": summary(page["live_map_bytes"]),
        "flights_drawn": page["flights_drawn"],
        "sectors_drawn": page["sectors_drawn"],
        "flights_api": wrk(base + "/api/flights", args.seconds),
        "static_file": wrk(base + "/dashboard/app.js", args.seconds),
    }


def report(full: dict, floor: dict) -> None:
    def ratio(a: float, b: float) -> str:
        return f"{a / b:.1f}x" if b else "-"

    def row(name: str, figure: str, field: str, target: str) -> tuple:
        return (name, full[figure][field], floor[figure][field], target)

    rows = [
        row("first render (median, ms)", "first_render_ms", "median", "< 2000"),
        row("refresh main thread (median, ms)", "refresh_task_ms", "median", "< 300"),
        row("live-map bytes per refresh", "live_map_bytes", "median", "< 300000"),
        (
            "/api/flights p95 (ms) vs a static file",
            full["flights_api"]["p95_ms"],
            full["static_file"]["p95_ms"],
            "< 50",
        ),
    ]
    print(f"{'figure':40} {'value':>10} {'floor':>10} {'ratio':>7}  target")
    for name, value, base, target in rows:
        print(f"{name:40} {value:>10,.1f} {base:>10,.1f} {ratio(value, base):>7}  {target}")
    print(
        f"flights drawn {full['flights_drawn']:,}, sectors drawn {full['sectors_drawn']:,}; "
        f"/api/flights at {full['flights_api']['rate_per_s']} requests/s"
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pilots", type=int, default=1500, help="concurrent pilots (1500)")
    parser.add_argument("--snapshots", type=int, default=5760, help="15 s snapshots (5760)")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--renders", type=int, default=5, help="first renders timed (5)")
    parser.add_argument("--refreshes", type=int, default=10, help="refreshes timed (10)")
    parser.add_argument("--seconds", type=int, default=20, help="wrk duration (20)")
    parser.add_argument("--url", help="PostgreSQL server (default $VATSIM_DATABASE_URL)")
    parser.add_argument("--keep", action="store_true", help="keep the filled database")
    parser.add_argument("--reuse", metavar="NAME", help="measure this kept database again")
    add_arguments(parser)
    args = parser.parse_args()
    if min(args.pilots, args.snapshots, args.renders, args.refreshes, args.seconds) < 1:
        parser.error("every count must be 1 or more")
    return args


def main() -> None:
    args = parse_args()
    ensure_tools()
    server = server_url("dashboard.py", "VATSIM_DATABASE_URL", given=args.url)
    name = args.reuse or f"vp_bench_dashboard_{os.getpid()}"
    empty = f"vp_bench_dashboard_floor_{os.getpid()}"
    url = server.set(database=name).render_as_string(hide_password=False)
    empty_url = server.set(database=empty).render_as_string(hide_password=False)
    data: dict = {"reused": name}
    if not args.reuse:
        create_database(server, name)
    create_database(server, empty)
    try:
        if not args.reuse:
            data = build(url, args.snapshots, args.pilots, args.seed)
        migrate_engine = make_engine(empty_url)
        migrate(migrate_engine)
        migrate_engine.dispose()
        with serving(empty_url) as base:
            floor = run(base, args)
        with serving(url) as base:
            full = run(base, args)
    finally:
        drop_database(server, empty)
        if args.keep or args.reuse:
            print(f"kept: {url}")
        else:
            drop_database(server, name)
    report(full, floor)
    written = write_results(
        results_path("dashboard.json", args),
        {
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "parameters": {k: getattr(args, k) for k in ("pilots", "snapshots", "seed")},
            "load_average": os.getloadavg()[0],
            "data": data,
            "full": full,
            "floor": floor,
        },
    )
    print(f"figures written to {written}")
    print(
        f"dashboard first-render {full['first_render_ms']['median']:.0f} ms  "
        f"refresh {full['refresh_task_ms']['median']:.0f} ms  "
        f"live-map {full['live_map_bytes']['median'] / 1000:.0f} KB  "
        f"flights p95 {full['flights_api']['p95_ms']:.1f} ms"
    )


if __name__ == "__main__":
    main()
