"""Soak: the whole pipeline against the local feed server for minutes, as it runs in
production (the Dagster daemon, no webserver, PostgreSQL storage), measured from outside.

It creates a fresh PostgreSQL database `vp_soak_<random>` (Dagster storage and data
tables both) on the server of `VATSIM_BENCH_POSTGRES_URL`, a temporary DAGSTER_HOME with
the PostgreSQL profile, starts `vatsim-pipeline feed-server --simulate` (today's size,
one update every 15 s, or 5 s with `--accelerated`), the code server as its own service
and `dagster-daemon run` on `vatsim_pipeline/deploy/workspace.grpc.yaml`, as
docs/deployment.md runs them (`--code-server spawned`: the daemon starts its own code
server, and a new one every minute), waits for the first stored snapshot and for the
end of the first forecast run (every 5 minutes: the first one creates the forecast
tables' rows and builds what later runs reuse, so it is neither a day's growth nor a
run's usual CPU), then measures for `--minutes`:

- captured: updates the feed server published in the window (a poller reads each
  update's timestamp from the head of the feed every second) that ended up in
  `feed_snapshots`, after a bounded drain; with where the others were lost (never
  landed by the sensor, or landed and not stored);
- freshness: `feed_snapshots.stored_at - update_timestamp`, p50 and p95, split into
  the sensor's part (update to landed file) and the run's (landed to stored);
- CPU seconds per snapshot of the pipeline's process trees (daemon, code server, run
  workers; dead children are counted through their parents' child times), over
  the snapshots committed in the window; the feed server's CPU is measured apart;
- peak memory (RSS summed over the tree), and growth of the database (data tables and
  Dagster's own), of DAGSTER_HOME and of the landing directory, per hour and per day,
  with the data tables' bytes per position stored; printed also as one line
  `growth data <x> GiB/day  landing <y> GiB/day  dagster <z> GiB/day  bytes/position <b>`
  (targets: data 1.5, landing 1, Dagster's tables 0.3 GiB/day) before the last line.
  Growth is taken over the window's second half, with the tables that grew most: tables
  rewritten in place (flights, forecasts) settle at the size vacuuming holds them at,
  and on a server with autovacuum off the soak runs VACUUM every minute in its own
  database as autovacuum would (`table_growth.py`).

Everything talks to 127.0.0.1 only; children are killed on exit and on Ctrl-C, and the
database and the temporary folder are removed unless `--keep`.

    .venv/bin/python bench/soak.py                 # 10 minutes at 15 s
    .venv/bin/python bench/soak.py --phase 2.5     # the daemon started 2.5 s after an update
    .venv/bin/python bench/soak.py --accelerated --minutes 5

`--phase S` starts the daemon S seconds after a feed update, which sets the phase of the
daemon's 5 s loops against the feed's 15 s clock (it decided how long an update waited
for the sensor); the figures of each phase go to their own file (`soak-phase-S.json`).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import requests
from results_file import add_arguments, results_path, write_results
from scratch_database import create_database, drop_database, server_url
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL
from table_growth import VacuumLoop, autovacuum_on, grown, table_sizes

from vatsim_pipeline.defs.feed_sensor import SENSOR_INTERVAL_S
from vatsim_pipeline.feed.landing import DATA_PREFIX, stamp_of
from vatsim_pipeline.feed.parse import parse_timestamp
from vatsim_pipeline.launcher.warm_launcher import WORKER_PID_TAG
from vatsim_pipeline.launcher.zygote import WORKER_CPU_LINE

try:
    import psutil
except ImportError:
    psutil = None

REPOSITORY = Path(__file__).resolve().parent.parent
PROFILE = REPOSITORY / "vatsim_pipeline" / "deploy" / "dagster.postgres.yaml"
GRPC_WORKSPACE = REPOSITORY / "vatsim_pipeline" / "deploy" / "workspace.grpc.yaml"
GRPC_WORKSPACE_PORT = 4266
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
TARGET_CAPTURED = 1.0
TARGET_P50_S = 1.5
TARGET_P95_S = 2.0
TARGET_CPU_S = 1.0
WARM_UP_TIMEOUT_S = 240
FORECAST_WAIT_S = 420
POLL_S = 1.0
STAMP = re.compile(rb'"update_timestamp"\s*:\s*"([^"]+)"')
FEED_URL_LINE = re.compile(r"VATSIM_STATUS_URL=(\S+)/status\.json")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class TreeSample:
    """CPU seconds of a process tree (live processes and the children they reaped), its
    RSS, and each live process's role with its CPU and its reaped children's, to
    attribute CPU by role."""

    cpu_s: float
    rss_bytes: int
    processes: int
    by_pid: dict[int, tuple[str, float]]


def shared_release() -> list[str] | None:
    """`sectors load` options for the recorded VATSpy release, if it is on this machine."""
    try:
        from vatsim_pipeline_tests.shared_data import shared_data

        return [
            "--vatspy-dat",
            str(shared_data("VATSpy.dat")),
            "--boundaries",
            str(shared_data("Boundaries.geojson.gz")),
            "--tracon",
            str(shared_data("TRACONBoundaries.geojson")),
        ]
    except FileNotFoundError:
        return None


def role(command: str) -> str:
    """Run workers are the warm launcher's zygote and its forks (which share its command
    line), or, with Dagster's default launcher, the code server's spawn children."""
    if "launcher.zygote" in command or "spawn_main" in command or "execute_run" in command:
        return "run workers"
    if "api grpc" in command or "code-server" in command:
        return "code server"
    return "daemon"


def _tally(processes: list[tuple[int, str, float, float, int]]) -> TreeSample:
    """From (pid, command, own CPU, reaped children's CPU, RSS) per process."""
    return TreeSample(
        cpu_s=sum(own + reaped for _pid, _command, own, reaped, _rss in processes),
        rss_bytes=sum(p[4] for p in processes),
        processes=len(processes),
        by_pid={
            pid: (role(command), own + reaped) for pid, command, own, reaped, _rss in processes
        },
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def merged(samples: list[TreeSample]) -> TreeSample:
    """One sample of several process trees (the daemon's and the code server's)."""
    by_pid: dict[int, tuple[str, float]] = {}
    for sample in samples:
        by_pid |= sample.by_pid
    return TreeSample(
        cpu_s=sum(s.cpu_s for s in samples),
        rss_bytes=sum(s.rss_bytes for s in samples),
        processes=sum(s.processes for s in samples),
        by_pid=by_pid,
    )


def _sample_psutil(root: int) -> TreeSample:
    try:
        top = psutil.Process(root)
        tree = [top, *top.children(recursive=True)]
    except psutil.NoSuchProcess:
        return _tally([])
    processes = []
    for process in tree:
        try:
            times = process.cpu_times()
            rss = process.memory_info().rss
            command = " ".join(process.cmdline())
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
        own = times.user + times.system
        reaped = times.children_user + times.children_system
        processes.append((process.pid, command, own, reaped, rss))
    return _tally(processes)


def _sample_proc(root: int) -> TreeSample:
    """The same from /proc: utime, stime, cutime, cstime and rss of every descendant."""
    stats: dict[int, list[str]] = {}
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        pid = int(entry.name)
        stats[pid] = fields
        children.setdefault(int(fields[1]), []).append(pid)
    processes, todo = [], [root]
    while todo:
        pid = todo.pop()
        fields = stats.get(pid)
        if fields is None:
            continue
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            command = ""
        own = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        reaped = (int(fields[13]) + int(fields[14])) / CLOCK_TICKS
        processes.append((pid, command, own, reaped, int(fields[21]) * PAGE_SIZE))
        todo.extend(children.get(pid, []))
    return _tally(processes)


def sample_tree(root: int) -> TreeSample:
    return _sample_psutil(root) if psutil is not None else _sample_proc(root)


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = share * (len(ordered) - 1)
    low = int(index)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (index - low)


def directory_bytes(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += (Path(root) / name).stat().st_size
            except OSError:
                continue
    return total


class FeedPoller(threading.Thread):
    """Notes when each update first appears on the feed, reading only the feed's head."""

    def __init__(self, data_url: str, stop: threading.Event) -> None:
        super().__init__(name="feed-poller", daemon=True)
        self.data_url = data_url
        self.stop = stop
        self.seen: dict[datetime, float] = {}
        self.errors = 0

    def run(self) -> None:
        session = requests.Session()
        while not self.stop.wait(POLL_S):
            try:
                with session.get(self.data_url, stream=True, timeout=(2, 5)) as response:
                    head = response.raw.read(4096, decode_content=True)
                match = STAMP.search(head)
                if match:
                    self.seen.setdefault(parse_timestamp(match.group(1).decode()), time.time())
            except (requests.RequestException, ValueError):
                self.errors += 1


def bench_urls(name: str) -> tuple[URL, URL, URL]:
    """Admin URL, Dagster's URL and the data URL of a new database `name`."""
    base = server_url("soak.py", "VATSIM_BENCH_POSTGRES_URL")
    if base.host not in LOOPBACK:
        raise SystemExit(f"bench/soak.py: only a PostgreSQL on this machine, not {base.host}")
    return base, base.set(drivername="postgresql", database=name), base.set(database=name)


def database_sizes(engine: Engine) -> dict[str, int]:
    """Bytes of the whole database, of the pipeline's data tables (with their daily
    partitions) and of Dagster's tables (every other table of the schema)."""
    from vatsim_pipeline.storage.schema import metadata

    with engine.connect() as connection:
        total = connection.scalar(text("SELECT pg_database_size(current_database())"))
        data, dagster = connection.execute(
            text(
                "SELECT coalesce(sum(size) FILTER (WHERE ours), 0), "
                "coalesce(sum(size) FILTER (WHERE NOT ours), 0) FROM ("
                " SELECT pg_total_relation_size(c.oid) AS size,"
                " (c.relname = ANY(:names) OR coalesce(parent.relname = ANY(:names), false))"
                " AS ours"
                " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " LEFT JOIN pg_inherits i ON i.inhrelid = c.oid"
                " LEFT JOIN pg_class parent ON parent.oid = i.inhparent"
                " WHERE n.nspname = 'public' AND c.relkind = 'r') AS tables"
            ),
            {"names": sorted(metadata.tables)},
        ).one()
    return {"database": int(total), "data_tables": int(data), "dagster": int(dagster)}


def start(
    command: list[str], env: dict[str, str], cwd: Path, log: Path, **kwargs
) -> subprocess.Popen:
    """A child in its own process group, so that it and all its children can be killed."""
    return subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stderr=log.open("ab"),
        start_new_session=True,
        **kwargs,
    )


def descendants(root: int) -> list[int]:
    """Every process below `root`, however it detached its session (Dagster's code
    servers start their own)."""
    if psutil is not None:
        try:
            return [p.pid for p in psutil.Process(root).children(recursive=True)]
        except psutil.NoSuchProcess:
            return []
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        try:
            raw = (entry / "stat").read_text() if entry.name.isdigit() else ""
        except OSError:
            continue
        if raw:
            parents[int(entry.name)] = int(raw[raw.rindex(")") + 2 :].split()[1])
    found, todo = [], [root]
    while todo:
        parent = todo.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent]
        found.extend(children)
        todo.extend(children)
    return found


def _signal_all(pids: list[int], signum: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            continue


def stop(process: subprocess.Popen | None, grace_s: float = 30) -> None:
    """Stop a child, its process group and every process below it."""
    if process is None:
        return
    below = descendants(process.pid)
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        except ProcessLookupError:
            pass
    _signal_all(below, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in below):
        time.sleep(0.2)
    _signal_all(below, signal.SIGKILL)


def feed_base_url(server: subprocess.Popen, timeout_s: float = 60) -> str:
    """The URL the feed server prints once it listens (it picks a free port)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = server.stdout.readline().decode()
        match = FEED_URL_LINE.search(line)
        if match:
            return match.group(1)
        if server.poll() is not None:
            break
    raise SystemExit("bench/soak.py: the feed server did not start (see feed-server.log)")


def stored_rows(engine: Engine) -> dict[datetime, datetime]:
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT update_timestamp, stored_at FROM feed_snapshots")
        ).all()
    return {row.update_timestamp: row.stored_at for row in rows}


def position_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(text("SELECT count(*) FROM flight_positions"))


def landed_at(landing_dir: Path) -> dict[datetime, float]:
    """When the sensor landed each update: its data file's modification time."""
    found = {}
    for path in landing_dir.glob(f"????-??-??/{DATA_PREFIX}*"):
        moment = stamp_of(path.name, DATA_PREFIX)
        if moment is not None:
            found[moment] = path.stat().st_mtime
    return found


def wait_for_first_snapshot(engine: Engine, daemon: subprocess.Popen) -> None:
    deadline = time.monotonic() + WARM_UP_TIMEOUT_S
    while time.monotonic() < deadline:
        if daemon.poll() is not None:
            raise SystemExit("bench/soak.py: the daemon exited during warm-up (see daemon.log)")
        try:
            if stored_rows(engine):
                return
        except Exception:  # the schema is created by the first run
            pass
        time.sleep(1)
    raise SystemExit(f"bench/soak.py: no snapshot stored within {WARM_UP_TIMEOUT_S} s")


def wait_for_first_forecast(dagster_url: URL, daemon: subprocess.Popen) -> None:
    """Until the first `forecast_refresh` run has ended (the schedule's first tick comes
    within 5 minutes)."""
    engine = create_engine(dagster_url.set(drivername="postgresql+psycopg2"))
    ended = text(
        "SELECT count(*) FROM runs WHERE pipeline_name = 'forecast_refresh' "
        "AND status IN ('SUCCESS', 'FAILURE', 'CANCELED')"
    )
    deadline = time.monotonic() + FORECAST_WAIT_S
    try:
        while time.monotonic() < deadline:
            if daemon.poll() is not None:
                raise SystemExit("bench/soak.py: the daemon exited during warm-up (see daemon.log)")
            with engine.connect() as connection:
                if connection.execute(ended).scalar_one():
                    return
            time.sleep(1)
    finally:
        engine.dispose()
    raise SystemExit(f"bench/soak.py: no forecast run ended within {FORECAST_WAIT_S} s")


# Dagster 1.13 records no dequeue event: STARTING is when the launcher took the run.
# `CREATED` is the run's creation (an ingest run launched at submission has no ENQUEUED).
RUN_STAGES = {
    "queued_s": ("CREATED", "PIPELINE_STARTING"),
    "process_start_s": ("PIPELINE_STARTING", "PIPELINE_START"),
    "executing_s": ("PIPELINE_START", "PIPELINE_SUCCESS"),
    "slot_held_s": ("PIPELINE_STARTING", "PIPELINE_SUCCESS"),
}


def _naive_utc(moment: float) -> datetime:
    """Dagster's `runs.create_timestamp` is naive UTC."""
    return datetime.fromtimestamp(moment, UTC).replace(tzinfo=None)


def run_stages(dagster_url: URL, started: float, finished: float) -> dict:
    """Where the ingest runs of the window spent their time, from Dagster's event log:
    from creation to launch (queued for the one ingest slot), starting their process
    (loading the definitions) and executing; p50 and p95 of each, in seconds."""
    engine = create_engine(dagster_url.set(drivername="postgresql+psycopg2"))
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT e.run_id, e.dagster_event_type, e.timestamp FROM event_logs e "
                "JOIN runs r ON r.run_id = e.run_id WHERE r.pipeline_name = 'ingest_snapshot' "
                "AND e.dagster_event_type = ANY(:types) UNION ALL "
                "SELECT run_id, 'CREATED', create_timestamp FROM runs "
                "WHERE pipeline_name = 'ingest_snapshot'"
            ),
            {"types": sorted({t for pair in RUN_STAGES.values() for t in pair} - {"CREATED"})},
        ).all()
        statuses = {
            f"{job} {status}": count
            for job, status, count in connection.execute(
                text(
                    "SELECT pipeline_name, status, count(*) FROM runs "
                    "WHERE create_timestamp BETWEEN :a AND :b "
                    "GROUP BY pipeline_name, status ORDER BY pipeline_name, status"
                ),
                {"a": _naive_utc(started), "b": _naive_utc(finished)},
            )
        }
    engine.dispose()
    events: dict[str, dict[str, float]] = {}
    for row in rows:
        moment = row.timestamp.replace(tzinfo=UTC).timestamp()
        events.setdefault(row.run_id, {})[row.dagster_event_type] = moment
    in_window = [e for e in events.values() if started <= e.get("CREATED", 0) <= finished]
    stages = {}
    for name, (first, last) in RUN_STAGES.items():
        spans = [e[last] - e[first] for e in in_window if first in e and last in e]
        stages[name] = {
            "p50": rounded(percentile(spans, 0.5)),
            "p95": rounded(percentile(spans, 0.95)),
        }
    return {"runs_by_status": statuses, "stages": stages}


