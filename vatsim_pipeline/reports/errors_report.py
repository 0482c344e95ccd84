"""The errors report: what failed in a window, how it was classified, and what was recovered.

An *error* is one failed attempt: a step attempt that Dagster retried (`STEP_UP_FOR_RETRY`,
classified here from its stored error), a step's final failure (classified by the failure
hook when it ran, from the stored error otherwise), a run that failed without a failed
step (maximum runtime exceeded, a crashed run worker), or an update the feed sensor could
not land (classified by the sensor, reported as a failed `landing_writable` check). The
final failures of a run that run monitoring stopped for outliving its maximum runtime are
timeouts. Snapshots stored without their radios are not errors of a run; they are counted
apart (`snapshots_without_radios`).

A *failure* is what a user would count once: a step of a run that had errors, or a run
that failed on its own (a landing failure is an error, not part of the recovery rate: no
run exists for it). It is *recovered* when the step succeeded on a retry, or when its
failed run was made good later: a later run of the same snapshot succeeded, or a replay or
re-execution of it (or of a replay of it) did.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from dagster import (
    DagsterEventType,
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    RunRecord,
    RunsFilter,
)
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.tags import PARENT_RUN_ID_TAG, ROOT_RUN_ID_TAG
from dagster._utils.error import SerializableErrorInfo

from vatsim_pipeline.defs.failure_hook import CLASSIFIED_EVENT, SERVICE_OF_STEP
from vatsim_pipeline.defs.tags import REPLAY_OF_TAG, UPDATE_TIMESTAMP_TAG
from vatsim_pipeline.reports.check_failures import LANDING_CHECK, RADIOS_CHECK, failed_checks
from vatsim_pipeline.reports.window import Activity, Window, activity, chunks
from vatsim_pipeline.resilience.errors import ErrorCategory, Severity, classify_error_info

ERROR_EVENTS = (
    DagsterEventType.STEP_UP_FOR_RETRY,
    DagsterEventType.STEP_FAILURE,
    DagsterEventType.RUN_FAILURE,
)
STOP_EVENTS = (DagsterEventType.RUN_CANCELING, DagsterEventType.RUN_FAILURE)
READ_EVENTS = {
    *ERROR_EVENTS,
    *STOP_EVENTS,
    DagsterEventType.ENGINE_EVENT,
    DagsterEventType.STEP_SUCCESS,
}
# Run monitoring's words when a run outlives its `dagster/max_runtime` tag: "Canceling due
# to exceeding maximum runtime of N seconds.", then "Exceeded maximum runtime of N seconds."
MAX_RUNTIME = re.compile(r"exceed\w* maximum runtime", re.IGNORECASE)
LINEAGE_TAGS = (REPLAY_OF_TAG, PARENT_RUN_ID_TAG, ROOT_RUN_ID_TAG)
MOST_COMMON = 10
MAX_GENERATIONS = 10


@dataclass(frozen=True)
class ErrorRecord:
    """One failed attempt, classified."""

    run_id: str
    step_key: str | None
    timestamp: float
    final: bool
    category: str
    severity: str
    service: str
    message: str


@dataclass(frozen=True)
class RunErrors:
    """The errors of one run in the window, the steps of it that succeeded, and whether run
    monitoring stopped it for outliving its maximum runtime."""

    errors: list[ErrorRecord]
    succeeded_steps: frozenset[str]
    max_runtime_exceeded: bool


def errors_report(
    instance: DagsterInstance, since: datetime | None = None, until: datetime | None = None
) -> dict:
    """Errors by category, severity and service; the recovery rate; the most common errors.

    The window runs from `since` (default: 24 hours before `until`) to `until` (default: now).
    """
    seen = activity(instance, Window.between(since, until))
    by_run = collect_errors(instance, seen)
    errors = [error for run in by_run.values() for error in run.errors]
    errors += landing_errors(instance, seen.window)
    failures, recovered = _recovery(instance, seen, by_run)
    categories = Counter(error.category for error in errors)
    severities = Counter(error.severity for error in errors)
    return {
        "window": seen.window.as_dict(),
        "total_errors": len(errors),
        "final_errors": sum(error.final for error in errors),
        "retried_errors": sum(not error.final for error in errors),
        "errors_by_category": {c.value: categories[c.value] for c in ErrorCategory},
        "errors_by_severity": {s.value: severities[s.value] for s in Severity},
        "errors_by_service": dict(sorted(Counter(e.service for e in errors).items())),
        "failures": failures,
        "recovered_failures": recovered,
        "recovery_success_rate": round(recovered / failures, 4) if failures else None,
        "most_common_errors": _most_common(errors),
        "snapshots_without_radios": len(failed_checks(instance, RADIOS_CHECK, seen.window)),
    }


def landing_errors(instance: DagsterInstance, window: Window) -> list[ErrorRecord]:
    """Updates the sensor could not land, as it classified them."""
    return [
        ErrorRecord(
            run_id=failed.run_id,
            step_key=None,
            timestamp=failed.timestamp,
            final=True,
            category=failed.metadata.get("category", ErrorCategory.UNKNOWN.value),
            severity=failed.metadata.get("severity", Severity.MEDIUM.value),
            service=failed.metadata.get("service", "landing"),
            message=failed.metadata.get("message", failed.description),
        )
        for failed in failed_checks(instance, LANDING_CHECK, window)
    ]


def collect_errors(instance: DagsterInstance, seen: Activity) -> dict[str, RunErrors]:
    """The errors in the window, per run; only runs that failed or retried are read."""
    return {
        run_id: _run_errors(instance, run_id, seen.window)
        for run_id in seen.runs_with(*ERROR_EVENTS)
    }


def _run_errors(instance: DagsterInstance, run_id: str, window: Window) -> RunErrors:
    entries = [
        record.event_log_entry
        for record in instance.get_records_for_run(run_id, of_type=READ_EVENTS).records
    ]
    classified = {entry.step_key: entry for entry in entries if _is_classification(entry)}
    step_failed = any(_is(entry, DagsterEventType.STEP_FAILURE) for entry in entries)
    stopped = _max_runtime_stop(entries)
    errors = []
    for entry in entries:
        if not any(_is(entry, kind) for kind in ERROR_EVENTS) or not window.holds(entry.timestamp):
            continue
        if _is(entry, DagsterEventType.RUN_FAILURE) and step_failed:
            continue  # the failed step is the error; the run's failure only follows from it
        hooked = classified.get(entry.step_key)
        if stopped and not _is(entry, DagsterEventType.STEP_UP_FOR_RETRY):
            errors.append(_timed_out(entry, stopped))
        elif _is(entry, DagsterEventType.STEP_FAILURE) and hooked is not None:
            errors.append(_from_hook(entry, hooked))
        else:
            errors.append(_from_error_info(entry))
    succeeded = frozenset(
        entry.step_key
        for entry in entries
        if _is(entry, DagsterEventType.STEP_SUCCESS) and entry.step_key
    )
    return RunErrors(errors, succeeded, stopped is not None)


def _max_runtime_stop(entries: Sequence[EventLogEntry]) -> str | None:
    """Run monitoring's message, if it stopped this run for outliving `dagster/max_runtime`."""
    return next(
        (
            entry.dagster_event.message
            for entry in entries
            if any(_is(entry, kind) for kind in STOP_EVENTS)
            and MAX_RUNTIME.search(entry.dagster_event.message or "")
        ),
        None,
    )


