"""What a run prints to the terminal: one readable line per record at INFO and above,
and one line when the run ends, instead of Dagster's default console logger at DEBUG
(about 25 multi-line event records per ingest run: some 210 lines a minute under
`make run`, a failed download's traceback hundreds of lines long).

Only the terminal changes: the event log, which the UI reads, records every event in full
whatever this logger prints. `VATSIM_RUN_LOG_LEVEL` (default INFO) sets the threshold;
DEBUG brings the event records back, still one line each.

Dagster instantiates a job's loggers only when its run config names them, and falls back
to its DEBUG console logger otherwise; so every job is defined with `config=RUN_LOGGING`
(a default run config that names `console`, merged with the config of each run).
"""

from __future__ import annotations

import logging
import os
import sys

from dagster import DagsterEventType, Field, InitLoggerContext, LoggerDefinition, logger
from dagster._core.log_manager import LOG_RECORD_METADATA_ATTR

LEVEL_VARIABLE = "VATSIM_RUN_LOG_LEVEL"
DEFAULT_LEVEL = "INFO"
# The end of a run is worth a line at any threshold: it is the run's summary.
RUN_END_EVENTS = {
    DagsterEventType.RUN_SUCCESS: "succeeded",
    DagsterEventType.RUN_FAILURE: "FAILED",
    DagsterEventType.RUN_CANCELED: "canceled",
}
RUN_LOGGING = {"loggers": {"console": {}}}
RETRIED_ATTR = "vatsim_retried"
MAX_LINE = 400
# Dagster's wrappers around the error that failed a step: the line shows what they wrap.
WRAPPERS = {
    "DagsterExecutionStepExecutionError",
    "DagsterMaxRetriesExceededError",
    "DagsterUserCodeExecutionError",
    "RetryRequestedFromPolicy",
}


def _first_line(text: str) -> str:
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    return line if len(line) <= MAX_LINE else line[: MAX_LINE - 1] + "…"


def _error_line(error: object) -> str:
    """`ReleaseError: <its message>` for the innermost error under Dagster's wrappers."""
    while getattr(error, "cls_name", None) in WRAPPERS and getattr(error, "cause", None):
        error = error.cause  # type: ignore[attr-defined]
    text = _first_line(getattr(error, "message", "") or "")
    name, colon, rest = text.partition(": ")
    if colon and "." in name and " " not in name:
        text = f"{name.rsplit('.', 1)[1]}: {rest}"
    return text


class OneLineFormatter(logging.Formatter):
    """`HH:MM:SS job run-id [step] LEVEL message`, the message cut to its first line; a
    failure shows its error's first line (the full stack is in the UI)."""

    def __init__(self) -> None:
        super().__init__(datefmt="%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        meta = getattr(record, LOG_RECORD_METADATA_ATTR, None) or {}
        event = meta.get("dagster_event")
        message = meta.get("orig_message") or record.getMessage()
        kind = event.event_type if event is not None else None
        level = record.levelname
        if kind in RUN_END_EVENTS:
            message = f"run {RUN_END_EVENTS[kind]}"
            level = "ERROR" if kind is DagsterEventType.RUN_FAILURE else "INFO"
        error = getattr(getattr(event, "event_specific_data", None), "error", None)
        if kind in RUN_END_EVENTS:
            error = None  # the failed step's line said why
        retried = getattr(record, RETRIED_ATTR, None)
        if retried is not None:
            message = f"{_first_line(message).rstrip('.')} after {retried[0]} retries: {retried[1]}"
        elif error is not None:
            message = f"{_first_line(message).rstrip('.')}: {_error_line(error)}"
        where = " ".join(
            part
            for part in (meta.get("job_name"), (meta.get("run_id") or "")[:8], meta.get("step_key"))
            if part
        )
        return f"{self.formatTime(record, self.datefmt)} {where} {level} {_first_line(message)}"


class _Threshold(logging.Filter):
    """Records at the threshold and above, and the end of every run. It remembers why a
    step was retried: the failure after the last retry only says "Exceeded max_retries",
    so that record gets the last attempt's error (`RETRIED_ATTR`: retries, error line)."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level
        self.retries: dict[str | None, tuple[int, str]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        meta = getattr(record, LOG_RECORD_METADATA_ATTR, None) or {}
        event = meta.get("dagster_event")
        kind = event.event_type if event is not None else None
        step = meta.get("step_key")
        if kind is DagsterEventType.STEP_UP_FOR_RETRY:
            error = getattr(event.event_specific_data, "error", None)
            count = self.retries.get(step, (0, ""))[0] + 1
            self.retries[step] = (count, _error_line(error) if error is not None else "")
        elif kind is DagsterEventType.STEP_FAILURE and step in self.retries:
            setattr(record, RETRIED_ATTR, self.retries.pop(step))
        if record.levelno >= self.level:
            return True
        return kind in RUN_END_EVENTS


@logger(
    config_schema={
        "log_level": Field(
            str,
            is_required=False,
            default_value=os.environ.get(LEVEL_VARIABLE, DEFAULT_LEVEL),
            description=f"Threshold of the terminal output (default {LEVEL_VARIABLE}, else "
            "INFO); the UI keeps every event whatever it is.",
        )
    },
    description="One line per record at INFO and above, and one when the run ends.",
)
def one_line_console(init_context: InitLoggerContext) -> logging.Logger:
    level = logging.getLevelName(str(init_context.logger_config["log_level"]).upper())
    if not isinstance(level, int):
        raise ValueError(f"{LEVEL_VARIABLE}: not a log level: {init_context.logger_config}")
    console = logging.Logger("vatsim_pipeline.run", level=logging.DEBUG)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(OneLineFormatter())
    handler.addFilter(_Threshold(level))
    console.addHandler(handler)
    return console


def run_loggers() -> dict[str, LoggerDefinition]:
    """The loggers every job gets: `console` replaces Dagster's default one."""
    return {"console": one_line_console}
