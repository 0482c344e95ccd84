"""`WarmRunLauncher`: Dagster runs forked from a warm process (see `zygote`).

Configured in `dagster.yaml` in place of the default launcher:

    run_launcher:
      module: vatsim_pipeline.launcher.warm_launcher
      class: WarmRunLauncher
      config:
        preload_modules: [vatsim_pipeline.definitions]

It lives where runs are launched (the daemon, which dequeues them), keeps one zygote
child that has imported `preload_modules`, and asks it to fork a worker per run. Each
worker's pid is a run tag, so the webserver can terminate a run (SIGTERM, which a worker
takes as Dagster's interrupt: the run ends CANCELED) and run monitoring can tell a dead
worker from a running one, from any process on the machine. When a file of a preloaded
package changes, the next launch starts a fresh zygote, so a run never executes stale
code. This module imports nothing heavy: the daemon loads it.

A worker that dies before its run ends (killed, crashed) would hold its run, and the one
ingest slot, until run monitoring noticed (its poll plus its grace: up to 24 s seen).
The zygote, its parent, says at once how it ended; the launcher then fails the run with
the reason ("run worker (pid N) killed by SIGKILL"), classified and tagged as the
failure hook would, so the dead letter says what happened. A run that failed outside
any step (Dagster's own storage lost mid-run), which no failure hook sees, is classified
from its failure the same way. Run monitoring stays the fallback for a worker whose
zygote is gone (a daemon restarted).
"""

import hashlib
import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from importlib.util import find_spec
from pathlib import Path
from typing import IO, Any

from dagster import Array, DagsterEventType, DagsterRunStatus, Field
from dagster._core.launcher import (
    CheckRunHealthResult,
    LaunchRunContext,
    RunLauncher,
    WorkerStatus,
)
from dagster._core.storage.dagster_run import DagsterRun
from dagster._grpc.types import ExecuteRunArgs
from dagster._serdes import ConfigurableClass, ConfigurableClassData, serialize_value
from dagster._utils.error import SerializableErrorInfo

from vatsim_pipeline.launcher.zygote import READY
from vatsim_pipeline.resilience.errors import Classification, classify, classify_error_info
from vatsim_pipeline.resilience.run_tags import ERROR_CATEGORY_TAG, error_tags
from vatsim_pipeline.root_logger import keep_root_logger_quiet

WORKER_PID_TAG = "vatsim/worker_pid"
LOG = logging.getLogger("dagster.daemon.WarmRunLauncher")
ZYGOTE_MODULE = "vatsim_pipeline.launcher.zygote"
DEFAULT_PRELOAD = ("vatsim_pipeline.definitions",)
READY_TIMEOUT_S = 120.0
# How long to keep trying to settle a dead worker's run while the storage is away.
SETTLE_WITHIN_S = 120.0
SETTLE_PAUSE_S = 2.0


class WorkerLaunchError(RuntimeError):
    """The zygote could not start or fork a worker; the run is marked failed by Dagster."""


class RunWorkerDied(RuntimeError):
    """A run worker ended before its run did; the message says how."""


def death_of(pid: int, notice: Mapping[str, Any]) -> str:
    """How a worker ended, from the zygote's notice: "run worker (pid N) killed by SIGKILL"."""
    if "signal" in notice:
        try:
            name = signal.Signals(notice["signal"]).name
        except ValueError:
            name = f"signal {notice['signal']}"
        return f"run worker (pid {pid}) killed by {name}"
    return f"run worker (pid {pid}) exited with code {notice.get('code')} before finishing its run"


def source_signature(modules: Sequence[str]) -> str:
    """A digest of the path, size and modification time of every .py file of the modules'
    top-level packages: it changes whenever code a worker would run changes."""
    digest = hashlib.sha256()
    for top in sorted({module.split(".")[0] for module in modules}):
        spec = find_spec(top)
        roots = list(spec.submodule_search_locations or []) if spec else []
        if spec and spec.origin and not roots:
            roots = [str(Path(spec.origin).parent)]
        for root in roots:
            for path in sorted(Path(root).rglob("*.py")):
                stat = path.stat()
                digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


