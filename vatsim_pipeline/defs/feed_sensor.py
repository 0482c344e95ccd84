"""The feed sensor: lands every new feed update and requests one run for it.

It ticks every 10 s or so and waits, within its tick, for the next update due before
its next tick could come, so that it ticks about once per 15 s update (every tick costs
the daemon and the code server their bookkeeping and writes a tick row), never misses
one, and fetches each as it appears. The payload is on disk before the run is
requested, and the run key is the snapshot's
`update_timestamp`, so a repeated request is dropped by Dagster. Three circuit breakers,
kept in the cursor, protect the services: `feed` (the fetch), `landing` (writing the
landing folder) and `database` (ingest runs that failed on the database or on Dagster's
own storage). While the feed's or the landing's breaker is open the sensor does not
call the feed; while the database's is open it keeps landing payloads but requests no
runs, then one probe run, then every pending payload once the probe succeeds.

An update that cannot be landed (a folder that refuses writes, a full disk) is a
classified `resource` failure: the skip reason says what and where, and the sensor
reports the `landing_writable` check failed (red in the UI, counted by the reports).
A snapshot whose transceivers feed stayed broken is landed without radios, and its run
is told why (`transceivers_missing`), so the stored snapshot says its radios are missing.
While no new update lands for a minute it reports the `newest_snapshot_fresh` check
failed, with its reason (see `table_checks.stale_feed_evaluation`): red in the UI, not a
grey skip.
"""

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dagster import (
    AssetCheckEvaluation,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)

from vatsim_pipeline.defs.ingest_job import ingest_job, ingest_run_config, ingest_tags
from vatsim_pipeline.defs.landing_check import failed_landing, landing_failure, landing_works
from vatsim_pipeline.defs.resources import FeedResource, LandingResource
from vatsim_pipeline.defs.sensor_cursor import FeedCursor
from vatsim_pipeline.defs.table_checks import stale_feed_evaluation
from vatsim_pipeline.defs.tags import ERROR_SERVICE_TAG
from vatsim_pipeline.feed.client import FeedClient, FeedUnavailable
from vatsim_pipeline.feed.landing import LandedFile, land, landed_after
from vatsim_pipeline.feed.parse import PayloadError
from vatsim_pipeline.resilience.breaker import (
    BreakerConfig,
    CircuitState,
    allow,
    config_from_env,
    describe,
    record_failure,
    record_success,
)
from vatsim_pipeline.resilience.errors import DAGSTER_STORAGE

# Dagster's sensor daemon evaluates sensors once per loop of 5 s (a loop with a long tick
# lasts as long as the tick), and runs a sensor only when `minimum_interval_seconds`
# have passed since its previous tick started. At 1 s the sensor ticked on every loop,
# three times per update, two of them only to say "not yet": each cost the daemon and
# the code server some 0.05 CPU s and wrote a tick row (bench/soak.py). At 9 s it ticks
# on every second loop (at 10 s, a tick starts a moment after its loop, so two loops
# later fell short of 10 s: every third loop, and the update after a quick tick could
# wait for it), and a tick waits for any update due before the next tick could come
# (the interval, a loop, and the loops' jitter), so that one tick per update lands it.
# Only the update after one landed late (the first after a restart or an outage) can
# itself land up to a loop late, once.
DAEMON_LOOP_S = 5
# How much later than a whole loop the next tick may come: loops drift by up to a second.
LOOP_JITTER_S = 2
# The feed publishes an update every 15 s: the next one is due 15 s after the last
# `update_timestamp`. A tick that finds it due before the next tick could come waits for
# it and looks at the feed's head every `PEEK_EVERY_S` from then (until the next tick
# could have come had this one not waited), so the update is fetched within a fraction
# of a second of appearing, late or not, whatever the phase of the daemon's loops
# against the feed's clock, with one download per update.
FEED_PERIOD_S = float(os.environ.get("VATSIM_FEED_PERIOD_S", "15"))
PEEK_EVERY_S = 0.2
# Without a feed period (`VATSIM_FEED_PERIOD_S=0`) no update is known to be due: the
# sensor then ticks, and fetches, on every loop.
SENSOR_INTERVAL_S = int(
    os.environ.get("VATSIM_SENSOR_INTERVAL_S") or (9 if FEED_PERIOD_S > 0 else 1)
)
FUTURE_TOLERANCE = timedelta(minutes=5)
FEED = "feed"
DATABASE = "database"
LANDING = "landing"
# Failed runs that count against the database breaker, by their classified service.
DATABASE_SERVICES = (DATABASE, DAGSTER_STORAGE)
RADIOS_NOT_LANDED = "no transceivers payload was landed with this snapshot"
RUN_OUTCOMES_PER_TICK = 200


