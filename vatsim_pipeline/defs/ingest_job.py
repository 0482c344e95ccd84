"""The ingest job: one feed update, landed and stored, then its sector occupancy (whose
step ends by reporting the table checks, see `table_checks`) and its anomalies.

The in-process executor matters: at one run every 15 s on 2 cores, a process per step
(the default) cannot keep up.
"""

from datetime import datetime
from typing import Any

from dagster import AssetSelection, define_asset_job, in_process_executor

from vatsim_pipeline.defs.anomaly_assets import active_anomalies, anomalies
from vatsim_pipeline.defs.failure_hook import classify_failure
from vatsim_pipeline.defs.ingest_assets import INGEST_GROUP, RADIOS_CHECK
from vatsim_pipeline.defs.occupancy_assets import sector_occupancy
from vatsim_pipeline.defs.run_logging import RUN_LOGGING
from vatsim_pipeline.defs.tags import INGEST_TAG, UPDATE_TIMESTAMP_TAG

MAX_RUNTIME_S = 300

ingest_job = define_asset_job(
    "ingest_snapshot",
    # The radios check is yielded by the write itself (`snapshot_tables`).
    selection=(
        AssetSelection.groups(INGEST_GROUP) | AssetSelection.assets(sector_occupancy, anomalies)
    ).without_checks()
    | AssetSelection.checks(active_anomalies)
    | AssetSelection.checks(RADIOS_CHECK.key),
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
    return {"ops": {"landed_snapshot": {"config": config}}}


def ingest_tags(update_timestamp: datetime) -> dict[str, str]:
    """Tags that let the UI and the reports find a snapshot's runs."""
    return {UPDATE_TIMESTAMP_TAG: update_timestamp.isoformat()}
