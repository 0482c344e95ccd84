"""Pruning of old Dagster runs: open-source Dagster keeps every run and its events forever.

At one ingest run every 15 s the instance gains 5,760 runs a day, each with tens of
events, and a per-run log folder on disk (and, for runs of the ingest job before it was
one step, a landed-snapshot descriptor). The rules:

- a successful run older than `days` goes, with its events (`instance.delete_run`),
  its captured logs and its landed-snapshot descriptor if it has one, unless it holds the latest
  materialization of an asset (the asset would otherwise look never materialized);
- a failed or canceled run is the dead-letter record of its snapshot: it stays while its
  snapshot (its `vatsim/update_timestamp` tag) is not finished (not stored, or its
  positions not located: `storage.snapshot_completion`, the dead letters' own rule), and
  goes once the snapshot is finished and the run is older than `days`. A failed run
  that names no snapshot (a maintenance, health or session run) stays as error history
  for as long;
- whatever it names, a failed or canceled run older than `failed_days` goes;
- unfinished runs (queued, starting, running) are never touched.

Runs are read 500 at a time, oldest first, so a year of history never sits in memory,
and one pass stops after `max_runs` deletions (the next pass goes on) so that a first
prune of a large backlog does not hold the maintenance job for hours.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dagster import DagsterInstance, DagsterRunStatus, RunRecord, RunsFilter
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from sqlalchemy import Engine

from vatsim_pipeline.defs.tags import UPDATE_TIMESTAMP_TAG
from vatsim_pipeline.storage.snapshot_completion import unfinished_snapshots

DEFAULT_DAYS = 7.0
DEFAULT_FAILED_DAYS = 90.0
DEFAULT_BATCH = 500
DEFAULT_MAX_RUNS = 50_000
# Where ingest runs of four steps described their landed snapshot for the next step;
# the one-step run writes none, the files of older runs go with their run.
DESCRIPTORS = "landed_snapshot"
KEPT_UNTIL_STORED = [DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED]


@dataclass(frozen=True)
class RunRetention:
    """How long runs stay: successful ones `days`, failed ones at most `failed_days`."""

    days: float = DEFAULT_DAYS
    failed_days: float = DEFAULT_FAILED_DAYS
    batch: int = DEFAULT_BATCH
    max_runs: int = DEFAULT_MAX_RUNS

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RunRetention:
        """`VATSIM_RUN_RETENTION_DAYS` (7), `VATSIM_FAILED_RUN_RETENTION_DAYS` (90),
        `VATSIM_PRUNE_MAX_RUNS` (50,000 deletions per pass)."""
        env = os.environ if env is None else env
        return cls(
            days=float(env.get("VATSIM_RUN_RETENTION_DAYS") or DEFAULT_DAYS),
            failed_days=float(env.get("VATSIM_FAILED_RUN_RETENTION_DAYS") or DEFAULT_FAILED_DAYS),
            max_runs=int(env.get("VATSIM_PRUNE_MAX_RUNS") or DEFAULT_MAX_RUNS),
        )


@dataclass
class RunPrune:
    """What one pass deleted (or, in a dry run, would delete) and what it kept."""

    dry_run: bool
    deleted: Counter[str] = field(default_factory=Counter)
    kept_unstored: int = 0
    kept_unnamed: int = 0
    kept_latest: int = 0
    descriptors: int = 0
    oldest: datetime | None = None
    newest: datetime | None = None
    stopped_at_limit: bool = False

    @property
    def total(self) -> int:
        return sum(self.deleted.values())

    def describe(self) -> str:
        """One line: runs deleted (or that would be) by status, and why others stay."""
        verb = "would delete" if self.dry_run else "deleted"
        statuses = ", ".join(f"{name} {count:,}" for name, count in sorted(self.deleted.items()))
        line = f"{verb} {self.total:,} run(s)" + (f" ({statuses})" if statuses else "")
        if self.stopped_at_limit:
            line += " and stopped at the limit of one pass"
        return (
            f"{line}; kept {self.kept_unstored:,} failed run(s) whose snapshot is not stored "
            "or not located, "
            f"{self.kept_unnamed:,} failed run(s) of no snapshot, "
            f"{self.kept_latest:,} holding an asset's latest materialization"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "deleted": self.total,
            "deleted_by_status": dict(sorted(self.deleted.items())),
            "kept_failed_snapshot_not_stored": self.kept_unstored,
            "kept_failed_no_snapshot": self.kept_unnamed,
            "kept_latest_materialization": self.kept_latest,
            "descriptors": self.descriptors,
            "oldest": self.oldest.isoformat() if self.oldest else None,
            "newest": self.newest.isoformat() if self.newest else None,
            "stopped_at_limit": self.stopped_at_limit,
        }


def _pages(instance: DagsterInstance, filters: RunsFilter, batch: int) -> Iterator[list[RunRecord]]:
    """Run records oldest first, a page at a time; each page is yielded only once the
    next one is read, because the storage's cursor is a run that must still exist."""
    page = list(instance.get_run_records(filters, limit=batch, ascending=True))
    while page:
        following = (
            list(
                instance.get_run_records(
                    filters, limit=batch, cursor=page[-1].dagster_run.run_id, ascending=True
                )
            )
            if len(page) == batch
            else []
        )
        yield page
        page = following