@sensor(
    job=ingest_job,
    minimum_interval_seconds=SENSOR_INTERVAL_S,
    default_status=DefaultSensorStatus.RUNNING,
    description="Lands each new VATSIM feed update (published every 15 s) and requests one "
    "ingest run keyed by its update_timestamp; circuit breakers in the cursor.",
)
def vatsim_feed_sensor(
    context: SensorEvaluationContext, feed: FeedResource, landing: LandingResource
) -> SensorResult:
    now = datetime.now(UTC)
    config = config_from_env(os.environ)
    cursor = FeedCursor.parse(context.cursor)
    _observe_run_outcomes(context, cursor, config)
    tick = _Tick()
    notes = [_fetch_and_land(context, cursor, feed, landing, now, config, tick)]
    run_requests, note = _request_runs(cursor, landing.path(), now, config, tick)
    notes.append(note)
    reason = "; ".join(n for n in notes if n)
    if run_requests and reason:
        context.log.info(reason)
    previous_tick = context.last_tick_completion_time
    stale = stale_feed_evaluation(
        cursor.last_landed,
        now,
        datetime.fromtimestamp(previous_tick, UTC) if previous_tick else None,
        reason or "nothing to do",
    )
    return SensorResult(
        run_requests=run_requests,
        skip_reason=None if run_requests else reason or "nothing to do",
        cursor=cursor.dump(),
        asset_events=[*tick.checks, *([stale] if stale else [])],
    )


class _Tick:
    """What one tick learnt on the way: why radios are missing, and check results."""

    def __init__(self) -> None:
        self.radios_missing: dict[datetime, str] = {}
        self.checks: list[AssetCheckEvaluation] = []


def _observe_run_outcomes(
    context: SensorEvaluationContext, cursor: FeedCursor, config: BreakerConfig
) -> None:
    """Feed the database breaker with the ingest runs that ended since the last tick."""
    records = context.instance.get_run_records(
        filters=RunsFilter(
            job_name=ingest_job.name,
            statuses=[DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE],
            updated_after=cursor.runs_checked_until,
        ),
        limit=RUN_OUTCOMES_PER_TICK,
        order_by="update_timestamp",
        ascending=True,
    )
    state = cursor.breakers.state(DATABASE)
    for record in records:
        run = record.dagster_run
        if run.status == DagsterRunStatus.SUCCESS:
            state = record_success(state, record.update_timestamp)
        elif run.tags.get(ERROR_SERVICE_TAG) in DATABASE_SERVICES:
            state = record_failure(
                state,
                record.update_timestamp,
                f"run {run.run_id[:8]} failed on the database",
                config=config,
            )
        cursor.runs_checked_until = record.update_timestamp
    cursor.breakers = cursor.breakers.with_state(DATABASE, state)


def _fetch_and_land(
    context: SensorEvaluationContext,
    cursor: FeedCursor,
    feed: FeedResource,
    landing: LandingResource,
    now: datetime,
    config: BreakerConfig,
    tick: _Tick,
) -> str | None:
    """Fetch the feeds (unless a breaker says not to) and land a new update.

    Returns why nothing new was landed, or None when an update was landed.
    """
    expected = _next_update_expected(cursor)
    if expected is not None and (expected - now).total_seconds() > _next_tick_within_s():
        return f"next feed update expected at {expected:%H:%M:%S}Z; not fetching yet"
    landing_allowed, landing_state = allow(cursor.breakers.state(LANDING), now, config)
    cursor.breakers = cursor.breakers.with_state(LANDING, landing_state)
    if not landing_allowed:
        return describe(LANDING, landing_state, now)
    allowed, state = allow(cursor.breakers.state(FEED), now, config)
    if not allowed:
        cursor.breakers = cursor.breakers.with_state(FEED, state)
        return describe(FEED, state, now)
    client = feed.client()
    if expected is not None:
        _await_update(client, cursor.last_landed, expected)
        now = datetime.now(UTC)
    try:
        feeds = client.fetch()
        stamp = feeds.update_timestamp.isoformat()
        if feeds.update_timestamp > now + FUTURE_TOLERANCE:
            raise PayloadError(f"{feeds.data_url}: update_timestamp {stamp} lies in the future")
    except (FeedUnavailable, PayloadError) as error:
        retry_after = getattr(error, "retry_after_s", None)
        state = record_failure(state, now, str(error), retry_after, config)
        cursor.breakers = cursor.breakers.with_state(FEED, state)
        if state.state is not CircuitState.CLOSED:
            return describe(FEED, state, now)
        if isinstance(error, PayloadError):
            return f"feed did not serve a data feed: {error}"
        return f"feed unreachable: {error}"
    cursor.breakers = cursor.breakers.with_state(FEED, record_success(state, now))
    newest = cursor.last_landed or cursor.last_requested
    if newest is not None and feeds.update_timestamp <= newest:
        return f"no new update: {feeds.data_url} still at {stamp}"
    try:
        land(
            landing.path(), feeds.update_timestamp, feeds.data, feeds.transceivers, feeds.fetched_at
        )
    except OSError as error:
        return _landing_failed(cursor, landing, stamp, error, now, config, tick)
    if landing_state.consecutive_failures:
        tick.checks.append(landing_works(str(landing.path())))
    cursor.breakers = cursor.breakers.with_state(LANDING, record_success(landing_state, now))
    if feeds.transceivers_error:
        tick.radios_missing[feeds.update_timestamp] = feeds.transceivers_error
        context.log.warning(f"snapshot {stamp} landed without radios: {feeds.transceivers_error}")
    if cursor.last_requested is None:
        cursor.last_requested = feeds.update_timestamp - timedelta(microseconds=1)
    cursor.last_landed = feeds.update_timestamp
    return None


