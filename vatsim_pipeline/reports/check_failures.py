"""Failed evaluations of one asset check in a window, read from Dagster's check history.

Two failures happen outside any failed run, so the run-based reports would miss them: an
update the sensor could not land (it reports `landed_snapshot`'s `landing_writable`
check failed, without a run) and a snapshot stored without its radios (its run succeeds
with `transceivers`' `radios_complete` check failed). Both are counted from the check's
execution history, newest first, a page at a time until the window's start.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from dagster import AssetCheckEvaluation, AssetCheckKey, AssetKey, DagsterInstance
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from vatsim_pipeline.reports.window import Window

# The checks' keys, as `defs.landing_check` and `defs.ingest_assets` define them.
LANDING_CHECK = AssetCheckKey(AssetKey("landed_snapshot"), "landing_writable")
RADIOS_CHECK = AssetCheckKey(AssetKey("transceivers"), "radios_complete")
PAGE = 500


@dataclass(frozen=True)
class FailedCheck:
    """One failed evaluation: when, in which run (empty for the sensor's), and its metadata."""

    timestamp: float
    run_id: str
    description: str
    metadata: dict[str, str]


def failed_checks(
    instance: DagsterInstance, check_key: AssetCheckKey, window: Window
) -> list[FailedCheck]:
    """The failed evaluations of `check_key` in the window, oldest first."""
    return sorted(_failed(instance, check_key, window), key=lambda failed: failed.timestamp)


def _failed(
    instance: DagsterInstance, check_key: AssetCheckKey, window: Window
) -> Iterator[FailedCheck]:
    cursor = None
    while True:
        page = instance.event_log_storage.get_asset_check_execution_history(
            check_key, limit=PAGE, cursor=cursor, status={AssetCheckExecutionRecordStatus.FAILED}
        )
        for record in page:
            if record.create_timestamp < window.since.timestamp():
                return
            if record.create_timestamp > window.until.timestamp() or record.event is None:
                continue
            evaluation = record.event.dagster_event.event_specific_data
            yield FailedCheck(
                timestamp=record.create_timestamp,
                run_id=record.run_id or _checked_run(evaluation),
                description=evaluation.description or "",
                metadata={key: str(value.value) for key, value in evaluation.metadata.items()},
            )
        if len(page) < PAGE:
            return
        cursor = page[-1].id


def _checked_run(evaluation: AssetCheckEvaluation) -> str:
    """The run whose materialization a result reported outside any run checks (an ingest
    run reports its checks so); empty for the sensor's."""
    target = evaluation.target_materialization_data
    return target.run_id if target is not None else ""
