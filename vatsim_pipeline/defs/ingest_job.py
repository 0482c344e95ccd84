"""The ingest job: one feed update, landed and stored, located and checked for anomalies
in one step (`ingest`), which ends by reporting the table checks (see
`table_checks`).

The in-process executor matters: at one run every 15 s on 2 cores, a process per step
(the default) cannot keep up.
"""

from datetime import datetime
from typing import Any

from dagster import AssetSelection, define_asset_job, in_process_executor

from vatsim_pipeline.defs.failure_hook import classify_failure
from vatsim_pipeline.defs.ingest_config import INGEST_OP
from vatsim_pipeline.defs.ingest_step import ingest_step
from vatsim_pipeline.defs.run_logging import RUN_LOGGING
from vatsim_pipeline.defs.tags import INGEST_TAG, UPDATE_TIMESTAMP_TAG

MAX_RUNTIME_S = 300

ingest_job = define_asset_job(
    "ingest_snapshot",
    # No check: the step reports every check of its assets itself (`ingest_step`).
    selection=AssetSelection.assets(ingest_step).without_checks(),
    config=RUN_LOGGING,
    executor_def=in_process_executor,
    description="Store one VATSIM feed update: its landed payloads into every table.",
    tags={INGEST_TAG: "snapshot", "dagster/max_runtime": MAX_RUNTIME_S},
    hooks={classify_failure},
)


def ingest_run_config(
    data_path: str,
    transceivers_path: str | None,
    *,
    fetched_at: datetime | None = None,
    transceivers_missing: str | None = None,
) -> dict[str, Any]:
    """Run config that points the job at landed (or recorded) payloads: when they were
    fetched, and why the radios are missing when the feed could not give them."""
    config: dict[str, Any] = {"data_path": data_path}
    if transceivers_path:
        config["transceivers_path"] = transceivers_path
    if fetched_at is not None:
        config["fetched_at"] = fetched_at.isoformat()
    if transceivers_missing:
        config["transceivers_missing"] = transceivers_missing
    return {"ops": {INGEST_OP: {"config": config}}}


def ingest_tags(update_timestamp: datetime) -> dict[str, str]:
    """Tags that let the UI and the reports find a snapshot's runs."""
    return {UPDATE_TIMESTAMP_TAG: update_timestamp.isoformat()}