def worker_cpu_by_job(
    daemon_log: Path, dagster_url: URL, started: float, finished: float, snapshots: int
) -> dict[str, float | None]:
    """CPU per snapshot of the run workers that ended in the window, by job: each ended
    worker's CPU as the zygote reported it (`vatsim-worker-cpu` lines of the daemon's
    output), its job found through the worker pid its run is tagged with."""
    ended = []
    for line in daemon_log.read_text(errors="replace").splitlines():
        if line.startswith(WORKER_CPU_LINE):
            report = json.loads(line.removeprefix(WORKER_CPU_LINE))
            if started <= report["at"] <= finished:
                ended.append(report)
    engine = create_engine(dagster_url.set(drivername="postgresql+psycopg2"))
    with engine.connect() as connection:
        jobs = dict(
            connection.execute(
                text(
                    "SELECT t.value, r.pipeline_name FROM run_tags t "
                    "JOIN runs r ON r.run_id = t.run_id WHERE t.key = :tag "
                    "ORDER BY r.create_timestamp"
                ),
                {"tag": WORKER_PID_TAG},
            ).all()
        )
    engine.dispose()
    by_job: dict[str, float] = {}
    for report in ended:
        job = jobs.get(str(report["pid"]), "unknown")
        by_job[job] = by_job.get(job, 0.0) + report["cpu_s"]
    if not snapshots:
        return {}
    return {job: rounded(cpu / snapshots) for job, cpu in sorted(by_job.items())}


