"""The ingest assets' first part, called by the one step of the ingest run
(`ingest`): the landed snapshot, then the tables it is stored into.

The tables are written in one transaction: a snapshot is stored whole or not at all,
and each table still gets its own materialization with its own metadata, so the UI
plots rows per table over time.

`fetched_at` comes with the payload: from the run config (the sensor's requests carry
it), else, for a file in the landing folder, from its modification time, which landing
sets to the fetch time (so a replay or a later run of a landed file keeps it). A
recorded file given to `ingest` from elsewhere has no known fetch time: its save time
is not one (a two-year-old recording would read as a feed stuck for two years), so
`fetched_at` stays empty. A snapshot whose transceivers feed stayed
broken is stored with `transceivers_missing` set and its `radios_complete` check fails
with a WARN on `transceivers`, reported by the same step for that materialization (not
as a check of the step: see `ingest_step`); executed from the UI, the check reads the
newest stored snapshot.
"""

import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from dagster import (
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    AssetMaterialization,
    AssetSpec,
    Config,
    DagsterEventType,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset_check,
)
from pydantic import Field
from sqlalchemy import Engine, select

from vatsim_pipeline.dashboard.link import dashboard_url
from vatsim_pipeline.defs.resources import DatabaseResource, FeedResource, LandingResource
from vatsim_pipeline.defs.table_docs import table_metadata
from vatsim_pipeline.feed.client import FeedUnavailable, snapshot_timestamp
from vatsim_pipeline.feed.landing import LandedSnapshot, land, modified_at, read_payload, sha256_of
from vatsim_pipeline.feed.parse import PayloadError, parse_data_feed, parse_transceivers
from vatsim_pipeline.resilience.retry import fail_fast_if_unretryable
from vatsim_pipeline.storage.schema import feed_snapshots
from vatsim_pipeline.storage.writes import LandedFiles, write_snapshot

INGEST_GROUP = "ingest"
LANDED = "landed_snapshot"
TABLE_DESCRIPTIONS = {
    "flights": "One row per pilot connection (cid, callsign, logon_time) with its flight "
    "plan and latest state; `flight_positions` holds its track, one row per run of "
    "snapshots with an unchanged position.",
    "controllers": "One row per controller or ATIS connection (cid, callsign, logon_time), "
    "with its position from its transceivers.",
    "transceivers": "Station radios, linked to their connection: a row per run of "
    "consecutive snapshots in which a radio did not change.",
    "prefiles": "One row per filed flight plan (cid, callsign), latest revision.",
}
SECTION_OF_TABLE = {
    "flights": ("pilots",),
    "controllers": ("controllers", "atis"),
    "transceivers": ("transceivers",),
    "prefiles": ("prefiles",),
}
RADIOS_CHECK = AssetCheckKey(AssetKey("transceivers"), "radios_complete")


class SnapshotConfig(Config):
    """Which landed payloads to store; empty means fetch the current feed now."""

    data_path: str | None = Field(
        default=None, description="Landed or recorded vatsim-data.json to store."
    )
    transceivers_path: str | None = Field(
        default=None, description="transceivers-data.json fetched with it, if any."
    )
    fetched_at: str | None = Field(
        default=None,
        description="When the payload was fetched (ISO); default: the data file's "
        "modification time, which landing sets to it.",
    )
    transceivers_missing: str | None = Field(
        default=None,
        description="Why the radios are missing: the transceivers feed stayed broken.",
    )


def _read(path: str, what: str) -> bytes:
    try:
        return read_payload(path)
    except OSError as error:
        raise Failure(
            description=f"{path}: cannot read the landed {what}: {error.strerror or error}",
            allow_retries=False,
        ) from error