def latest_materialization_runs(instance: DagsterInstance) -> set[str]:
    """Runs that hold some asset's latest materialization."""
    events = instance.get_latest_materialization_events(instance.all_asset_keys())
    return {event.run_id for event in events.values() if event is not None}


def _snapshot_of(record: RunRecord) -> datetime | None:
    text = record.dagster_run.tags.get(UPDATE_TIMESTAMP_TAG)
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


def descriptor_path(instance: DagsterInstance, run_id: str) -> Path:
    """The landed-snapshot descriptor an ingest run of four steps left in the instance's
    storage."""
    return Path(instance.storage_directory()) / DESCRIPTORS / f"{run_id}.json"


def delete_run_files(instance: DagsterInstance, run_id: str) -> bool:
    """Remove what `delete_run` leaves on disk: captured logs, the landed-snapshot
    descriptor and, on SQLite storage, the run's own event database file. Returns whether
    a descriptor was there."""
    instance.compute_log_manager.delete_logs(prefix=[run_id])
    event_storage = instance.event_log_storage
    if isinstance(event_storage, SqliteEventLogStorage):
        # One database file per run, emptied but kept by `delete_run`: remove it, and let
        # this process forget it had opened it (it would query a file without tables).
        Path(event_storage.path_for_shard(run_id)).unlink(missing_ok=True)
        event_storage._initialized_dbs.discard(run_id)
    descriptor = descriptor_path(instance, run_id)
    present = descriptor.exists()
    descriptor.unlink(missing_ok=True)
    return present


class _Pass:
    """One pruning pass: decides run by run, deletes (unless dry), counts."""

    def __init__(self, instance: DagsterInstance, retention: RunRetention, dry_run: bool) -> None:
        self.instance = instance
        self.retention = retention
        self.result = RunPrune(dry_run=dry_run)

    @property
    def full(self) -> bool:
        return self.result.total >= self.retention.max_runs

    def delete(self, record: RunRecord) -> None:
        run_id = record.dagster_run.run_id
        created = record.create_timestamp
        if self.result.dry_run:
            self.result.descriptors += descriptor_path(self.instance, run_id).exists()
        else:
            self.instance.delete_run(run_id)
            self.result.descriptors += delete_run_files(self.instance, run_id)
        self.result.deleted[record.dagster_run.status.value] += 1
        self.result.oldest = min(created, self.result.oldest or created)
        self.result.newest = max(created, self.result.newest or created)
        self.result.stopped_at_limit = self.full


def prune_runs(
    instance: DagsterInstance,
    engine: Engine,
    retention: RunRetention | None = None,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
) -> RunPrune:
    """Delete (or, dry, count) the runs the module's rules let go, oldest first."""
    retention = retention or RunRetention.from_env()
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(days=retention.days)
    failed_cutoff = now - timedelta(days=retention.failed_days)
    work = _Pass(instance, retention, dry_run)
    protected = latest_materialization_runs(instance)
    succeeded = RunsFilter(statuses=[DagsterRunStatus.SUCCESS], created_before=cutoff)
    for page in _pages(instance, succeeded, retention.batch):
        for record in page:
            if work.full:
                return work.result
            if record.dagster_run.run_id in protected:
                work.result.kept_latest += 1
            else:
                work.delete(record)
    failed = RunsFilter(statuses=KEPT_UNTIL_STORED, created_before=cutoff)
    for page in _pages(instance, failed, retention.batch):
        named = {s for s in map(_snapshot_of, page) if s is not None}
        unfinished = unfinished_snapshots(engine, named)
        for record in page:
            if work.full:
                return work.result
            snapshot = _snapshot_of(record)
            finished = snapshot is not None and snapshot not in unfinished
            if record.create_timestamp < failed_cutoff or finished:
                work.delete(record)
            elif snapshot is None:
                work.result.kept_unnamed += 1
            else:
                work.result.kept_unstored += 1
    return work.result