def rounded(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def machine() -> dict:
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": round(memory_kb / 1024**2, 1),
        "python": platform.python_version(),
        "load_average_at_start": os.getloadavg(),
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="measured window (10)")
    parser.add_argument(
        "--accelerated", action="store_true", help="one feed update every 5 s, not 15 s"
    )
    parser.add_argument("--pilots", type=int, default=1500)
    parser.add_argument("--controllers", type=int, default=150)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--sample-every", type=float, default=1.0, help="seconds (1)")
    parser.add_argument("--drain", type=float, default=120.0, help="max seconds to wait (120)")
    parser.add_argument(
        "--phase",
        type=float,
        help="start the daemon this many seconds after a feed update (0 to the cadence): "
        "the phase of the daemon's 5 s loops against the feed's clock; default: at once",
    )
    parser.add_argument(
        "--code-server",
        choices=("service", "spawned"),
        default="service",
        help="service: the code server runs on its own and the daemon's workspace is "
        "vatsim_pipeline/deploy/workspace.grpc.yaml, as docs/deployment.md runs them "
        "(default); spawned: the daemon starts its own from workspace.yaml (a new one "
        "every 60 s)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database and the folder")
    add_arguments(parser)
    return parser.parse_args()


class Soak:
    """One soak: its children, folders, database and measurements."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.interval = 5.0 if args.accelerated else 15.0
        self.name = f"vp_soak_{uuid.uuid4().hex[:10]}"
        self.admin, self.dagster_url, self.data_url = bench_urls(self.name)
        self.folder = Path(tempfile.mkdtemp(prefix="vp-soak-"))
        self.home = self.folder / "dagster_home"
        self.landing = self.folder / "landing"
        self.server: subprocess.Popen | None = None
        self.daemon: subprocess.Popen | None = None
        self.code_server: subprocess.Popen | None = None
        self.stop_polling = threading.Event()
        self.database_created = False

    def prepare(self) -> dict[str, str]:
        create_database(self.admin, self.name)
        self.database_created = True
        self.home.mkdir(parents=True)
        shutil.copy(PROFILE, self.home / "dagster.yaml")
        if self.args.code_server == "service":
            self.code_server_port = free_port()
            workspace = (GRPC_WORKSPACE.read_text()).replace(
                f"port: {GRPC_WORKSPACE_PORT}", f"port: {self.code_server_port}"
            )
        else:
            workspace = (
                "load_from:\n  - python_module:\n      module_name: vatsim_pipeline.definitions\n"
                f"      working_directory: {REPOSITORY}\n"
            )
        (self.home / "workspace.yaml").write_text(workspace)
        return {
            **os.environ,
            "DAGSTER_HOME": str(self.home),
            "DAGSTER_POSTGRES_URL": self.dagster_url.render_as_string(hide_password=False),
            "VATSIM_DATABASE_URL": self.data_url.render_as_string(hide_password=False),
            "VATSIM_HOME": str(self.folder / "home"),
            "VATSIM_LANDING_DIR": str(self.landing),
            # The sensor's fetch rhythm follows the feed's period (15 s, or 5 s accelerated).
            "VATSIM_FEED_PERIOD_S": f"{self.interval:g}",
            # The zygote says how much CPU each ended worker used (`worker_cpu_by_job`).
            "VATSIM_REPORT_WORKER_CPU": "1",
        }

    def start_feed(self, env: dict[str, str]) -> str:
        command = [
            sys.executable,
            "-m",
            "vatsim_pipeline.cli",
            "feed-server",
            "--simulate",
            f"--pilots={self.args.pilots}",
            f"--controllers={self.args.controllers}",
            f"--interval={self.interval:g}",
            f"--seed={self.args.seed}",
            "--host=127.0.0.1",
            "--port=0",
        ]
        log = self.folder / "feed-server.log"
        self.server = start(command, env, REPOSITORY, log, stdout=subprocess.PIPE)
        return feed_base_url(self.server)

    def load_sectors(self, env: dict[str, str]) -> str:
        """Store the recorded VATSpy release, so each run also locates its positions in
        sectors, as in production; without it the runs skip that step."""
        release = shared_release()
        if release is None:
            return "no sectors (recorded boundaries not found: set VATSIM_TEST_DATA)"
        command = [sys.executable, "-m", "vatsim_pipeline.cli", "sectors", "load", *release]
        log = self.folder / "sectors-load.log"
        with log.open("ab") as output:
            subprocess.run(command, env=env, cwd=REPOSITORY, stderr=output, check=True)
        return f"sectors from {release[1]}"

    def wait_for_phase(self, poller: FeedPoller) -> float:
        """With `--phase`, sleep until that many seconds after a feed update (the feed
        publishes every `interval` from its first `update_timestamp`). Returns how long
        after the feed's last update the daemon starts."""
        deadline = time.monotonic() + 30
        while not poller.seen and time.monotonic() < deadline:
            time.sleep(0.2)
        if not poller.seen:
            raise SystemExit("bench/soak.py: the feed server published nothing")
        first = min(poller.seen).timestamp()
        phase = self.args.phase
        if phase is not None:
            periods = math.ceil((time.time() + 1 - first - phase) / self.interval)
            time.sleep(max(0.0, first + periods * self.interval + phase - time.time()))
        return (time.time() - first) % self.interval

    def start_code_server(self, env: dict[str, str]) -> None:
        """With `--code-server service`: the code server as its own long-running process,
        as docs/deployment.md runs it, answering before the daemon starts."""
        if self.args.code_server != "service":
            return
        dagster = str(Path(sys.executable).parent / "dagster")
        port = str(self.code_server_port)
        command = [dagster, "api", "grpc", "-m", "vatsim_pipeline.definitions"]
        command += ["-h", "127.0.0.1", "-p", port]
        log = self.folder / "code-server.log"
        self.code_server = start(command, env, REPOSITORY, log, stdout=subprocess.DEVNULL)
        check = [dagster, "api", "grpc-health-check", "-h", "127.0.0.1", "-p", port]
        deadline = time.monotonic() + 120
        while subprocess.run(check, env=env, capture_output=True).returncode != 0:
            if self.code_server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"bench/soak.py: the code server did not start (see {log})")
            time.sleep(1)

    def trees(self) -> TreeSample:
        """The pipeline's processes: the daemon's tree, and the code server's when it runs
        on its own."""
        roots = [p.pid for p in (self.daemon, self.code_server) if p is not None]
        return merged([sample_tree(pid) for pid in roots])

    def start_daemon(self, env: dict[str, str]) -> None:
        daemon = Path(sys.executable).parent / "dagster-daemon"
        command = [str(daemon), "run", "-w", str(self.home / "workspace.yaml")]
        log = self.folder / "daemon.log"
        self.daemon = start(command, env, self.home, log, stdout=subprocess.DEVNULL)

    def cleanup(self) -> None:
        self.stop_polling.set()
        stop(self.daemon)
        stop(self.code_server)
        stop(self.server, grace_s=10)
        if self.args.keep:
            print(f"kept database {self.name} and folder {self.folder}")
            return
        if self.database_created:
            drop_database(self.admin, self.name)
        shutil.rmtree(self.folder, ignore_errors=True)


