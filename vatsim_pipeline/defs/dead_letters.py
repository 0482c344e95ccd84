"""Dead letters: ingest runs that failed after their retries, and their replay.

A failed run is the dead-letter record: its landed payload stays on disk and its run
config points at it. It stays listed until its snapshot is stored and located (by a
replay, or by a later run of the same snapshot): a run can fail locating its positions
after it stored the snapshot, and later runs locate only their own snapshot's
positions; the replay runs the whole ingest step again (storing is idempotent) and
locates them. Both are read from the database, not from run history (see
`storage.snapshot_completion`, which run pruning asks too). Nothing is evicted unread,
and a size limit only raises an alert. A replay carries its snapshot's tag, so a replay
that fails again takes the place of the run it replayed in the list.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from dagster import (
    DagsterInstance,
    DagsterRunStatus,
    ReexecutionOptions,
    RunsFilter,
    execute_job,
    reconstructable,
)
from sqlalchemy import Engine

from vatsim_pipeline.defs.ingest_config import current_run_config, ingest_config_of, is_legacy
from vatsim_pipeline.defs.tags import (
    ERROR_CATEGORY_TAG,
    ERROR_MESSAGE_TAG,
    REPLAY_OF_TAG,
    SOURCE_TAG,
    UPDATE_TIMESTAMP_TAG,
)
from vatsim_pipeline.storage.snapshot_completion import NOT_STORED, unfinished_snapshots

DEFAULT_LIMIT = 100
QUIET_LOGGERS = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
INGEST_JOB = "ingest_snapshot"


def dead_letter_limit() -> int:
    """`VATSIM_DEAD_LETTER_LIMIT`: how many dead letters before the alert is raised."""
    return int(os.environ.get("VATSIM_DEAD_LETTER_LIMIT", DEFAULT_LIMIT))


@dataclass(frozen=True)
class DeadLetter:
    """A snapshot whose newest run failed and which is not stored, or not located:
    `missing` says which (`NOT_STORED` or `NOT_LOCATED`)."""

    run_id: str
    update_timestamp: datetime | None
    failed_at: datetime
    category: str
    error: str
    data_path: str | None
    missing: str = NOT_STORED

    def age_s(self, now: datetime) -> float:
        return (now - self.failed_at).total_seconds()

    def as_dict(self, now: datetime) -> dict:
        return {
            "run_id": self.run_id,
            "update_timestamp": self.update_timestamp.isoformat()
            if self.update_timestamp
            else None,
            "failed_at": self.failed_at.isoformat(),
            "age_s": round(self.age_s(now), 1),
            "category": self.category,
            "error": self.error,
            "data_path": self.data_path,
            "missing": self.missing,
        }


def _data_path(run) -> str | None:
    return ingest_config_of(run.run_config).get("data_path")


def list_dead_letters(instance: DagsterInstance, engine: Engine) -> list[DeadLetter]:
    """Every snapshot whose latest ingest run failed and that is not stored or not located,
    oldest first."""
    records = instance.get_run_records(
        filters=RunsFilter(job_name=INGEST_JOB, statuses=[DagsterRunStatus.FAILURE]),
        order_by="update_timestamp",
        ascending=True,
    )
    newest_by_snapshot: dict[object, DeadLetter] = {}
    for record in records:
        run = record.dagster_run
        stamp_text = run.tags.get(UPDATE_TIMESTAMP_TAG)
        stamp = datetime.fromisoformat(stamp_text) if stamp_text else None
        letter = DeadLetter(
            run_id=run.run_id,
            update_timestamp=stamp,
            failed_at=(record.end_time and datetime.fromtimestamp(record.end_time, UTC))
            or record.update_timestamp,
            category=run.tags.get(ERROR_CATEGORY_TAG, "unknown"),
            error=run.tags.get(ERROR_MESSAGE_TAG, "see the run's event log"),
            data_path=_data_path(run),
        )
        newest_by_snapshot[stamp or run.run_id] = letter
    named = (s for s in newest_by_snapshot if isinstance(s, datetime))
    missing = unfinished_snapshots(engine, named)
    letters = [
        replace(letter, missing=missing[key]) if isinstance(key, datetime) else letter
        for key, letter in newest_by_snapshot.items()
        if not isinstance(key, datetime) or key in missing
    ]
    return sorted(letters, key=lambda d: d.failed_at)


@dataclass(frozen=True)
class ReplayOutcome:
    """What replaying one dead letter did."""

    run_id: str
    replay_run_id: str | None
    success: bool
    detail: str


def replay(instance: DagsterInstance, run_id: str) -> ReplayOutcome:
    """Re-execute a failed ingest run from its failed step (the run's one step), as a new
    run; a run of the version before, whose steps no longer exist, runs anew on its
    config."""
    from vatsim_pipeline.definitions import resolved_ingest_job

    parent = instance.get_run_by_id(run_id)
    if parent is None:
        return ReplayOutcome(run_id, None, False, "no such run")
    if parent.job_name != INGEST_JOB or parent.status != DagsterRunStatus.FAILURE:
        return ReplayOutcome(run_id, None, False, f"not a failed {INGEST_JOB} run")
    tags = {REPLAY_OF_TAG: run_id, SOURCE_TAG: "replay"}
    if UPDATE_TIMESTAMP_TAG in parent.tags:
        tags[UPDATE_TIMESTAMP_TAG] = parent.tags[UPDATE_TIMESTAMP_TAG]
    result = execute_job(
        reconstructable(resolved_ingest_job),
        instance=instance,
        run_config={**current_run_config(parent.run_config), **QUIET_LOGGERS},
        reexecution_options=None
        if is_legacy(parent.run_config)
        else ReexecutionOptions.from_failure(run_id, instance),
        tags=tags,
    )
    if result.success:
        return ReplayOutcome(run_id, result.run_id, True, "stored")
    run = instance.get_run_by_id(result.run_id)
    return ReplayOutcome(
        run_id, result.run_id, False, (run.tags if run else {}).get(ERROR_MESSAGE_TAG, "failed")
    )