def _describe_landed(config: SnapshotConfig, landing_dir: Path) -> LandedSnapshot:
    """A descriptor of payloads already on disk (landed by the sensor, or recorded)."""
    data = _read(config.data_path, "data feed")
    try:
        timestamp = snapshot_timestamp(data)
    except PayloadError as error:
        raise Failure(description=f"{config.data_path}: {error}", allow_retries=False) from error
    transceivers = (
        _read(config.transceivers_path, "transceivers feed") if config.transceivers_path else None
    )
    return LandedSnapshot(
        update_timestamp=timestamp,
        data_path=str(Path(config.data_path).resolve()),
        data_sha256=sha256_of(data),
        transceivers_path=(
            str(Path(config.transceivers_path).resolve()) if config.transceivers_path else None
        ),
        transceivers_sha256=sha256_of(transceivers) if transceivers is not None else None,
        fetched_at=(
            datetime.fromisoformat(config.fetched_at)
            if config.fetched_at
            else _landed_at(Path(config.data_path), landing_dir)
        ),
        transceivers_missing=None if transceivers is not None else config.transceivers_missing,
    )


def _landed_at(data_path: Path, landing_dir: Path) -> datetime | None:
    """The fetch time landing stamped on a file of the landing folder; None elsewhere."""
    if not data_path.resolve().is_relative_to(landing_dir.resolve()):
        return None
    return modified_at(data_path)


LANDED_SPEC = AssetSpec(
    LANDED,
    group_name=INGEST_GROUP,
    description="The feed update's payloads, safe on disk before anything is stored: "
    "landed by the sensor, given as recorded files, or fetched now when neither.",
)
TABLE_SPECS = [
    AssetSpec(
        name,
        group_name=INGEST_GROUP,
        description=description,
        deps=[LANDED],
        metadata=table_metadata(name),
    )
    for name, description in TABLE_DESCRIPTIONS.items()
]


def land_snapshot(
    context: AssetExecutionContext,
    config: SnapshotConfig,
    feed: FeedResource,
    landing: LandingResource,
) -> tuple[LandedSnapshot, MaterializeResult]:
    """The payloads to store (described, or fetched and landed now) and their
    materialization."""
    if not config.data_path:
        config = landed_earlier(context) or config
    if config.data_path:
        landed = _describe_landed(config, landing.path())
        source = "landed file"
    else:
        try:
            feeds = feed.client().fetch()
        except (FeedUnavailable, PayloadError) as error:
            fail_fast_if_unretryable(error, "feed")
        landed = land(
            landing.path(),
            feeds.update_timestamp,
            feeds.data,
            feeds.transceivers,
            fetched_at=feeds.fetched_at,
        )
        if feeds.transceivers_error:
            landed = replace(landed, transceivers_missing=feeds.transceivers_error)
        source = feeds.data_url
    context.log.info(f"snapshot {landed.update_timestamp.isoformat()} from {source}")
    return landed, MaterializeResult(
        asset_key=LANDED,
        metadata={
            "update_timestamp": landed.update_timestamp.isoformat(),
            "data_path": MetadataValue.path(landed.data_path),
            "transceivers_path": MetadataValue.path(landed.transceivers_path or ""),
            "fetched_at": landed.fetched_at.isoformat() if landed.fetched_at else "",
            **(
                {"radios_missing": landed.transceivers_missing}
                if landed.transceivers_missing
                else {}
            ),
        },
    )


def landed_earlier(context: AssetExecutionContext) -> SnapshotConfig | None:
    """What a fetch-now run landed before it failed, as the config of a landed file: an
    attempt retried by the policy, or a re-execution (a replay, a run retry), stores
    that update, not the feed's current one. From the `landed_snapshot` materialization
    of this run, else of the run it re-executes."""
    for run_id in (context.run.run_id, context.run.parent_run_id):
        if run_id is None:
            continue
        records = context.instance.get_records_for_run(
            run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION
        ).records
        for record in records:
            materialization = record.event_log_entry.asset_materialization
            if materialization is None or materialization.asset_key != AssetKey(LANDED):
                continue
            metadata = {key: value.value for key, value in materialization.metadata.items()}
            return SnapshotConfig(
                data_path=metadata["data_path"],
                transceivers_path=metadata["transceivers_path"] or None,
                fetched_at=metadata["fetched_at"] or None,
                transceivers_missing=metadata.get("radios_missing"),
            )
    return None


