"""A warm process that forks run workers.

A run worker started the usual way (`dagster api execute_run` in a new interpreter)
spends seconds of CPU importing Dagster and the project before it does a snapshot's
half-second of work; at one run every 15 s that start-up is most of the pipeline's CPU.
This process imports all of that once, then forks one child per run: the child already
holds every module and runs exactly what `dagster api execute_run` runs.

Protocol, one line each way on stdin/stdout: the launcher writes a serialized
`ExecuteRunArgs`; the zygote answers `{"pid": <worker pid>}` (or `{"error": ...}`).
It says `ready` once its imports are done, and exits when stdin closes; running
workers finish their runs regardless.

    python -m vatsim_pipeline.launcher.zygote vatsim_pipeline.definitions
"""

import importlib
import json
import os
import signal
import sys
import traceback
from types import FrameType

READY = "ready"


def _reap_children(_signum: int, _frame: FrameType | None) -> None:
    """Collect every finished worker, so none lingers as a zombie."""
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


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


def serve(modules: list[str]) -> None:
    """Import `modules`, say ready, then fork a worker per request until stdin closes."""
    for module in modules:
        importlib.import_module(module)
    importlib.import_module("dagster._cli.api")
    signal.signal(signal.SIGCHLD, _reap_children)
    # Ctrl-C in a terminal reaches the whole process group; the daemon decides when the
    # zygote ends (by closing its stdin), and workers decide for their own runs.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    replies = sys.stdout
    replies.write(READY + "\n")
    replies.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            reply = {"pid": _fork_worker(line.strip())}
        except OSError as error:
            reply = {"error": f"fork failed: {error}"}
        replies.write(json.dumps(reply) + "\n")
        replies.flush()


if __name__ == "__main__":
    serve(sys.argv[1:])
