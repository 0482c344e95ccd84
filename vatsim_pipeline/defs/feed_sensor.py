"""The feed sensor: lands every new feed update and requests one run for it.

The payload is on disk before the run is requested, and the run key is the snapshot's
`update_timestamp`, so a tick repeated after a crash lands the same file again and
Dagster drops the duplicate request.
"""

from dagster import (
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from vatsim_pipeline.defs.ingest_job import ingest_job, ingest_run_config, ingest_tags
from vatsim_pipeline.defs.resources import FeedResource, LandingResource
from vatsim_pipeline.defs.sensor_cursor import FeedCursor
from vatsim_pipeline.feed.client import FeedUnavailable
from vatsim_pipeline.feed.landing import land
from vatsim_pipeline.feed.parse import PayloadError

SENSOR_INTERVAL_S = 15


@sensor(
    job=ingest_job,
    minimum_interval_seconds=SENSOR_INTERVAL_S,
    default_status=DefaultSensorStatus.RUNNING,
    description="Polls the VATSIM feeds every 15 s, lands each new update and requests "
    "one ingest run keyed by its update_timestamp.",
)
def vatsim_feed_sensor(
    context: SensorEvaluationContext, feed: FeedResource, landing: LandingResource
) -> SensorResult | SkipReason:
    cursor = FeedCursor.parse(context.cursor)
    client = feed.client()
    try:
        feeds = client.fetch()
    except FeedUnavailable as error:
        return SkipReason(f"feed unreachable: {error}")
    except PayloadError as error:
        return SkipReason(f"feed at {client.status_url} did not serve a data feed: {error}")
    stamp = feeds.update_timestamp.isoformat()
    if cursor.last_update is not None and feeds.update_timestamp <= cursor.last_update:
        return SkipReason(
            f"no new update: {feeds.data_url} still at {stamp} "
            f"(last landed {cursor.last_update.isoformat()})"
        )
    landed = land(
        landing.path(), feeds.update_timestamp, feeds.data, feeds.transceivers, feeds.fetched_at
    )
    if feeds.transceivers_error:
        context.log.warning(f"snapshot {stamp} landed without radios: {feeds.transceivers_error}")
    cursor.last_update = feeds.update_timestamp
    return SensorResult(
        run_requests=[
            RunRequest(
                run_key=stamp,
                run_config=ingest_run_config(landed.data_path, landed.transceivers_path),
                tags=ingest_tags(feeds.update_timestamp),
            )
        ],
        cursor=cursor.dump(),
    )