def _timed_out(entry: EventLogEntry, stop: str) -> ErrorRecord:
    """A final failure of a run stopped by its maximum runtime: the step was interrupted (or
    the run failed) because time ran out, whatever the interruption itself looks like. The
    verdict is the taxonomy's for run monitoring (`resilience.errors`: timeout, high,
    pipeline), which reads only the "Exceeded ..." wording, not the "Canceling due to
    exceeding ..." of the cancel that precedes it."""
    return ErrorRecord(
        run_id=entry.run_id,
        step_key=entry.step_key,
        timestamp=entry.timestamp,
        final=True,
        category=ErrorCategory.TIMEOUT.value,
        severity=Severity.HIGH.value,
        service="pipeline",
        message=stop,
    )


def _is(entry: EventLogEntry, event_type: DagsterEventType) -> bool:
    return entry.dagster_event is not None and entry.dagster_event.event_type == event_type


def _is_classification(entry: EventLogEntry) -> bool:
    return _is(entry, DagsterEventType.ENGINE_EVENT) and (
        entry.dagster_event.message or ""
    ).startswith(CLASSIFIED_EVENT)


def _from_hook(entry: EventLogEntry, hooked: EventLogEntry) -> ErrorRecord:
    """A final failure as the failure hook classified it, from its engine event's metadata."""
    metadata = {
        key: str(value.value)
        for key, value in hooked.dagster_event.engine_event_data.metadata.items()
    }
    return ErrorRecord(
        run_id=entry.run_id,
        step_key=entry.step_key,
        timestamp=entry.timestamp,
        final=True,
        category=metadata["category"],
        severity=metadata["severity"],
        service=metadata["service"],
        message=metadata["message"],
    )