class Zygote:
    """One running zygote process and the pipes to it.

    After `ready`, a thread reads everything the zygote says: replies to `fork` go to a
    queue, and each worker's exit goes to `on_exit(pid, notice)`.
    """

    def __init__(
        self, modules: Sequence[str], on_exit: Callable[[int, Mapping[str, Any]], None]
    ) -> None:
        self.modules = tuple(modules)
        self._on_exit = on_exit
        self._replies: queue.Queue[dict | None] = queue.Queue()
        self.signature = source_signature(self.modules)
        self.process = subprocess.Popen(
            [sys.executable, "-m", ZYGOTE_MODULE, *self.modules],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self._expect_ready()
        self._reader = threading.Thread(
            target=self._read, name=f"warm-zygote-{self.process.pid}", daemon=True
        )
        self._reader.start()

    @property
    def _stdout(self) -> IO[str]:
        assert self.process.stdout is not None
        return self.process.stdout

    def _expect_ready(self) -> None:
        """Wait for `ready` (killing a zygote that hangs in its imports)."""
        timer = threading.Timer(READY_TIMEOUT_S, self.process.kill)
        timer.start()
        try:
            line = self._stdout.readline().strip()
        finally:
            timer.cancel()
        if line != READY:
            self.close()
            raise WorkerLaunchError(
                f"warm run worker process did not start (it said {line!r}; "
                f"exit code {self.process.poll()}): see the daemon's log for its error"
            )

    def _read(self) -> None:
        """Until the zygote exits: route replies to `fork`, report workers' exits."""
        for line in self._stdout:
            try:
                message = json.loads(line)
            except ValueError:
                message = {"error": f"unexpected reply {line.strip()!r}"}
            if isinstance(message, dict) and "exited" in message:
                self._on_exit(int(message["exited"]), message)
            else:
                self._replies.put(message if isinstance(message, dict) else {})
        self._replies.put(None)
        self.process.wait()
        self._stdout.close()

    def alive(self) -> bool:
        return self.process.poll() is None

    def fork(self, execute_run_args: str) -> int:
        """Ask for a worker executing these args; returns its pid."""
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(execute_run_args + "\n")
            self.process.stdin.flush()
            reply = self._replies.get(timeout=READY_TIMEOUT_S)
        except OSError as error:
            raise WorkerLaunchError(f"warm run worker process is gone: {error}") from error
        except queue.Empty:
            raise WorkerLaunchError("warm run worker process did not answer") from None
        if reply is None:
            raise WorkerLaunchError(
                f"warm run worker process exited (code {self.process.poll()}) "
                "before forking the run"
            )
        if "pid" not in reply:
            raise WorkerLaunchError(reply.get("error", f"unexpected reply {reply!r}"))
        return int(reply["pid"])

    def retire(self, wait_s: float = 0.0) -> None:
        """Close stdin: the zygote forks no more, and exits once its workers have ended
        (reporting them until then). Waits up to `wait_s` for that; never kills it."""
        if self.process.stdin is not None and not self.process.stdin.closed:
            self.process.stdin.close()
        self._reader.join(wait_s)

    def close(self) -> None:
        """Stop a zygote that never became ready."""
        if self.process.stdin is not None and not self.process.stdin.closed:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


def is_run_worker(pid: int) -> bool:
    """Whether `pid` is alive and was forked by a zygote (pids are reused)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    try:
        parent = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]
        command = Path(f"/proc/{parent}/cmdline").read_bytes()
    except (OSError, IndexError):
        return True
    return ZYGOTE_MODULE.encode() in command


class WarmRunLauncher(RunLauncher, ConfigurableClass):
    """Launches each run in a worker forked from a process that has the code imported."""

    def __init__(
        self,
        preload_modules: Sequence[str] = DEFAULT_PRELOAD,
        inst_data: ConfigurableClassData | None = None,
    ) -> None:
        self._inst_data = inst_data
        self._modules = tuple(preload_modules)
        self._zygote: Zygote | None = None
        self._lock = threading.Lock()
        self._runs_by_worker: dict[int, str] = {}
        keep_root_logger_quiet()
        super().__init__()

    @property
    def zygote_pid(self) -> int | None:
        """The warm process's pid, once a run has started it."""
        return self._zygote.process.pid if self._zygote else None

    @property
    def inst_data(self) -> ConfigurableClassData | None:
        return self._inst_data

    @classmethod
    def config_type(cls) -> dict[str, Field]:
        return {
            "preload_modules": Field(
                Array(str),
                is_required=False,
                default_value=list(DEFAULT_PRELOAD),
                description="Modules the warm process imports once for every run.",
            )
        }

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData, config_value: Mapping[str, Any]
    ) -> "WarmRunLauncher":
        return cls(inst_data=inst_data, **config_value)

    def _warm_zygote(self) -> Zygote:
        zygote = self._zygote
        if zygote is not None and (
            not zygote.alive() or zygote.signature != source_signature(self._modules)
        ):
            zygote.retire()
            zygote = None
        if zygote is None:
            zygote = self._zygote = Zygote(self._modules, self._worker_exited)
        return zygote

    def launch_run(self, context: LaunchRunContext) -> None:
        run = context.dagster_run
        if run.job_code_origin is None:
            raise WorkerLaunchError(f"run {run.run_id} has no code origin to load its job from")
        args = ExecuteRunArgs(
            job_origin=run.job_code_origin,
            run_id=run.run_id,
            instance_ref=self._instance.get_ref(),
        )
        with self._lock:
            zygote = self._warm_zygote()
            pid = zygote.fork(serialize_value(args))
            self._runs_by_worker[pid] = run.run_id
        self._instance.add_run_tags(run.run_id, {WORKER_PID_TAG: str(pid)})
        self._instance.report_engine_event(
            f"Forked run worker (pid: {pid}) from warm process (pid: {zygote.process.pid}).",
            run,
            cls=self.__class__,
        )

    def _worker_exited(self, pid: int, notice: Mapping[str, Any]) -> None:
        """Settle the run of a worker that ended, off the reader thread (which carries the
        replies to `fork`), retrying while Dagster's storage does not answer."""
        threading.Thread(
            target=self._settle_retrying, args=(pid, notice), name=f"settle-{pid}", daemon=True
        ).start()

    def _settle_retrying(self, pid: int, notice: Mapping[str, Any]) -> None:
        deadline = time.monotonic() + SETTLE_WITHIN_S
        while True:
            try:
                self._settle(pid, notice)
                return
            except Exception:
                if time.monotonic() > deadline:
                    # Run monitoring is the fallback for this one.
                    LOG.exception("could not settle the run of worker %s", pid)
                    return
                time.sleep(SETTLE_PAUSE_S)

    def _settle(self, pid: int, notice: Mapping[str, Any]) -> None:
        """A run whose worker ended before it fails now, with the reason, classified. A
        run that failed outside any step (Dagster's storage lost mid-run: no step, so no
        failure hook) is classified from its own failure."""
        with self._lock:
            run_id = self._runs_by_worker.get(pid)
        run = self._instance.get_run_by_id(run_id) if run_id else None
        if run is not None and not run.is_finished:
            reason = death_of(pid, notice)
            self._instance.add_run_tags(run.run_id, error_tags(classify(RunWorkerDied(reason))))
            self._instance.report_run_failed(run, f"{reason}; the run did not finish")
        elif (
            run is not None
            and run.status == DagsterRunStatus.FAILURE
            and ERROR_CATEGORY_TAG not in run.tags
        ):
            self._instance.add_run_tags(run.run_id, error_tags(self._run_failure(run.run_id)))
        with self._lock:
            self._runs_by_worker.pop(pid, None)

    def _run_failure(self, run_id: str) -> Classification:
        """The classification of a run's own failure, from its `RUN_FAILURE` event."""
        records = self._instance.get_records_for_run(
            run_id, of_type=DagsterEventType.RUN_FAILURE
        ).records
        event = records[-1].event_log_entry.dagster_event if records else None
        error = getattr(getattr(event, "event_specific_data", None), "error", None)
        if error is None:
            error = SerializableErrorInfo(getattr(event, "message", None) or "", [], None)
        return classify_error_info(error)

    def terminate(self, run_id: str) -> bool:
        run = self._instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            return False
        self._instance.report_run_canceling(run)
        pid = _worker_pid(run)
        if pid is None or not is_run_worker(pid):
            self._instance.report_engine_event(
                f"No run worker to stop (pid tag: {run.tags.get(WORKER_PID_TAG)}).",
                run,
                cls=self.__class__,
            )
            return False
        os.kill(pid, signal.SIGTERM)
        return True

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        pid = _worker_pid(run)
        if pid is None:
            return CheckRunHealthResult(WorkerStatus.UNKNOWN, "run has no worker pid tag")
        if is_run_worker(pid):
            return CheckRunHealthResult(WorkerStatus.RUNNING, run_worker_id=str(pid))
        return CheckRunHealthResult(
            WorkerStatus.FAILED,
            f"run worker (pid: {pid}) exited without finishing the run",
            run_worker_id=str(pid),
        )

    def dispose(self) -> None:
        with self._lock:
            zygote, self._zygote = self._zygote, None
        if zygote is not None:
            zygote.retire(wait_s=10)


def _worker_pid(run: DagsterRun) -> int | None:
    text = run.tags.get(WORKER_PID_TAG)
    return int(text) if text and text.isdigit() else None