def _landing_failed(
    cursor: FeedCursor,
    landing: LandingResource,
    stamp: str,
    error: OSError,
    now: datetime,
    config: BreakerConfig,
    tick: _Tick,
) -> str:
    """Count a landing failure against its breaker, report the check failed, and say why."""
    failure = landing_failure(error)
    where = str(landing.path())
    tick.checks.append(failed_landing(failure, where, stamp))
    reason = (
        f"cannot land update {stamp} in {where}: {failure.message} "
        f"({failure.category.value}, {failure.severity.value})"
    )
    state = record_failure(cursor.breakers.state(LANDING), now, reason, config=config)
    cursor.breakers = cursor.breakers.with_state(LANDING, state)
    if state.state is not CircuitState.CLOSED:
        return describe(LANDING, state, now)
    return reason


def _next_update_expected(cursor: FeedCursor) -> datetime | None:
    """When the update after the last one landed is due: a feed period after its
    `update_timestamp`. None before the first update, or with no period configured."""
    if cursor.last_landed is None or FEED_PERIOD_S <= 0:
        return None
    return cursor.last_landed + timedelta(seconds=FEED_PERIOD_S)


def _await_update(client: FeedClient, newest: datetime, expected: datetime) -> None:
    """Sleep until the update is due, then peek at the feed's head until it shows one
    newer than `newest`: for a loop past the due time, or until the next tick could have
    come had this one not waited, whichever is later (a later update is fetched by a
    later tick). Returns at once when the peek cannot tell: the full fetch that follows
    reports what is wrong. A tick long past the due time (a feed that stopped) fetches at
    once."""
    started = datetime.now(UTC)
    if expected + timedelta(seconds=_next_tick_within_s()) < started:
        return
    pause = (expected - started).total_seconds()
    if pause > 0:
        time.sleep(pause)
    give_up = max(
        expected + timedelta(seconds=DAEMON_LOOP_S),
        started + timedelta(seconds=SENSOR_INTERVAL_S + DAEMON_LOOP_S),
    )
    while datetime.now(UTC) < give_up:
        seen = client.peek()
        if seen is None or seen > newest:
            return
        time.sleep(PEEK_EVERY_S)


def _next_tick_within_s() -> float:
    """How long after a tick starts the next one may start, at the latest."""
    return SENSOR_INTERVAL_S + DAEMON_LOOP_S + LOOP_JITTER_S


def _request_runs(
    cursor: FeedCursor, landing_dir: Path, now: datetime, config: BreakerConfig, tick: _Tick
) -> tuple[list[RunRequest], str | None]:
    """One run per landed payload not yet requested, as far as the database breaker allows.

    Scanning the landing directory (not only the update just landed) also picks up a
    payload landed by a tick that crashed before its run request was recorded.
    """
    if cursor.last_requested is None:
        return [], None
    pending = landed_after(landing_dir, cursor.last_requested)
    if not pending:
        return [], None
    allowed, state = allow(cursor.breakers.state(DATABASE), now, config)
    cursor.breakers = cursor.breakers.with_state(DATABASE, state)
    if not allowed:
        return [], f"{describe(DATABASE, state, now)}; {len(pending)} landed payload(s) wait"
    if state.state is CircuitState.HALF_OPEN:
        pending = pending[:1]
    cursor.last_requested = pending[-1].update_timestamp
    return [_run_request(landed, tick) for landed in pending], None


def _run_request(landed: LandedFile, tick: _Tick) -> RunRequest:
    """The run of one landed payload; without its radios, it is told why they are missing
    (this tick's fetch knows the reason; a payload left by a crashed tick does not)."""
    missing = None
    if landed.transceivers_path is None:
        missing = tick.radios_missing.get(landed.update_timestamp, RADIOS_NOT_LANDED)
    return RunRequest(
        run_key=landed.update_timestamp.isoformat(),
        run_config=ingest_run_config(
            landed.data_path,
            landed.transceivers_path,
            fetched_at=landed.fetched_at,
            transceivers_missing=missing,
        ),
        tags=ingest_tags(landed.update_timestamp),
    )