def _from_error_info(entry: EventLogEntry) -> ErrorRecord:
    """A retried attempt, or a failure the hook did not see, classified from its stored error."""
    event = entry.dagster_event
    data = event.event_specific_data
    error = getattr(data, "error", None)
    if error is None:
        described = getattr(getattr(data, "user_failure_data", None), "description", None)
        error = SerializableErrorInfo(described or event.message or "", [], None)
    verdict = classify_error_info(error, service=SERVICE_OF_STEP.get(entry.step_key or ""))
    return ErrorRecord(
        run_id=entry.run_id,
        step_key=entry.step_key,
        timestamp=entry.timestamp,
        final=event.event_type != DagsterEventType.STEP_UP_FOR_RETRY,
        category=verdict.category.value,
        severity=verdict.severity.value,
        service=verdict.service,
        message=verdict.message,
    )


def _most_common(errors: Sequence[ErrorRecord]) -> list[dict]:
    counts = Counter((error.message, error.category) for error in errors)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [
        {"message": message, "count": count, "category": category}
        for (message, category), count in ranked[:MOST_COMMON]
    ]


def _recovery(
    instance: DagsterInstance, seen: Activity, by_run: Mapping[str, RunErrors]
) -> tuple[int, int]:
    """(failures, recovered failures) among the errors in the window."""
    failures: dict[tuple[str, str | None], bool] = {}
    for run_id, run in by_run.items():
        for error in run.errors:
            key = (run_id, error.step_key)
            failures[key] = failures.get(key, False) or error.final
    failed_runs = {run_id for (run_id, _), final in failures.items() if final}
    made_good = recovered_runs(instance, [seen.runs[run_id] for run_id in failed_runs])
    recovered = sum(
        run_id in made_good if final else step in by_run[run_id].succeeded_steps
        for (run_id, step), final in failures.items()
    )
    return len(failures), recovered


def recovered_runs(instance: DagsterInstance, failed: Sequence[RunRecord]) -> set[str]:
    """Ids of the failed runs that a later success made good (see the module docstring)."""
    children = _descendants(instance, [record.dagster_run.run_id for record in failed])
    stored_later = _stored_later(instance, failed)
    return {
        record.dagster_run.run_id
        for record in failed
        if record.dagster_run.run_id in stored_later
        or _any_success(record.dagster_run.run_id, children)
    }


def _stored_later(instance: DagsterInstance, failed: Sequence[RunRecord]) -> set[str]:
    """Failed runs whose snapshot a run created after them stored."""
    by_stamp: dict[str, list[RunRecord]] = {}
    for record in failed:
        stamp = record.dagster_run.tags.get(UPDATE_TIMESTAMP_TAG)
        if stamp:
            by_stamp.setdefault(stamp, []).append(record)
    stored: set[str] = set()
    for chunk in chunks(by_stamp):
        for success in instance.get_run_records(
            RunsFilter(tags={UPDATE_TIMESTAMP_TAG: chunk}, statuses=[DagsterRunStatus.SUCCESS])
        ):
            for record in by_stamp[success.dagster_run.tags[UPDATE_TIMESTAMP_TAG]]:
                if success.create_timestamp > record.create_timestamp:
                    stored.add(record.dagster_run.run_id)
    return stored


def _descendants(instance: DagsterInstance, roots: Sequence[str]) -> dict[str, list[DagsterRun]]:
    """The replays and re-executions of these runs, generation by generation, by parent id.

    A root may itself be a replay of another root: it is linked under it like any child.
    """
    children: dict[str, list[DagsterRun]] = {}
    linked: set[str] = set()
    asked, frontier = set(roots), list(roots)
    for _ in range(MAX_GENERATIONS):
        found = {run.run_id: run for run in _tagged(instance, frontier) if run.run_id not in linked}
        for run in found.values():
            children.setdefault(_parent(run), []).append(run)
        linked.update(found)
        frontier = [run_id for run_id in found if run_id not in asked]
        asked.update(frontier)
        if not frontier:
            break
    return children


def _tagged(instance: DagsterInstance, run_ids: Sequence[str]) -> Iterator[DagsterRun]:
    for tag in LINEAGE_TAGS:
        for chunk in chunks(run_ids):
            for record in instance.get_run_records(RunsFilter(tags={tag: chunk})):
                yield record.dagster_run


def _parent(run: DagsterRun) -> str:
    """A replay names its failed run; a re-execution launched otherwise names its parent."""
    return (
        run.tags.get(REPLAY_OF_TAG)
        or run.parent_run_id
        or run.tags.get(PARENT_RUN_ID_TAG)
        or run.tags[ROOT_RUN_ID_TAG]
    )


def _any_success(run_id: str, children: Mapping[str, list[DagsterRun]]) -> bool:
    pending = list(children.get(run_id, []))
    while pending:
        run = pending.pop()
        if run.status == DagsterRunStatus.SUCCESS:
            return True
        pending.extend(children.get(run.run_id, []))
    return False