@dataclass(frozen=True)
class Footprint:
    """What the soak has stored at one moment: database, tables, positions, folders."""

    at: float
    sizes: dict[str, int]
    tables: dict[str, int]
    positions: int
    home: int
    landing: int


def footprint(soak: Soak, data: Engine) -> Footprint:
    return Footprint(
        at=time.time(),
        sizes=database_sizes(data),
        tables=table_sizes(data),
        positions=position_count(data),
        home=directory_bytes(soak.home),
        landing=directory_bytes(soak.landing),
    )


def measure(soak: Soak) -> dict:
    args = soak.args
    env = soak.prepare()
    base_url = soak.start_feed(env)
    env["VATSIM_STATUS_URL"] = f"{base_url}/status.json"
    poller = FeedPoller(f"{base_url}/v3/vatsim-data.json", soak.stop_polling)
    poller.start()
    print(f"soak: {soak.load_sectors(env)}", flush=True)
    soak.start_code_server(env)
    phase = soak.wait_for_phase(poller)
    soak.start_daemon(env)
    data = create_engine(soak.data_url)
    print(f"soak: database {soak.name}, folder {soak.folder}, feed {base_url}, warming up")
    warm_started = time.time()
    wait_for_first_snapshot(data, soak.daemon)
    print("soak: waiting for the first forecast run to end (within 5 minutes)", flush=True)
    wait_for_first_forecast(soak.dagster_url, soak.daemon)
    warm_up_s = time.time() - warm_started

    vacuum = None if autovacuum_on(data) else VacuumLoop(soak.data_url, soak.stop_polling)
    if vacuum is not None:
        vacuum.start()
    started = time.time()
    tree_start = soak.trees()
    feed_start = sample_tree(soak.server.pid)
    peak = tree_start
    ends = started + 60 * args.minutes
    # Growth is taken over the second half: by then the tables rewritten in place hold
    # the size vacuuming keeps them at, and what still grows is what a day adds.
    halfway = started + 30 * args.minutes
    first: Footprint | None = None
    next_report = started + 60
    while time.time() < ends:
        time.sleep(min(args.sample_every, max(0.0, ends - time.time())))
        if soak.daemon.poll() is not None:
            raise SystemExit("bench/soak.py: the daemon exited (see daemon.log)")
        sample = soak.trees()
        if sample.rss_bytes > peak.rss_bytes:
            peak = sample
        if first is None and time.time() >= halfway:
            first = footprint(soak, data)
        if time.time() >= next_report:
            stored = sum(1 for t in stored_rows(data) if t.timestamp() >= started)
            print(f"  {(time.time() - started) / 60:4.1f} min: {stored} snapshots stored")
            next_report += 60
    finished = time.time()
    tree_end = soak.trees()
    feed_end = sample_tree(soak.server.pid)
    last = footprint(soak, data)
    first = first or last
    positions_added = last.positions - first.positions
    committed = [
        stored_at
        for stored_at in stored_rows(data).values()
        if started < stored_at.timestamp() <= finished
    ]

    published = sorted(t for t in poller.seen if started <= t.timestamp() <= finished)
    drain_until = time.time() + args.drain
    while time.time() < drain_until:
        # Only a landed update can still be stored; the sensor never goes back for others.
        awaited = set(published) & set(landed_at(soak.landing))
        if awaited <= set(stored_rows(data)):
            break
        time.sleep(1)
    stored = stored_rows(data)
    landed = landed_at(soak.landing)
    captured = [t for t in published if t in stored]
    freshness = [(stored[t] - t).total_seconds() for t in captured]
    sensor_part = [landed[t] - t.timestamp() for t in captured if t in landed]
    run_part = [stored[t].timestamp() - landed[t] for t in captured if t in landed]
    runs = run_stages(soak.dagster_url, started, finished)
    data.dispose()

    hours = max(last.at - first.at, 1.0) / 3600
    cpu = tree_end.cpu_s - tree_start.cpu_s

    def growth(before: int, after: int) -> dict:
        per_hour = (after - before) / hours
        return {
            "bytes": after - before,
            "per_hour": round(per_hour),
            "per_day": round(24 * per_hour),
        }

    return {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "cadence_s": soak.interval,
        "phase_s": args.phase,
        "code_server": args.code_server,
        "daemon_started_after_update_s": round(phase, 2),
        "sensor_interval_s": SENSOR_INTERVAL_S,
        "pilots": args.pilots,
        "controllers": args.controllers,
        "warm_up_s": round(warm_up_s, 1),
        "window_s": round(finished - started, 1),
        "published": len(published),
        "landed": sum(1 for t in published if t in landed),
        "captured": len(captured),
        "missed": [t.isoformat() for t in published if t not in stored],
        "missed_never_landed": sum(1 for t in published if t not in landed),
        "poller_errors": poller.errors,
        "freshness_s": {
            "p50": rounded(percentile(freshness, 0.5)),
            "p95": rounded(percentile(freshness, 0.95)),
            "max": rounded(max(freshness, default=None)),
        },
        "update_to_landed_s": {
            "p50": rounded(percentile(sensor_part, 0.5)),
            "p95": rounded(percentile(sensor_part, 0.95)),
        },
        "landed_to_stored_s": {
            "p50": rounded(percentile(run_part, 0.5)),
            "p95": rounded(percentile(run_part, 0.95)),
        },
        "runs_by_status": runs["runs_by_status"],
        "run_stages_s": runs["stages"],
        "snapshots_committed_in_window": len(committed),
        "cpu_s_tree": round(cpu, 1),
        "cpu_s_per_snapshot": rounded(cpu / len(committed) if committed else None),
        "cpu_s_per_snapshot_by_role": _by_role(tree_start, tree_end, len(committed)),
        "cpu_s_per_snapshot_of_workers_by_job": worker_cpu_by_job(
            soak.folder / "daemon.log", soak.dagster_url, started, finished, len(committed)
        ),
        "cpu_share_of_machine": round(cpu / (finished - started) / (os.cpu_count() or 1), 3),
        "cpu_s_feed_server": round(feed_end.cpu_s - feed_start.cpu_s, 1),
        "peak_rss_bytes": peak.rss_bytes,
        "peak_processes": peak.processes,
        "vacuum": {
            "server_autovacuum": vacuum is None,
            "soak_vacuum_every_s": None if vacuum is None else vacuum.every_s,
            "soak_vacuum_passes": None if vacuum is None else vacuum.passes,
            "soak_vacuum_errors": None if vacuum is None else vacuum.errors,
        },
        "growth_window_s": round(last.at - first.at, 1),
        "tables_grown_per_day": grown(first.tables, last.tables, hours / 24),
        "database_growth": {
            part: growth(first.sizes[part], last.sizes[part]) for part in first.sizes
        },
        "dagster_home_growth": growth(first.home, last.home),
        "landing_growth": growth(first.landing, last.landing),
        "positions_stored": positions_added,
        "data_bytes_per_position": rounded(
            (last.sizes["data_tables"] - first.sizes["data_tables"]) / positions_added
            if positions_added
            else None,
            1,
        ),
        "psutil": psutil is not None,
    }


