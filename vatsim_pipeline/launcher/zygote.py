"""A warm process that forks run workers.

A run worker started the usual way (`dagster api execute_run` in a new interpreter)
spends seconds of CPU importing Dagster and the project before it does a snapshot's
half-second of work; at one run every 15 s that start-up is most of the pipeline's CPU.
This process imports all of that once, then forks one child per run: the child already
holds every module and runs exactly what `dagster api execute_run` runs. It also builds
once what each run would rebuild for itself (see `serve`): the definitions' repository
and jobs, the Dagster instance's storage modules, and whatever a preloaded module's
`warm_up_run_worker()` fills (the project's database engine and stored sectors).

Protocol, one line each way on stdin/stdout: the launcher writes a serialized
`ExecuteRunArgs`; the zygote answers `{"pid": <worker pid>}` (or `{"error": ...}`).
It says `ready` once its imports are done. As the parent of every worker it is the first
to know when one ends: it says `{"exited": <pid>, "signal": <n>}` (killed) or
`{"exited": <pid>, "code": <n>}`, so that the launcher can fail the run of a worker that
died at once instead of waiting for run monitoring. When stdin closes it stops forking,
waits for its running workers (still reporting them) and exits. With
`VATSIM_REPORT_WORKER_CPU` set it also writes, to its stderr (the daemon's output), a
line `vatsim-worker-cpu {"pid": ..., "cpu_s": ..., "at": ...}` per ended worker, its
whole CPU from the kernel's accounting: `bench/soak.py` breaks the run workers' CPU
down by job with it.

    python -m vatsim_pipeline.launcher.zygote vatsim_pipeline.definitions
"""

import importlib
import json
import os
import signal
import sys
import time
import traceback
from types import FrameType, ModuleType

READY = "ready"
# A preloaded module's function that fills, in this process, the caches every run reads.
WARM_UP = "warm_up_run_worker"
REPLIES = 1  # stdout: replies and exit notices, one `os.write` (atomic, < PIPE_BUF) each
ERRORS = 2
WORKER_CPU_LINE = "vatsim-worker-cpu "
REPORT_WORKER_CPU = bool(os.environ.get("VATSIM_REPORT_WORKER_CPU"))
_workers: set[int] = set()


def _say(message: dict) -> None:
    os.write(REPLIES, (json.dumps(message) + "\n").encode())


def _reap_children(_signum: int, _frame: FrameType | None) -> None:
    """Collect every finished worker, so none lingers as a zombie, and say how it ended."""
    while True:
        try:
            pid, status, usage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _workers.discard(pid)
        if REPORT_WORKER_CPU:
            cpu = {
                "pid": pid,
                "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
                "at": time.time(),
            }
            os.write(ERRORS, (WORKER_CPU_LINE + json.dumps(cpu) + "\n").encode())
        if os.WIFSIGNALED(status):
            _say({"exited": pid, "signal": os.WTERMSIG(status)})
        else:
            _say({"exited": pid, "code": os.waitstatus_to_exitcode(status)})


def _run_worker(execute_run_args: str) -> int:
    """In the forked child: execute the run as `dagster api execute_run` would."""
    from dagster._cli.api import execute_run_command

    try:
        execute_run_command.callback(input_json=execute_run_args, compressed_input_json=None)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 1
    except BaseException:
        traceback.print_exc()
        return 1
    return 0


def _fork_worker(execute_run_args: str) -> int:
    pid = os.fork()
    if pid:
        return pid
    # The child: default signal handling, no hold on the launcher's pipes (its output
    # goes where the zygote's errors go), then the run, then out without cleanup that
    # belongs to the parent.
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
    signal.signal(signal.SIGINT, signal.default_int_handler)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)
    code = 1
    try:
        code = _run_worker(execute_run_args)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _resolve_definitions(module: ModuleType) -> None:
    """Build the repository of a module's `Definitions` and every job in it, as a run
    worker would on loading its job: Dagster caches both on the `Definitions` object,
    so each forked worker finds them built instead of rebuilding them per run."""
    from dagster import Definitions

    for value in vars(module).values():
        if isinstance(value, Definitions):
            value.get_repository_def().get_all_jobs()


def _warm_up(modules: list[ModuleType]) -> None:
    """Call each module's `warm_up_run_worker()`, if it has one: it fills the caches a run
    would fill for itself (and must leave no open connection behind). A failure costs
    only the head start: the runs fill them themselves."""
    for module in modules:
        warm_up = getattr(module, WARM_UP, None)
        if callable(warm_up):
            try:
                warm_up()
            except Exception:
                traceback.print_exc()


def _open_instance_once(execute_run_args: str) -> None:
    """Open the runs' Dagster instance once, here: its storage modules (dagster-postgres,
    psycopg2 and theirs, about 0.2 s of CPU) are then imported in every fork, not by each
    run. The instance itself is not kept: every run opens its own."""
    from dagster import DagsterInstance
    from dagster._grpc.types import ExecuteRunArgs
    from dagster._serdes import deserialize_value

    try:
        ref = deserialize_value(execute_run_args, ExecuteRunArgs).instance_ref
        if ref is not None:
            DagsterInstance.from_ref(ref).dispose()
    except Exception:
        traceback.print_exc()


def serve(modules: list[str]) -> None:
    """Import `modules`, say ready, then fork a worker per request until stdin closes."""
    loaded = [importlib.import_module(module) for module in modules]
    for module in loaded:
        _resolve_definitions(module)
    _warm_up(loaded)
    importlib.import_module("dagster._cli.api")
    signal.signal(signal.SIGCHLD, _reap_children)
    # Ctrl-C in a terminal reaches the whole process group; the daemon decides when the
    # zygote ends (by closing its stdin), and workers decide for their own runs.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.stdout.flush()
    os.write(REPLIES, (READY + "\n").encode())
    instance_opened = False
    for line in sys.stdin:
        if not line.strip():
            continue
        if not instance_opened:
            _open_instance_once(line.strip())
            instance_opened = True
        # A worker that dies at once must be known as ours before its exit is reported.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
        try:
            pid = _fork_worker(line.strip())
            _workers.add(pid)
            reply: dict = {"pid": pid}
        except OSError as error:
            reply = {"error": f"fork failed: {error}"}
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
        _say(reply)
        # For the next run, while this one starts: sectors changed since are reloaded.
        _warm_up(loaded)
    while _workers:
        time.sleep(0.2)


if __name__ == "__main__":
    serve(sys.argv[1:])
