"""The ingest run's one step: land (or read) a feed update, store its tables, locate its
positions in the sectors, detect its anomalies, then report the checks.

One step instead of one per asset: every step costs Dagster a start, a success, a hook
and input/output events written to its storage, and a hand-off of the landed snapshot
through an IO manager (a file written and read per run). At 5,760 runs a day that was
most of the run's time and of Dagster's tables (docs/performance.md, issue 14), while
the work itself takes well under a second. Each asset keeps its own materialization,
metadata and checks.

The step outputs one asset, `landed_snapshot`; the seven it stores into (the tables,
occupancy, staffing, anomalies) are assets the step records a materialization of
(`RECORDED_SPECS`: Dagster's assets without an op of their own). An output costs
Dagster a planned event when the run is created and an output event besides its
materialization, two rows of about 1.3 KB each in `event_logs` per asset and run, while
none of the seven can be materialized without the others anyway. The UI shows each
with its own materializations, metadata, checks and lineage; it is materialized by
launching `ingest_snapshot` (or materializing `landed_snapshot`).

The step has no checks of its own: it ends by evaluating every check of its assets and
reporting each result for the materialization it checks, which the UI shows as that
materialization's result. A check of the step would cost Dagster a planned event, an
output event and a second write of its execution row in every run, about 4 KB of its
tables per check and run (issue 13, docs/performance.md).

A retry (the policy, or a replay of a dead letter) runs the whole step again. That is
safe because every part is idempotent: storing a snapshot already stored changes no row,
and locating and detecting rebuild exactly that snapshot's rows. So a run that stored
its snapshot and then failed locating it is finished by its replay.
"""

from collections.abc import Iterator

from dagster import (
    AssetExecutionContext,
    AssetMaterialization,
    MaterializeResult,
    multi_asset,
)

from vatsim_pipeline.defs.anomaly_assets import (
    ANOMALIES_SPEC,
    ANOMALY_CHECKS,
    detect,
    report_anomaly_checks,
    thresholds_or_fail,
)
from vatsim_pipeline.defs.ingest_assets import (
    LANDED_SPEC,
    RADIOS_CHECK,
    TABLE_SPECS,
    SnapshotConfig,
    land_snapshot,
    radios_check,
    store_tables,
)
from vatsim_pipeline.defs.ingest_config import INGEST_OP
from vatsim_pipeline.defs.landing_check import LANDING_CHECK
from vatsim_pipeline.defs.occupancy_assets import OCCUPANCY_SPECS, locate, report_checks
from vatsim_pipeline.defs.resources import DatabaseResource, FeedResource, LandingResource
from vatsim_pipeline.defs.table_checks import DESCRIPTIONS, newest_materializations, report_check
from vatsim_pipeline.resilience.retry import database_retry_policy

WHOLE_RUN = (
    " Materialized by the one step (`ingest`) of the `ingest_snapshot` job with the tables, "
    "occupancy and anomalies, whose materializations the step records."
)
RECORDED_BY_RUN = (
    " Recorded by every `ingest_snapshot` run (its step `ingest`), which stores one feed "
    "update into every table: launch that job, or materialize `landed_snapshot`."
)

# The assets checked by the checks reported at the step's end (`report_checks`,
# `report_anomaly_checks`): their materializations are read once for all of them.
CHECKED_AT_END = {key.asset_key for key in (*DESCRIPTIONS, LANDING_CHECK)} | {
    spec.asset_key for spec in ANOMALY_CHECKS
}


# The assets the step stores into, each given its materialization by the step.
RECORDED_SPECS = [
    spec.replace_attributes(description=f"{spec.description}{RECORDED_BY_RUN}")
    for spec in (*TABLE_SPECS, *OCCUPANCY_SPECS, ANOMALIES_SPEC)
]


@multi_asset(
    name=INGEST_OP,
    specs=[LANDED_SPEC.replace_attributes(description=f"{LANDED_SPEC.description}{WHOLE_RUN}")],
    can_subset=False,
    # The database policy covers a fetch-now run's feed call too: the network policy
    # reads the same settings (`resilience.retry`).
    retry_policy=database_retry_policy(),
    description="Store one feed update: land or read it, store its tables in one "
    "transaction, locate its positions, detect its anomalies, report the checks.",
)
def ingest_step(
    context: AssetExecutionContext,
    config: SnapshotConfig,
    feed: FeedResource,
    landing: LandingResource,
    database: DatabaseResource,
) -> Iterator[MaterializeResult | AssetMaterialization]:
    thresholds = thresholds_or_fail()  # a malformed setting fails before anything is written
    landed, materialization = land_snapshot(context, config, feed, landing)
    yield materialization
    engine = database.engine()
    yield from store_tables(context, engine, landed)
    # Once the tables' materializations are recorded (Dagster records each yielded one
    # before the step resumes), so that a snapshot stored without radios is reported even
    # by a run that fails later.
    radios = radios_check(landed.update_timestamp, landed.transceivers_missing)
    instance = context.instance
    checked = newest_materializations(instance, [RADIOS_CHECK.asset_key])
    report_check(instance, RADIOS_CHECK, radios, checked)
    yield from locate(context, engine, landed)
    yield detect(context, engine, landed, thresholds)
    # After every materialization is recorded: each check is reported for its asset's.
    targets = newest_materializations(instance, CHECKED_AT_END)
    report_checks(instance, database, landing, targets)
    report_anomaly_checks(instance, engine, targets)