def _by_role(start: TreeSample, end: TreeSample, snapshots: int) -> dict[str, float | None]:
    """CPU per snapshot of each role: what the processes of that role used, with the
    children they reaped, at the end less at the start. A run worker lives a second or
    two, between samples; the warm launcher's zygote reaps it, so its whole CPU counts as
    the zygote's reaped children's, under "run workers", and the roles add up to the tree's
    CPU exactly (a worker alive at the start is subtracted there and reaped later)."""
    if not snapshots:
        return {}
    roles: dict[str, float] = {}
    for sample, sign in ((end, 1.0), (start, -1.0)):
        for name, cpu in sample.by_pid.values():
            roles[name] = roles.get(name, 0.0) + sign * cpu
    return {name: rounded(value / snapshots) for name, value in sorted(roles.items())}


def report(results: dict) -> None:
    mib = 1024**2
    print(f"machine: {results['machine']}")
    print(
        f"window {results['window_s'] / 60:.1f} min at {results['cadence_s']:g} s cadence "
        f"(sensor interval {results['sensor_interval_s']} s), warm-up {results['warm_up_s']} s; "
        f"daemon started {results['daemon_started_after_update_s']} s after a feed update "
        f"(--phase {results['phase_s']})"
    )
    share = results["captured"] / results["published"] if results["published"] else 0
    print(
        f"captured {results['captured']}/{results['published']} ({share:.1%}; target "
        f"{TARGET_CAPTURED:.0%}); landed {results['landed']}, never landed "
        f"{results['missed_never_landed']}"
    )
    fresh = results["freshness_s"]
    print(
        f"freshness p50 {fresh['p50']} s  p95 {fresh['p95']} s  max {fresh['max']} s  "
        f"(targets p50 < {TARGET_P50_S:g} s, p95 < {TARGET_P95_S:g} s); update->landed p50 "
        f"{results['update_to_landed_s']['p50']} s, landed->stored p50 "
        f"{results['landed_to_stored_s']['p50']} s"
    )
    stages = ", ".join(
        f"{name.removesuffix('_s').replace('_', ' ')} {span['p50']}/{span['p95']}"
        for name, span in results["run_stages_s"].items()
    )
    print(f"runs in the window: {results['runs_by_status']}")
    print(f"ingest run stages p50/p95 s: {stages}")
    print(
        f"cpu {results['cpu_s_tree']} s over {results['snapshots_committed_in_window']} "
        f"snapshots: {results['cpu_s_per_snapshot']} s per snapshot (target < "
        f"{TARGET_CPU_S:g} s), {results['cpu_share_of_machine']:.0%} of the machine; feed "
        f"server {results['cpu_s_feed_server']} s (excluded)"
    )
    roles = ", ".join(f"{k} {v}" for k, v in results["cpu_s_per_snapshot_by_role"].items())
    print(f"cpu per snapshot by role: {roles}")
    jobs = ", ".join(f"{k} {v}" for k, v in results["cpu_s_per_snapshot_of_workers_by_job"].items())
    print(f"cpu per snapshot of the run workers that ended, by job: {jobs}")
    print(
        f"peak memory {results['peak_rss_bytes'] / mib:.0f} MiB over "
        f"{results['peak_processes']} processes"
    )
    for name, growth in (
        ("database (all)", results["database_growth"]["database"]),
        ("database data tables", results["database_growth"]["data_tables"]),
        ("database Dagster tables", results["database_growth"]["dagster"]),
        ("DAGSTER_HOME", results["dagster_home_growth"]),
        ("landing directory", results["landing_growth"]),
    ):
        print(
            f"{name} growth: {growth['per_hour'] / mib:.1f} MiB/h, "
            f"{growth['per_day'] / 1024**3:.2f} GiB/day"
        )
    gib = 1024**3
    vacuum = results["vacuum"]
    if not vacuum["server_autovacuum"]:
        print(
            f"autovacuum is off on this server: the soak ran VACUUM every "
            f"{vacuum['soak_vacuum_every_s']:g} s in its database as autovacuum would "
            f"({vacuum['soak_vacuum_passes']} passes, errors {vacuum['soak_vacuum_errors']})"
        )
    tables = ", ".join(
        f"{name} {size / gib:.2f}" for name, size in results["tables_grown_per_day"].items()
    )
    print(f"tables grown most, GiB/day: {tables}")
    print(
        f"growth data {results['database_growth']['data_tables']['per_day'] / gib:.2f} GiB/day  "
        f"landing {results['landing_growth']['per_day'] / gib:.2f} GiB/day  "
        f"dagster {results['database_growth']['dagster']['per_day'] / gib:.2f} GiB/day  "
        f"bytes/position {results['data_bytes_per_position']}"
    )
    print(
        f"soak captured {results['captured']}/{results['published']}  freshness p50 "
        f"{fresh['p50']} s  p95 {fresh['p95']} s  cpu/snapshot {results['cpu_s_per_snapshot']} s"
        f"  phase {results['daemon_started_after_update_s']} s"
    )


def _interrupt(_signal: int, _frame: object) -> None:
    """SIGTERM ends the soak like Ctrl-C: children stopped, database dropped."""
    raise KeyboardInterrupt


def main() -> None:
    args = parse_args()
    cadence = 5.0 if args.accelerated else 15.0
    if args.phase is not None and not 0 <= args.phase < cadence:
        raise SystemExit(f"bench/soak.py: --phase must lie in [0, {cadence:g}), not {args.phase:g}")
    soak = Soak(args)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        results = measure(soak)
    finally:
        soak.cleanup()
    name = "soak-accelerated" if args.accelerated else "soak"
    name += "" if args.phase is None else f"-phase-{args.phase:g}"
    name += "-spawned" if args.code_server == "spawned" else ""
    name += ".json"
    path = write_results(results_path(name, args), results)
    print(f"figures written to {path}")
    report(results)


if __name__ == "__main__":
    main()
