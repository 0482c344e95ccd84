"""The time window of a report, and what the Dagster instance recorded in it.

Every report looks at the same slice of history: the runs active in the window (updated
in it, or still going) and the counts of their events in it. Counting is done by the
event log's own database (`GROUP BY`), so a day of 5,760 ingest runs costs a few
queries and no event is deserialized; only the few runs that failed or retried are read
event by event, by the reports that need their errors.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from dagster import DagsterEventType, DagsterInstance, RunRecord, RunsFilter
from dagster._core.storage.event_log.schema import SqlEventLogStorageTable
from dagster._core.storage.event_log.sql_event_log import SqlEventLogStorage
from sqlalchemy import func, select

from vatsim_pipeline.defs.schedule_guard import UNFINISHED
from vatsim_pipeline.storage.reads_window import parse_moment

DEFAULT_SINCE = timedelta(hours=24)
CHUNK = 500


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """`24h`, `90m`, `7d`, `30s`, `2w` ago, or an ISO time (UTC when it names no zone):
    the grammar of `vatsim_pipeline.storage.reads_window`.

    Raises `ValueError` with a message fit for `error: --since: ...`.
    """
    now = now or datetime.now(UTC)
    since = parse_moment(text, now)
    if since >= now:
        raise ValueError(f"{text!r} is not in the past")
    return since


@dataclass(frozen=True)
class Window:
    """From `since` to `until` (aware UTC times)."""

    since: datetime
    until: datetime

    @classmethod
    def between(cls, since: datetime | None = None, until: datetime | None = None) -> Window:
        """`until` defaults to now, `since` to 24 hours before `until`."""
        until = (until or datetime.now(UTC)).astimezone(UTC)
        return cls((since or until - DEFAULT_SINCE).astimezone(UTC), until)

    def as_dict(self) -> dict[str, str]:
        return {"since": self.since.isoformat(), "until": self.until.isoformat()}

    def holds(self, timestamp: float) -> bool:
        return self.since.timestamp() <= timestamp <= self.until.timestamp()


@dataclass
class Activity:
    """The runs active in a window and the counts of their events in it, per run."""

    window: Window
    runs: dict[str, RunRecord]
    counts: dict[str, Counter[DagsterEventType]] = field(default_factory=dict)
    last_event_time: datetime | None = None

    def runs_with(self, *event_types: DagsterEventType) -> list[str]:
        """Ids of the runs that have at least one event of these types in the window."""
        return [
            run_id
            for run_id, counts in self.counts.items()
            if any(counts[event_type] for event_type in event_types)
        ]

    def total(self, event_type: DagsterEventType) -> int:
        return sum(counts[event_type] for counts in self.counts.values())


def activity(instance: DagsterInstance, window: Window) -> Activity:
    """What happened in the window: its runs, then their event counts."""
    records = instance.get_run_records(RunsFilter(updated_after=window.since))
    records += instance.get_run_records(
        RunsFilter(statuses=UNFINISHED, updated_before=window.since)
    )
    result = Activity(window, {record.dagster_run.run_id: record for record in records})
    storage = instance.event_log_storage
    if not isinstance(storage, SqlEventLogStorage):
        raise TypeError(f"{type(storage).__name__}: reports need a SQL event log storage")
    known = {event_type.value for event_type in DagsterEventType}
    for run_id, event_type, count, last in _event_counts(storage, list(result.runs), window):
        if event_type not in known:
            continue  # written by another Dagster version; nothing here reads it
        result.counts.setdefault(run_id, Counter())[DagsterEventType(event_type)] += count
        last = last.replace(tzinfo=UTC)
        if result.last_event_time is None or last > result.last_event_time:
            result.last_event_time = last
    return result


def _event_counts(
    storage: SqlEventLogStorage, run_ids: Sequence[str], window: Window
) -> Iterator[tuple[str, str, int, datetime]]:
    """(run id, event type, count, last time) of the Dagster events of these runs in the window.

    A run-sharded storage (the SQLite default) keeps one database per run, so it is asked
    run by run; the others hold every run in one table and are asked in chunks of ids.
    """
    table = SqlEventLogStorageTable
    query = (
        select(
            table.c.run_id, table.c.dagster_event_type, func.count(), func.max(table.c.timestamp)
        )
        .where(
            table.c.dagster_event_type.is_not(None),
            table.c.timestamp >= window.since.replace(tzinfo=None),
            table.c.timestamp <= window.until.replace(tzinfo=None),
        )
        .group_by(table.c.run_id, table.c.dagster_event_type)
    )
    if storage.is_run_sharded:
        for run_id in run_ids:
            with storage.run_connection(run_id) as connection:
                yield from connection.execute(query.where(table.c.run_id == run_id))
        return
    for chunk in chunks(run_ids):
        with storage.index_connection() as connection:
            yield from connection.execute(query.where(table.c.run_id.in_(chunk)))


def chunks(values: Iterable[str], size: int = CHUNK) -> Iterator[list[str]]:
    """Slices small enough for an `IN (...)` list on every database."""
    batch: list[str] = []
    for value in values:
        batch.append(value)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