def store_tables(
    context: AssetExecutionContext, engine: Engine, landed: LandedSnapshot
) -> Iterator[AssetMaterialization]:
    """Parse the landed payload once and store every table in one transaction: a
    materialization per table."""
    started = time.perf_counter()
    data = _read(landed.data_path, "data feed")
    try:
        snapshot = parse_data_feed(data)
    except PayloadError as error:
        raise Failure(description=f"{landed.data_path}: {error}", allow_retries=False) from error
    if landed.transceivers_path:
        parse_transceivers(_read(landed.transceivers_path, "transceivers feed"), snapshot)
    parsed = time.perf_counter()
    try:
        write = write_snapshot(
            engine,
            snapshot,
            LandedFiles(
                data_path=landed.data_path,
                data_sha256=landed.data_sha256,
                transceivers_path=landed.transceivers_path,
                transceivers_sha256=landed.transceivers_sha256,
                fetched_at=landed.fetched_at,
                transceivers_missing=landed.transceivers_missing,
            ),
        )
    except Exception as error:
        fail_fast_if_unretryable(error, "database")
    stored = time.perf_counter()
    rejected_by_section: dict[str, int] = {}
    for record in snapshot.rejected:
        rejected_by_section[record.section] = rejected_by_section.get(record.section, 0) + 1
    context.log.info(
        f"stored snapshot {landed.update_timestamp.isoformat()}: "
        + ", ".join(f"{name} +{t.inserted}/~{t.updated}" for name, t in write.tables.items())
        + f"; {write.rejected} rejected; parse {1000 * (parsed - started):.0f} ms, "
        f"store {1000 * (stored - parsed):.0f} ms"
    )
    # What concerns the whole snapshot is said once, on `flights`, and its update
    # timestamp on `landed_snapshot`: every entry is stored per table and run, 5,760 runs
    # a day.
    whole = {
        "new_snapshot": write.new_snapshot,
        "parse_ms": round(1000 * (parsed - started), 1),
        "store_ms": round(1000 * (stored - parsed), 1),
        "positions_inserted": write.tables["flight_positions"].inserted,
    }
    for name in TABLE_DESCRIPTIONS:
        table = write.tables[name]
        metadata = {
            "rows_inserted": table.inserted,
            "rows_updated": table.updated,
            "rows_unchanged": table.unchanged,
            "rows_rejected": sum(rejected_by_section.get(s, 0) for s in SECTION_OF_TABLE[name]),
            "dashboard": MetadataValue.url(dashboard_url()),
        }
        if name == "flights":
            metadata |= whole
        if name == "transceivers" and landed.transceivers_missing:
            metadata["radios_missing"] = landed.transceivers_missing
        yield AssetMaterialization(asset_key=name, metadata=metadata)


def radios_check(update_timestamp: datetime, missing: str | None) -> AssetCheckResult:
    """WARN when the snapshot was stored without its radios because the feed broke."""
    stamp = update_timestamp.isoformat()
    if missing:
        return AssetCheckResult(
            check_name=RADIOS_CHECK.name,
            asset_key=RADIOS_CHECK.asset_key,
            passed=False,
            severity=AssetCheckSeverity.WARN,
            description=f"snapshot {stamp} stored without radios: {missing}",
            metadata={"update_timestamp": stamp, "reason": missing},
        )
    return AssetCheckResult(
        check_name=RADIOS_CHECK.name, asset_key=RADIOS_CHECK.asset_key, passed=True
    )


@asset_check(
    asset=RADIOS_CHECK.asset_key,
    name=RADIOS_CHECK.name,
    description="Fails (WARN) when the snapshot was stored without its radios because its "
    "transceivers feed stayed broken through the update's retries; reported by every "
    "ingest run, executed from the UI for the newest stored snapshot.",
)
def radios_complete(database: DatabaseResource) -> AssetCheckResult:
    with database.engine().connect() as connection:
        newest = connection.execute(
            select(feed_snapshots.c.update_timestamp, feed_snapshots.c.transceivers_missing)
            .order_by(feed_snapshots.c.update_timestamp.desc())
            .limit(1)
        ).first()
    if newest is None:
        return AssetCheckResult(passed=True, description="no snapshot stored yet")
    return radios_check(newest.update_timestamp, newest.transceivers_missing)
