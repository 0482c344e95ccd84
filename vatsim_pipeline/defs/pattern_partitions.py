"""The hourly partitions of the traffic-pattern assets: one partition per UTC hour, so
that an hour is re-materialized or back-filled on its own without double counting."""

from dagster import HourlyPartitionsDefinition

TRAFFIC_PATTERNS_GROUP = "traffic_patterns"

# From before the oldest recorded payload the project reads (2021), so that recorded
# history can be back-filled too.
hourly_partitions = HourlyPartitionsDefinition(start_date="2020-01-01-00:00")
