"""The `traffic_patterns` job (every hourly asset of the traffic-patterns group, the
airport ones included) and the schedule that materializes the hour just closed."""

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    build_schedule_from_partitioned_job,
    define_asset_job,
)

from vatsim_pipeline.defs.pattern_partitions import TRAFFIC_PATTERNS_GROUP, hourly_partitions
from vatsim_pipeline.defs.run_logging import RUN_LOGGING

# Minutes past the hour: late snapshots and the occupancy of the hour's last ones are in.
SCHEDULE_MINUTE = 5

traffic_patterns_job = define_asset_job(
    "traffic_patterns",
    selection=AssetSelection.groups(TRAFFIC_PATTERNS_GROUP),
    partitions_def=hourly_partitions,
    config=RUN_LOGGING,
    description="Materializes one UTC hour of every traffic pattern asset; back-fill "
    "hours from the UI or `dagster job backfill`.",
)

traffic_patterns_hourly = build_schedule_from_partitioned_job(
    traffic_patterns_job,
    name="traffic_patterns_hourly",
    minute_of_hour=SCHEDULE_MINUTE,
    default_status=DefaultScheduleStatus.RUNNING,
    description="At 5 past every hour, materializes the hour just closed.",
)
